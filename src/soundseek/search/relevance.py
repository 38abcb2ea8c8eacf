"""Calibrated relevance: how likely a text hit is to be what the user asked for, in [0, 1].

The engine's fused score ranks well within one query but says nothing across queries (every query's
best hit scores about the same, "xyzzy qwerty" included). Relevance is a logistic model over absolute
evidence of the hit, not rescaled per query:

    words      similarity of the query to the sound's own words (MiniLM cosine above 0.3, scaled)
    keywords   1 when a query word is among the sound's words (BM25 hit), else 0
    zero_shot  YAMNet's probability of the query's AudioSet classes for the segment (weighted)
    match      how well the query matches its best AudioSet class name (cosine)
    ridge      the library model's cosine of the query with the segment's predicted words
    knn        the library model's semantic-kNN score of the segment

The coefficients were fitted with `benchmarks/calibrate_relevance.py` on the sfx-dev and ESC-50
benchmarks pooled (names hidden and half named, plus nonsense queries as negatives); the threshold for
"no good match" is set just above the best hit of every nonsense query there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from soundseek.search.class_codes import ClassScores

FEATURES = ("words", "keywords", "zero_shot", "match", "ridge", "knn")
#: Logistic coefficients per feature (same order as FEATURES) and intercept.
#: (benchmarks/results/calibrate_relevance.json; coefficients are kept >= 0: more evidence never lowers
#: relevance. `words` got 0: on these data an exact word (`keywords`) says all the words say.
#: Refitted when queries came to be embedded as they are instead of as "the sound of ...", which moved
#: `match` (issue 11, BENCHMARKS.md): pooled Brier 0.0737 -> 0.0662.)
COEFFICIENTS = np.asarray([0.0, 4.921, 4.985, 3.509, 0.469, 5.668], dtype=np.float64)
INTERCEPT = -4.979
#: Below this relevance, the best hit is reported as "no good match": the smallest multiple of 0.05 above
#: the best hit of every nonsense query there ("xyzzy qwerty", "tax return", ...). On the benchmarks,
#: 13% of real queries fell below it (their best hit was relevant in 23% of those), and the best hit
#: was relevant in 85% of the queries above it.
NO_MATCH_THRESHOLD = 0.2


@dataclass
class TextEvidence:
    """The evidence of one text query. `total` is the fused ranking score per segment; the other arrays
    are the raw sources (per distinct sound, per class, or per library-scored segment row)."""

    total: np.ndarray
    keywords: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))   # per sound, [0, 1]
    words: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))      # per sound, [0, 1]
    class_similarity: np.ndarray | None = None                                       # (C,) query -> class
    classes: np.ndarray | None = None
    class_weights: np.ndarray | None = None
    library_rows: np.ndarray | None = None
    ridge: np.ndarray | None = None
    knn: np.ndarray | None = None

    def features(self, positions: np.ndarray, sound_rows: np.ndarray, class_scores: ClassScores | None) -> np.ndarray:
        """The FEATURES of the segments at these table rows, given each segment's sound row and the
        engine's class scores. Returns (k, len(FEATURES)) float64."""
        out = np.zeros((len(positions), len(FEATURES)))
        rows = sound_rows[positions]
        if len(self.words):
            out[:, 0] = self.words[rows]
            out[:, 1] = self.keywords[rows] > 0
        if self.classes is not None and class_scores is not None:
            from soundseek.search.zeroshot import SCORE_EPS
            probs = np.expm1(class_scores.at(self.classes, positions).astype(np.float64)) * SCORE_EPS
            out[:, 2] = self.class_weights @ probs
            out[:, 3] = float(self.class_similarity.max())
        if self.library_rows is not None and len(self.library_rows):
            found, at = _rows_in(np.asarray(self.library_rows), positions)
            out[found, 4], out[found, 5] = self.ridge[at[found]], self.knn[at[found]]
        return out


def _rows_in(rows: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which `positions` occur in `rows` (unique table rows), and at which index of `rows`.
    Returns a (k,) bool mask and (k,) indices (meaningful where the mask is True)."""
    order = None if np.all(rows[1:] > rows[:-1]) else np.argsort(rows, kind="stable")
    ordered = rows if order is None else rows[order]
    at = np.minimum(np.searchsorted(ordered, positions), len(ordered) - 1)
    found = ordered[at] == positions
    return found, (at if order is None else order[at])


def no_good_match(relevances: list[float | None]) -> bool:
    """True when hits carry a relevance and none of them reaches NO_MATCH_THRESHOLD."""
    known = [r for r in relevances if r is not None]
    return bool(known) and max(known) < NO_MATCH_THRESHOLD


def relevance(features: np.ndarray) -> np.ndarray:
    """Calibrated probability of relevance of each row of `features`. Returns (k,) in [0, 1]."""
    return 1.0 / (1.0 + np.exp(-(features @ COEFFICIENTS + INTERCEPT)))
