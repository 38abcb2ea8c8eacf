"""release_free_memory hands glibc's freed heap back to the operating system (soundseek/memory.py)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from soundseek import memory


#: Run in a child process: it sets glibc's thresholds, which would otherwise stay set for the other tests.
_CHILD = """
import ctypes
from pathlib import Path
from soundseek import memory

def anon_kib():
    return next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("RssAnon:"))

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD: blocks of 64 KiB come from the heap, not from mmap
libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: free() never trims by itself, only malloc_trim does
blocks = [libc.malloc(64 << 10) for _ in range(1024)]  # 64 MiB of heap, every page touched
for b in blocks:
    ctypes.memset(b, 1, 64 << 10)
keep = libc.malloc(64)  # a live block above them: the heap's top cannot shrink past it
for b in blocks:
    libc.free(b)
before = anon_kib()
released = memory.release_free_memory()
print(released, before - anon_kib())
"""


def _has_malloc_trim() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "malloc_trim")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _has_malloc_trim(), reason="glibc's malloc_trim only")
def test_freed_heap_blocks_go_back_to_the_system() -> None:
    src = str(Path(memory.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": src})
    assert done.returncode == 0, done.stderr
    released, freed_kib = done.stdout.split()
    assert released == "True"
    assert int(freed_kib) > 32 << 10  # most of the 64 MiB freed inside the heap is no longer resident


def test_elsewhere_it_does_nothing(monkeypatch) -> None:
    memory._malloc_trim.cache_clear()
    monkeypatch.setattr(sys, "platform", "darwin")
    try:
        assert memory.release_free_memory() is False
    finally:
        memory._malloc_trim.cache_clear()
