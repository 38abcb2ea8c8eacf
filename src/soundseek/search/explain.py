"""Why a text hit was found: from the sound's own words (its name), from listening (its audio), or both.

A hit comes from its name when the query matched the sound's words (a keyword, or MiniLM similarity of
the query to the words above the engine's floor). It comes from its audio when YAMNet's classes for the
query hold at least `AUDIO_EVIDENCE` probability in its segment, or when the library model (what the
named sounds taught about the wordless ones, see library.py) scores the segment of a sound without
words above zero (for a named sound, that model mostly repeats its own words).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from soundseek.search.relevance import FEATURES

if TYPE_CHECKING:
    from soundseek.search.engine import SearchEngine
    from soundseek.search.hits import Hit

AUDIO_EVIDENCE = 0.05
NAME, AUDIO, BOTH = "name", "audio", "name+audio"


def hit_sources(engine: SearchEngine, query: str, hits: list[Hit]) -> list[str]:
    """For each hit of `query`: 'name', 'audio', 'name+audio', or '' (no evidence left: a filler)."""
    if not hits:
        return []
    evidence = engine.text_evidence(query)
    positions = engine.table.positions(np.asarray([h.segment_id for h in hits], dtype=np.int64))
    features = evidence.features(positions, engine.table.sound_rows, engine.class_codes)
    col = {name: i for i, name in enumerate(FEATURES)}
    named = (features[:, col["words"]] > 0) | (features[:, col["keywords"]] > 0)
    wordless = np.asarray([not h.text.strip() for h in hits])
    learnt = wordless & ((features[:, col["ridge"]] > 0) | (features[:, col["knn"]] > 0))
    heard = (features[:, col["zero_shot"]] >= AUDIO_EVIDENCE) | learnt
    return [BOTH if n and a else NAME if n else AUDIO if a else "" for n, a in zip(named, heard)]
