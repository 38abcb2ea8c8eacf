"""Silence known informational lines that native libraries print straight to file descriptor 2.

TFLite prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on every interpreter it builds,
and libmpg123 (inside libsndfile) warns about harmless ID3 tag quirks of MP3 files, both bypassing
Python's logging (no environment variable turns them off). `filtered_stderr` sends fd 2 to a
temporary file for the duration of a native call, then writes back every line except those dropped.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

#: Line prefixes of native messages that say nothing a user can act on.
NATIVE_NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate", "INFO: Initialized TensorFlow Lite runtime",
                "[src/libmpg123/id3.c:")
#: fd 2 is process-wide: one filter at a time (re-entrant, so nested blocks work).
_LOCK = threading.RLock()


@contextmanager
def filtered_stderr(drop: tuple[str, ...] = NATIVE_NOISE) -> Iterator[None]:
    """Within the block, native writes to fd 2 that start with one of `drop` are discarded; the
    rest reach stderr after the block."""
    with _LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no fd 2 (embedded interpreters): nothing to filter
            yield
            return
        with _redirected(saved, drop):
            yield


@contextmanager
def _redirected(saved: int, drop: tuple[str, ...]) -> Iterator[None]:
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                    if not line.startswith(drop)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
