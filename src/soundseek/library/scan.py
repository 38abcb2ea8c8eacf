"""Find audio files under folders: recursive, symlinks followed once (loops are detected and skipped)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

#: Extensions libsndfile reads.
SNDFILE_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au",
     ".snd", ".caf", ".w64", ".rf64", ".sd2", ".voc"}
)
#: Extra extensions tried through ffmpeg when it is on PATH.
FFMPEG_EXTENSIONS = frozenset(
    {".m4a", ".aac", ".mp4", ".m4b", ".wma", ".webm", ".mka", ".mkv", ".mov", ".ac3", ".amr", ".ape",
     ".wv", ".mpc", ".mp2"}
)


@dataclass(frozen=True)
class FoundFile:
    """An audio file found by a scan, with what identifies its version."""

    path: Path
    root: Path
    size: int
    mtime_ns: int


def audio_extensions() -> frozenset[str]:
    """Extensions considered audio: libsndfile's, plus ffmpeg's when ffmpeg is installed."""
    return SNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS if shutil.which("ffmpeg") else SNDFILE_EXTENSIONS


def scan(roots: list[Path]) -> Iterator[FoundFile]:
    """Yield every audio file under `roots` (a root may also be a single file), each path once.

    Paths are absolute but not resolved, so a symlinked folder shows under its link name; a folder
    reached twice (a symlink loop or a second link) is walked only the first time.
    """
    exts = audio_extensions()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for root in roots:
        root = Path(os.path.abspath(root))
        if root.is_file():
            found = _found(root, root.parent)
            if found and str(root) not in seen_files:
                seen_files.add(str(root))
                yield found
            continue
        for path in _walk(root, seen_dirs):
            if path.suffix.lower() in exts and str(path) not in seen_files:
                seen_files.add(str(path))
                found = _found(path, root)
                if found:
                    yield found


def _walk(folder: Path, seen: set[tuple[int, int]]) -> Iterator[Path]:
    try:
        st = folder.stat()
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return
    seen.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=True):
                yield from _walk(Path(entry.path), seen)
            elif entry.is_file(follow_symlinks=True):
                yield Path(entry.path)
        except OSError:
            continue


def _found(path: Path, root: Path) -> FoundFile | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return FoundFile(path, root, st.st_size, st.st_mtime_ns)
