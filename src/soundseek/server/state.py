"""What one server process holds: the search engine, a lock serializing access to it, limits, caches.

The engine and the collection share one SQLite connection and encoders that are not thread-safe, so every
call into them goes through `ServerState.locked` (FastAPI runs plain `def` endpoints in a thread pool).
Searches the event loop hands over (`ServerState.run`) go to one engine thread, in arrival order: with
several requests in flight, a pool thread each would take turns at the lock, every turn on a thread whose
caches the others have evicted (measured: 11.3 vs 10.7 ms of CPU a never-seen text query, BENCHMARKS.md).
Search results are cached per request (an LRU keyed by the query, filters, page and the collection
generation the engine was built from); `cache_size=0` turns the cache off.

The server follows the collection while it is re-indexed: at most every `refresh_seconds`, a request
checks the collection's generation and, when it changed, a new engine is built and swapped in under the
lock, so search, `/api/health` and `/api/sounds` never contradict each other for long and a request
never sees half of one state and half of another.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, TypeVar

from soundseek.search.engine import SearchEngine

T = TypeVar("T")

#: Default upload limits: 20 MB and 60 s of audio.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_SECONDS = 60.0
#: Results per page at most, and the deepest offset a client may ask for.
MAX_TOP = 100
MAX_OFFSET = 10_000
CACHE_SIZE = 1024
#: How often (at most) a request checks whether the collection changed (seconds).
REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server (see `create_app`)."""

    collection_dir: Path
    token: str | None = None
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_upload_seconds: float = MAX_UPLOAD_SECONDS
    cache_size: int = CACHE_SIZE
    model_dir: Path | None = None
    refresh_seconds: float = REFRESH_SECONDS


class _Pending:
    """A computation in flight; later askers for the same key wait for it instead of repeating it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class LruCache:
    """A small thread-safe LRU mapping with single-flight misses; counts hits and misses."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def peek(self, key: Hashable) -> Any:
        """The cached value (counted as a hit), or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        return None

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self.size <= 0:
            return compute()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]  # type: ignore[no-any-return]
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = _Pending()
                self.misses += 1
            else:
                self.hits += 1
        if not owner:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.value  # type: ignore[no-any-return]
        return self._compute(key, pending, compute)

    def _compute(self, key: Hashable, pending: _Pending, compute: Callable[[], T]) -> T:
        try:
            value = compute()
        except BaseException as exc:
            pending.error = exc
            raise
        else:
            pending.value = value
            with self._lock:
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.done.set()

    def stats(self) -> dict[str, int]:
        return {"size": len(self._items), "capacity": self.size, "hits": self.hits, "misses": self.misses}


@dataclass
class ServerState:
    """The engine of one collection plus everything requests share."""

    config: ServerConfig
    engine: SearchEngine
    lock: threading.Lock = field(default_factory=threading.Lock)
    results: LruCache = field(init=False)
    waveforms: LruCache = field(init=False)
    generation: int = field(init=False)
    _checked: float = field(init=False, default=0.0)
    _engine_thread: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="soundseek-engine")  # started on first use
        self.results = LruCache(self.config.cache_size)
        self.waveforms = LruCache(256)
        self.generation = self.engine.coll.generation
        self._checked = time.monotonic()

    def locked(self, fn: Callable[[], T]) -> T:
        """Run `fn` while holding the engine lock, on the collection's current state."""
        with self.lock:
            self._follow_collection()
            return fn()

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` on the engine thread (which runs one at a time, in the order they were asked for)."""
        return await asyncio.get_running_loop().run_in_executor(self._engine_thread, fn)

    def close(self) -> None:
        """Let the engine thread go (searches not yet started are dropped)."""
        self._engine_thread.shutdown(wait=False, cancel_futures=True)

    def _follow_collection(self) -> None:
        """Swap in an engine over the newest generation when the collection changed (see module doc)."""
        now = time.monotonic()
        if now - self._checked < self.config.refresh_seconds:
            return
        self._checked = now
        current = self.engine.coll.generation
        if current != self.generation:
            old, self.engine = self.engine, self.engine.reopened()
            self.generation = current
            old.coll.close()

    def cache_key(self, key: tuple) -> tuple:
        """Cached results are only valid for the collection generation the engine was built from."""
        return (self.generation, *key)

    def warm(self) -> None:
        """Load the lazily built parts of the engine (text encoder, caches) before the first request."""
        from soundseek.errors import SoundseekError

        try:
            self.locked(lambda: self.engine.search_text("warm up", top=1))
        except SoundseekError:
            pass


def open_state(config: ServerConfig) -> ServerState:
    """Open the collection and build its engine (with the joint model when the collection has one)."""
    from soundseek.search.engine import open_engine

    return ServerState(config, open_engine(config.collection_dir, config.model_dir))
