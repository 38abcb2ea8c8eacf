// soundseek web page: auditioning. Play the matching segment and stop at its end (or loop it, or play the
// whole file), seek by clicking a waveform, and move through hits with the keyboard as in BaseHead:
// Up/Down select the previous/next hit (and play it when something is playing), Space plays or pauses.
"use strict";

const audition = { mode: "segment", loop: false, range: null, watching: false, current: -1 };

function player() { return $("#player"); }

// The range to play for an item: its segment in "segment" mode, else the whole file.
function defaultRange(item) {
  if (audition.mode === "segment" && item.seg) return { start: item.seg.start, end: item.seg.end };
  return { start: 0, end: null };
}

// Clicking a waveform at `t`: inside the segment, play to the segment's end; elsewhere to the file's end.
function rangeFrom(item, t) {
  const seg = item.seg;
  if (audition.mode === "segment" && seg && t >= seg.start && t < seg.end) return { start: t, end: seg.end };
  return { start: t, end: null };
}

async function play(item, range = null) {
  const audio = player();
  if (state.playing === item && range == null) {
    if (audio.paused) { await resume(item); } else { audio.pause(); }
    return;
  }
  if (state.playing !== item) stopHighlight();
  state.playing = item;
  item.li && item.li.classList.add("playing");
  audition.range = range || defaultRange(item);
  const src = withToken(`/api/sounds/${item.soundId}/audio`);
  if (audio.dataset.src !== src) {
    audio.src = src;
    audio.dataset.src = src;
  }
  $("#player-bar").hidden = false;
  $("#now-playing").textContent = item.name;
  audio.loop = audition.loop && audition.range.end == null;
  await seekAndPlay(audio, audition.range.start || 0);
}

// Play again after a pause: from where it stopped, or from the range's start when it ran to the end.
function resume(item) {
  const audio = player();
  const range = audition.range || defaultRange(item);
  const atEnd = range.end != null ? audio.currentTime >= range.end - 0.05 : audio.ended;
  return atEnd ? seekAndPlay(audio, range.start) : audio.play().catch(reportPlayError);
}

function seekAndPlay(audio, start) {
  const go = () => { audio.currentTime = start; return audio.play().then(watchRange); };
  if (audio.readyState >= 1) return go().catch(reportPlayError);
  audio.preload = "auto";
  return new Promise((resolve) => {
    audio.addEventListener("loadedmetadata", () => resolve(go().catch(reportPlayError)), { once: true });
    audio.load();
  });
}

// While playing, stop (or loop) at the range's end; checked every animation frame, not every timeupdate
// (4 per second), so a segment stops within a frame of its end.
function watchRange() {
  if (audition.watching) return;
  audition.watching = true;
  const tick = () => {
    const audio = player(), range = audition.range;
    if (audio.paused || !range) { audition.watching = false; return; }
    if (range.end != null && audio.currentTime >= range.end) {
      if (audition.loop) { audio.currentTime = range.start; } else { audio.pause(); audio.currentTime = range.end; }
    }
    onPlayerTick();
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function reportPlayError(err) {
  setStatus(`Cannot play this file in the browser (${err.message}).`, true);
}

function stopHighlight() {
  const item = state.playing;
  if (!item) return;
  item.li && item.li.classList.remove("playing");
  if (item.button) item.button.textContent = "Play";
  if (item.view.peaks) drawWave(item.canvas, { ...item.view, playhead: null });
}

function onPlayerTick() {
  const item = state.playing;
  if (!item || !item.view.peaks) return;
  drawWave(item.canvas, { ...item.view, playhead: player().currentTime });
}

function bindPlayer() {
  const audio = player();
  audio.addEventListener("timeupdate", onPlayerTick);
  audio.addEventListener("play", () => {
    if (state.playing && state.playing.button) state.playing.button.textContent = "Pause";
    watchRange();
  });
  audio.addEventListener("pause", () => { if (state.playing && state.playing.button) state.playing.button.textContent = "Play"; });
  audio.addEventListener("error", () => { if (audio.dataset.src) setStatus("The audio file could not be loaded.", true); });
  for (const input of document.querySelectorAll("input[name=mode]")) {
    input.addEventListener("change", () => { audition.mode = input.value; audition.range = null; });
  }
  $("#loop").addEventListener("change", (e) => {
    audition.loop = e.target.checked;
    audio.loop = audition.loop && !!audition.range && audition.range.end == null;
  });
}

function seekFromCanvas(item, event) {
  play(item, rangeFrom(item, timeAt(item.canvas, event, item.duration)));
}

// ---- keyboard audition ----------------------------------------------------------------------------
function visibleHits() {
  return [...document.querySelectorAll("#results > li.hit:not([hidden])")];
}

function selectHit(index, { playIt = false } = {}) {
  const hits = visibleHits();
  if (!hits.length) return;
  const i = Math.max(0, Math.min(index, hits.length - 1));
  hits.forEach((li) => li.classList.remove("current"));
  const li = hits[i];
  li.classList.add("current");
  li.focus({ preventScroll: true });
  li.scrollIntoView({ block: "nearest" });
  audition.current = i;
  if (playIt && li.item) play(li.item, defaultRange(li.item));
}

function onAuditionKey(e) {
  const active = document.activeElement;
  const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  const onControl = /^(BUTTON|A|SUMMARY)$/.test(active.tagName);
  if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
  const hits = visibleHits();
  if (!hits.length) return;
  const at = hits.findIndex((li) => li.classList.contains("current"));
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const next = at < 0 ? 0 : at + (e.key === "ArrowDown" ? 1 : -1);
    selectHit(next, { playIt: !player().paused });
  } else if (e.key === " " && !onControl) {
    e.preventDefault();
    const li = hits[at < 0 ? 0 : at];
    if (at < 0) selectHit(0);
    if (li.item) play(li.item);
  }
}
