"""Handing the C allocator's freed memory back to the operating system.

CPython returns its small-object arenas when they empty, and large NumPy arrays are mapped and unmapped
on their own, but glibc's malloc keeps what is freed inside its heaps (blocks below its mmap threshold,
which rises to 32 MiB once larger blocks have been freed): after loading a million rows through Python
lists, ~100 MB of freed heap stayed resident. `release_free_memory` asks glibc to give back every whole
free page (`malloc_trim(0)`); elsewhere (macOS, musl) it does nothing. The engine calls it once after
building large temporary structures, never per query.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Give the C allocator's free pages back to the operating system. Returns True when the allocator
    can do so (glibc), whether or not it had pages to give; False elsewhere."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
