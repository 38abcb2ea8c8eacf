"""The text of a sound: words of its file name and folders, a same-stem sidecar, and an optional CSV.

Sidecars: `NAME.txt` (the whole file is the description) or `NAME.json` (keys `description`, `title`,
`text`, `caption` are strings; `tags`/`keywords` a list or comma-separated string). The `--metadata`
CSV has a `path` column (absolute, or relative to the CSV's folder, or a bare file name) and any of
`description`, `tags`, `caption`, `label`, `title`, `text`.

A sidecar is read only when it lies inside the indexed root once its symlinks are resolved (a
`.txt` linked to `/etc/passwd` is ignored: its text would be served by the API), unless the caller
allows links that lead outside; sidecars over `MAX_SIDECAR_BYTES`, unreadable or malformed ones
(including JSON nested too deeply to parse) are ignored.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from soundseek.errors import SoundseekError

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPLIT = re.compile(r"[^0-9A-Za-z']+")
_TEXT_KEYS = ("description", "title", "text", "caption", "label", "category")
_TAG_KEYS = ("tags", "keywords")
#: Larger sidecars are not descriptions (and are not read).
MAX_SIDECAR_BYTES = 1_000_000


def name_words(path: Path, root: Path) -> list[str]:
    """Words of the file stem and of its folders below `root`, lower-cased.

    Tokens with digits and single letters are dropped: they are take numbers and ids, not descriptions.
    """
    parts = [path.stem]
    try:
        rel = path.parent.relative_to(root)
        parts = list(rel.parts) + parts
    except ValueError:
        parts = [path.parent.name] + parts
    words = []
    for part in parts:
        for token in _SPLIT.split(_CAMEL.sub(" ", part)):
            token = token.lower().strip("'")
            if len(token) > 1 and not any(ch.isdigit() for ch in token):
                words.append(token)
    return words


def sidecar_text(path: Path, root: Path | None = None, *, outside_links: bool = False) -> str:
    """Text of `path`'s same-stem .txt or .json sidecar ('' when there is none or it is not read).

    root: the indexed root; a sidecar resolving outside it is ignored unless `outside_links`.
    """
    txt, js = path.with_suffix(".txt"), path.with_suffix(".json")
    for candidate in (txt, js):
        if not candidate.is_file():
            continue
        if not _readable_sidecar(candidate, root, outside_links):
            return ""
        try:
            raw = candidate.read_text(encoding="utf-8", errors="replace")
            return raw.strip()[:10000] if candidate is txt else _json_text(json.loads(raw))
        except (OSError, ValueError, RecursionError):
            return ""
    return ""


def _readable_sidecar(path: Path, root: Path | None, outside_links: bool) -> bool:
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return False
        if root is None or outside_links:
            return True
        return path.resolve().is_relative_to(Path(root).resolve())
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop on older Pythons
        return False


def _json_text(data: object) -> str:
    if not isinstance(data, dict):
        return ""
    pieces = [str(data[k]) for k in _TEXT_KEYS if isinstance(data.get(k), str)]
    for key in _TAG_KEYS:
        tags = data.get(key)
        if isinstance(tags, list):
            pieces.append(", ".join(str(t) for t in tags))
        elif isinstance(tags, str):
            pieces.append(tags)
    return ". ".join(p for p in pieces if p)[:10000]


def load_metadata_csv(csv_path: Path) -> dict[str, str]:
    """Map absolute path (and bare file name) -> description from a metadata CSV."""
    try:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SoundseekError(f"cannot read metadata CSV {csv_path}: {exc}") from exc
    if not rows or "path" not in rows[0]:
        raise SoundseekError(f"metadata CSV {csv_path} needs a 'path' column")
    out: dict[str, str] = {}
    for row in rows:
        text = ". ".join(row[k].strip() for k in _TEXT_KEYS + _TAG_KEYS if (row.get(k) or "").strip())
        raw = (row.get("path") or "").strip()
        if not raw or not text:
            continue
        full = Path(raw) if Path(raw).is_absolute() else csv_path.parent / raw
        out[str(full.resolve())] = text
        out.setdefault(Path(raw).name, text)
    return out


def sound_text(path: Path, root: Path, metadata: dict[str, str] | None = None, *, outside_links: bool = False) -> str:
    """All the text known about one sound, joined: name words, sidecar, CSV description."""
    pieces = [" ".join(name_words(path, root)), sidecar_text(path, root, outside_links=outside_links)]
    if metadata:
        pieces.append(metadata.get(str(path.resolve())) or metadata.get(path.name, ""))
    return " | ".join(p for p in pieces if p)
