// soundseek web page: the result list. Each hit: play, waveform with its matching moments, moments list,
// tags, download, drag out (the segment as WAV, or the original in whole-file mode), select for export.
// Above the list: sort, tag and word facets (counts over the hits loaded), export of the selection.
"use strict";

const results = { hits: [], sort: "relevance", word: null };
const FACET_LIMIT = 12;
const FACET_STOPWORDS = new Set(["the", "and", "of", "in", "on", "with", "to", "at", "by", "for", "from",
  "take", "wav", "flac", "mp3", "ogg", "aif", "aiff", "audio", "sound", "sounds", "mono", "stereo"]);

function audioUrl(hit) { return new URL(withToken(`/api/sounds/${hit.sound_id}/audio`), location.href).href; }

function segmentUrl(hit, seg) {
  return new URL(withToken(`/api/sounds/${hit.sound_id}/segment.wav?start=${seg.start}&end=${seg.end}`), location.href).href;
}

function addTags(list, tags) {
  list.replaceChildren(...tags.map((t) => { const li = document.createElement("li"); li.textContent = t; return li; }));
}

function renderMoments(li, item) {
  const list = li.querySelector(".moments");
  const moments = item.view.moments;
  if (!moments || moments.length < 2) { list.hidden = true; return; }
  list.hidden = false;
  list.replaceChildren(...moments.map((m, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "moment link";
    b.textContent = `${clock(m.start)}–${clock(m.end)}`;
    b.setAttribute("aria-label", `Play moment ${i + 1} of ${item.name}, ${clock(m.start)} to ${clock(m.end)}`);
    b.addEventListener("click", () => play(item, { start: m.start, end: audition.mode === "segment" ? m.end : null }));
    const entry = document.createElement("li");
    entry.appendChild(b);
    return entry;
  }));
}

// Where a crawled sound came from (title, page, licence) and whether it duplicates other sounds.
function renderOrigin(li, hit) {
  const tags = li.querySelector(".tags");
  if (hit.duplicates) {
    const d = document.createElement("li");
    d.className = "duplicate";
    const n = hit.duplicates.sound_ids.length;
    d.textContent = `${hit.duplicates.kind} duplicate of ${n} other${n === 1 ? "" : "s"}`;
    d.title = `sound ids ${hit.duplicates.sound_ids.join(", ")} (found by soundseek duplicates)`;
    tags.prepend(d);
  }
  if (!hit.source) return;
  const p = document.createElement("p");
  p.className = "source";
  const a = document.createElement("a");
  a.href = hit.source.page || hit.source.url;
  a.rel = "noopener noreferrer";
  a.textContent = hit.source.title || hit.source.url;
  p.append("from ", a);
  if (hit.source.licence) p.append(` · licence: ${hit.source.licence}`);
  if (hit.source.published) p.append(` · ${hit.source.published}`);
  li.querySelector(".info").after(p);
}

function renderHit(hit) {
  const li = $("#hit-template").content.firstElementChild.cloneNode(true);
  const name = baseName(hit.path);
  const link = li.querySelector(".name");
  link.textContent = name;
  link.href = `/sound/${hit.sound_id}`;
  link.title = hit.path;
  const moments = (hit.moments || []).map((m) => ({ start: m.start, end: m.end }));
  li.querySelector(".info").textContent = `${clock(hit.duration)} long · best match ${clock(hit.start)}–${clock(hit.end)}` +
    (moments.length > 1 ? ` · ${moments.length} matching moments` : "");
  const score = li.querySelector(".score");
  if (hit.relevance != null) {
    score.textContent = `${Math.round(hit.relevance * 100)}%`;
    score.title = "calibrated relevance: how likely this hit is what you asked for";
  } else {
    score.textContent = hit.score.toFixed(3);
  }
  addTags(li.querySelector(".tags"), hit.tags.slice(0, 6));
  renderOrigin(li, hit);
  const button = li.querySelector(".play");
  button.setAttribute("aria-label", `Play ${name} from ${clock(hit.start)}`);
  const canvas = li.querySelector("canvas");
  const item = { soundId: hit.sound_id, name, duration: hit.duration, seg: { start: hit.start, end: hit.end },
                 li, button, canvas, hit,
                 view: { soundId: hit.sound_id, duration: hit.duration, seg: { start: hit.start, end: hit.end }, moments } };
  li.item = item;
  button.addEventListener("click", () => play(item));
  canvas.addEventListener("click", (e) => seekFromCanvas(item, e));
  renderMoments(li, item);
  const similar = li.querySelector(".similar");
  similar.setAttribute("aria-label", `More like ${name}`);
  similar.addEventListener("click", () => searchSimilar(hit.segment_id, name));
  const download = li.querySelector(".download");
  download.href = withToken(`/api/sounds/${hit.sound_id}/audio`);
  download.setAttribute("download", name);
  download.setAttribute("aria-label", `Download ${name}`);
  const pick = li.querySelector(".pick");
  pick.setAttribute("aria-label", `Select ${name} for export`);
  pick.addEventListener("change", updateSelection);
  li.addEventListener("dragstart", (e) => dragOut(e, hit));
  li.dataset.soundId = hit.sound_id;
  return { li, item };
}

// Chromium drops a file on the desktop or in a DAW from "DownloadURL" (mime:name:url).
function dragOut(event, hit) {
  const seg = { start: hit.start, end: hit.end };
  const whole = audition.mode === "file";
  const name = whole ? baseName(hit.path) : `${baseName(hit.path).replace(/\.[^.]+$/, "")}_${seg.start.toFixed(2)}-${seg.end.toFixed(2)}.wav`;
  const url = whole ? audioUrl(hit) : segmentUrl(hit, seg);
  const mime = whole ? "application/octet-stream" : "audio/wav";
  event.dataTransfer.setData("DownloadURL", `${mime}:${name}:${url}`);
  event.dataTransfer.setData("text/uri-list", url);
  event.dataTransfer.setData("text/plain", url);
  event.dataTransfer.effectAllowed = "copy";
}

function showHits(response, append) {
  const list = $("#results");
  if (!append) { list.replaceChildren(); results.hits = []; results.word = null; audition.current = -1; }
  const items = response.hits.map(renderHit);
  for (const { li, item } of items) { list.appendChild(li); results.hits.push(item); }
  for (const { item } of items) {
    paintWave(item.canvas, item.view).catch(() => { item.canvas.title = "waveform unavailable"; });
  }
  state.nextOffset = response.next_offset;
  $("#more").hidden = response.next_offset == null;
  $("#result-tools").hidden = results.hits.length === 0;
  applySort();
  renderFacets();
  updateSelection();
  return list.children.length;
}

// ---- sorting --------------------------------------------------------------------------------------
const SORTS = {
  relevance: null,
  "duration-asc": (a, b) => a.hit.duration - b.hit.duration,
  "duration-desc": (a, b) => b.hit.duration - a.hit.duration,
  name: (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: "base" }),
  added: (a, b) => b.hit.sound_id - a.hit.sound_id,
};

function applySort() {
  const compare = SORTS[results.sort];
  const ordered = compare ? [...results.hits].sort(compare) : results.hits;
  const list = $("#results");
  for (const item of ordered) list.appendChild(item.li);
}

// ---- facets ---------------------------------------------------------------------------------------
function counted(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function hitWords(hit) {
  const words = (hit.text || "").toLowerCase().split(/[^a-z0-9']+/);
  return [...new Set(words.filter((w) => w.length > 2 && !/\d/.test(w) && !FACET_STOPWORDS.has(w)))];
}

function facetButton(label, count, active, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `facet${active ? " active" : ""}`;
  b.setAttribute("aria-pressed", String(active));
  b.textContent = `${label} `;
  const n = document.createElement("span");
  n.className = "count";
  n.textContent = count;
  b.appendChild(n);
  b.addEventListener("click", onClick);
  const li = document.createElement("li");
  li.appendChild(b);
  return li;
}

function renderFacets() {
  const n = results.hits.length;
  const activeTag = $("#f-tag").value.trim();
  const tags = counted(results.hits.flatMap((i) => [...new Set(i.hit.tags)])).slice(0, FACET_LIMIT);
  $("#facet-tags").replaceChildren(...tags.map(([t, c]) => facetButton(t, c, t === activeTag, () => filterByTag(t === activeTag ? "" : t))));
  // A word on (almost) every hit tells them apart no better than nothing: the collection's root folder.
  const words = counted(results.hits.flatMap((i) => hitWords(i.hit))).filter(([, c]) => c < n || n < 3).slice(0, FACET_LIMIT);
  $("#facet-words").replaceChildren(...words.map(([w, c]) => facetButton(w, c, w === results.word, () => filterByWord(w === results.word ? null : w))));
  $("#facets").hidden = !tags.length && !words.length;
  $("#facet-tags-group").hidden = !tags.length;
  $("#facet-words-group").hidden = !words.length;
}

// A tag facet is a search filter (the server finds every hit with that tag); a word facet narrows the
// hits loaded here.
function filterByTag(tag) {
  $("#f-tag").value = tag;
  if (state.lastQuery) runSearch(state.lastQuery);
}

function filterByWord(word) {
  results.word = word;
  for (const item of results.hits) item.li.hidden = word != null && !hitWords(item.hit).includes(word);
  renderFacets();
  const shown = results.hits.filter((i) => !i.li.hidden).length;
  setStatus(word ? `${shown} of ${results.hits.length} results have the word “${word}”` : `${results.hits.length} results`);
}

// ---- selection and export -------------------------------------------------------------------------
function selectedItems() {
  return results.hits.filter((i) => !i.li.hidden && i.li.querySelector(".pick").checked);
}

function updateSelection() {
  const chosen = selectedItems();
  $("#export-bar").hidden = chosen.length === 0;
  $("#export-count").textContent = `${chosen.length} selected`;
  const all = $("#select-all");
  const visible = results.hits.filter((i) => !i.li.hidden);
  all.checked = visible.length > 0 && chosen.length === visible.length;
  all.indeterminate = chosen.length > 0 && chosen.length < visible.length;
}

function selectAll(checked) {
  for (const item of results.hits) if (!item.li.hidden) item.li.querySelector(".pick").checked = checked;
  updateSelection();
}

async function exportSelection() {
  const segments = $("#export-what").value === "segments";
  const lufs = $("#export-normalize").checked ? Number($("#export-lufs").value) : null;
  const items = selectedItems().map((i) => ({ sound_id: i.hit.sound_id, start: i.hit.start, end: i.hit.end }));
  const button = $("#export-go");
  button.disabled = true;
  setStatus(`Exporting ${items.length} sound${items.length === 1 ? "" : "s"}…`);
  try {
    const res = await fetch("/api/export", { method: "POST", body: JSON.stringify({ items, segments, lufs }),
      headers: { "Content-Type": "application/json", ...authHeaders() } });
    if (!res.ok) {
      let detail = `${res.status} ${res.statusText}`;
      try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(`Export failed: ${detail}`);
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = "soundseek-export.zip";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    setStatus(`Exported ${items.length} sound${items.length === 1 ? "" : "s"} as soundseek-export.zip`);
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    button.disabled = false;
  }
}

function bindResults() {
  $("#sort").addEventListener("change", (e) => { results.sort = e.target.value; applySort(); });
  $("#select-all").addEventListener("change", (e) => selectAll(e.target.checked));
  $("#export-go").addEventListener("click", exportSelection);
  $("#export-normalize").addEventListener("change", (e) => { $("#export-lufs").disabled = !e.target.checked; });
}
