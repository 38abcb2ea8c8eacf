"""Load test of `soundseek serve`: mixed text and audio queries over loopback, bounded in time.

Collection: `build` writes the synthetic named library of synthetic_library.py (N/4 sounds of 4
segments, 120-d MFCC-space vectors, sparse AudioSet class scores, 2,000 distinct texts) straight into
the store. Audio queries are real generated sounds (soundseek.audio.synth), embedded by the real MFCC
encoder.

    .venv/bin/python benchmarks/load_test.py build --collection /tmp/ss100k --segments 100000
    .venv/bin/python benchmarks/load_test.py all --collection /tmp/ss100k --seconds 20
    .venv/bin/python benchmarks/load_test.py all --collection /tmp/ss100k --seconds 15 --workers 1 2 \
        --rounds 2 --cache on --out load_test_workers

`all` starts `soundseek serve` itself (127.0.0.1, a free port) with and without the result cache
(`--cache`), once per `--workers` count (`serve --workers N`; with several counts the servers alternate,
`--rounds` times), and runs these phases against each (each for `--seconds`):
  text-repeat: 50 text queries cycled, after one warm-up round (cached server: every request is a cache hit)
  text-unique: every request a new word combination (misses every cache, including the query embedding)
  mixed:       90% repeated text queries, 10% audio uploads (3 s WAV)
`run --url URL [--workers N]` runs the phases against a server you started. Before the phases every worker
gets its own warm-up round (connections are opened until N distinct workers, told apart by the `worker`
field of /api/health, have each taken one). Each phase opens its `--concurrency` keep-alive connections
first and reports how they were spread over the workers: by default (`--spread even`) a connection that
lands on a worker already holding its share is reopened, as many independent clients would spread (the
kernel's spread of one client's burst is random: 8 connections over 2 workers came out 8/0 in 1 of 40
bursts and 7/1 in 5); `--spread kernel` keeps whatever the kernel chose. `all` also reports each server's memory after its phases (RSS and PSS of the
supervisor and of every worker, from /proc). Results: benchmarks/results/<--out>.json|md (default load_test).
The client is a minimal asyncio HTTP/1.1 keep-alive client (cheap per request, since the load generator
shares the 2 cores with the server). Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import numpy as np
from synthetic_library import TEXT_QUERIES, build, unique_query

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


# -- the load generator -----------------------------------------------------------------------------
@dataclass
class Sample:
    kind: str
    seconds: float
    status: int


@dataclass
class Phase:
    name: str
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    #: How many of the phase's connections each server worker (pid) accepted.
    connections: dict[int, int] = field(default_factory=dict)

    def summary(self) -> dict:
        out: dict = {"phase": self.name, "seconds": round(self.seconds, 2),
                     "connections_per_worker": sorted(self.connections.values(), reverse=True)}
        for kind in sorted({s.kind for s in self.samples}) + ["all"]:
            chosen = [s for s in self.samples if kind == "all" or s.kind == kind]
            lat = np.asarray([s.seconds for s in chosen]) * 1000
            out[kind] = {"requests": len(chosen), "rps": round(len(chosen) / self.seconds, 1),
                         "p50_ms": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
                         "p99_ms": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
                         "errors": sum(1 for s in chosen if s.status != 200)}
        return out


class Connection:
    """One keep-alive HTTP/1.1 connection (requests in sequence)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.body = b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def request(self, method: str, target: str, body: bytes = b"", content_type: str = "") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        return await self._response()

    async def _response(self) -> int:
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            self.writer = None
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        self.body = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status


async def worker_of(conn: Connection) -> int:
    """The pid of the server worker that accepted `conn` (the `worker` field of /api/health; 0 when the
    server does not say)."""
    if await conn.request("GET", "/api/health") != 200:
        raise ConnectionError("the server's /api/health did not answer 200")
    return int(json.loads(conn.body).get("worker", 0))


def audio_bodies(n: int = 8) -> list[tuple[bytes, str]]:
    """Multipart bodies with 3 s generated WAV queries."""
    import soundfile as sf

    from soundseek.audio.synth import KINDS, SR, make_sound

    out = []
    for i, kind in enumerate(list(KINDS)[:n]):
        buf = io.BytesIO()
        sf.write(buf, make_sound(kind, 500 + i)[: 3 * SR], SR, format="WAV", subtype="PCM_16")
        boundary = f"soundseekload{i}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q{i}.wav\"\r\n"
                f"Content-Type: audio/wav\r\n\r\n").encode() + buf.getvalue() + f"\r\n--{boundary}--\r\n".encode()
        out.append((body, f"multipart/form-data; boundary={boundary}"))
    return out


async def open_connections(host: str, port: int, n: int, *, workers: int, even: bool) -> tuple[list[Connection], dict[int, int]]:
    """`n` keep-alive connections and how many each worker (pid) took. With `even`, a connection that
    lands on a worker already holding its share (n / workers, rounded up) is closed and another opened
    (at most 50 n tries), as many independent clients would spread; otherwise the kernel's spread is kept."""
    share = -(-n // max(workers, 1))
    conns: list[Connection] = []
    counts: dict[int, int] = {}
    for attempt in range(50 * n):
        if len(conns) == n:
            break
        conn = Connection(host, port)
        pid = await worker_of(conn)
        if even and counts.get(pid, 0) >= share and attempt < 50 * n - (n - len(conns)):
            conn.close()
            continue
        counts[pid] = counts.get(pid, 0) + 1
        conns.append(conn)
    return conns, counts


async def run_phase(url: str, name: str, seconds: float, concurrency: int, audio_share: float,
                    unique: bool, seed: int = 0, *, workers: int = 1, even: bool = True) -> Phase:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    bodies = audio_bodies() if audio_share > 0 else []
    phase = Phase(name, seconds)
    pool, phase.connections = await open_connections(host, port, concurrency, workers=workers, even=even)
    deadline = time.perf_counter() + seconds

    async def connect() -> Connection:
        """A new connection, counted for the worker that accepted it (unattributed if that fails:
        the next request on it then fails and counts as an error)."""
        conn = Connection(host, port)
        try:
            pid = await worker_of(conn)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            return Connection(host, port)
        phase.connections[pid] = phase.connections.get(pid, 0) + 1
        return conn

    async def worker(w: int) -> None:
        rng = random.Random(seed * 1000 + w)
        conn = pool[w]
        i = w
        while time.perf_counter() < deadline:
            i += 1
            is_audio = bodies and rng.random() < audio_share
            started = time.perf_counter()
            try:
                if is_audio:
                    body, ctype = bodies[i % len(bodies)]
                    status = await conn.request("POST", "/api/search/audio?top=10", body, ctype)
                else:
                    q = unique_query(rng) if unique else TEXT_QUERIES[i % len(TEXT_QUERIES)]
                    status = await conn.request("GET", "/api/search?" + urlencode({"q": q, "top": 10}))
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                status, conn = 0, await connect()
            phase.samples.append(Sample("audio" if is_audio else "text", time.perf_counter() - started, status))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    phase.seconds = time.perf_counter() - t0
    return phase


async def warm_up(url: str, workers: int, attempts: int = 200) -> list[int]:
    """Ask each repeated text query once on every worker (each has its own result cache and warm-up), so
    text-repeat measures the steady state, not the first round. Returns the workers' pids."""
    parts = urlsplit(url)
    seen: dict[int, Connection] = {}
    for _ in range(attempts):
        if len(seen) >= workers:
            break
        conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
        seen.setdefault(await worker_of(conn), conn)
    if len(seen) < workers:
        print(f"warning: only {len(seen)} of {workers} workers took a connection in {attempts} tries", file=sys.stderr)

    async def ask_all(conn: Connection) -> None:
        for q in TEXT_QUERIES:
            await conn.request("GET", "/api/search?" + urlencode({"q": q, "top": 10}))

    # at once: an idle keep-alive connection is closed by the server after 5 s
    await asyncio.gather(*(ask_all(conn) for conn in seen.values()))
    return sorted(seen)


def run_all_phases(url: str, seconds: float, concurrency: int, label: str, workers: int = 1,
                   even: bool = True) -> tuple[list[dict], list[int]]:
    """The three phases against `url`; returns their summaries and the pids of the workers warmed up.
    `even`: spread the connections evenly over the workers (see open_connections)."""
    _check_loopback(url)
    phases = [("text-repeat", 0.0, False), ("text-unique", 0.0, True), ("mixed", 0.1, False)]
    pids = asyncio.run(warm_up(url, workers))
    out = []
    for name, audio_share, unique in phases:
        load = round(os.getloadavg()[0], 2)
        cpu_before, client_before = [cpu_seconds(pid) for pid in pids], time.process_time()
        phase = asyncio.run(run_phase(url, name, seconds, concurrency, audio_share, unique, workers=workers, even=even))
        cpu = [round(cpu_seconds(pid) - before, 2) for pid, before in zip(pids, cpu_before)]
        client_cpu = time.process_time() - client_before
        summary = {"server": label, "workers": workers, "concurrency": concurrency, "load_average_1min_before": load,
                   "spread": "even" if even else "kernel",
                   # CPU the workers used during the phase (/proc; per worker, in cores) and per request
                   "worker_cpu_cores": [round(c / phase.seconds, 2) for c in cpu],
                   "cpu_ms_per_request": round(1000 * sum(cpu) / max(len(phase.samples), 1), 1),
                   "client_cpu_cores": round(client_cpu / phase.seconds, 2),
                   **phase.summary()}
        print(json.dumps(summary), file=sys.stderr)
        out.append(summary)
    return out, pids


def _check_loopback(url: str) -> None:
    import ipaddress

    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load-test {host}: loopback addresses only")


# -- starting servers -------------------------------------------------------------------------------
def start_server(collection: Path, *, cache: bool, workers: int = 1) -> tuple[subprocess.Popen, str]:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "soundseek.cli", "serve", "--collection", str(collection), "--port", str(port),
           "--workers", str(workers)]
    proc = subprocess.Popen(cmd + ([] if cache else ["--no-cache"]))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=5) as res:
                if res.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)  # still starting: poll the health endpoint again
    proc.kill()
    raise SystemExit("server did not start")


# -- memory of a running server ---------------------------------------------------------------------
def _proc_kb(pid: int, path: str, field_name: str) -> int:
    """A `Name:   N kB` field of /proc/PID/<path> (0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return sorted(out)


def server_memory(pid: int, workers: list[int]) -> dict:
    """RSS and PSS (MB) of the serve process and of each of its children, marked worker or helper
    (PSS splits shared pages among the processes that map them, so PSS totals do not double-count)."""
    def mb(kb: int) -> float:
        return round(kb / 1024, 1)

    procs = [{"pid": pid, "role": "worker" if pid in workers else "supervisor"}]
    procs += [{"pid": c, "role": "worker" if c in workers else "helper"} for c in _children(pid)]
    for p in procs:
        p["rss_mb"] = mb(_proc_kb(p["pid"], "status", "VmRSS"))
        p["pss_mb"] = mb(_proc_kb(p["pid"], "smaps_rollup", "Pss"))
    return {"processes": procs, "total_rss_mb": round(sum(p["rss_mb"] for p in procs), 1),
            "total_pss_mb": round(sum(p["pss_mb"] for p in procs), 1)}


# -- results ----------------------------------------------------------------------------------------
def write_results(rows: list[dict], collection: Path, seconds: float, *, memory: list[dict] | None = None,
                  out: str = "load_test") -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    from soundseek.store import Collection

    counts = Collection.open(collection).counts()
    meta = {"collection": counts, "machine": f"{platform.machine()}, {_cores()} cores, {platform.python_version()}",
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "seconds_per_phase": seconds, "command": " ".join(sys.argv)}
    (RESULTS / f"{out}.json").write_text(json.dumps({"meta": meta, "phases": rows, "memory": memory or []}, indent=2))
    lines = [f"Collection: {counts['segments']:,} segments ({counts['sounds']:,} sounds, synthetic); "
             f"machine: {meta['machine']} (shared; load average {meta['load_average_at_end']} at the end); "
             f"{seconds:g} s per phase; client and server on the same 2 cores; connections spread over the workers: "
             f"{', '.join(sorted({str(r.get('spread', 'kernel')) for r in rows}))}; command: `{meta['command']}`", "",
             "| server | phase | conc. | kind | requests | req/s | p50 ms | p99 ms | errors | conns per worker | "
             "worker CPU (cores) | CPU ms / request | client CPU | load before |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|"]
    for row in rows:
        for kind in ("text", "audio"):
            if kind in row:
                r = row[kind]
                spread = "/".join(str(n) for n in row.get("connections_per_worker", []))
                lines.append(f"| {row['server']} | {row['phase']} | {row['concurrency']} | {kind} | {r['requests']} | "
                             f"{r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} | {spread} | "
                             f"{' + '.join(str(c) for c in row.get('worker_cpu_cores', []))} | "
                             f"{row.get('cpu_ms_per_request', '')} | {row.get('client_cpu_cores', '')} | "
                             f"{row.get('load_average_1min_before', '')} |")
    if memory:
        lines += ["", "| server | worker RSS MB (each) | worker PSS MB (each) | supervisor + helpers RSS MB | "
                      "total RSS MB | total PSS MB |", "|---|---|---|---:|---:|---:|"]
        for m in memory:
            workers = [p for p in m["processes"] if p["role"] == "worker"]
            others = sum(p["rss_mb"] for p in m["processes"] if p["role"] != "worker")
            lines.append(f"| {m['server']} | {' / '.join(str(p['rss_mb']) for p in workers)} | "
                         f"{' / '.join(str(p['pss_mb']) for p in workers)} | {others:.1f} | {m['total_rss_mb']} | "
                         f"{m['total_pss_mb']} |")
    (RESULTS / f"{out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def run_servers(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """Start one server per (round, worker count, cache setting), alternating, and load-test each."""
    rows: list[dict] = []
    memory: list[dict] = []
    caches = {"both": (True, False), "on": (True,), "off": (False,)}[args.cache]
    for rnd in range(1, args.rounds + 1):
        for workers in args.workers:
            for cache in caches:
                label = (f"{workers} worker{'s' if workers > 1 else ''}, cache {'on' if cache else 'off'}"
                         + (f", round {rnd}" if args.rounds > 1 else ""))
                proc, url = start_server(args.collection, cache=cache, workers=workers)
                try:
                    phases, pids = run_all_phases(url, args.seconds, args.concurrency, label, workers,
                                                  args.spread == "even")
                    rows += phases
                    memory.append({"server": label, **server_memory(proc.pid, pids)})
                finally:
                    proc.terminate()
                    proc.wait(timeout=60)
    return rows, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--collection", type=Path, required=True)
    b.add_argument("--segments", type=int, default=100_000)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    r.add_argument("--workers", type=int, default=1, help="how many workers the server runs (each is warmed up)")
    a = sub.add_parser("all")
    a.add_argument("--collection", type=Path, required=True)
    a.add_argument("--workers", type=int, nargs="+", default=[1], metavar="N",
                   help="serve --workers counts to compare (servers alternate; default 1)")
    a.add_argument("--rounds", type=int, default=1, help="repeat the alternation (default 1)")
    a.add_argument("--cache", choices=["both", "on", "off"], default="both", help="result cache (default both)")
    a.add_argument("--out", default="load_test", help="results name under benchmarks/results/ (default load_test)")
    for p in (r, a):
        p.add_argument("--spread", choices=["even", "kernel"], default="even",
                       help="even (default): reopen connections until they are spread evenly over the workers, "
                            "as many independent clients would be; kernel: keep the kernel's random spread")
        p.add_argument("--seconds", type=float, default=20.0)
        p.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.cmd == "build":
        build(args.collection, args.segments)
    elif args.cmd == "run":
        label = f"external, {args.workers} worker{'s' if args.workers > 1 else ''}"
        rows = run_all_phases(args.url, args.seconds, args.concurrency, label, args.workers, args.spread == "even")[0]
        print(json.dumps(rows, indent=2))
    else:
        rows, memory = run_servers(args)
        write_results(rows, args.collection, args.seconds, memory=memory, out=args.out)


if __name__ == "__main__":
    main()
