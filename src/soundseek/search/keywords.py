"""BM25 keyword search in memory: FTS5's scores, without FTS5's per-row cost.

SQLite's `bm25()` is evaluated row by row: at 250,000 sounds a two-word query matching 3,750 of them cost
~5 ms, the largest part of a text query at a million segments. The same score is a sum over the query's
terms of a per-(term, sound) value fixed by the collection:

    bm25(sound) = sum over query words w of  idf(w) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))

with FTS5's constants (k1 = 1.2, b = 0.75, idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; tf the
occurrences of w in the sound's words, len their token count, n the sounds holding w, N all sounds).
KeywordIndex keeps, per term, its sounds and that value (read once from the FTS5 index itself,
store/keywords.py), so a query gathers a few short lists. Query words are tokenized by SQLite's own
tokenizer, so both paths match the same sounds; a word that the tokenizer splits (a phrase to FTS5)
is left to FTS5 (`search` returns None). The terms of the words seen lately are kept (`terms_of`): a
word's terms depend only on the tokenizer, and a query's words recur far more than the query.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from soundseek.store.keywords import Postings

K1 = 1.2
B = 0.75
#: FTS5's floor for the idf of a term that most sounds hold.
MIN_IDF = 1e-6
#: Words whose terms are kept (the cache is emptied when full).
CACHED_WORDS = 65_536


class KeywordIndex:
    """The sounds' words as inverted lists with their BM25 term weights (see module doc)."""

    def __init__(self, postings: Postings) -> None:
        self.generation = postings.generation
        self.terms, self.starts = postings.terms, postings.starts
        small = not len(postings.docs) or int(postings.docs.max()) < 2**31
        self.docs = postings.docs.astype(np.int32) if small else postings.docs  # sound ids: 4 bytes a posting
        counts = postings.counts.astype(np.float64)
        n = max(postings.n_docs, 1)
        lengths = np.zeros(0)
        if len(postings.docs):
            doc_ids, at = np.unique(postings.docs, return_inverse=True)
            lengths = np.bincount(at.ravel(), weights=counts, minlength=len(doc_ids))[at.ravel()]
        average = float(counts.sum()) / n
        norm = K1 * (1 - B + B * lengths / average) if average > 0 else np.full(len(counts), K1)
        hits = np.diff(self.starts).astype(np.float64)
        self.idf = np.maximum(np.log((n - hits + 0.5) / (hits + 0.5)), MIN_IDF)
        self.weights = (counts * (K1 + 1) / (counts + norm)).astype(np.float32)
        self._terms: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.terms)

    def terms_of(self, words: list[str], tokenize: Callable[[list[str]], list[list[str]]]) -> list[list[str]]:
        """The terms of each of `words`: `tokenize(words)` (the collection's tokenizer), for words
        not seen lately."""
        missing = [w for w in dict.fromkeys(words) if w not in self._terms]
        if missing:
            if len(self._terms) + len(missing) > CACHED_WORDS:
                self._terms.clear()
            self._terms.update(zip(missing, tokenize(missing)))
        return [list(self._terms[w]) for w in words]

    def search(self, phrases: list[list[str]], *, limit: int = 200) -> list[tuple[int, float]] | None:
        """BM25 of the sounds matching any of `phrases` (each the terms of one query word), best first,
        ties by sound id; at most `limit`. None when a phrase has several terms (FTS5 answers it)."""
        if any(len(p) > 1 for p in phrases):
            return None
        docs, scores = [], []
        for phrase in phrases:
            if not phrase:
                continue
            i = int(np.searchsorted(self.terms, phrase[0]))
            if i < len(self.terms) and self.terms[i] == phrase[0]:
                lo, hi = self.starts[i], self.starts[i + 1]
                docs.append(self.docs[lo:hi])
                scores.append(self.weights[lo:hi].astype(np.float64) * self.idf[i])
        if not docs:
            return []
        ids, total = _sum_by_id(np.concatenate(docs), np.concatenate(scores))
        order = np.lexsort((ids, -total))[:limit]
        return [(int(i), float(s)) for i, s in zip(ids[order], total[order])]


def _sum_by_id(ids: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids (ascending) and the sum of the values of each."""
    order = np.argsort(ids, kind="stable")
    ids, values = ids[order], values[order]
    first = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    return ids[first], np.add.reduceat(values, first)


def per_sound_scores(hits: list[tuple[int, float]], sounds: np.ndarray) -> np.ndarray:
    """Keyword hits (sound id, BM25) as one score per entry of the sorted sound ids `sounds`, scaled by
    the best hit to [0, 1]; sounds unknown to `sounds` (indexed since) are left out. Returns (len(sounds),) float32."""
    out = np.zeros(len(sounds), dtype=np.float32)
    if not hits or not len(sounds):
        return out
    ids = np.asarray([h[0] for h in hits], dtype=np.int64)
    values = np.asarray([h[1] for h in hits], dtype=np.float32)
    rows = np.minimum(np.searchsorted(sounds, ids), len(sounds) - 1)
    known = sounds[rows] == ids
    out[rows[known]] = values[known] / (values.max() or 1.0)
    return out
