"""Parquet shards: the embeddings of one partition of files, as they travel from Ray workers to the driver.

Layout of one shard, `<collection>/staging/ray/part-<key>.parquet` (one row per file; `key` is the
sha256 of the encoder settings and the partition's (path, size, mtime_ns) list, see `partition_key`):

    path string, root string, size int64, mtime_ns int64   the file as the scan found it
    failure string                                          why it could not be used (null: it was)
    duration float64, sample_rate int32, channels int32, format string, audio_sha256 string
    starts list<float64>, ends list<float64>                its segments (n)
    vectors list<float32>                                   (n, dim) row-major, dim = len(vectors) / n
    class_scores list<float32>                              (n, n_classes) row-major, null without classes
    frame_times list<float32>                               (m, 2); frame_classes list<uint16> (m, k);
    frame_scores list<uint8> (m, k); frame_loudness list<uint8> (m,); frame_k int32, null without frames

The schema metadata holds `soundseek.shard` = {"version", "settings"} (`settings` is the encoder
name, its config and max_duration: a shard made with other settings is never loaded). Shards are
written to a temporary name and renamed into place, so a shard file that exists is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from soundseek.audio import AudioInfo
from soundseek.audio.segments import Span
from soundseek.encoders.base import FrameEvidence, SegmentEmbeddings
from soundseek.indexer import EncodedFile
from soundseek.library.scan import FoundFile

SHARD_VERSION = 1
META_KEY = b"soundseek.shard"
STAGING = Path("staging") / "ray"

_F32 = pa.list_(pa.float32())
SCHEMA = pa.schema([
    ("path", pa.string()), ("root", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
    ("failure", pa.string()), ("duration", pa.float64()), ("sample_rate", pa.int32()), ("channels", pa.int32()),
    ("format", pa.string()), ("audio_sha256", pa.string()),
    ("starts", pa.list_(pa.float64())), ("ends", pa.list_(pa.float64())),
    ("vectors", _F32), ("class_scores", _F32),
    ("frame_times", _F32), ("frame_classes", pa.list_(pa.uint16())), ("frame_scores", pa.list_(pa.uint8())),
    ("frame_loudness", pa.list_(pa.uint8())), ("frame_k", pa.int32()),
])


def staging_dir(collection_root: Path) -> Path:
    """Where a collection's Ray shards wait to be loaded (created on demand)."""
    return Path(collection_root) / STAGING


def settings_fingerprint(settings: dict) -> str:
    """A short stable hash of the encoder settings a shard was made with."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def partition_key(settings: dict, files: list[FoundFile]) -> str:
    """The shard name of a partition: the same files (path, size, mtime) with the same settings give
    the same key, so a finished shard is found again by a later run."""
    h = hashlib.sha256(settings_fingerprint(settings).encode())
    for f in files:
        h.update(f"\0{f.path}\0{f.size}\0{f.mtime_ns}".encode("utf-8", errors="surrogateescape"))
    return h.hexdigest()[:24]


def shard_path(staging: Path, key: str) -> Path:
    return staging / f"part-{key}.parquet"


def encoded_to_table(files: list[EncodedFile], settings: dict) -> pa.Table:
    """One row per file (see the module docstring); the settings go into the schema metadata."""
    rows = [_row(f) for f in files]
    columns = {name: [r[name] for r in rows] for name in SCHEMA.names}
    meta = {META_KEY: json.dumps({"version": SHARD_VERSION, "settings": settings}).encode()}
    return pa.table(columns, schema=SCHEMA.with_metadata(meta))


def _row(f: EncodedFile) -> dict:
    item = f.item
    row: dict = {name: None for name in SCHEMA.names}
    row.update(path=_text(item.path), root=_text(item.root), size=item.size, mtime_ns=item.mtime_ns,
               failure=f.failure)
    if f.failure is not None or f.info is None or f.embeddings is None:
        return row
    emb = f.embeddings
    row.update(duration=f.duration, sample_rate=f.info.sample_rate, channels=f.info.channels, format=f.info.format,
               audio_sha256=f.audio_hash, starts=[s.start for s in f.spans], ends=[s.end for s in f.spans],
               vectors=np.asarray(emb.vectors, np.float32).ravel())
    if emb.class_scores is not None:
        row["class_scores"] = np.asarray(emb.class_scores, np.float32).ravel()
    if emb.frames is not None:
        fr = emb.frames
        row.update(frame_times=fr.times.astype(np.float32).ravel(), frame_classes=fr.classes.astype(np.uint16).ravel(),
                   frame_scores=fr.scores.astype(np.uint8).ravel(), frame_loudness=fr.loudness.astype(np.uint8),
                   frame_k=int(fr.classes.shape[1]))
    return row


def _text(path: Path) -> str:
    """A path as UTF-8 text that comes back as the same bytes (a name that is not UTF-8 is kept as
    hex behind a NUL, which no real path contains)."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "\0" + raw.hex()


def _path(text: str) -> Path:
    return Path(os.fsdecode(bytes.fromhex(text[1:]))) if text.startswith("\0") else Path(text)


def table_to_encoded(table: pa.Table) -> list[EncodedFile]:
    """The files of a shard, as the indexer's `EncodedFile`s."""
    cols = {name: table.column(name).to_pylist() for name in SCHEMA.names if name not in _ARRAYS}
    arrays = {name: table.column(name) for name in _ARRAYS}
    return [_encoded(i, cols, arrays) for i in range(table.num_rows)]


_ARRAYS = ("vectors", "class_scores", "frame_times", "frame_classes", "frame_scores", "frame_loudness")


def _array(column: pa.ChunkedArray, i: int) -> np.ndarray | None:
    value = column[i]
    return None if not value.is_valid else value.values.to_numpy(zero_copy_only=False)


def _encoded(i: int, cols: dict, arrays: dict) -> EncodedFile:
    item = FoundFile(_path(cols["path"][i]), _path(cols["root"][i]), int(cols["size"][i]), int(cols["mtime_ns"][i]))
    if cols["failure"][i] is not None:
        return EncodedFile(item, failure=cols["failure"][i])
    spans = tuple(Span(float(s), float(e)) for s, e in zip(cols["starts"][i], cols["ends"][i]))
    n = len(spans)
    vectors = _array(arrays["vectors"], i).reshape(n, -1)
    scores = _array(arrays["class_scores"], i)
    info = AudioInfo(int(cols["sample_rate"][i]), int(cols["channels"][i]), float(cols["duration"][i]), cols["format"][i])
    emb = SegmentEmbeddings(vectors, None if scores is None else scores.reshape(n, -1), _frames(i, cols, arrays))
    return EncodedFile(item, None, info, emb, spans, float(cols["duration"][i]), cols["audio_sha256"][i])


def _frames(i: int, cols: dict, arrays: dict) -> FrameEvidence | None:
    k = cols["frame_k"][i]
    if k is None:
        return None
    return FrameEvidence(_array(arrays["frame_times"], i).reshape(-1, 2), _array(arrays["frame_classes"], i).reshape(-1, k),
                         _array(arrays["frame_scores"], i).reshape(-1, k), _array(arrays["frame_loudness"], i))


def write_shard(table: pa.Table, path: Path) -> None:
    """Write atomically: to a temporary name beside it, flushed to disk, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_shard(path: Path) -> pa.Table:
    return pq.read_table(path)


def shard_settings(path: Path) -> dict | None:
    """The settings a shard was made with (None: not a shard of this version)."""
    meta = pq.read_schema(path).metadata or {}
    try:
        info = json.loads(meta[META_KEY])
    except (KeyError, ValueError):
        return None
    return info.get("settings") if info.get("version") == SHARD_VERSION else None


def shard_files(path: Path) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of each file in a shard, without reading its embeddings."""
    t = pq.read_table(path, columns=["path", "size", "mtime_ns"])
    return [(str(_path(p)), int(s), int(m)) for p, s, m in zip(*(t.column(c).to_pylist() for c in t.column_names))]
