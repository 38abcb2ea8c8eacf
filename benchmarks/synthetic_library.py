"""A synthetic named sound library for scale benchmarks, and the text queries they ask of it.

Indexing 100k real segments takes hours on 2 cores, so `build` writes a collection straight into the
store with `Collection.put_sound`: N/4 sounds of 4 segments each under fake paths
(/synthetic/<class>/sound_N.wav; their audio is not playable), 120-d MFCC-space vectors drawn from a
Gaussian mixture on the unit sphere, sparse AudioSet class scores (3 strong classes per sound; the
class names of YAMNet's class map, so zero-shot text search does its full work), the top tags, and a
sound text made of its classes' names (2,000 distinct texts). `load_test.py build` runs it.

TEXT_QUERIES are 50 everyday sound queries; `unique_query` makes a never-seen one from their words (a
random number keeps every string new to any cache); `query_set` is what the in-process benchmarks ask.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLASS_MAP = ROOT.parent / "shared" / "models" / "yamnet_class_map.csv"
DIM, SEGMENTS_PER_SOUND, N_TEXTS, N_CENTRES = 120, 4, 2000, 300
TEXT_QUERIES = ["dog barking", "rain on a roof", "church bell", "police siren", "birds singing", "thunder",
                "footsteps on gravel", "applause", "engine idling", "wind", "telephone ringing", "water dripping",
                "glass breaking", "door slam", "crowd cheering", "baby crying", "car horn", "keyboard typing",
                "ocean waves", "fire crackling", "helicopter", "train passing", "clock ticking", "cat meowing",
                "music guitar", "speech", "laughter", "alarm", "typing", "snoring", "whistle", "hammer",
                "chainsaw", "frog", "rooster", "cow mooing", "sheep", "insects buzzing", "airplane", "siren",
                "drums", "piano", "violin", "bus", "motorcycle", "vacuum cleaner", "microwave", "toilet flush",
                "pouring water", "rustling leaves"]


# -- building the collection ------------------------------------------------------------------------
def class_names() -> list[str]:
    import csv

    if CLASS_MAP.is_file():
        with CLASS_MAP.open() as f:
            return [row["display_name"] for row in csv.DictReader(f)]
    return [f"Class {i}" for i in range(521)]


def build(collection: Path, n_segments: int, seed: int = 0) -> None:
    from soundseek.encoders.mfcc import MfccConfig
    from soundseek.store import Collection, NewSegment, SoundRecord

    if collection.exists():
        raise SystemExit(f"{collection} exists; remove it or pick another --collection")
    rng = np.random.default_rng(seed)
    names = class_names()
    coll = Collection.create(collection, audio_encoder="mfcc", encoder_config=asdict(MfccConfig()))
    coll.set_meta("class_names", names)
    centres = rng.standard_normal((N_CENTRES, DIM)).astype(np.float32)
    texts = [_text(rng, names) for _ in range(N_TEXTS)]
    started = time.perf_counter()
    for s in range(n_segments // SEGMENTS_PER_SOUND):
        classes = rng.choice(len(names), 3, replace=False)
        centre = centres[s % N_CENTRES]
        segs = [_segment(rng, centre, classes, names, i) for i in range(SEGMENTS_PER_SOUND)]
        path = f"/synthetic/{names[classes[0]].split(',')[0].replace(' ', '_').lower()}/sound_{s:06d}.wav"
        record = SoundRecord(0, path, 100_000, 0, 10.0, 16000, 1, "WAV", texts[s % N_TEXTS])
        coll.put_sound(record, [NewSegment(*seg) for seg in segs], space="mfcc")
        if s % 5000 == 0:
            print(f"  {s * SEGMENTS_PER_SOUND} segments ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    print(f"built {coll.counts()} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def _text(rng: np.random.Generator, names: list[str]) -> str:
    picks = rng.choice(len(names), 2, replace=False)
    return " ".join(names[i].split(",")[0].lower() for i in picks) + f" take {rng.integers(1, 9)}"


def _segment(rng: np.random.Generator, centre: np.ndarray, classes: np.ndarray, names: list[str], i: int):  # type: ignore[no-untyped-def]
    vec = centre + 0.7 * rng.standard_normal(DIM).astype(np.float32)
    vec /= np.linalg.norm(vec)
    scores = (rng.random(len(names)) * 0.02).astype(np.float32)
    scores[classes] = rng.uniform(0.3, 0.95, len(classes))
    tags = [(names[c], float(scores[c])) for c in classes[np.argsort(-scores[classes])]]
    return 2.5 * i, 2.5 * i + 5.0, vec, scores, tags


def unique_query(rng: random.Random) -> str:
    words = " ".join(rng.choice(TEXT_QUERIES).split()[:1] + [rng.choice(TEXT_QUERIES).split()[-1]])
    return f"{words} {rng.randrange(10**9)}"


def query_set(n: int, seed: int = 0) -> list[str]:
    """The 50 TEXT_QUERIES, then never-seen combinations of their words: `n` queries in all."""
    rng = random.Random(seed)
    return (TEXT_QUERIES + [unique_query(rng) for _ in range(n)])[:n]
