"""How long `soundseek serve` takes before the page loads and before a search answers.

Usage:
    python benchmarks/serve_startup.py --collection DIR [--runs 3] [--json OUT]

Starts `python -m soundseek.cli serve` on a free loopback port (with this checkout's code on
PYTHONPATH) and polls every 0.05 s: `page` = seconds until GET / answers 200, `search` = seconds until
GET /api/search?q=rain answers 200 (the text encoder loaded), measured from the process start.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until_ok(http: httpx.Client, url: str, started: float, proc: subprocess.Popen) -> float:
    while proc.poll() is None:
        try:
            if http.get(url).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"serve exited with {proc.returncode}")


def one_run(collection: Path, src: Path) -> dict[str, float]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "soundseek.cli", "serve", "--collection", str(collection),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=60.0) as http:
            base = f"http://127.0.0.1:{port}"
            page = _until_ok(http, base + "/", started, proc)
            search = _until_ok(http, base + "/api/search?q=rain", started, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"page": round(page, 2), "search": round(search, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, required=True)
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs = [one_run(args.collection, args.src) for _ in range(args.runs)]
    result = {"src": str(args.src), "runs": runs,
              "median": {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in ("page", "search")},
              "machine": f"{platform.node()} {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
