"""Zero-shot text -> audio through AudioSet class names (no training).

The query and the 521 class names are embedded with a sentence encoder. The classes most similar to
the query get weights w_c = softmax(sim_c / T) over the top `n_classes`, and a segment scores
sum_c w_c * p_c(segment), where p_c is YAMNet's class probability. Words that are no class name
("house", "thunderstorm", "someone typing on a laptop") still land near related classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundseek.encoders import TextEncoder


@dataclass(frozen=True)
class ZeroShotConfig:
    n_classes: int = 5
    temperature: float = 0.05


class ClassNameMatcher:
    """Maps free text to weighted AudioSet classes."""

    def __init__(self, class_names: list[str], text_encoder: TextEncoder, config: ZeroShotConfig | None = None) -> None:
        self.class_names = class_names
        self.config = config or ZeroShotConfig()
        self.text_encoder = text_encoder
        self.class_vectors = text_encoder.encode_text([_phrase(n) for n in class_names])

    def weights(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Top classes for `query`. Returns: class indices (m,) int64, weights (m,) float32 summing to 1."""
        q = self.text_encoder.encode_text([query])[0]
        sims = self.class_vectors @ q
        top = np.argsort(-sims)[: self.config.n_classes]
        logits = (sims[top] - sims[top[0]]) / self.config.temperature
        w = np.exp(logits)
        return top.astype(np.int64), (w / w.sum()).astype(np.float32)

    def similar_classes(self, query: str, k: int = 5) -> list[tuple[str, float]]:
        q = self.text_encoder.encode_text([query])[0]
        sims = self.class_vectors @ q
        return [(self.class_names[i], float(sims[i])) for i in np.argsort(-sims)[:k]]


def score_segments(class_scores: np.ndarray, classes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of the chosen class rows of a class-major (C, n) score matrix. Returns: (n,) float32."""
    out = np.zeros(class_scores.shape[1], dtype=np.float32)
    for c, w in zip(classes, weights):
        out += w * class_scores[c].astype(np.float32)
    return out


def _phrase(class_name: str) -> str:
    return class_name.replace("_", " ")
