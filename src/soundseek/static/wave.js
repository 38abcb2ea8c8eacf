// soundseek web page: waveforms with the matching segment, the other matching moments, a playhead and a
// time axis. Drawn on a canvas from the peaks of /api/sounds/{id}/waveform.
"use strict";

const AXIS_HEIGHT = 14;            // css px at the bottom of each waveform canvas, for the time axis
const TICK_STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const peakCache = new Map();

async function loadPeaks(soundId, width) {
  const key = `${soundId}:${width}`;
  if (!peakCache.has(key)) {
    const request = api(`/api/sounds/${soundId}/waveform?width=${width}`).then((r) => r.peaks);
    request.catch(() => peakCache.delete(key));
    peakCache.set(key, request);
  }
  return peakCache.get(key);
}

// The step between labelled ticks: the smallest that leaves at least `minGap` css px between labels.
function tickStep(duration, cssWidth, minGap = 56) {
  const most = Math.max(1, Math.floor(cssWidth / minGap));
  return TICK_STEPS.find((s) => duration / s <= most) || TICK_STEPS[TICK_STEPS.length - 1];
}

function tickLabel(seconds, step) {
  const m = Math.floor(seconds / 60), s = seconds - 60 * m;
  const sec = step < 1 ? s.toFixed(1) : String(Math.round(s));
  return m ? `${m}:${sec.padStart(step < 1 ? 4 : 2, "0")}` : `${sec}s`;
}

function drawAxis(ctx, w, top, duration, ratio) {
  const step = tickStep(duration, w / ratio);
  const labels = [];
  ctx.fillStyle = "#94a3b8";
  ctx.font = `${10 * ratio}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  for (let t = 0; t <= duration + 1e-9; t += step) {
    const x = Math.round((t / duration) * (w - 1));
    ctx.fillRect(x, top, Math.max(1, ratio), 3 * ratio);
    const label = tickLabel(t, step);
    const width = ctx.measureText(label).width;
    if (x + width + 2 * ratio <= w) ctx.fillText(label, x + 2 * ratio, top + 2 * ratio);
    labels.push(label);
  }
  return labels;
}

// view = {peaks, duration, seg: {start, end} | null, moments: [{start, end}], playhead: seconds | null}
function drawWave(canvas, view) {
  const ctx = canvas.getContext("2d");
  const ratio = Number(canvas.dataset.ratio || 1);
  const w = canvas.width, axis = AXIS_HEIGHT * ratio, h = canvas.height - axis, mid = h / 2;
  const { peaks, duration, seg } = view;
  const x = (t) => (t / duration) * w;
  ctx.clearRect(0, 0, w, canvas.height);
  if (duration > 0) {
    ctx.fillStyle = "rgba(251, 191, 36, 0.16)";
    for (const m of view.moments || []) ctx.fillRect(x(m.start), 0, Math.max(2, x(m.end) - x(m.start)), h);
    if (seg) {
      ctx.fillStyle = "rgba(251, 191, 36, 0.38)";
      ctx.fillRect(x(seg.start), 0, Math.max(2, x(seg.end) - x(seg.start)), h);
    }
  }
  const n = peaks.length;
  for (let i = 0; i < n; i++) {
    const t = (i / n) * duration;
    const inSeg = seg && t >= seg.start && t <= seg.end;
    ctx.fillStyle = inSeg ? "#b45309" : "#475569";
    const [lo, hi] = peaks[i];
    const top = mid - hi * mid, bottom = mid - lo * mid;
    ctx.fillRect(Math.floor((i / n) * w), top, Math.max(1, w / n), Math.max(1, bottom - top));
  }
  if (view.playhead != null && duration > 0) {
    ctx.fillStyle = "#0f766e";
    ctx.fillRect(x(view.playhead) - ratio, 0, 2 * ratio, h);
  }
  if (duration > 0) canvas.dataset.ticks = drawAxis(ctx, w, h, duration, ratio).join(" ");
}

async function paintWave(canvas, view) {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 600;
  const cssHeight = parseInt(canvas.getAttribute("height"), 10) || 56;
  canvas.dataset.ratio = ratio;
  canvas.width = Math.min(4000, Math.round(cssWidth * ratio));
  canvas.height = Math.round((cssHeight + AXIS_HEIGHT) * ratio);
  canvas.style.height = `${cssHeight + AXIS_HEIGHT}px`;
  const bins = Math.max(16, Math.min(1000, Math.round(cssWidth)));
  view.peaks = await loadPeaks(view.soundId, bins);
  canvas.dataset.ready = "1";
  drawWave(canvas, view);
  return view.peaks;
}

// The time (s) under a pointer event on a waveform canvas.
function timeAt(canvas, event, duration) {
  const rect = canvas.getBoundingClientRect();
  const at = ((event.clientX - rect.left) / rect.width) * duration;
  return Math.max(0, Math.min(at, duration));
}
