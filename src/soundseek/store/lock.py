"""One writer per collection: an advisory lock file that names its holder.

`soundseek index` (and anything else that writes sounds) holds `<collection>/writer.lock` with
`fcntl.flock` for its whole run. A second writer either waits for it or is refused with a message that
names the other process. Readers (search, serve) never take it: SQLite's WAL lets them read while the
writer commits file by file. The operating system drops the lock when its holder dies (kill -9
included), so a stale lock file never blocks anyone.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from soundseek.errors import SoundseekError

LOCK_NAME = "writer.lock"


class CollectionBusy(SoundseekError):
    """Another process is writing this collection."""


@contextmanager
def writer_lock(root: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the collection's writer lock; refuse (CollectionBusy) when another process holds it,
    or block until it is free with `wait`."""
    path = Path(root) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise CollectionBusy(
                f"collection {root} is being written by {_holder(fd)}; wait for it to finish, "
                "or run again with --wait") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {_command()}\n".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """'process PID (COMMAND)' from the lock file, as its holder wrote it."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace").strip()
    pid, _, command = text.partition(" ")
    return f"process {pid} ({command})" if pid.isdigit() else "another process"


def _command() -> str:
    try:
        return Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "soundseek"
