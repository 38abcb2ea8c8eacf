"""Per-source crawl status lines for `soundseek info` (kept apart so `core` need not import `ingest`)."""

from __future__ import annotations

import time


def crawl_status(coll) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Per crawl source: kind, last run, last error, audio URLs per state (for `soundseek info`)."""
    from soundseek.store.ingest import source_status

    return source_status(coll)


def print_crawl_status(sources: list[dict[str, object]]) -> None:
    if not sources:
        return
    print(f"crawl sources: {len(sources)}")
    for src in sources:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(src["last_run"]))) if src["last_run"] else "never"
        counts = ", ".join(f"{n} {state}" for state, n in sorted(dict(src["audio"]).items())) or "no audio yet"  # type: ignore[call-overload]
        error = f", last error: {src['last_error']}" if src["last_error"] else ""
        print(f"  {src['source']} ({src['kind']}, last run {when}): {counts}{error}")
