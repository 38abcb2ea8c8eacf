"""What every query path shares: checking a query, its FTS5 form, its time span, unit scaling, and
running a query on one BLAS thread."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

from soundseek.audio.segments import Span
from soundseek.errors import QueryError

T = TypeVar("T")
#: Longest text query accepted.
MAX_QUERY_CHARS = 500


def blas_single_thread(method: Callable[..., T]) -> Callable[..., T]:
    """Run a query with one BLAS thread: a query is many small matrix-vector products, which a
    multi-threaded BLAS slows down by an order of magnitude on a busy machine (measured: 12 ms vs
    0.7 ms for a 10k x 384 product on 2 loaded cores)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with blas_controller().limit(limits=1, user_api="blas"):
            return method(*args, **kwargs)

    return wrapper


@functools.lru_cache(maxsize=1)
def blas_controller() -> ThreadpoolController:
    """Built once: finding the loaded BLAS libraries reads /proc/self/maps (about 1 ms)."""
    return ThreadpoolController()


def unit(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the maximum (all-zero stays zero)."""
    top = float(np.max(x)) if x.size else 0.0
    if top <= 0:
        return np.zeros_like(x, dtype=np.float32)
    return np.multiply(x, np.float32(1.0 / top), dtype=np.float32)


def check_text(query: str) -> str:
    query = (query or "").strip()
    if not query:
        raise QueryError("empty query: type some words, e.g. soundseek search \"dog barking\"")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(query)} characters, at most {MAX_QUERY_CHARS})")
    if not any(ch.isalnum() for ch in query):
        raise QueryError("the query has no letters or digits")
    return query


def fts_words(query: str) -> list[str]:
    """The query's words that keyword search looks for (single letters are left out)."""
    from soundseek.encoders.text import tokenize

    return [w for w in tokenize(query) if len(w) > 1]


def fts_query(query: str) -> str:
    """An FTS5 query matching any of the query's words (quoted, so operators in text are inert)."""
    return " OR ".join(f'"{w}"' for w in fts_words(query))


def query_span(duration: float, start: float | None, end: float | None) -> Span:
    s = 0.0 if start is None else float(start)
    e = duration if end is None else min(float(end), duration)
    if s < 0 or s >= duration or e <= s:
        raise QueryError(f"bad time range [{start}, {end}] for a query of {duration:.2f} s")
    return Span(s, e)
