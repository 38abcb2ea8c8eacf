"""Never-ending ingestion subcommands: watch, crawl, duplicates."""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from pathlib import Path

from soundseek.errors import QueryError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="index folders, then follow them: new, changed, moved and deleted files")
    p.add_argument("paths", nargs="+", type=Path, help="folders to watch")
    _common(p)
    p.add_argument("--quiet-seconds", type=float, default=2.0,
                   help="act on a file once it has had no event for this long (default 2)")
    p.add_argument("--learn-every", type=_duration, default=600.0,
                   help="refit the library model after changes at most this often (e.g. 10m; 0 never)")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("crawl", help="download and index sounds from feeds, web pages and (ytdl:URL) video sites")
    p.add_argument("sources", nargs="+", help="feed or page URLs, direct audio URLs, or ytdl:URL (needs yt-dlp)")
    _common(p)
    p.add_argument("--every", type=_duration, help="crawl again at this interval, forever (e.g. 1h, 30m); default: once")
    p.add_argument("--max-bytes", type=_size, default=200 * 1024 * 1024, help="largest file to download (e.g. 50M; default 200M)")
    p.add_argument("--depth", type=int, default=1, help="links followed from a source page (default 1)")
    p.add_argument("--max-pages", type=int, default=50, help="pages read per source (default 50)")
    p.add_argument("--host-interval", type=float, default=1.0, help="seconds between requests to one host (default 1)")
    p.add_argument("--timeout", type=float, default=20.0, help="connect/read timeout in seconds (default 20)")
    p.add_argument("--retries", type=int, default=3, help="attempts per URL on transient errors (default 3)")
    p.add_argument("--backoff", type=float, default=30.0, help="seconds before the first retry, doubled each time")
    p.add_argument("--no-learn", action="store_true", help="do not refit the library model after a round")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("duplicates", help="groups of duplicate recordings (exact; --near: re-encoded, trimmed, ...)")
    p.add_argument("--collection", type=Path, help="collection directory (default: $SOUNDSEEK_HOME/collection)")
    p.add_argument("--near", action="store_true", help="also near duplicates (embeddings + fingerprint verification)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", type=Path, help="collection directory (default: $SOUNDSEEK_HOME/collection)")
    p.add_argument("--encoder", help="audio encoder for a new collection (default: yamnet if installed)")
    p.add_argument("--max-duration", type=float, default=4 * 3600.0, help="refuse sounds longer than this (seconds)")
    p.add_argument("--quiet", action="store_true")


def _duration(text: str) -> float:
    """'90', '90s', '30m', '1h', '1d' -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 1h)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _size(text: str) -> int:
    """'5000', '500K', '50M', '2G' -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)b?\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 500K, 50M)")
    return int(float(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2)])


def cmd_watch(args: argparse.Namespace) -> int:
    from soundseek.commands.core import _say, print_index_report, resolve_collection
    from soundseek.indexer import open_for_indexing
    from soundseek.ingest.watch import Watcher, WatchConfig

    root = resolve_collection(args.collection)
    coll, encoder = open_for_indexing(root, args.encoder, None, say=_say(args))
    watcher = Watcher(coll, encoder, list(args.paths), WatchConfig(args.quiet_seconds, args.learn_every, args.max_duration),
                      say=lambda m: print(m, flush=True))
    print_index_report(watcher.start(quiet=args.quiet), root, quiet=args.quiet)
    print(f"watching {', '.join(str(p) for p in watcher.roots)} (Ctrl-C to stop)", flush=True)
    watcher.run(threading.Event())
    return 0


def cmd_crawl(args: argparse.Namespace) -> int:
    from soundseek.commands.core import _say, resolve_collection
    from soundseek.indexer import open_for_indexing
    from soundseek.ingest.crawl import CrawlConfig, Crawler
    from soundseek.ingest.fetch import FetchLimits

    if args.every is not None and args.every < 60:
        raise QueryError("--every must be at least 60 s (be gentle with the sites you crawl)")
    root = resolve_collection(args.collection)
    coll, encoder = open_for_indexing(root, args.encoder, None, say=_say(args))
    limits = FetchLimits(max_bytes=args.max_bytes, max_duration=args.max_duration, timeout=args.timeout,
                         host_interval=args.host_interval)
    config = CrawlConfig(limits, max_depth=args.depth, max_pages=args.max_pages, retries=args.retries,
                         backoff=args.backoff, learn=not args.no_learn)
    crawler = Crawler(coll, encoder, config, say=(lambda m: None) if args.quiet else (lambda m: print(m, flush=True)))
    try:
        while True:
            started = time.monotonic()
            _print_round(crawler.run_round(list(args.sources)))
            if args.every is None:
                return 0
            time.sleep(max(0.0, args.every - (time.monotonic() - started)))
    finally:
        crawler.close()


def _print_round(report) -> None:  # type: ignore[no-untyped-def]
    print(f"crawl: added {report.added}, duplicates {report.duplicates}, refused {report.refused}, "
          f"failed {report.failed}, retries pending {report.retried}, pages read {report.pages}", flush=True)
    for url, state, reason in report.notes:
        print(f"  {state} {url}: {reason}")


def cmd_duplicates(args: argparse.Namespace) -> int:
    from soundseek.commands.core import resolve_collection
    from soundseek.ingest.duplicates import find_duplicates
    from soundseek.store import Collection
    from soundseek.store.ingest import save_duplicate_groups

    coll = Collection.open(resolve_collection(args.collection))
    say = (lambda m: None) if args.json else print
    groups = find_duplicates(coll, near=args.near, say=say)
    save_duplicate_groups(coll, [(g.kind, g.sound_ids) for g in groups])
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], indent=2))
        return 0
    if not groups:
        print("no duplicates" + ("" if args.near else " (exact only; --near also finds re-encoded, trimmed copies)"))
    for n, group in enumerate(groups, start=1):
        extra = f", match {min(group.scores):.2f}" if group.scores else ""
        print(f"group {n} ({group.kind}, {len(group.paths)} files{extra}):")
        for path in group.paths:
            print(f"  {path}")
    return 0

