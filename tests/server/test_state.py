"""The result cache: LRU eviction, and concurrent misses for one key computed once (single flight);
the engine thread: the searches handed over by the event loop run on one thread, in order."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from soundseek.server.state import LruCache, ServerConfig, ServerState


def test_lru_evicts_the_least_recently_used():
    cache = LruCache(2)
    cache.get_or_compute("a", lambda: 1)
    cache.get_or_compute("b", lambda: 2)
    assert cache.peek("a") == 1  # a is now the most recent
    cache.get_or_compute("c", lambda: 3)
    assert cache.peek("b") is None and cache.peek("a") == 1 and cache.peek("c") == 3


def test_concurrent_misses_compute_once():
    cache = LruCache(8)
    started, release, calls = threading.Event(), threading.Event(), []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait(10)
        return 42

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(cache.get_or_compute, "k", slow)
        assert started.wait(10)  # the first asker is computing
        others = [pool.submit(cache.get_or_compute, "k", slow) for _ in range(3)]
        release.set()
        assert [f.result() for f in [first, *others]] == [42] * 4
    assert len(calls) == 1 and cache.misses == 1


def test_errors_are_not_cached():
    cache = LruCache(8)

    def boom() -> int:
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get_or_compute("k", boom)
    assert cache.get_or_compute("k", lambda: 5) == 5


def test_size_zero_disables_caching():
    cache = LruCache(0)
    assert cache.get_or_compute("k", lambda: 1) == 1
    assert cache.get_or_compute("k", lambda: 2) == 2


def test_engine_work_runs_on_one_thread_in_arrival_order(tmp_path: Path):
    engine = SimpleNamespace(coll=SimpleNamespace(generation=0))  # ServerState reads only its generation here
    state = ServerState(ServerConfig(tmp_path), engine)  # type: ignore[arg-type]
    seen: list[tuple[int, str]] = []

    def work(i: int) -> int:
        seen.append((i, threading.current_thread().name))
        return i * i

    async def ask_all() -> list[int]:
        return await asyncio.gather(*(state.run(lambda i=i: work(i)) for i in range(8)))

    try:
        with ThreadPoolExecutor(1) as loop_thread:  # its own event loop (another test may leave one running here)
            assert loop_thread.submit(lambda: asyncio.run(ask_all())).result() == [i * i for i in range(8)]
    finally:
        state.close()
    assert [i for i, _ in seen] == list(range(8))
    names = {name for _, name in seen}
    assert len(names) == 1 and names.pop().startswith("soundseek-engine")
    assert threading.current_thread().name not in {name for _, name in seen}
