"""`soundseek serve`: the HTTP API and web page over one collection (loopback by default)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
import time
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: One process by default: every worker holds the whole engine in memory (see docs/server.md).
DEFAULT_WORKERS = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API and the web page for a collection")
    p.add_argument("--collection", type=Path, help="collection directory (default: $SOUNDSEEK_HOME/collection)")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1; others print a warning)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--token", help="require this API token on /api routes (or set SOUNDSEEK_API_TOKEN)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests for this Host name (repeatable; '*' = any). By default only "
                        "localhost names and the --host address are answered (protection against DNS rebinding)")
    p.add_argument("--model", type=Path, help="a trained joint model directory")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest query upload (MB, default 20)")
    p.add_argument("--max-upload-seconds", type=float, default=60.0, help="longest query upload (s, default 60)")
    p.add_argument("--no-cache", action="store_true", help="do not cache search results")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                   help="server processes answering on the port (default 1). Each loads its own search "
                        "engine (memory about x N) and keeps its own result cache; more workers let new "
                        "queries use more cores (docs/server.md)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=cmd_serve)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from soundseek.commands.core import resolve_collection
    from soundseek.server.workers import check_workers

    workers = check_workers(args.workers)
    token = args.token if args.token is not None else (os.environ.get("SOUNDSEEK_API_TOKEN") or None)
    if not is_loopback(args.host):
        print(f"soundseek: warning: binding {args.host} makes the collection reachable from other machines"
              + ("" if token else "; anyone who can reach it can search and download your sounds (set --token)"),
              file=sys.stderr)
    root = resolve_collection(args.collection)
    if workers > 1:
        return _serve_workers(args, root, token, workers)
    from soundseek.server import create_app
    from soundseek.server.hosts import allowed_names

    started = time.perf_counter()
    _say(f"opening the collection {root} ...")
    app = create_app(root, token=token, max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                     max_upload_seconds=args.max_upload_seconds, cache_size=0 if args.no_cache else 1024,
                     model_dir=args.model, allowed_hosts=allowed_names(args.host, args.allow_host))
    state = app.state.soundseek
    counts = state.engine.coll.counts()
    _say(f"{counts['sounds']:,} sounds, {counts['segments']:,} segments, audio encoder "
         f"'{state.engine.space}' ({time.perf_counter() - started:.1f} s)")
    threading.Thread(target=_warm, args=(state, started), name="soundseek-warm", daemon=True).start()
    return _run(app, args.host, args.port, args.log_level)


def _serve_workers(args: argparse.Namespace, root: Path, token: str | None, workers: int) -> int:
    """Check the collection and the token here, bind the port, then let `workers` processes answer on it
    (each builds its own engine: see soundseek.server.workers)."""
    import os

    from soundseek.errors import MissingExtraError
    from soundseek.server.hosts import allowed_names
    from soundseek.server.workers import WorkerSettings, bind_sockets, serve_workers
    from soundseek.store import Collection

    try:
        from soundseek.server.app import check_token
    except ImportError as exc:
        raise MissingExtraError("serve", exc.name or "fastapi") from exc
    check_token(token)
    coll = Collection.open(root)
    counts = coll.counts()
    coll.close()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    _say(f"{counts['sounds']:,} sounds, {counts['segments']:,} segments in {root}; starting {workers} worker "
         f"processes, each opening the collection and loading its own search models"
         + (f" (warning: more workers than the {cores} cores available)" if workers > cores else ""))
    settings = WorkerSettings(root, token, int(args.max_upload_mb * 1024 * 1024), args.max_upload_seconds,
                              0 if args.no_cache else 1024, args.model, allowed_names(args.host, args.allow_host),
                              os.getpid())
    sockets = bind_sockets(args.host, args.port, workers)
    _announce(args.host, sockets[0].getsockname()[1])
    return serve_workers(settings, sockets, log_level=args.log_level)


def _say(message: str) -> None:
    print(f"soundseek: {message}", file=sys.stderr, flush=True)


def _warm(state, started: float) -> None:  # type: ignore[no-untyped-def]
    """Load the text encoder and search caches while the server already answers (requests that need
    the engine wait for it); say when it is ready."""
    _say("loading the search models (text encoder, class names, the library's words) in the background; "
         "the page is already up, the first search waits for them ...")
    state.warm()
    _say(f"ready: searches answer now ({time.perf_counter() - started:.1f} s after start)")


def _run(app, host: str, port: int, log_level: str) -> int:  # type: ignore[no-untyped-def]
    try:
        import uvicorn
    except ImportError as exc:
        from soundseek.errors import MissingExtraError

        raise MissingExtraError("serve", "uvicorn") from exc
    _announce(host, port)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level in ("info", "debug"))
    return 0


def _announce(host: str, port: int) -> None:
    shown = f"[{host}]" if ":" in host else host
    print(f"soundseek: serving on http://{shown}:{port}/  (API docs at /docs; Ctrl+C stops)", file=sys.stderr,
          flush=True)
