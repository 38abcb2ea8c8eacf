"""MiniLM query encoding: sentence-transformers (torch) vs the ONNX backend, in one run.

Usage:
    python benchmarks/text_encoder_speed.py [--queries 300] [--json OUT]

For each backend, in a fresh child process: seconds from process start until the first query vector
(imports + model load: what a one-off `soundseek search` pays), then the p50/p95 of encoding never-seen
two-text queries ("the sound of W", "W") one at a time, and the largest difference between the two
backends' vectors.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from soundseek.encoders.text import MiniLMConfig, MiniLMEncoder
enc = MiniLMEncoder(MiniLMConfig(backend=sys.argv[1]))
first = enc.encode_text(["the sound of rain", "rain"])
start = time.perf_counter() - t0
times = []
for i in range(int(sys.argv[2])):
    words = f"word{i} sound{i * 7}"
    t = time.perf_counter()
    enc.encode_text([f"the sound of {words}", words])
    times.append(time.perf_counter() - t)
ref = enc.encode_text(["glass shattering", "a dog barks far away", "footsteps on gravel"])
print(json.dumps({"start_to_first_vector_s": round(start, 2), "p50_ms": round(1000 * float(np.median(times)), 2),
                  "p95_ms": round(1000 * float(np.percentile(times, 95)), 2), "vectors": ref.tolist()}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json")
    args = ap.parse_args()
    out = {}
    for backend in ("torch", "onnx"):
        proc = subprocess.run([sys.executable, "-c", CHILD, backend, str(args.queries)], capture_output=True, text=True, check=True)
        out[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    import numpy as np
    diff = float(np.abs(np.asarray(out["torch"].pop("vectors")) - np.asarray(out["onnx"].pop("vectors"))).max())
    out["max_vector_difference"] = diff
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
