"""Text search on large collections: score only the segments some evidence points at.

The exact path (engine.text_evidence) makes several passes over every segment per query: the zero-shot
sum of class rows, the library model's predicted words (a 100k x 384 product alone is 15-30 ms), the
similarity to every sound's words. Each source of evidence is sparse in what it ranks high, so from
`CANDIDATES_FROM` segments on a query first asks each source for its best segments:

* zero-shot: the best segments of each of the query's classes (1,024, or one in 250 of the
  collection up to 4,096; lists built once per collection generation, candidate_lists.py), of which the best `FEEDBACK_POOL` are the feedback pool;
* the sounds' words and keyword hits: the sounds with the best per-sound evidence (distinct texts found
  by inner-product search, see inner.py);
* the library model: the segments whose predicted words are nearest the query (inner.py), and the
  segments whose acoustic neighbours are the examples whose words match the query (inverted lists of
  neighbour slots, knn_slots.py);

and then computes the same fused score as the exact path for the union of those candidates only. The
scores of candidates equal the exact path's when each source's best segment is among its candidates
(the scales of the sources are set by those maxima); a segment no source ranks high is not scored.
Measured against the exact path in BENCHMARKS.md (issue 11).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from soundseek.search.knn_slots import knn_of_users, sorted_ints
from soundseek.search.relevance import TextEvidence
from soundseek.search.state import gather_lists

if TYPE_CHECKING:
    from soundseek.search.candidate_lists import SearchEngine, TextLists

#: Collections with at least this many segments use candidates for text search (below it the exact
#: path takes a few milliseconds).
CANDIDATES_FROM = 50_000
#: Candidates asked of each other source (segments; for words, sounds).
POOL = 256
#: best_first ranks many values after a look at every SAMPLE_STEP-th of them.
SAMPLE_STEP = 16
#: Distinct texts asked of an inner-product list for the words and kNN sources when it is not exact
#: (an exact scan gives every text above the floor).
LONG_POOL = 2048


@dataclass(frozen=True)
class FusionWeights:
    """The exact path's fusion constants (search/engine.py), read by the engine at each query so that
    both paths always fuse alike."""

    keyword: float
    words: float
    words_floor: float
    feedback: float
    feedback_top: int
    feedback_pool: int
    library: float


def _distinct(x: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (a sort: NumPy's hashing unique was ~0.8 ms for 5k)."""
    x = sorted_ints(np.asarray(x).ravel())
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if len(x) else x


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """encoders.l2_normalize of a float32 array of ours, in place: the same numbers without its three
    temporary copies (a thousand rows of 521 classes are 2 MB each)."""
    norm = np.sqrt(np.add.reduce(x * x, axis=-1, keepdims=True))
    return np.divide(x, np.maximum(norm, np.float32(1e-12)), out=x)


def best_first(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values, largest first, ties in position order: what
    `np.argsort(-values, kind="stable")[:k]` gives, without sorting all of them. Of many values, only
    those at or above a floor that about 2k of a sample reach are ranked: every one of the k best
    reaches it whenever k values do (else all are ranked)."""
    values = np.asarray(values)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if len(values) >= 4 * SAMPLE_STEP * k and len(values) >= 4096:
        sample = values[::SAMPLE_STEP]
        reach = 2 * k // SAMPLE_STEP + 1
        floor = np.partition(sample, len(sample) - reach)[len(sample) - reach]
        above = np.flatnonzero(values >= floor) if not np.isnan(floor) else np.zeros(0, dtype=np.int64)
        if len(above) >= k:
            return above[_best_first_of_all(values[above], k)]
    return _best_first_of_all(values, k)


def _best_first_of_all(values: np.ndarray, k: int) -> np.ndarray:
    neg = -values
    if k >= len(neg):
        return np.argsort(neg, kind="stable")
    kth = np.partition(neg, k - 1)[k - 1]
    if np.isnan(kth):  # fewer than k numbers: the NaNs that fill up are taken in position order
        return np.argsort(neg, kind="stable")[:k]
    chosen = np.flatnonzero(neg < kth)
    chosen = np.concatenate((chosen, np.flatnonzero(neg == kth)[: k - len(chosen)]))
    chosen.sort()
    return chosen[np.argsort(neg[chosen], kind="stable")]


class CandidateScores:
    """One text query scored on its candidates; `at(rows)` gives the fused score of any table rows,
    equal to the exact path's where the sources' maxima were among the candidates."""

    def __init__(self, engine: SearchEngine, lists: TextLists, query: str, weights: FusionWeights) -> None:
        from soundseek.search.library import WORD_FLOOR

        self.engine, self.lists, self.weights = engine, lists, weights
        table = engine.table
        qvec = self.qvec = engine.query_vector(query)
        # evidence about whole sounds (their words), per distinct sound
        self.keywords = engine._keyword_scores(query)
        self.words = np.zeros(len(table.sounds), dtype=np.float32)
        if lists.texts is not None:
            text_rows, sims = lists.texts.above(qvec, self.weights.words_floor, LONG_POOL, ordered=False)
            values = np.clip((sims - self.weights.words_floor) / (1 - self.weights.words_floor), 0, 1)
            counts = lists.sounds_start[text_rows + 1] - lists.sounds_start[text_rows]
            self.words[gather_lists(lists.sounds_start, lists.sounds, text_rows)] = np.repeat(values, counts)
        self.per_sound = self.weights.keyword * self.keywords + self.weights.words * self.words
        parts = [self._sound_candidates()]
        # zero-shot, and feedback over the best zero-shot candidates
        self.classes = self.class_weights = self.class_similarity = None
        self.zs_max = self.fb_max = 0.0
        self.fb_rows = self.zs_rows = np.zeros(0, dtype=np.int64)
        self.fb_values = self.zs = np.zeros(0, dtype=np.float32)
        if lists.class_lists is not None and engine.matcher is not None:
            self.class_similarity = engine.matcher.similarities(qvec)
            self.classes, self.class_weights = engine.matcher.weights_of(self.class_similarity)
            zs_rows = _distinct(self._class_heads(lists.class_lists))
            zs = self._zero_shot(zs_rows)
            self.zs_rows, self.zs = zs_rows, zs
            self.zs_max = float(zs.max()) if len(zs) else 0.0
            parts.append(self._feedback(zs_rows, zs))
        # the library model
        self.ridge_max = self.knn_max = 0.0
        self.example_weights = None
        self.knn_users, self.knn = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        lib = lists.library
        if lib is not None:
            ridge_rows, ridge = lib.ridge.top(qvec, POOL)
            self.ridge_max = max(float(ridge[0]), 0.0) if len(ridge) else 0.0
            parts.append(lib.row_of[ridge_rows])
            example_rows, example_sims = lib.examples.above(qvec, WORD_FLOOR, LONG_POOL, ordered=False)
            self.example_weights = np.zeros(len(lib.model.example_text), dtype=np.float32)
            self.example_weights[example_rows] = np.clip((example_sims - WORD_FLOOR) / (1 - WORD_FLOOR), 0, 1)
            self.knn_users, self.knn = knn_of_users(lib.slots_start, lib.slots, lib.neighbour_sims, lib.k,
                                                    example_rows, self.example_weights)
            self.knn_max = float(self.knn.max()) if len(self.knn) else 0.0
            parts.append(lib.row_of[self.knn_users[best_first(self.knn, POOL)]])
        rows = _distinct(np.concatenate(parts))
        self.rows = rows[rows >= 0]
        first = self._first_pass(self.rows)
        self.first_max = float(first.max()) if len(first) else 0.0
        self.scores = self._fuse(self.rows, first)

    # -- the sources, at any table rows --------------------------------------------------------
    def _sound_candidates(self) -> np.ndarray:
        table = self.engine.table
        sound_rows = np.flatnonzero(self.per_sound > 0)
        if len(sound_rows) > POOL:
            sound_rows = sound_rows[best_first(self.per_sound[sound_rows], POOL)]
        if not len(sound_rows):
            return np.zeros(0, dtype=np.int64)
        return table.rows_of_sounds(sound_rows)

    def _class_heads(self, class_lists: np.ndarray) -> np.ndarray:
        """The head of each of the query's class lists, as deep as the class weighs: a class with a
        fifth of the weight (of five) or more gives its whole list, a lighter one proportionally less
        (at least a quarter of it): its rows add at most its weight times the largest log score."""
        depth = class_lists.shape[1]
        share = np.minimum(1.0, self.class_weights * len(self.classes))
        lengths = np.maximum(max(1, depth // 4), (depth * share).astype(np.int64))
        return np.concatenate([class_lists[c, :k] for c, k in zip(self.classes, lengths)])

    def _zero_shot(self, rows: np.ndarray) -> np.ndarray:
        return self.engine.class_codes.weighted_sum(self.classes, self.class_weights, rows)

    def _feedback(self, zs_rows: np.ndarray, zs: np.ndarray) -> np.ndarray:
        """The exact path's feedback (engine._add_feedback) over the best zero-shot candidates."""
        from soundseek.search.hits import top_order

        if self.weights.feedback == 0 or self.zs_max <= 0:
            return zs_rows
        pool = zs_rows[top_order(zs, min(len(zs), self.weights.feedback_pool))]
        # the cosines of the exact path, each row's norm taken once instead of normalizing every row
        # first (two fewer passes over a thousand rows of 521 classes)
        x = self.engine.class_codes.rows(pool)
        norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", x, x)), np.float32(1e-12))
        top = self.weights.feedback_top
        centroid = _unit_rows((x[:top] / norms[:top, None]).mean(axis=0))
        sims = np.maximum((x @ centroid) / norms, 0)
        self.fb_max = float(sims.max())
        if self.fb_max > 0:
            order = np.argsort(pool)
            self.fb_rows, self.fb_values = pool[order], sims[order] / self.fb_max
        return pool

    def _feedback_at(self, rows: np.ndarray) -> np.ndarray:
        """The feedback score (scaled by its maximum) at any rows: the pool's as computed once for the
        pool, 0 elsewhere (the exact path scores only its pool too)."""
        out = np.zeros(len(rows), dtype=np.float32)
        if self.fb_max <= 0 or not len(rows):
            return out
        at = np.minimum(np.searchsorted(self.fb_rows, rows), len(self.fb_rows) - 1)
        inside = self.fb_rows[at] == rows
        out[inside] = self.fb_values[at[inside]]
        return out

    def _zero_shot_at(self, rows: np.ndarray) -> np.ndarray:
        """The zero-shot sum at any rows: those among the class lists' heads as computed for them, the
        others read now."""
        if not len(self.zs_rows):
            return self._zero_shot(rows)
        at = np.minimum(np.searchsorted(self.zs_rows, rows), len(self.zs_rows) - 1)
        inside = self.zs_rows[at] == rows
        out = np.empty(len(rows), dtype=np.float32)
        out[inside] = self.zs[at[inside]]
        if not inside.all():
            out[~inside] = self._zero_shot(rows[~inside])
        return out

    def _knn(self, model_rows: np.ndarray) -> np.ndarray:
        """kNN scores of any model rows: looked up among the rows with a matching neighbour, else 0."""
        out = np.zeros(len(model_rows), dtype=np.float32)
        if not len(model_rows) or self.example_weights is None or not len(self.knn_users):
            return out
        at = np.minimum(np.searchsorted(self.knn_users, model_rows), len(self.knn_users) - 1)
        found = self.knn_users[at] == model_rows
        out[found] = self.knn[at[found]]
        return out

    def _first_pass(self, rows: np.ndarray) -> np.ndarray:

        out = self.per_sound[self.engine.table.sound_rows[rows]].astype(np.float32)
        if self.zs_max > 0:
            out += self._zero_shot_at(rows) / np.float32(self.zs_max)
            out += np.float32(self.weights.feedback) * self._feedback_at(rows)
        return out

    def library_at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The library model's raw ridge and kNN scores at those table rows that it scores.
        Returns: the mask of `rows` it scores, ridge (k,), knn (k,) for those rows."""
        lib = self.lists.library
        if lib is None:
            return np.zeros(len(rows), dtype=bool), np.zeros(0, np.float32), np.zeros(0, np.float32)
        model_rows = self._model_rows(rows)
        scored = model_rows >= 0
        m = model_rows[scored]
        ridge = np.maximum(lib.ridge.scores(m, self.qvec), 0)
        return scored, ridge, self._knn(m)

    def _model_rows(self, rows: np.ndarray) -> np.ndarray:
        """Model row of each table row, -1 where the model does not score it."""
        return self.lists.library.model_row[rows].astype(np.int64)

    def _fuse(self, rows: np.ndarray, first: np.ndarray) -> np.ndarray:

        if self.lists.library is None:
            total = first
        else:
            total = first / np.float32(self.first_max) if self.first_max > 0 else np.zeros_like(first)
            scored, ridge, knn = self.library_at(rows)
            lib_part = np.zeros(len(ridge), dtype=np.float32)
            if self.ridge_max > 0:
                lib_part += ridge / np.float32(self.ridge_max)
            if self.knn_max > 0:
                lib_part += knn / np.float32(self.knn_max)
            total[scored] += np.float32(self.weights.library) * lib_part
        total = total.astype(np.float32)
        total[total <= 0] = -np.inf
        return total

    def at(self, rows: np.ndarray) -> np.ndarray:
        """The fused score of the segments at these table rows (-inf: no evidence)."""
        rows = np.asarray(rows, dtype=np.int64)
        return self._fuse(rows, self._first_pass(rows))

    def evidence(self, positions: np.ndarray) -> TextEvidence:
        """A TextEvidence whose `features(positions, ...)` are the exact path's (for relevance)."""
        positions = _distinct(np.asarray(positions, dtype=np.int64))
        ev = TextEvidence(np.zeros(0, dtype=np.float32), keywords=self.keywords, words=self.words,
                          class_similarity=self.class_similarity, classes=self.classes,
                          class_weights=self.class_weights)
        if self.lists.library is not None:
            scored, ridge, knn = self.library_at(positions)
            ev.library_rows, ev.ridge, ev.knn = positions[scored], ridge, knn
        return ev
