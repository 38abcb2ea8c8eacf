// soundseek web page: search by words, by an uploaded or recorded sound, "like this, but ..."; the sound
// page. Plain JavaScript, no build step (wave.js, audition.js, results.js are loaded before this file).
// Talks to the JSON API under /api (see docs/server.md).
"use strict";

const PAGE_SIZE = 20;
const MAX_RECORD_SECONDS = 10;
const $ = (sel) => document.querySelector(sel);

const state = {
  token: null,
  lastQuery: null,   // {kind, label, run(offset)} to fetch further pages
  nextOffset: null,
  playing: null,     // the item being auditioned: {soundId, name, duration, seg, li, button, canvas, view}
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

async function runSearch(query, append = false) {
  const offset = append ? state.nextOffset : 0;
  if (state.lastQuery !== query && !append) resetSteer(query);
  state.lastQuery = query;
  setStatus(append ? "Loading more…" : "Searching…");
  try {
    const response = await query.run(offset);
    const total = showHits(response, append);
    const label = query.label + steerLabel(query);
    if (response.no_good_match && !append) {
      setStatus(`No good match for ${label}: the closest sounds are below, none is likely what you asked for.`);
    } else {
      setStatus(total ? `${total} result${total === 1 ? "" : "s"} for ${label}` : `No results for ${label}.`);
    }
  } catch (err) {
    if (!append) $("#results").replaceChildren();
    $("#more").hidden = true;
    setStatus(err.message, true);
  }
}

// ---- "like this, but ...": words that steer an example query (and "without" for a text query) ------
function steerWords() {
  return { toward: $("#toward").value.trim(), away: $("#away").value.trim() };
}

function steerParams(p, query) {
  const { toward, away } = steerWords();
  if (query.kind === "text") { if (away) p.set("without", away); return p; }
  if (toward) p.set("toward", toward);
  if (away) p.set("away", away);
  return p;
}

function steerLabel(query) {
  const { toward, away } = steerWords();
  return (query.kind !== "text" && toward ? `, but ${toward}` : "") + (away ? `, without ${away}` : "");
}

function resetSteer(query) {
  $("#toward").value = "";
  $("#away").value = "";
  $("#steer").hidden = false;
  $("#steer-toward-wrap").hidden = query.kind === "text";
  $("#steer-title").textContent = query.kind === "text" ? "Refine:" : "Like this, but…";
}

function textQuery(q) {
  return { kind: "text", label: `“${q}”`, run: (offset) => {
    const p = filterParams();
    p.set("q", q); p.set("top", PAGE_SIZE); p.set("offset", offset);
    return api(`/api/search?${steerParams(p, { kind: "text" })}`);
  } };
}

function uploadQuery(blob, filename) {
  const query = { kind: "audio", label: filename, run: (offset) => {
    const form = new FormData();
    form.append("file", blob, filename);
    const p = filterParams();
    p.set("top", PAGE_SIZE); p.set("offset", offset);
    return api(`/api/search/audio?${steerParams(p, query)}`, { method: "POST", body: form });
  } };
  return query;
}

function searchSimilar(segmentId, name) {
  showView("search");
  $("#q").value = "";
  const query = { kind: "similar", label: `sounds like ${name}`, run: (offset) => {
    const p = filterParams();
    p.set("top", PAGE_SIZE); p.set("offset", offset);
    return api(`/api/segments/${segmentId}/similar?${steerParams(p, query)}`);
  } };
  runSearch(query).then(() => $("#results").focus());
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
  $("#q").value = "";
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
    $("#sound-body").hidden = true;
    $("#results").replaceChildren();
    setStatus(`${err.message}. Go back to the search to find another sound.`, true);
    return;
  }
  $("#sound-body").hidden = false;
  document.title = `${sound.name} · soundseek`;
  $("#sound-title").textContent = sound.name;
  $("#sound-path").textContent = sound.path;
  renderFacts(sound);
  addTags($("#sound-tags"), sound.tags);
  const canvas = $("#sound-wave");
  const button = $("#sound-play");
  const item = { soundId: sound.sound_id, name: sound.name, duration: sound.duration, seg: null, li: null, button,
                 canvas, view: { soundId: sound.sound_id, duration: sound.duration, seg: null, moments: [] } };
  button.onclick = () => play(item);
  canvas.onclick = (e) => seekFromCanvas(item, e);
  const download = $("#sound-download");
  download.href = withToken(sound.audio_url);
  download.setAttribute("download", sound.name);
  paintWave(canvas, item.view).catch(() => { canvas.title = "waveform unavailable"; });
  renderLane(sound);
  await runSearch({ kind: "similar", label: "this sound", run: (offset) =>
    api(`/api/sounds/${soundId}/similar?top=${PAGE_SIZE}&offset=${offset}`) });
  if ($("#results").children.length) setStatus(`${$("#results").children.length} nearest neighbours`);
}

function renderFacts(sound) {
  const facts = [["Duration", clock(sound.duration)], ["Sample rate", `${sound.sample_rate} Hz`],
                 ["Channels", sound.channels], ["Format", sound.format || "?"],
                 ["Size", `${(sound.size / 1024).toFixed(0)} KB`], ["Segments", sound.segments.length]];
  $("#sound-meta").replaceChildren(...facts.map(([k, v]) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = v;
    div.append(dt, dd);
    return div;
  }));
}

// The lane of tags over time: each segment's top tag from its start to the next segment's start;
// neighbours with the same top tag are merged into one block.
function laneBlocks(segments, duration) {
  const sorted = [...segments].sort((a, b) => a.start - b.start);
  const blocks = [];
  sorted.forEach((seg, i) => {
    const end = i + 1 < sorted.length ? sorted[i + 1].start : duration;
    const tag = seg.tags[0];
    if (!tag) return;
    const last = blocks[blocks.length - 1];
    if (last && last.tag === tag && Math.abs(last.end - seg.start) < 1e-6) { last.end = end; seg.tags.forEach((t) => last.all.add(t)); return; }
    blocks.push({ tag, start: seg.start, end, all: new Set(seg.tags) });
  });
  return blocks;
}

function renderLane(sound) {
  const lane = $("#tag-lane");
  const blocks = sound.duration > 0 ? laneBlocks(sound.segments, sound.duration) : [];
  $("#tag-lane-wrap").hidden = blocks.length === 0;
  lane.replaceChildren(...blocks.map((b) => {
    const span = document.createElement("span");
    span.className = "lane-block";
    span.style.left = `${(100 * b.start) / sound.duration}%`;
    span.style.width = `${(100 * (b.end - b.start)) / sound.duration}%`;
    span.textContent = b.tag;
    span.title = `${clock(b.start)}–${clock(b.end)}: ${[...b.all].join(", ")}`;
    return span;
  }));
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
    if (file) { $("#q").value = ""; runSearch(uploadQuery(file, file.name)); }
    e.target.value = "";
  });
  $("#steer").addEventListener("submit", (e) => { e.preventDefault(); if (state.lastQuery) runSearch(state.lastQuery); });
  $("#steer-clear").addEventListener("click", () => {
    $("#toward").value = ""; $("#away").value = "";
    if (state.lastQuery) runSearch(state.lastQuery);
  });
  $("#record").addEventListener("click", () => (state.recorder ? stopRecording() : startRecording()));
  $("#more").addEventListener("click", () => state.lastQuery && runSearch(state.lastQuery, true));
  $("#f-clear").addEventListener("click", () => {
    for (const id of ["#f-min", "#f-max", "#f-sr", "#f-ch", "#f-tag", "#f-path"]) $(id).value = "";
  });
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !typing) { e.preventDefault(); showView("search"); $("#q").focus(); return; }
    onAuditionKey(e);
  });
}

function start() {
  readToken();
  bindPlayer();
  bindSearch();
  bindResults();
  loadInfo();
  const match = window.location.pathname.match(/^\/sound\/(\d+)/);
  if (match) openSound(Number(match[1]));
  else $("#q").focus();
}

document.addEventListener("DOMContentLoaded", start);
