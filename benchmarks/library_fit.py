"""Fitting the library model (search/library.py): wall time and peak resident memory.

Usage:
    python benchmarks/library_fit.py --collection C [--json OUT]

Opens the collection, warms the text encoder, then fits the model (without saving it) while a thread
samples the process's VmRSS every 50 ms. Reports the fit's wall time, the resident memory before and
at its peak, and what the fit chose (ridge strength, grouped-validation mAP), so two trees can be
compared on the same collection (run each with its own PYTHONPATH, in alternation).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    from soundseek.encoders import build_text_encoder
    from soundseek.search.library import fit_library_model
    from soundseek.search.state import load_segment_table
    from soundseek.store import Collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    coll = Collection.open(args.collection)
    table = load_segment_table(coll)
    encoder = build_text_encoder("minilm")
    encoder.encode_text(["warm up"])
    peak, done = [rss_kb()], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_kb())

    before = rss_kb()
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    model = fit_library_model(coll, table, encoder)
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    result = {"collection": str(args.collection), "segments": len(table), "fit_s": round(seconds, 1),
              "rss_before_mb": before // 1024, "peak_rss_mb": peak[0] // 1024, "peak_above_mb": (peak[0] - before) // 1024}
    if isinstance(model, str):
        result["skipped"] = model
    else:
        result.update(alpha=model.summary.alpha, validation_map=round(model.summary.validation_map, 5),
                      examples=model.summary.examples)
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
