"""Human-readable tables and the JSON output of the CLI.

JSON hit schema (stable): a list of objects with `path` (str), `start` and `end` (seconds of the best
moment), `score` (float, higher is better, comparable only within one query), `tags` (list of AudioSet
tag names of that segment), `text` (the sound's own words), `sound_id`, `segment_id`, `duration`,
`moments` (the file's matching moments, best first: objects with `start`, `end`, `score`), and for text
queries `relevance` (calibrated probability in [0, 1] that the hit is relevant).

The table shows a long recording's other moments on lines of their own under its hit ("also").
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Sequence

from soundseek.search.hits import Hit


def hits_json(hits: Sequence[Hit]) -> str:
    return json.dumps([h.to_dict() for h in hits], indent=2)


def hits_table(hits: Sequence[Hit]) -> str:
    """A ranked table: rank, score, time range, file (shortened to the terminal), tags."""
    if not hits:
        return "no results"
    width = shutil.get_terminal_size((120, 20)).columns
    rows: list[tuple[tuple[str, ...], list[str]]] = []  # (cells, lines under the row)
    for rank, hit in enumerate(hits, 1):
        where = f"{_clock(hit.start)}-{_clock(hit.end)}"
        tags = ", ".join(hit.tags[:3])
        value = f"{hit.relevance:9.2f}" if hit.relevance is not None else f"{hit.score:9.3f}"
        rows.append(((f"{rank:>2}", value, where, _shorten(hit.path, 60), tags), origin_lines(hit)))
        for moment in hit.moments[1:]:
            rows.append((("", "", f"{_clock(moment.start)}-{_clock(moment.end)}", "  also", ""), []))
    header = ("#", "relevance" if hits[0].relevance is not None else "    score", "segment", "file", "tags")
    widths = [max(len(r[i]) for r in [cells for cells, _ in rows] + [header]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header[:4], widths)) + "  " + header[4]]
    for cells, under in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(cells[:4], widths)) + "  " + cells[4]
        lines.append(line[:width])
        lines.extend(extra[:width] for extra in under)
    return "\n".join(lines)


def origin_lines(hit: Hit) -> list[str]:
    """Under a hit: where a crawled sound came from, and its duplicates (from `soundseek duplicates`)."""
    out = []
    if hit.source:
        src = hit.source
        extra = "".join(f", {k} {src[k]}" for k in ("licence", "published") if src.get(k))
        out.append(f"      from {src.get('title') or ''} <{src.get('page') or src.get('url')}>{extra}")
    if hit.duplicates:
        out.append(f"      {hit.duplicates['kind']} duplicate of sound(s) {', '.join(map(str, hit.duplicates['sound_ids']))}")
    return out


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain left-aligned text table."""
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _clock(seconds: float) -> str:
    minutes, sec = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{sec:04.1f}"


def _shorten(path: str, limit: int) -> str:
    home = os.path.expanduser("~")
    if path.startswith(home + os.sep):
        path = "~" + path[len(home):]
    return path if len(path) <= limit else "..." + path[-(limit - 3):]
