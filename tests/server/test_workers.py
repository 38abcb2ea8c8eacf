"""`soundseek serve --workers 2`: a real server on a free loopback port, two processes answering.

Each test starts the CLI as a subprocess (its own session, so a signal to its process group is what
Ctrl+C in a terminal sends), polls /api/health with a deadline, and checks that every process it
started is gone afterwards. Connections are keep-alive (`http.client`), so all requests on one
connection are answered by the worker that accepted it; /api/health names that worker's pid.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import pytest

from soundseek.audio.synth import make_sound
from soundseek.cli import main
from soundseek.commands.demo import write_library
from soundseek.indexer import index_paths, open_for_indexing

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="process checks read Linux /proc")

TOKEN = "workers-t0ken"
STARTUP_SECONDS = 180.0
STOP_SECONDS = 60.0


@pytest.fixture(scope="module")
def small_collection(tmp_path_factory) -> Path:
    """A 14-sound MFCC collection of its own (a test below adds a sound to it)."""
    root = tmp_path_factory.mktemp("workers")
    write_library(root / "lib", takes=1)
    coll, enc = open_for_indexing(root / "coll", "mfcc", None)
    index_paths(coll, [root / "lib"], enc, quiet=True)
    coll.close()
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(check, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)  # poll again until the deadline
    raise AssertionError(f"timed out waiting for {what}")


def _get(conn: http.client.HTTPConnection, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    conn.request("GET", target, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
    res = conn.getresponse()
    return res.status, json.loads(res.read() or b"{}")


def _healthy(port: int, proc: subprocess.Popen) -> bool:
    assert proc.poll() is None, f"soundseek serve exited with {proc.returncode}"
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        return _get(conn, "/api/health")[0] == 200
    except OSError:
        return False  # still starting


def _connections_to_each_worker(port: int, workers: int, attempts: int = 200) -> dict[int, http.client.HTTPConnection]:
    """One open keep-alive connection per worker pid (new connections until every worker took one)."""
    found: dict[int, http.client.HTTPConnection] = {}
    for _ in range(attempts):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        status, body = _get(conn, "/api/health")
        assert status == 200
        if body["worker"] in found:
            conn.close()
        else:
            found[body["worker"]] = conn
        if len(found) == workers:
            return found
    raise AssertionError(f"only workers {sorted(found)} accepted {attempts} connections")


@contextmanager
def _serve(collection: Path, log: Path, *extra: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """`soundseek serve --workers 2` until the block ends; the block stops it (the finally only kills
    what a failing test left behind)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "soundseek.cli", "serve", "--collection", str(collection), "--port", str(port),
           "--workers", "2", "--token", TOKEN, *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until(lambda: _healthy(port, proc), STARTUP_SECONDS, "the server to answer")
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_SECONDS)


def _stop_and_check(proc: subprocess.Popen, started: set[int], how: str) -> None:
    """Stop the server the way a user would and check that no process it started is left."""
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl+C reaches the whole foreground group
    else:
        proc.send_signal(signal.SIGTERM)  # e.g. a service manager, to the main process only
    assert proc.wait(timeout=STOP_SECONDS) == 0
    _wait_until(lambda: not any(_alive(pid) for pid in started), STOP_SECONDS, f"workers {started} to exit")


def test_two_workers_answer_searches_and_stop_cleanly(small_collection, tmp_path):
    with _serve(small_collection / "coll", tmp_path / "serve.log") as (proc, port):
        started = _children(proc.pid)
        conns = _connections_to_each_worker(port, 2)
        assert set(conns) <= started, "the answering workers are children of the serve process"
        query = "/api/search?" + urlencode({"q": "dog barking", "top": 3})
        for pid, conn in conns.items():
            status, page = _get(conn, query)
            assert status == 200 and page["kind"] == "text" and len(page["hits"]) == 3
            status, health = _get(conn, "/api/health")
            assert health["worker"] == pid and health["cache"]["misses"] == 1  # this worker answered it
            assert _get(conn, query)[0] == 200 and _get(conn, "/api/health")[1]["cache"]["hits"] == 1
            assert _get(conn, "/api/info", {"Authorization": "Bearer wrong"})[0] == 401
            assert _get(conn, "/api/health", {"Host": "evil.example"})[0] == 421
        for conn in conns.values():
            conn.close()
        _stop_and_check(proc, started, "ctrl-c")
    log = (tmp_path / "serve.log").read_text()
    assert "starting 2 worker processes" in log and "Traceback" not in log


def test_each_worker_follows_a_reindexed_collection_and_sigterm_stops_all(small_collection, tmp_path):
    new_file = small_collection / "lib" / "added" / "zebra_whinny_unique.wav"
    with _serve(small_collection / "coll", tmp_path / "serve.log") as (proc, port):
        started = _children(proc.pid)
        pids = set(_connections_to_each_worker(port, 2))  # both workers have built their engines
        new_file.parent.mkdir()
        import soundfile as sf

        sf.write(str(new_file), make_sound("phone_ringing", 4242), 16000)
        coll, enc = open_for_indexing(small_collection / "coll", "mfcc", None)
        index_paths(coll, [small_collection / "lib"], enc, quiet=True)
        coll.close()
        query = "/api/search?" + urlencode({"q": "zebra whinny unique", "top": 1})

        def sees_new_sound(pid: int) -> bool:
            conn = _connections_to_each_worker(port, 2)[pid]
            status, page = _get(conn, query)
            conn.close()
            return status == 200 and page["hits"][0]["path"] == str(new_file)

        for pid in pids:
            _wait_until(lambda pid=pid: sees_new_sound(pid), 120, f"worker {pid} to follow the re-indexed collection")
        _stop_and_check(proc, started, "sigterm")


def test_a_killed_worker_is_replaced(small_collection, tmp_path):
    with _serve(small_collection / "coll", tmp_path / "serve.log") as (proc, port):
        dead, alive = sorted(_connections_to_each_worker(port, 2))
        os.kill(dead, signal.SIGKILL)
        _wait_until(lambda: not _alive(dead), STOP_SECONDS, f"worker {dead} to die")

        # connections the kernel hands to the dead worker's socket wait there for its replacement
        conns = _connections_to_each_worker(port, 2)
        assert alive in conns and dead not in conns and _children(proc.pid) >= set(conns)
        for conn in conns.values():
            assert _get(conn, "/api/search?" + urlencode({"q": "rain", "top": 2}))[0] == 200
            conn.close()
        started = _children(proc.pid)
        _stop_and_check(proc, started, "sigterm")
    assert f"worker {dead} stopped" in (tmp_path / "serve.log").read_text()


def test_a_killed_parent_leaves_no_worker(small_collection, tmp_path):
    with _serve(small_collection / "coll", tmp_path / "serve.log") as (proc, port):
        pids = set(_connections_to_each_worker(port, 2))
        proc.kill()  # SIGKILL: the parent cannot stop its workers itself
        proc.wait(timeout=STOP_SECONDS)
        _wait_until(lambda: not any(_alive(pid) for pid in pids), STOP_SECONDS, f"workers {pids} to exit")


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_zero_workers_is_a_clear_error(small_collection, capsys, workers):
    assert main(["serve", "--collection", str(small_collection / "coll"), "--workers", workers]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


def test_a_port_in_use_is_a_clear_error_and_not_shared(small_collection, capsys):
    """SO_REUSEPORT would let a second server join the port silently: the plain bind check refuses."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        argv = ["serve", "--collection", str(small_collection / "coll"), "--port", str(port), "--workers", "2"]
        assert main(argv) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_a_worker_that_cannot_start_stops_the_server(tmp_path):
    """Not restarted forever: the supervisor stops with exit code 2 and the worker's reason."""
    script = ("import os, sys; from pathlib import Path\n"
              "from soundseek.server.workers import WorkerSettings, bind_sockets, serve_workers\n"
              f"s = WorkerSettings(Path({str(tmp_path / 'none')!r}), None, 1000, 1.0, 0, None, frozenset(['127.0.0.1']),"
              " os.getpid())\n"
              "sys.exit(serve_workers(s, bind_sockets('127.0.0.1', 0, 2), log_level='warning'))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=STARTUP_SECONDS,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 2, done.stderr
    assert "could not open the collection" in done.stderr and "no collection at" in done.stderr
