// soundseek web page: search by words, by an uploaded or recorded sound; audition and explore hits.
// Plain JavaScript, no build step. Talks to the JSON API under /api (see docs/server.md).
"use strict";

const PAGE_SIZE = 20;
const MAX_RECORD_SECONDS = 10;
const $ = (sel) => document.querySelector(sel);

const state = {
  token: null,
  lastQuery: null,   // {kind, run(offset)} to fetch further pages
  nextOffset: null,
  playing: null,     // {hit, li, canvas, peaks}
  recorder: null,
};

// ---- API ------------------------------------------------------------------------------------
function authHeaders() {
  return state.token ? { "X-API-Token": state.token } : {};
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const detail = body && body.detail ? body.detail : `${res.status} ${res.statusText}`;
    throw new Error(res.status === 401 ? "This server needs an API token: open the page as /?token=YOUR_TOKEN" : detail);
  }
  return body;
}

function withToken(url) {
  return state.token ? `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(state.token)}` : url;
}

function filterParams() {
  const p = new URLSearchParams();
  const add = (name, id) => { const v = $(id).value.trim(); if (v) p.set(name, v); };
  add("min_duration", "#f-min"); add("max_duration", "#f-max"); add("sample_rate", "#f-sr");
  add("channels", "#f-ch"); add("tag", "#f-tag"); add("path_glob", "#f-path");
  return p;
}

// ---- formatting -----------------------------------------------------------------------------
function clock(seconds) {
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(1).padStart(4, "0")}`;
}

function hours(seconds) {
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : `${Math.round(seconds / 60)} min`;
}

function baseName(path) {
  return path.split(/[\\/]/).pop();
}

function setStatus(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// ---- waveforms ------------------------------------------------------------------------------
const peakCache = new Map();

async function loadPeaks(soundId, width) {
  const key = `${soundId}:${width}`;
  if (!peakCache.has(key)) {
    peakCache.set(key, api(`/api/sounds/${soundId}/waveform?width=${width}`).then((r) => r.peaks));
  }
  return peakCache.get(key);
}

function drawWave(canvas, peaks, duration, seg, playhead) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, mid = h / 2;
  ctx.clearRect(0, 0, w, h);
  if (seg && duration > 0) {
    const x0 = (seg.start / duration) * w, x1 = (seg.end / duration) * w;
    ctx.fillStyle = "rgba(251, 191, 36, 0.35)";
    ctx.fillRect(x0, 0, Math.max(2, x1 - x0), h);
  }
  const n = peaks.length;
  for (let i = 0; i < n; i++) {
    const x = Math.floor((i / n) * w);
    const inSeg = seg && duration > 0 && i / n >= seg.start / duration && i / n <= seg.end / duration;
    ctx.fillStyle = inSeg ? "#b45309" : "#475569";
    const [lo, hi] = peaks[i];
    const top = mid - hi * mid, bottom = mid - lo * mid;
    ctx.fillRect(x, top, Math.max(1, w / n), Math.max(1, bottom - top));
  }
  if (playhead != null && duration > 0) {
    ctx.fillStyle = "#0f766e";
    ctx.fillRect((playhead / duration) * w - 1, 0, 2, h);
  }
}

async function paintWave(canvas, soundId, duration, seg) {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 600;
  canvas.width = Math.min(2000, Math.round(cssWidth * ratio));
  canvas.height = Math.round((parseInt(canvas.getAttribute("height"), 10) || 56) * ratio);
  const bins = Math.max(16, Math.min(1000, Math.round(cssWidth)));
  const peaks = await loadPeaks(soundId, bins);
  canvas.dataset.ready = "1";
  drawWave(canvas, peaks, duration, seg, null);
  return peaks;
}

// ---- playback -------------------------------------------------------------------------------
function player() { return $("#player"); }

async function play(item, start = item.start) {
  const audio = player();
  if (state.playing === item && !audio.paused && start === item.start) {
    audio.pause();
    return;
  }
  if (state.playing !== item) stopHighlight();
  state.playing = item;
  item.li && item.li.classList.add("playing");
  const src = withToken(`/api/sounds/${item.soundId}/audio`);
  if (audio.dataset.src !== src) {
    audio.src = src;
    audio.dataset.src = src;
  }
  $("#player-bar").hidden = false;
  $("#now-playing").textContent = item.name;
  await seekAndPlay(audio, start || 0);
}

function seekAndPlay(audio, start) {
  const go = () => { audio.currentTime = start; return audio.play(); };
  if (audio.readyState >= 1) return go().catch(reportPlayError);
  audio.preload = "auto";
  return new Promise((resolve) => {
    audio.addEventListener("loadedmetadata", () => resolve(go().catch(reportPlayError)), { once: true });
    audio.load();
  });
}

function reportPlayError(err) {
  setStatus(`Cannot play this file in the browser (${err.message}).`, true);
}

function stopHighlight() {
  const item = state.playing;
  if (!item) return;
  item.li && item.li.classList.remove("playing");
  if (item.button) item.button.textContent = "Play";
  if (item.peaks) drawWave(item.canvas, item.peaks, item.duration, item.seg, null);
}

function onPlayerTick() {
  const item = state.playing;
  if (!item || !item.peaks) return;
  drawWave(item.canvas, item.peaks, item.duration, item.seg, player().currentTime);
}

function bindPlayer() {
  const audio = player();
  audio.addEventListener("timeupdate", onPlayerTick);
  audio.addEventListener("play", () => { if (state.playing && state.playing.button) state.playing.button.textContent = "Pause"; });
  audio.addEventListener("pause", () => { if (state.playing && state.playing.button) state.playing.button.textContent = "Play"; });
  audio.addEventListener("error", () => setStatus("The audio file could not be loaded.", true));
}

function seekFromCanvas(item, event) {
  const rect = item.canvas.getBoundingClientRect();
  const at = ((event.clientX - rect.left) / rect.width) * item.duration;
  play(item, Math.max(0, Math.min(at, item.duration)));
}

// ---- results --------------------------------------------------------------------------------
function renderHit(hit) {
  const li = $("#hit-template").content.firstElementChild.cloneNode(true);
  const name = baseName(hit.path);
  const link = li.querySelector(".name");
  link.textContent = name;
  link.href = `/sound/${hit.sound_id}`;
  link.title = hit.path;
  li.querySelector(".info").textContent =
    `${clock(hit.duration)} long · best match ${clock(hit.start)}–${clock(hit.end)}`;
  const score = li.querySelector(".score");
  if (hit.relevance != null) {
    score.textContent = `${Math.round(hit.relevance * 100)}%`;
    score.title = "calibrated relevance: how likely this hit is what you asked for";
  } else {
    score.textContent = hit.score.toFixed(3);
  }
  const tags = li.querySelector(".tags");
  for (const tag of hit.tags.slice(0, 6)) {
    const t = document.createElement("li");
    t.textContent = tag;
    tags.appendChild(t);
  }
  renderOrigin(li, hit);
  const button = li.querySelector(".play");
  button.setAttribute("aria-label", `Play ${name} from ${clock(hit.start)}`);
  const canvas = li.querySelector("canvas");
  const item = { soundId: hit.sound_id, name, start: hit.start, duration: hit.duration,
                 seg: { start: hit.start, end: hit.end }, li, button, canvas, peaks: null };
  button.addEventListener("click", () => play(item));
  canvas.addEventListener("click", (e) => seekFromCanvas(item, e));
  const similar = li.querySelector(".similar");
  similar.setAttribute("aria-label", `More like ${name}`);
  similar.addEventListener("click", () => searchSimilar(hit.segment_id, name));
  li.dataset.soundId = hit.sound_id;
  return { li, item };
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

function showHits(response, append) {
  const list = $("#results");
  if (!append) list.replaceChildren();
  const items = response.hits.map(renderHit);
  for (const { li } of items) list.appendChild(li);
  for (const { item } of items) {
    paintWave(item.canvas, item.soundId, item.duration, item.seg).then((p) => { item.peaks = p; })
      .catch(() => { item.canvas.title = "waveform unavailable"; });
  }
  state.nextOffset = response.next_offset;
  $("#more").hidden = response.next_offset == null;
  return list.children.length;
}

async function runSearch(query, append = false) {
  const offset = append ? state.nextOffset : 0;
  state.lastQuery = query;
  setStatus(append ? "Loading more…" : "Searching…");
  try {
    const response = await query.run(offset);
    const total = showHits(response, append);
    if (response.no_good_match && !append) {
      setStatus(`No good match for ${query.label}: the closest sounds are below, none is likely what you asked for.`);
    } else {
      setStatus(total ? `${total} result${total === 1 ? "" : "s"} for ${query.label}` : `No results for ${query.label}.`);
    }
  } catch (err) {
    if (!append) $("#results").replaceChildren();
    $("#more").hidden = true;
    setStatus(err.message, true);
  }
}

function textQuery(q) {
  return { label: `“${q}”`, run: (offset) => {
    const p = filterParams();
    p.set("q", q); p.set("top", PAGE_SIZE); p.set("offset", offset);
    return api(`/api/search?${p}`);
  } };
}

function uploadQuery(blob, filename) {
  return { label: filename, run: (offset) => {
    const form = new FormData();
    form.append("file", blob, filename);
    const p = filterParams();
    p.set("top", PAGE_SIZE); p.set("offset", offset);
    return api(`/api/search/audio?${p}`, { method: "POST", body: form });
  } };
}

function searchSimilar(segmentId, name) {
  showView("search");
  runSearch({ label: `sounds like ${name}`, run: (offset) => {
    const p = filterParams();
    p.set("top", PAGE_SIZE); p.set("offset", offset);
    return api(`/api/segments/${segmentId}/similar?${p}`);
  } }).then(() => $("#results").focus());
}

// ---- microphone -----------------------------------------------------------------------------
function encodeWav(chunks, sampleRate) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const buffer = new ArrayBuffer(44 + 2 * length);
  const view = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * length, true); text(8, "WAVE"); text(12, "fmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true); view.setUint32(28, 2 * sampleRate, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, 2 * length, true);
  let offset = 44;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++, offset += 2) {
      const s = Math.max(-1, Math.min(1, chunk[i]));
      view.setInt16(offset, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
  }
  return new Blob([buffer], { type: "audio/wav" });
}

async function startRecording() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setStatus("Recording needs a browser with microphone access (and https or localhost).", true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    setStatus(`Microphone not available: ${err.message}`, true);
    return;
  }
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(stream);
  const node = ctx.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  node.onaudioprocess = (e) => { chunks.push(new Float32Array(e.inputBuffer.getChannelData(0))); };
  source.connect(node);
  node.connect(ctx.destination);
  const timer = setTimeout(stopRecording, MAX_RECORD_SECONDS * 1000);
  state.recorder = { stream, ctx, source, node, chunks, timer, started: performance.now() };
  const button = $("#record");
  button.setAttribute("aria-pressed", "true");
  button.querySelector(".label").textContent = "Stop";
  setStatus(`Recording… press Stop (at most ${MAX_RECORD_SECONDS} s).`);
}

async function stopRecording() {
  const rec = state.recorder;
  if (!rec) return;
  state.recorder = null;
  clearTimeout(rec.timer);
  rec.source.disconnect(); rec.node.disconnect();
  rec.stream.getTracks().forEach((t) => t.stop());
  const sampleRate = rec.ctx.sampleRate;
  await rec.ctx.close();
  const button = $("#record");
  button.setAttribute("aria-pressed", "false");
  button.querySelector(".label").textContent = "Record";
  if (!rec.chunks.length) { setStatus("Nothing was recorded.", true); return; }
  const wav = encodeWav(rec.chunks, sampleRate);
  await runSearch(uploadQuery(wav, "recording.wav"));
}

// ---- sound page -----------------------------------------------------------------------------
function showView(name) {
  $("#search-view").hidden = name !== "search";
  $("#sound-view").hidden = name !== "sound";
}

async function openSound(soundId) {
  showView("sound");
  setStatus("Loading…");
  let sound;
  try {
    sound = await api(`/api/sounds/${soundId}`);
  } catch (err) {
    $("#sound-title").textContent = "Sound not found";
    setStatus(err.message, true);
    return;
  }
  document.title = `${sound.name} · soundseek`;
  $("#sound-title").textContent = sound.name;
  $("#sound-path").textContent = sound.path;
  const meta = $("#sound-meta");
  meta.replaceChildren();
  const facts = [["Duration", clock(sound.duration)], ["Sample rate", `${sound.sample_rate} Hz`],
                 ["Channels", sound.channels], ["Format", sound.format || "?"],
                 ["Size", `${(sound.size / 1024).toFixed(0)} KB`], ["Segments", sound.segments.length]];
  for (const [k, v] of facts) {
    const div = document.createElement("div");
    div.innerHTML = "<dt></dt><dd></dd>";
    div.querySelector("dt").textContent = k;
    div.querySelector("dd").textContent = v;
    meta.appendChild(div);
  }
  const tags = $("#sound-tags");
  tags.replaceChildren(...sound.tags.map((t) => { const li = document.createElement("li"); li.textContent = t; return li; }));
  const canvas = $("#sound-wave");
  const button = $("#sound-play");
  const item = { soundId: sound.sound_id, name: sound.name, start: 0, duration: sound.duration, seg: null,
                 li: null, button, canvas, peaks: null };
  button.onclick = () => play(item);
  canvas.onclick = (e) => seekFromCanvas(item, e);
  paintWave(canvas, sound.sound_id, sound.duration, null).then((p) => { item.peaks = p; }).catch(() => {});
  await runSearch({ label: "this sound", run: (offset) =>
    api(`/api/sounds/${soundId}/similar?top=${PAGE_SIZE}&offset=${offset}`) });
  if ($("#results").children.length) setStatus(`${$("#results").children.length} nearest neighbours`);
}

// ---- start ----------------------------------------------------------------------------------
async function loadInfo() {
  try {
    const info = await api("/api/info");
    $("#collection-info").textContent =
      `${info.sounds.toLocaleString()} sounds · ${hours(info.seconds)} · ${info.audio_encoder}` +
      (info.joint_model ? " + joint model" : "");
    const tags = await api("/api/tags?limit=200");
    $("#tag-list").replaceChildren(...tags.map((t) => { const o = document.createElement("option"); o.value = t.tag; return o; }));
  } catch (err) {
    setStatus(err.message, true);
  }
}

function readToken() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (given) {
    localStorage.setItem("soundseek-token", given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.toString());
  }
  state.token = given || localStorage.getItem("soundseek-token");
}

function bindSearch() {
  $("#search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("#q").value.trim();
    if (q) runSearch(textQuery(q));
  });
  $("#upload").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) runSearch(uploadQuery(file, file.name));
    e.target.value = "";
  });
  $("#record").addEventListener("click", () => (state.recorder ? stopRecording() : startRecording()));
  $("#more").addEventListener("click", () => state.lastQuery && runSearch(state.lastQuery, true));
  $("#f-clear").addEventListener("click", () => {
    for (const id of ["#f-min", "#f-max", "#f-sr", "#f-ch", "#f-tag", "#f-path"]) $(id).value = "";
  });
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !typing) { e.preventDefault(); showView("search"); $("#q").focus(); }
  });
}

function start() {
  readToken();
  bindPlayer();
  bindSearch();
  loadInfo();
  const match = window.location.pathname.match(/^\/sound\/(\d+)/);
  if (match) openSound(Number(match[1]));
  else $("#q").focus();
}

document.addEventListener("DOMContentLoaded", start);
