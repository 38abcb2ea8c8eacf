"""Find audio files under folders: recursive, symlinks followed once (loops are detected and skipped)."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from soundseek.audio.ffmpeg import FFMPEG_EXTENSIONS

#: Extensions libsndfile reads.
SNDFILE_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au",
     ".snd", ".caf", ".w64", ".rf64", ".sd2", ".voc"}
)


@dataclass(frozen=True)
class FoundFile:
    """An audio file found by a scan, with what identifies its version."""

    path: Path
    root: Path
    size: int
    mtime_ns: int


def audio_extensions() -> frozenset[str]:
    """Extensions this install decodes: libsndfile's, plus ffmpeg's when ffmpeg is installed."""
    return SNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS if shutil.which("ffmpeg") else SNDFILE_EXTENSIONS


#: What a scan lists: ffmpeg's extensions too, so that without ffmpeg each such file is reported
#: ("needs ffmpeg") instead of silently left out.
SCANNED_EXTENSIONS = SNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS


#: on_error(path, reason, is_folder): a folder that cannot be listed, or an audio-named entry that is no
#: regular file (a pipe, a device, a broken link).
OnError = Callable[[Path, str, bool], None]


def scan(roots: list[Path], on_error: OnError | None = None) -> Iterator[FoundFile]:
    """Yield every audio file under `roots` (a root may also be a single file), each path once.

    Paths are absolute but not resolved, so a symlinked folder shows under its link name; a folder
    reached twice (a symlink loop or a second link) is walked only the first time. Symlinks are
    followed wherever they lead (a link to a sample library elsewhere is indexed under its link name).
    The walk is iterative: a tree of any depth is fine. A folder that cannot be listed, and an entry
    with an audio extension that is not a regular file, are reported through `on_error` and skipped.
    """
    exts = SCANNED_EXTENSIONS
    report = on_error or (lambda _p, _r, _f: None)
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for root in roots:
        root = Path(os.path.abspath(root))
        if root.is_file():
            found = _found(root, root.parent, report)
            if found and str(root) not in seen_files:
                seen_files.add(str(root))
                yield found
            continue
        for path in _walk(root, seen_dirs, report):
            if path.suffix.lower() in exts and str(path) not in seen_files:
                seen_files.add(str(path))
                found = _found(path, root, report)
                if found:
                    yield found


def _walk(top: Path, seen: set[tuple[int, int]], on_error: OnError) -> Iterator[Path]:
    """Entries other than folders under `top`, in sorted depth-first order, hidden ones skipped, each
    folder once."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            on_error(folder, f"folder unreadable ({exc.strerror or exc})", True)
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            on_error(folder, f"folder unreadable ({exc.strerror or exc})", True)
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    subfolders.append(Path(entry.path))
                else:
                    yield Path(entry.path)
            except OSError:
                continue
        stack.extend(reversed(subfolders))


def _found(path: Path, root: Path, on_error: OnError) -> FoundFile | None:
    try:
        st = path.stat()
    except OSError as exc:
        on_error(path, "broken link (its target does not exist)" if path.is_symlink() else
                 f"cannot read it ({exc.strerror or exc})", False)
        return None
    if not stat.S_ISREG(st.st_mode):
        on_error(path, "not a regular file (a pipe, socket or device)", False)
        return None
    return FoundFile(path, root, st.st_size, st.st_mtime_ns)
