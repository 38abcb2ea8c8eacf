"""Time and peak memory of fitting the library model (search/library.py) as a collection grows.

The model's semantic kNN needs each segment's nearest named examples; a full scan costs segments x
examples x dimensions, which grows with the square of the library. This fits the model on synthetic
collections of N segments (`benchmarks/load_test.py build`: 120-d vectors + 521 class scores, every sound
named: the worst case) in a fresh child process per (code, N), bounded by --timeout.

    python benchmarks/library_model_scale.py --work /tmp/libscale --sizes 10000 30000 100000 \
        [--src OLD_CHECKOUT/src] --timeout 900 --json benchmarks/results/library_model_scale.json

`--src` adds a run of another checkout's code (e.g. the commit before) beside this one's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = """
import resource, sys, time
from pathlib import Path
from soundseek.encoders import build_text_encoder
from soundseek.search.library import fit_library_model
from soundseek.search.state import load_segment_table
from soundseek.store import Collection
coll = Collection.open(Path(sys.argv[1]))
table = load_segment_table(coll)
encoder = build_text_encoder("minilm")
encoder.encode_text(["warm up"])
started = time.perf_counter()
model = fit_library_model(coll, table, encoder)
seconds = time.perf_counter() - started
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, model.summary.validation_map)
"""


def build(work: Path, n: int) -> Path:
    path = work / f"c{n}"
    if not (path / "soundseek.sqlite").exists():
        subprocess.run([sys.executable, str(HERE / "load_test.py"), "build", "--collection", str(path),
                        "--segments", str(n)], check=True)
    return path


def fit(collection: Path, src: Path, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    started = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, str(collection)], env=env, capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timed_out_after": timeout}
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1:], "wall": time.perf_counter() - started}
    seconds, rss, val = out.stdout.split()[-3:]
    return {"seconds": round(float(seconds), 1), "peak_rss_mb": int(rss), "validation_map": float(val)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--src", type=Path, help="another checkout's src/ to run beside this one")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    codes = {"this": HERE.parent / "src"} | ({"other": args.src.resolve()} if args.src else {})
    rows = []
    for n in args.sizes:
        collection = build(args.work, n)
        for label, src in codes.items():
            row = {"segments": n, "code": label, **fit(collection, src, args.timeout)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
                                         "load_average": os.getloadavg(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
