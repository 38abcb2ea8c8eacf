"""Index folders into a collection: scan, diff against what is stored, decode, embed, commit per file.

Each file is committed in its own transaction, so killing the process at any instant keeps every file
committed before it; the next run skips unchanged files and picks up where the last one stopped. One
run writes a collection at a time (store/lock.py). Whatever is wrong with one file (undecodable, a
name that is not UTF-8, a malformed sidecar, ...) becomes that file's failure with its reason, and the
run goes on. A root that is missing (an unplugged drive) is reported and its sounds are kept.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from tqdm import tqdm

from soundseek.audio import DEFAULT_MAX_DURATION, AudioInfo
from soundseek.audio.decode import stream_file
from soundseek.audio.fingerprint import AudioHasher, file_sha256
from soundseek.audio.segments import Span, cut_spans
from soundseek.encoders import AudioEncoder, build_audio_encoder, changed_vector_settings, encoder_config_dict
from soundseek.encoders.base import SegmentEmbeddings, StreamingEncoder
from soundseek.encoders.models import is_installed
from soundseek.errors import AudioError, SoundseekError
from soundseek.library.scan import FoundFile, scan
from soundseek.library.textmeta import sound_text
from soundseek.store import Collection, NewSegment, SoundRecord
from soundseek.store.ingest import set_fingerprint
from soundseek.store.sync import RepairReport, reconcile

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
    moved: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: Roots not found this run (their sounds are kept), and folders that could not be listed.
    missing_roots: list[str] = field(default_factory=list)
    unreadable_folders: list[tuple[str, str]] = field(default_factory=list)
    #: What bringing SQLite and Milvus back in line found (collections stored in Milvus), else None.
    repaired: RepairReport | None = None


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
        recorded = coll.audio_encoder_config
        changed = changed_vector_settings(coll.audio_encoder, recorded, config or {})
        if changed:
            raise SoundseekError(
                f"collection {root} was built with {', '.join(f'{k}={v!r}' for k, v in changed.items())}; "
                f"it cannot mix in vectors made with {', '.join(f'{k}={config[k]!r}' for k in changed)} (index "
                "into another --collection instead)")
        encoder = build_audio_encoder(coll.audio_encoder, {**recorded, **(config or {})})
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
    wait: bool = False,
    outside_links: bool = False,
    index_todo: TodoIndexer | None = None,
) -> IndexReport:
    """Bring the collection up to date with the files under `roots`.

    wait: wait for another writer of the collection instead of refusing (CollectionBusy).
    outside_links: read sidecars whose symlinks lead outside their root (off: they are ignored).
    index_todo: how the new and changed files are decoded, embedded and stored (default `index_found`,
        in this process; `soundseek.jobs.ProcessIndexer` spreads it over worker processes,
        `soundseek.distributed.RayIndexer` over a Ray cluster).
    """
    with coll.writer_lock(wait=wait):
        return _index_locked(coll, roots, encoder, metadata=metadata, max_duration=max_duration, quiet=quiet,
                             outside_links=outside_links, index_todo=index_todo or index_found)


def _index_locked(coll: Collection, roots: list[Path], encoder: AudioEncoder, *, metadata: dict[str, str] | None,
                  max_duration: float, quiet: bool, outside_links: bool, index_todo: TodoIndexer) -> IndexReport:
    started = time.perf_counter()
    report = IndexReport()
    roots = [Path(r).absolute() for r in roots]
    report.missing_roots = [str(r) for r in roots if not r.exists()]
    roots = [r for r in roots if r.exists()]
    if not roots:
        raise SoundseekError(f"path not found: {', '.join(report.missing_roots)}")
    coll.add_roots(roots)
    if coll.segment_store is not None:
        report.repaired = reconcile(coll)
    skipped: list[tuple[str, str]] = []

    def on_error(path: Path, why: str, is_folder: bool) -> None:
        (report.unreadable_folders if is_folder else skipped).append((_printable(str(path)), why))

    found = list(scan(roots, on_error=on_error))
    known = coll.sound_signatures()
    todo = [f for f in found if known.get(str(f.path)) != (f.size, f.mtime_ns)]
    report.unchanged = len(found) - len(todo)
    todo = adopt_moves(coll, todo, missing_under(roots, found, known), report, metadata, known)
    unreadable = [Path(f) for f, _ in report.unreadable_folders]
    report.removed = _forget_missing(coll, roots, found, coll.sound_signatures(), keep_under=unreadable)
    for path, why in report.unreadable_folders + skipped:  # shown by `soundseek info` with the failures
        coll.record_failure(path, why, size=None, mtime_ns=None)
    report.failed += skipped
    index_todo(coll, todo, encoder, report, metadata=metadata, max_duration=max_duration, quiet=quiet, known=known,
               outside_links=outside_links)
    report.wall_seconds = time.perf_counter() - started
    return report


def index_found(coll: Collection, todo: list[FoundFile], encoder: AudioEncoder, report: IndexReport, *,
                metadata: dict[str, str] | None = None, max_duration: float = DEFAULT_MAX_DURATION,
                quiet: bool = False, known: dict | None = None, outside_links: bool = False) -> None:
    """Decode, embed and commit these files (new or changed), one transaction each, into `report`."""
    known = coll.sound_signatures() if known is None else known
    commit = file_committer(coll, encoder, report, metadata=metadata, known=known, outside_links=outside_links)
    for item in tqdm(todo, desc="indexing", unit="file", disable=quiet or not todo, file=sys.stderr):
        commit(encode_found(item, encoder, max_duration=max_duration))


def missing_under(roots: list[Path], found: list[FoundFile], known: dict) -> dict[str, tuple[int, int]]:
    """Indexed files under `roots` that are no longer there: path -> (size, mtime_ns)."""
    present = {str(f.path) for f in found}
    prefixes = [str(r).rstrip("/") + "/" for r in roots]
    return {p: sig for p, sig in known.items()
            if p not in present and any(p == r[:-1] or p.startswith(r) for r in prefixes)}


def adopt_moves(coll: Collection, todo: list[FoundFile], missing: dict[str, tuple[int, int]],
                report: IndexReport, metadata: dict[str, str] | None, known: dict) -> list[FoundFile]:
    """A new file with the bytes of a vanished indexed file is that file moved: its path is updated,
    nothing is re-embedded. Returns the files still to index."""
    from soundseek.store.ingest import move_sound, sounds_with_file_hash

    sizes = {sig[0] for sig in missing.values()}
    rest = []
    for item in todo:
        old = None
        if item.size in sizes and str(item.path) not in known:
            old = next((p for _, p in sounds_with_file_hash(coll, file_sha256(item.path)) if p in missing), None)
        if old is not None and move_sound(coll, old, str(item.path), size=item.size, mtime_ns=item.mtime_ns,
                                          text=sound_text(item.path, item.root, metadata)):
            missing.pop(old)
            report.moved += 1
        else:
            rest.append(item)
    return rest


@dataclass(frozen=True)
class EncodedFile:
    """One found file after decoding and embedding: its audio and embeddings, or why it failed.

    `failure` is None on success; then `info`, `embeddings`, `spans`, `duration` and `audio_hash`
    (`audio.fingerprint.audio_sha256` of the decoded samples) are set.
    """

    item: FoundFile
    failure: str | None = None
    info: AudioInfo | None = None
    embeddings: SegmentEmbeddings | None = None
    spans: tuple[Span, ...] = ()
    duration: float = 0.0
    audio_hash: str = ""


class TodoIndexer(Protocol):
    """How a run indexes its new and changed files: `index_found` here, worker processes
    (`soundseek.jobs`) or the Ray path (`soundseek.distributed`). Results go into `report`, failures into the collection."""

    def __call__(self, coll: Collection, todo: list[FoundFile], encoder: AudioEncoder, report: IndexReport, *,
                 metadata: dict[str, str] | None = None, max_duration: float = DEFAULT_MAX_DURATION,
                 quiet: bool = False, known: dict | None = None, outside_links: bool = False) -> None: ...


#: What can go wrong with one file without stopping the run (anything else is a bug and stops it).
FILE_ERRORS = (AudioError, UnicodeError, RecursionError, MemoryError, OSError, ValueError)


def encode_found(item: FoundFile, encoder: AudioEncoder, *, max_duration: float) -> EncodedFile:
    """Decode and embed one found file; a per-file problem becomes its `failure`, never an exception."""
    try:
        _check_name(str(item.path))
        info, emb, spans, duration, audio_hash = _encode_file(item.path, encoder, max_duration)
    except FILE_ERRORS as exc:
        return EncodedFile(item, failure=_reason(exc))
    return EncodedFile(item, None, info, emb, tuple(spans), duration, audio_hash)


def commit_encoded(coll: Collection, done: EncodedFile, report: IndexReport, *, space: str,
                   metadata: dict[str, str] | None, was_known: bool, class_names: list[str] | None,
                   outside_links: bool) -> None:
    """Store one encoded file with its words (one transaction), or record its failure exactly as a
    plain run does: in `report.failed`, in the collection's failures, and forgetting its old version."""
    item, failure, text = done.item, done.failure, ""
    if failure is None:
        try:
            text = sound_text(item.path, item.root, metadata, outside_links=outside_links)
        except FILE_ERRORS as exc:
            failure = _reason(exc)
    path = str(item.path)
    if failure is not None:
        shown = _printable(path)
        report.failed.append((shown, failure))
        if was_known:
            coll.delete_paths([path])
        coll.record_failure(shown, failure, size=item.size, mtime_ns=item.mtime_ns)
        return
    assert done.info is not None and done.embeddings is not None  # set whenever failure is None
    info = done.info
    record = SoundRecord(0, path, item.size, item.mtime_ns, done.duration, info.sample_rate, info.channels,
                         info.format, text)
    store_sound(coll, record, done.audio_hash, list(done.spans), done.embeddings, space=space,
                class_names=class_names)
    report.audio_seconds += done.duration
    if was_known:
        report.updated += 1
    else:
        report.added += 1


def file_committer(coll: Collection, encoder: AudioEncoder, report: IndexReport, *, metadata: dict[str, str] | None,
                   known: dict, outside_links: bool) -> Callable[[EncodedFile], None]:
    """`commit_encoded` for the files of one run, as the other indexers (worker processes, Ray) call it.
    `known`: the collection's `sound_signatures()` before the run (a known path counts as updated, and its
    old version is forgotten if it now fails). The caller holds the writer lock."""
    names = encoder.class_names

    def commit(done: EncodedFile) -> None:
        commit_encoded(coll, done, report, space=encoder.name, metadata=metadata,
                       was_known=str(done.item.path) in known, class_names=names, outside_links=outside_links)

    return commit


def encoder_settings(encoder_name: str, config: dict, max_duration: float) -> dict:
    """What a worker (a process, a Ray actor) needs to embed exactly as this process would: the encoder's
    registry name, its config and `max_duration` (a Ray shard records them)."""
    return {"encoder": encoder_name, "config": config, "max_duration": float(max_duration)}


def store_sound(coll: Collection, record: SoundRecord, audio_hash: str, spans: list[Span],
                emb: SegmentEmbeddings, *, space: str, class_names: list[str] | None) -> int:
    """Commit one embedded file (its segments, tags, frame evidence) and its fingerprints (`audio_hash`:
    `audio.fingerprint.audio_sha256` of its decoded samples). Returns its id."""
    segments = [
        NewSegment(s.start, s.end, emb.vectors[i],
                   None if emb.class_scores is None else emb.class_scores[i],
                   top_tags(emb.class_scores[i], class_names) if emb.class_scores is not None and class_names else [])
        for i, s in enumerate(spans)
    ]
    sound_id = coll.put_sound(record, segments, space=space, frames=emb.frames)
    set_fingerprint(coll, sound_id, file_sha256(record.path), audio_hash)
    return sound_id


def _encode_file(path: Path, encoder: AudioEncoder, max_duration: float) -> tuple[AudioInfo, SegmentEmbeddings, list, float, str]:
    """Decode and embed one file; a long one streams through an encoder that can take blocks.
    Also returns the SHA-256 of the decoded audio (see audio.fingerprint), hashed as the blocks pass."""
    info, blocks = stream_file(path, sr=encoder.sample_rate, max_duration=max_duration)
    hasher = AudioHasher()
    blocks = hasher.through(blocks)
    if isinstance(encoder, StreamingEncoder):
        emb, spans, duration = encoder.encode_stream(blocks, cut_spans)
        return info, emb, list(spans), duration, hasher.hexdigest()
    waveform = np.concatenate(list(blocks))
    duration = len(waveform) / encoder.sample_rate
    spans = cut_spans(duration)
    return info, encoder.encode_segments(waveform, spans), spans, duration, hasher.hexdigest()


def _check_name(path: str) -> None:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise AudioError("the file name is not valid UTF-8 (rename it, e.g. `convmv -f latin1 -t utf8 "
                         "--notest FILE`)") from None


def _printable(path: str) -> str:
    """The path as UTF-8 text (bytes that are not UTF-8 shown as \\xNN escapes)."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, AudioError) else _unexpected(exc)


def _unexpected(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "too deeply nested to read (RecursionError)"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode it"
    return f"cannot read it ({type(exc).__name__}: {exc})"[:300]


def top_tags(scores: np.ndarray, class_names: list[str]) -> list[tuple[str, float]]:
    """The segment's strongest AudioSet classes: top TAGS_PER_SEGMENT with score >= TAG_MIN_SCORE (>= 1)."""
    order = np.argsort(-scores)[:TAGS_PER_SEGMENT]
    tags = [(class_names[i], float(scores[i])) for i in order if scores[i] >= TAG_MIN_SCORE]
    return tags or [(class_names[order[0]], float(scores[order[0]]))]


def _forget_missing(coll: Collection, roots: list[Path], found: list[FoundFile], known: dict, *,
                    keep_under: list[Path] = ()) -> int:
    """Forget the sounds under `roots` that the scan did not find, except under `keep_under` (folders
    that could not be listed this time: their sounds may still be there). Returns how many."""
    present = {str(f.path) for f in found}
    prefixes = [str(r) for r in roots]
    kept = [str(k) for k in keep_under]

    def under(path: str, folders: list[str]) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in folders)

    gone = [p for p in known if under(p, prefixes) and p not in present and not under(p, kept)]
    for path, _ in coll.failures():
        if under(path, prefixes) and path not in present:
            coll.clear_failure(path)
    return coll.delete_paths(gone)
