""""Like this, but ...": one query made of an example sound plus words pushing toward or away from concepts.

`soundseek search --audio x.wav "metallic" --without "speech"`: the example says what it should sound
like, the words what it should (or should not) also be. Per segment, three scores in [0, 1]:

    like     acoustic similarity to the example: cosine in the collection's space, min-max scaled over the
             POOL nearest segments (0 outside them)
    toward   the engine's fused text score of the `toward` words (see engine.py), scaled by its maximum
    away     the same for the `away` words

and the steered score is a soft AND:  like * toward * (1 - away)  (a missing `toward` counts as 1, a
missing `away` as 0), except that a segment with `away` >= AWAY_CUT is left out: "without speech" drops
what clearly holds speech (at least half the strongest speech evidence) and pushes down the rest. A product rather than a sum, for what it means: a hit must be both near the
example and about the words, and `away` scales a hit down in proportion. benchmarks/steered_search.py
measures it against audio-only and words-only, with the sum `like + toward` as an ablation (the two
score within noise of each other there; see BENCHMARKS.md).
A text query with `--without` is the same product with the text query's scores in place of `like`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soundseek.errors import QueryError

if TYPE_CHECKING:
    from soundseek.search.engine import SearchEngine
    from soundseek.search.filters import Filters
    from soundseek.search.hits import Hit

#: Nearest segments whose acoustic similarity counts (others score 0 on `like`).
POOL = 2000
#: `away` evidence (scaled to [0, 1]) from which a segment is left out rather than scaled down.
AWAY_CUT = 0.5
MAX_WORDS_CHARS = 200


@dataclass(frozen=True)
class Steer:
    """Words that push a query: `toward` what it should also be, `away` from what it should not be."""

    toward: str | None = None
    away: str | None = None

    def __post_init__(self) -> None:
        for name in ("toward", "away"):
            value = getattr(self, name)
            if value is not None and (len(value) > MAX_WORDS_CHARS or not any(c.isalnum() for c in value)):
                raise QueryError(f"the {name!r} words must have letters or digits and at most "
                                 f"{MAX_WORDS_CHARS} characters (got {value!r})")

    @classmethod
    def of(cls, toward: str | None, away: str | None) -> Steer:
        """A Steer from optional strings (blank means absent)."""
        return cls((toward or "").strip() or None, (away or "").strip() or None)

    def active(self) -> bool:
        return self.toward is not None or self.away is not None

    def label(self) -> str:
        parts = ([f"+ {self.toward}"] if self.toward else []) + ([f"- {self.away}"] if self.away else [])
        return " ".join(parts)


def unit_scale(x: np.ndarray) -> np.ndarray:
    """x / max(x) with negatives, NaN and -inf as 0 (all-zero stays zero). Returns: float32, same shape."""
    out = np.where(np.isfinite(x), np.maximum(x, 0), 0).astype(np.float32)
    top = float(out.max()) if out.size else 0.0
    return out / top if top > 0 else out


def min_max(x: np.ndarray) -> np.ndarray:
    """Finite values scaled to [0, 1] (min -> 0, max -> 1; all equal -> 1); -inf/NaN -> 0."""
    out = np.zeros(x.shape, dtype=np.float32)
    ok = np.isfinite(x)
    if not ok.any():
        return out
    lo, hi = float(x[ok].min()), float(x[ok].max())
    out[ok] = (x[ok] - lo) / (hi - lo) if hi > lo else 1.0
    return out


def acoustic_scores(engine: SearchEngine, vector: np.ndarray, *, pool: int = POOL) -> np.ndarray:
    """Cosine of the `pool` nearest segments to `vector` (-inf elsewhere). Returns: (n_segments,) float32."""
    n = len(engine.table)
    scores = np.full(n, -np.inf, dtype=np.float32)
    if engine.index is None or n == 0:
        return scores
    sims, ids = engine.index.search(np.asarray(vector, dtype=np.float32)[None, :], min(n, pool))
    ok = ids[0] >= 0
    scores[engine.table.positions(ids[0][ok])] = sims[0][ok]
    return scores


def combine(like: np.ndarray, toward: np.ndarray | None, away: np.ndarray | None, *, mode: str = "product") -> np.ndarray:
    """The steered score per segment from scores already in [0, 1] (see the module docstring).

    mode 'product' (default): like * toward * (1 - away), 0 where away >= AWAY_CUT;
    'sum' (ablation): like + toward - away.
    """
    if mode == "sum":
        out = like.astype(np.float32).copy()
        out += 0 if toward is None else toward
        out -= 0 if away is None else away
        return out
    if mode != "product":
        raise QueryError(f"unknown combination {mode!r} (product or sum)")
    out = like.astype(np.float32).copy()
    if toward is not None:
        out *= toward
    if away is not None:
        out *= np.where(away >= AWAY_CUT, 0.0, 1.0 - away).astype(np.float32)
    return out


def steered_scores(engine: SearchEngine, like: np.ndarray, steer: Steer, *, mode: str = "product") -> np.ndarray:
    """`like` (raw scores, -inf = excluded) steered by the words. Returns: (n_segments,) float32, -inf =
    no hit (excluded, or a product of 0)."""
    toward = unit_scale(engine.text_scores(steer.toward)) if steer.toward else None
    away = unit_scale(engine.text_scores(steer.away)) if steer.away else None
    out = combine(min_max(like), toward, away, mode=mode)
    out[~np.isfinite(like)] = -np.inf
    if mode == "product":
        out[out <= 0] = -np.inf
    return out


def search_like(engine: SearchEngine, vector: np.ndarray, steer: Steer, *, top: int = 10, offset: int = 0,
                filters: Filters | None = None, exclude: tuple[str, float, float] | None = None) -> list[Hit]:
    """Files near `vector` (a vector of the collection's space) and about the steering words.

    `exclude` = (path, start, end): that file's segments overlapping [start, end] are left out."""
    like = acoustic_scores(engine, vector)
    if exclude is not None:
        path, start, end = exclude
        t = engine.table
        like[(t.paths == path) & (t.starts < end) & (t.ends > start)] = -np.inf
    return engine.rank_segments(steered_scores(engine, like, steer), top=top, offset=offset, filters=filters)


def search_audio_like(engine: SearchEngine, path: str | Path, steer: Steer, *, start: float | None = None,
                      end: float | None = None, top: int = 10, offset: int = 0, filters: Filters | None = None,
                      waveform: np.ndarray | None = None) -> list[Hit]:
    """An example file (or its [start, end] part) steered by words; the query's own span is left out.
    `waveform`: the file already decoded at the encoder's rate (the server decodes outside its lock)."""
    import os

    vector, span = engine.embed_query_span(path, start=start, end=end, waveform=waveform)
    return search_like(engine, vector, steer, top=top, offset=offset, filters=filters,
                       exclude=(os.path.abspath(path), span.start, span.end))


def segment_like(engine: SearchEngine, segment_id: int, steer: Steer, *, top: int = 10, offset: int = 0,
                 filters: Filters | None = None) -> list[Hit]:
    """More like an indexed segment, steered by words (its own span is left out)."""
    t = engine.table
    pos = int(t.positions(np.asarray([segment_id]))[0])
    if pos >= len(t) or t.ids[pos] != segment_id:
        raise QueryError(f"unknown segment id {segment_id}")
    vector = engine.coll.vectors_for(engine.space, [segment_id])[0]
    return search_like(engine, vector, steer, top=top, offset=offset, filters=filters,
                       exclude=(str(t.paths[pos]), float(t.starts[pos]), float(t.ends[pos])))


def text_without(engine: SearchEngine, query: str, away: str, *, top: int = 10, offset: int = 0,
                 filters: Filters | None = None) -> list[Hit]:
    """A text query pushed away from other words: unit(text(query)) * (1 - unit(text(away)))."""
    Steer(query, away)  # checks both
    scores = combine(unit_scale(engine.text_scores(query)), None, unit_scale(engine.text_scores(away)))
    scores[scores <= 0] = -np.inf
    return engine.rank_segments(scores, top=top, offset=offset, filters=filters)
