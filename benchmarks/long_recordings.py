"""Events inside long recordings: are planted events found by their word, and where do hits say they are?

Usage:
    python benchmarks/long_recordings.py --esc50 ../shared/data/esc50 --yamnet-dir ../shared/models \
        [--minutes 32] [--levels -6 0 6] [--json OUT] [--markdown OUT]

Two recordings of `--minutes / 2` minutes are made of ESC-50 ambience clips (rain, wind, crickets,
insects, sea waves) laid end to end; into each, `EVENTS` ESC-50 event clips (of classes that are not
ambience) are planted at seeded random times at an event-to-ambience level of L dB (RMS over the
event's active part vs the ambience around it). The ground truth of an event is its active part: the
0.1 s blocks of the clip within 30 dB of its loudest block. The collection holds the two recordings.

For each planted event, its category name queries the collection; the top 10 moments (files in rank
order, each file's moments; the 10 best moments by score whatever their file) are read. recall@10 = share of events overlapped by one of them;
boundary error = |start - true start| and |end - true end| of that moment, median over found events.
Only events whose category finds their isolated clip (the same clip, alone, indexed among 40 ESC-50
clips of other categories) in the top 3 count ("found in isolation").
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from soundseek.audio import load_audio
from soundseek.indexer import index_paths, open_for_indexing
try:
    from soundseek.search.engine import SearchEngine
except ImportError:  # the code before the package was cut into stages, for the "before" figures
    from soundseek.search import SearchEngine  # type: ignore[no-redef]

AMBIENCE = ("rain", "wind", "crickets", "insects", "sea_waves")
EVENT_CLASSES = ("dog", "rooster", "cow", "cat", "crow", "church_bells", "siren", "car_horn", "door_wood_knock",
                 "glass_breaking", "clock_alarm", "crying_baby", "coughing", "sneezing", "laughing", "chainsaw",
                 "train", "airplane", "hen", "sheep", "pig", "frog", "footsteps", "keyboard_typing")
EVENTS = 12
SR = 16000


def active_span(clip: np.ndarray, *, block: float = 0.1, floor_db: float = 30.0) -> tuple[float, float]:
    """First and last 0.1 s block within floor_db of the loudest block, seconds from the clip start."""
    n = int(block * SR)
    blocks = clip[: len(clip) // n * n].reshape(-1, n)
    level = 10 * np.log10(np.mean(blocks ** 2, axis=1) + 1e-12)
    on = np.flatnonzero(level >= level.max() - floor_db)
    return float(on[0] * block), float((on[-1] + 1) * block)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


def build(esc50: Path, out: Path, minutes: float, level_db: float, seed: int) -> list[dict]:
    """Write the two long recordings into `out`; return the planted events (file, category, start, end)."""
    rows = list(csv.DictReader(open(esc50 / "meta" / "esc50.csv", newline="")))
    rng = np.random.default_rng(seed)
    amb = [r for r in rows if r["category"] in AMBIENCE]
    events = []
    for rec in range(2):
        picks = rng.permutation(len(amb))
        parts, total = [], 0
        for i in picks:
            parts.append(load_audio(esc50 / "audio" / amb[i]["filename"]))
            total += len(parts[-1])
            if total >= minutes / 2 * 60 * SR:
                break
        track = np.concatenate(parts)
        classes = rng.choice(EVENT_CLASSES, size=EVENTS, replace=False)
        slots = np.sort(rng.choice(np.arange(10, int(len(track) / SR) - 10, 12), size=EVENTS, replace=False))
        for cls, at in zip(classes, slots):
            cands = [r for r in rows if r["category"] == cls]
            row = cands[int(rng.integers(len(cands)))]
            clip = load_audio(esc50 / "audio" / row["filename"])
            s, e = active_span(clip)
            where = int(at * SR)
            around = track[where : where + len(clip)]
            gain = rms(around) / rms(clip[int(s * SR) : int(e * SR)]) * 10 ** (level_db / 20)
            track[where : where + len(clip)] += gain * clip[: len(around)]
            events.append({"file": f"long{rec}.flac", "category": cls.replace("_", " "), "clip": row["filename"],
                           "start": at + s, "end": at + e})
        peak = np.max(np.abs(track))
        sf.write(str(out / f"long{rec}.flac"), (track / peak * 0.9 if peak > 1 else track).astype(np.float32), SR)
    return events


def found_in_isolation(esc50: Path, events: list[dict], work: Path, encoder) -> set[str]:  # type: ignore[no-untyped-def]
    """The clips of `events` that their category finds in the top 3 among 40 clips of other categories."""
    rows = list(csv.DictReader(open(esc50 / "meta" / "esc50.csv", newline="")))
    lib = work / "isolated"
    lib.mkdir()
    others = [r for r in rows if r["category"] not in EVENT_CLASSES + AMBIENCE][::25][:40]
    for r in others + [{"filename": e["clip"]} for e in events]:
        os.symlink(esc50 / "audio" / r["filename"], lib / r["filename"])
    coll, _ = open_for_indexing(work / "isolated-coll", "yamnet", encoder.config.__dict__)
    index_paths(coll, [lib], encoder, quiet=True)
    engine = SearchEngine(coll, audio_encoder=encoder)
    ok = set()
    for e in events:
        hits = engine.search_text(e["category"], top=3)
        if any(Path(h.path).name == e["clip"] for h in hits):
            ok.add(e["clip"])
    return ok


def evaluate(engine: SearchEngine, events: list[dict], keep: set[str]) -> dict[str, float]:
    found, errors, windows = [], [], []
    for e in events:
        if e["clip"] not in keep:
            continue
        moments = []
        for hit in engine.search_text(e["category"], top=10):
            spans = [(m.start, m.end, m.score) for m in getattr(hit, "moments", [])]
            moments += [(Path(hit.path).name, s, t, x) for s, t, x in spans or [(hit.start, hit.end, hit.score)]]
        moments = sorted(moments, key=lambda m: -m[3])[:10]  # the 10 best moments, whatever their file
        match = [(s, t) for f, s, t, _ in moments if f == e["file"] and s < e["end"] and t > e["start"]]
        found.append(bool(match))
        if match:
            s, t = match[0]
            errors += [abs(s - e["start"]), abs(t - e["end"])]
            windows.append(t - s)
    return {"events": len(found), "recall@10": float(np.mean(found)) if found else 0.0,
            "median boundary error (s)": float(np.median(errors)) if errors else float("nan"),
            "median moment length (s)": float(np.median(windows)) if windows else float("nan")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--esc50", type=Path, required=True)
    ap.add_argument("--yamnet-dir", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=32.0)
    ap.add_argument("--levels", type=float, nargs="+", default=[-6.0, 0.0, 6.0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()
    args.esc50, args.yamnet_dir = args.esc50.resolve(), args.yamnet_dir.resolve()  # symlinks need absolute paths
    from soundseek.encoders import build_audio_encoder

    encoder = build_audio_encoder("yamnet", {"model_dir": str(args.yamnet_dir)})
    results = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for level in args.levels:
            work = Path(tmp) / f"level{level:+.0f}"
            (work / "lib").mkdir(parents=True)
            events = build(args.esc50, work / "lib", args.minutes, level, args.seed)
            keep = found_in_isolation(args.esc50, events, work, encoder)
            coll, _ = open_for_indexing(work / "coll", "yamnet", {"model_dir": str(args.yamnet_dir)})
            index_paths(coll, [work / "lib"], encoder, quiet=True)
            results[f"{level:+.0f} dB"] = evaluate(SearchEngine(coll, audio_encoder=encoder), events, keep)
            print(f"{level:+.0f} dB: {results[f'{level:+.0f} dB']}", file=sys.stderr)
    lines = ["| event level vs ambience | events found in isolation | recall@10 | median boundary error | median moment length |",
             "|---|---:|---:|---:|---:|"]
    for level, r in results.items():
        lines.append(f"| {level} | {r['events']} | {r['recall@10']:.2f} | {r['median boundary error (s)']:.2f} s | "
                     f"{r['median moment length (s)']:.2f} s |")
    table = "\n".join(lines)
    print(table)
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
