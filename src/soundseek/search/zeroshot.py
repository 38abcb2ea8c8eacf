"""Zero-shot text -> audio through AudioSet class names (no training).

The AudioSet class names are embedded with a sentence encoder as "the sound of ...", the query as it is
(one text per query: embedding it in the template too doubled the encoder's time for no better mAP,
BENCHMARKS.md, issue 11).
A class name with alternatives ("Cattle, bovinae") is matched by the best of its full name and each
alternative. The `n_classes` most similar classes get weights w_c = softmax(sim_c / T), and a segment
scores sum_c w_c * log(1 + p_c / eps), where p_c is YAMNet's class probability: the log spreads out
the small probabilities where most of the ranking happens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundseek.encoders import TextEncoder
from soundseek.encoders.base import encode_query

#: How class names are phrased before embedding (queries and the sounds' own words are embedded as they are).
CLASS_TEMPLATE = "the sound of {}"
#: Probability floor of the log transform of class scores.
SCORE_EPS = 1e-3


@dataclass(frozen=True)
class ZeroShotConfig:
    n_classes: int = 5
    temperature: float = 0.05
    template: str = CLASS_TEMPLATE


def class_phrases(class_names: list[str], template: str) -> tuple[list[str], list[int]]:
    """Each class name and each of its comma-separated alternatives in the template, with its class index."""
    phrases, owners = [], []
    for i, name in enumerate(class_names):
        for alt in dict.fromkeys([name] + [a.strip() for a in name.split(",") if a.strip()]):
            phrases.append(template.format(alt))
            owners.append(i)
    return phrases, owners


class ClassNameMatcher:
    """Maps free text to weighted AudioSet classes."""

    def __init__(self, class_names: list[str], text_encoder: TextEncoder, config: ZeroShotConfig | None = None,
                 *, phrase_vectors: np.ndarray | None = None) -> None:
        """`phrase_vectors`: the embeddings of `class_phrases(class_names, config.template)[0]` when already
        known (a cache); else they are computed here."""
        self.class_names = class_names
        self.config = config or ZeroShotConfig()
        self.text_encoder = text_encoder
        phrases, owners = class_phrases(class_names, self.config.template)
        self._phrase_vectors = text_encoder.encode_text(phrases) if phrase_vectors is None else phrase_vectors
        self._owners = np.asarray(owners, dtype=np.int64)

    def query_vector(self, query: str) -> np.ndarray:
        """The query embedded as it is (as the engine embeds it). Returns (dim,)."""
        return encode_query(self.text_encoder, [query])[0]

    def similarities(self, query: str | np.ndarray) -> np.ndarray:
        """Cosine similarity of the query (text or its query_vector) to each class, best over alternatives. Returns (C,)."""
        q = self.query_vector(query) if isinstance(query, str) else query
        sims = np.full(len(self.class_names), -1.0, dtype=np.float32)
        np.maximum.at(sims, self._owners, self._phrase_vectors @ q)
        return sims

    def weights(self, query: str | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top classes for `query`. Returns: class indices (m,) int64, weights (m,) float32 summing to 1."""
        return self.weights_of(self.similarities(query))

    def weights_of(self, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top classes for the similarities `sims` (C,) of a query to each class (see `weights`)."""
        top = np.argsort(-sims)[: self.config.n_classes]
        w = np.exp((sims[top] - sims[top[0]]) / self.config.temperature)
        return top.astype(np.int64), (w / w.sum()).astype(np.float32)


def log_scores(probabilities: np.ndarray) -> np.ndarray:
    """The log transform applied to class probabilities before weighting: log(1 + p / eps)."""
    return np.log1p(np.asarray(probabilities, dtype=np.float32) / SCORE_EPS)


def score_segments(class_scores: np.ndarray, classes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of chosen rows of a class-major (C, n) matrix of log scores. Returns: (n,) float32."""
    out = np.zeros(class_scores.shape[1], dtype=np.float32)
    for c, w in zip(classes, weights):
        out += np.float32(w) * class_scores[c]
    return out
