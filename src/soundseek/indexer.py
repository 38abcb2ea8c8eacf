"""Index folders into a collection: scan, diff against what is stored, decode, embed, commit per file.

Each file is committed in its own transaction, so killing the process at any instant keeps every file
committed before it; the next run skips unchanged files and picks up where the last one stopped.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from soundseek.audio import DEFAULT_MAX_DURATION, decode_file
from soundseek.audio.segments import cut_spans
from soundseek.encoders import AudioEncoder, build_audio_encoder, encoder_config_dict
from soundseek.encoders.models import is_installed
from soundseek.errors import AudioError, SoundseekError
from soundseek.library.scan import FoundFile, scan
from soundseek.library.textmeta import sound_text
from soundseek.store import Collection, NewSegment, SoundRecord

#: Tags kept per segment: the top classes by score, those at or above TAG_MIN_SCORE (at least one).
TAGS_PER_SEGMENT = 5
TAG_MIN_SCORE = 0.1

FALLBACK_NOTICE = (
    "note: YAMNet is not installed, so sounds are indexed with the MFCC baseline (no tags, weaker "
    "search). For much better results: `soundseek models pull yamnet`, then index into a new collection."
)


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)


def choose_audio_encoder(name: str | None, config: dict | None = None, *, say: Callable[[str], None] = print) -> AudioEncoder:
    """Build the named encoder; with no name, YAMNet when installed, else MFCC with a notice."""
    if name is None:
        if not is_installed("yamnet"):
            say(FALLBACK_NOTICE)
            name = "mfcc"
        else:
            name = "yamnet"
    return build_audio_encoder(name, config)


def open_for_indexing(root: Path, encoder_name: str | None, config: dict | None, *, say: Callable[[str], None] = print) -> tuple[Collection, AudioEncoder]:
    """Open (or create) the collection and build the audio encoder it uses.

    A classifier encoder's class names are recorded in the collection (zero-shot search needs them).
    """
    from soundseek.store import DB_NAME

    if (root / DB_NAME).exists():
        coll = Collection.open(root)
        if encoder_name and encoder_name != coll.audio_encoder:
            raise SoundseekError(
                f"collection {root} uses the '{coll.audio_encoder}' encoder; it cannot mix in "
                f"'{encoder_name}' (index into another --collection instead)"
            )
        encoder = build_audio_encoder(coll.audio_encoder, config or coll.audio_encoder_config)
    else:
        encoder = choose_audio_encoder(encoder_name, config, say=say)
        coll = Collection.create(root, audio_encoder=encoder.name, encoder_config=encoder_config_dict(encoder))
    names = encoder.class_names
    if names and coll.meta("class_names") != names:
        coll.set_meta("class_names", names)
    return coll, encoder


def index_paths(
    coll: Collection,
    roots: list[Path],
    encoder: AudioEncoder,
    *,
    metadata: dict[str, str] | None = None,
    max_duration: float = DEFAULT_MAX_DURATION,
    quiet: bool = False,
) -> IndexReport:
    """Bring the collection up to date with the files under `roots`."""
    started = time.perf_counter()
    roots = [Path(r).absolute() for r in roots]
    for root in roots:
        if not root.exists():
            raise SoundseekError(f"path not found: {root}")
    coll.add_roots(roots)
    report = IndexReport()
    found = list(scan(roots))
    known = coll.sound_signatures()
    todo = [f for f in found if known.get(str(f.path)) != (f.size, f.mtime_ns)]
    report.unchanged = len(found) - len(todo)
    report.removed = _forget_missing(coll, roots, found, known)
    names = encoder.class_names
    bar = tqdm(todo, desc="indexing", unit="file", disable=quiet or not todo, file=sys.stderr)
    for item in bar:
        _index_one(coll, item, encoder, report, metadata=metadata, max_duration=max_duration,
                   was_known=str(item.path) in known, class_names=names)
    report.wall_seconds = time.perf_counter() - started
    return report


def _index_one(coll: Collection, item: FoundFile, encoder: AudioEncoder, report: IndexReport, *,
               metadata: dict[str, str] | None, max_duration: float, was_known: bool,
               class_names: list[str] | None) -> None:
    path = str(item.path)
    try:
        waveform, info = decode_file(item.path, sr=encoder.sample_rate, max_duration=max_duration)
        duration = len(waveform) / encoder.sample_rate
        spans = cut_spans(duration)
        emb = encoder.encode_segments(waveform, spans)
    except AudioError as exc:
        report.failed.append((path, str(exc)))
        if was_known:
            coll.delete_paths([path])
        coll.record_failure(path, str(exc), size=item.size, mtime_ns=item.mtime_ns)
        return
    segments = [
        NewSegment(s.start, s.end, emb.vectors[i],
                   None if emb.class_scores is None else emb.class_scores[i],
                   top_tags(emb.class_scores[i], class_names) if emb.class_scores is not None and class_names else [])
        for i, s in enumerate(spans)
    ]
    record = SoundRecord(0, path, item.size, item.mtime_ns, duration, info.sample_rate, info.channels,
                         info.format, sound_text(item.path, item.root, metadata))
    coll.put_sound(record, segments, space=encoder.name, frames=emb.frames)
    report.audio_seconds += duration
    if was_known:
        report.updated += 1
    else:
        report.added += 1


def top_tags(scores: np.ndarray, class_names: list[str]) -> list[tuple[str, float]]:
    """The segment's strongest AudioSet classes: top TAGS_PER_SEGMENT with score >= TAG_MIN_SCORE (>= 1)."""
    order = np.argsort(-scores)[:TAGS_PER_SEGMENT]
    tags = [(class_names[i], float(scores[i])) for i in order if scores[i] >= TAG_MIN_SCORE]
    return tags or [(class_names[order[0]], float(scores[order[0]]))]


def _forget_missing(coll: Collection, roots: list[Path], found: list[FoundFile], known: dict) -> int:
    present = {str(f.path) for f in found}
    prefixes = [str(r) for r in roots]

    def under(path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)

    gone = [p for p in known if under(p) and p not in present]
    for path, _ in coll.failures():
        if under(path) and path not in present:
            coll.clear_failure(path)
    return coll.delete_paths(gone)
