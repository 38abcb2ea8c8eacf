"""`soundseek serve --workers N`: N processes answering on one port.

The parent binds N sockets to the port with SO_REUSEPORT, one per worker, and runs uvicorn's process
supervisor (`uvicorn.supervisors.Multiprocess`, uvicorn pinned in pyproject.toml): it starts N spawned
worker processes, pings them, replaces one that dies, and on SIGINT/SIGTERM terminates and joins them
all. The parent never builds a search engine.

Why one socket per worker: with one shared listening socket, the worker that wakes first accepts every
connection waiting (asyncio accepts up to the listen backlog per wake-up), so a burst of keep-alive
connections (a browser opens six, the load test eight) lands on one worker and the other idles
(measured: 8/0 and 7/1). With SO_REUSEPORT the kernel spreads new connections over the workers'
sockets by a hash of the client address and port (random-like, not load-aware). The parent keeps every
socket open, so connections waiting on a dead worker's socket are answered by its replacement, which
listens on that socket (uvicorn's own supervisor would hand it every socket, skewing the spread toward it). Before binding them the parent checks with a plain bind
that nothing else listens on the port, so a second server cannot silently share it.

Each worker calls `worker_app` (an app factory, pickled with its `WorkerSettings`), which builds the
same app as a single-process server: its own engine, lock, result cache, Host check, token and upload
limits, and it follows a re-indexed collection on its own. A worker
asks the kernel to send it SIGTERM when the parent dies (Linux `PR_SET_PDEATHSIG`), so even a killed
parent leaves no orphan answering on the port.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from soundseek.errors import SoundseekError

#: uvicorn's exit code for a worker that failed before serving (the supervisor then stops, not retries).
STARTUP_FAILURE = 3


class ServeError(SoundseekError):
    """The server cannot start as asked (bad worker count, address in use)."""


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs to build its app (pickled into each spawned worker)."""

    collection_dir: Path
    token: str | None
    max_upload_bytes: int
    max_upload_seconds: float
    cache_size: int
    model_dir: Path | None
    allowed_hosts: frozenset[str]
    parent_pid: int


def check_workers(workers: int) -> int:
    """`workers` if it is a usable process count, else ServeError."""
    if workers < 1:
        raise ServeError(f"--workers must be at least 1 (got {workers}): each worker is one server process")
    return workers


def bind_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to `host:port` with SO_REUSEPORT (port 0: one free port for all), after
    checking that no other program listens there. ServeError when the port cannot be had."""
    if port:
        _bind(host, port, reuse_port=False).close()
    first = _bind(host, port, reuse_port=True)
    return [first, *(_bind(host, first.getsockname()[1], reuse_port=True) for _ in range(count - 1))]


def _bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP proto: asyncio then sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def _supervisor(config: Any, sockets: list[socket.socket]) -> Any:
    """uvicorn's Multiprocess, but worker i, and the replacement of worker i, listens on socket i only
    (see the module doc). The restart logic is uvicorn 0.54's `keep_subprocess_alive` with that change."""
    from uvicorn.config import STARTUP_FAILURE as FAILED
    from uvicorn.supervisors.multiprocess import Multiprocess, Process

    class SocketPerWorker(Multiprocess):  # type: ignore[misc]
        def init_processes(self) -> None:
            for sock in self.sockets:
                process = Process(self.config, [sock])
                process.start()
                self.processes.append(process)

        def keep_subprocess_alive(self) -> None:
            for idx, process in enumerate(self.processes):
                if self.should_exit.is_set():
                    return
                if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                    continue
                process.kill()  # hung or dead
                process.join()
                if process.exitcode == FAILED:  # it never served: the app or the socket is broken
                    self.should_exit.set()
                    return
                print(f"soundseek: worker {process.pid} stopped (exit code {process.exitcode}); starting another",
                      file=sys.stderr, flush=True)
                replacement = Process(self.config, [self.sockets[idx % len(self.sockets)]])
                replacement.start()
                self.processes[idx] = replacement

    return SocketPerWorker(config, sockets=sockets)


def worker_app(settings: WorkerSettings) -> Any:
    """The app factory each worker runs: the single-process app plus a background warm-up.

    A failure to build it (collection gone, unreadable) ends the worker with STARTUP_FAILURE, which
    stops the supervisor instead of restarting the worker forever.
    """
    _exit_with_parent(settings.parent_pid)
    from soundseek.server.app import create_app

    try:
        app = create_app(settings.collection_dir, token=settings.token, max_upload_bytes=settings.max_upload_bytes,
                         max_upload_seconds=settings.max_upload_seconds, cache_size=settings.cache_size,
                         model_dir=settings.model_dir, allowed_hosts=settings.allowed_hosts)
    except Exception as exc:  # noqa: BLE001 - any failure here must stop the supervisor, with the reason
        print(f"soundseek: error: worker {os.getpid()} could not open the collection: {exc}", file=sys.stderr,
              flush=True)
        sys.exit(STARTUP_FAILURE)
    threading.Thread(target=_warm, args=(app.state.soundseek,), name="soundseek-warm", daemon=True).start()
    return app


def _warm(state: Any) -> None:
    started = time.perf_counter()
    state.warm()
    print(f"soundseek: worker {os.getpid()} ready ({time.perf_counter() - started:.1f} s of warm-up)",
          file=sys.stderr, flush=True)


def _exit_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGTERM this process when its parent exits (Linux); if the parent is already
    gone, stop now."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        sys.exit(STARTUP_FAILURE)


def serve_workers(settings: WorkerSettings, sockets: list[socket.socket], *, log_level: str) -> int:
    """Run one worker process per socket until SIGINT/SIGTERM; 0 on a clean stop, 2 when a worker
    could not start."""
    try:
        from uvicorn import Config
    except ImportError as exc:
        from soundseek.errors import MissingExtraError

        raise MissingExtraError("serve", exc.name or "uvicorn") from exc
    config = Config(partial(worker_app, settings), factory=True, workers=len(sockets), log_level=log_level,
                    access_log=log_level in ("info", "debug"))
    supervisor = _supervisor(config, sockets)
    try:
        supervisor.run()
    finally:
        for sock in sockets:
            sock.close()
    failed = [p.pid for p in supervisor.processes if p.exitcode == STARTUP_FAILURE]
    if failed:
        print(f"soundseek: error: worker(s) {failed} failed to start (see above); the server stopped",
              file=sys.stderr)
        return 2
    return 0
