"""The Milvus side of a collection stored in Milvus (`soundseek index --store URI`): one row per segment.

SQLite stays the record of files, segments, words, tags, class scores and failures; Milvus holds, per
segment, what a vector search needs: the vector and the fields a filter or a grouping reads. Which
system is the source of truth for what, and how they are brought back in line after a crash, is in
store/sync.py and docs/scale.md.

Milvus collection schema (one row per segment, primary key = the SQLite segment id):

    id INT64 (pk), sound_id INT64, start DOUBLE, end DOUBLE, duration DOUBLE (the whole sound's),
    sample_rate INT64, channels INT64, path VARCHAR, tags ARRAY<VARCHAR> (lower case),
    generation INT64 (the collection generation that wrote the sound), vector FLOAT_VECTOR(dim)

The vector index is HNSW over inner product (M=32, efConstruction=80, like vindex/hnsw.py); searches
explore `ef = max(64, limit + offset)` candidates.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import numpy as np

from soundseek.errors import CollectionError, MissingExtraError

MAX_PATH_CHARS = 4096
MAX_TAGS = 16
MAX_TAG_CHARS = 256
HNSW_PARAMS = {"M": 32, "efConstruction": 80}
EF_SEARCH = 64
#: Rows per Milvus request when reading or writing in bulk.
BATCH = 2000
#: How long to wait for a server that accepts the connection to answer (a refused one fails at once).
CONNECT_TIMEOUT_S = 30
#: Ids per `id in [...]` expression.
IDS_PER_QUERY = 1000


@dataclass(frozen=True)
class StoreSpec:
    """Where a collection's segments live: a pymilvus URI and the Milvus collection name."""

    uri: str
    collection: str

    @property
    def is_file(self) -> bool:
        """True for a milvus-lite file (embedded, one process at a time), False for a server."""
        return not self.uri.startswith(("http://", "https://", "tcp://"))

    def to_dict(self) -> dict[str, str]:
        return {"uri": self.uri, "collection": self.collection}

    @classmethod
    def from_dict(cls, data: dict) -> "StoreSpec":
        return cls(str(data["uri"]), str(data["collection"]))


def parse_store(text: str, collection_root: Path) -> StoreSpec:
    """The store named on the command line: `milvus:///abs/file.db`, `milvus://rel/file.db` (relative to
    the working directory), or `http(s)://host:port` (a Milvus server or cluster).

    The Milvus collection is named after the soundseek collection's absolute path, so several
    soundseek collections can share one server.
    """
    text = text.strip()
    parsed = urlparse(text)
    if parsed.scheme == "milvus":
        raw = text[len("milvus://"):]
        if not raw or not raw.endswith(".db"):
            raise CollectionError(f"--store {text!r}: a milvus-lite store is a file ending in .db, "
                                  "e.g. milvus:///data/sounds.db")
        uri = str(Path(raw).expanduser().absolute())
    elif parsed.scheme in ("http", "https", "tcp"):
        if not parsed.hostname:
            raise CollectionError(f"--store {text!r}: no host, e.g. http://localhost:19530")
        uri = text.rstrip("/")
    else:
        raise CollectionError(f"--store {text!r}: use milvus:///path/to/file.db (embedded milvus-lite) or "
                              "http://host:19530 (a Milvus server)")
    digest = hashlib.sha1(str(Path(collection_root).absolute()).encode()).hexdigest()[:16]
    return StoreSpec(uri, f"soundseek_{digest}")


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise MissingExtraError("scale", "pymilvus") from exc
    return pymilvus


@dataclass
class SegmentRows:
    """Segments to write, as parallel columns (n rows)."""

    ids: np.ndarray          # (n,) int64 segment ids
    sound_ids: np.ndarray    # (n,) int64
    starts: np.ndarray       # (n,) float64
    ends: np.ndarray         # (n,) float64
    durations: np.ndarray    # (n,) float64
    sample_rates: np.ndarray  # (n,) int64
    channels: np.ndarray     # (n,) int64
    paths: list[str]
    tags: list[list[str]]
    generations: np.ndarray  # (n,) int64
    vectors: np.ndarray      # (n, dim) float32

    def __len__(self) -> int:
        return len(self.ids)

    def records(self) -> list[dict[str, Any]]:
        return [{
            "id": int(self.ids[i]), "sound_id": int(self.sound_ids[i]), "start": float(self.starts[i]),
            "end": float(self.ends[i]), "duration": float(self.durations[i]),
            "sample_rate": int(self.sample_rates[i]), "channels": int(self.channels[i]),
            "path": self.paths[i][:MAX_PATH_CHARS],
            "tags": [t.lower()[:MAX_TAG_CHARS] for t in self.tags[i][:MAX_TAGS]],
            "generation": int(self.generations[i]), "vector": np.ascontiguousarray(self.vectors[i], dtype=np.float32),
        } for i in range(len(self))]


#: pymilvus pings an idle connection every 10 s, while a gRPC server by default accepts a ping without
#: data at most every 5 min and closes the connection after two early ones ("GOAWAY too_many_pings":
#: a store idle for ~30 s, e.g. while `index` decodes a long file, then failed to open). Ping every 6 min.
#: The connection is our own (`dedicated`): pymilvus shares one per address between clients, with the
#: options of whichever client made it first, and keeps it after that client closes.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 360_000}


class MilvusSegments:
    """A collection's segment rows in Milvus (milvus-lite file or server), through pymilvus' MilvusClient."""

    def __init__(self, spec: StoreSpec) -> None:
        pymilvus = _pymilvus()
        self.spec = spec
        try:
            self.client = pymilvus.MilvusClient(spec.uri, timeout=CONNECT_TIMEOUT_S, grpc_options=GRPC_OPTIONS,
                                                dedicated=True)
        except Exception as exc:  # pymilvus raises its own and gRPC errors: all mean "cannot reach it"
            hint = (" (a milvus-lite file is held by one process at a time: is `soundseek serve` or another "
                    "run using it? Several processes need a Milvus server, see docs/scale.md)") if spec.is_file else ""
            raise CollectionError(f"cannot open the Milvus store {spec.uri}: {exc}{hint}") from exc
        self._dim: int | None = None

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """A Milvus failure as a CollectionError that says what failed and how to recover."""
        try:
            yield
        except _pymilvus().MilvusException as exc:
            raise CollectionError(f"the Milvus store {self.spec.uri} failed to {what}: {exc}; once it works again, "
                                  "`soundseek index` repairs what this run left half-written") from exc

    # -- schema --------------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.client.has_collection(self.spec.collection))

    @property
    def dim(self) -> int | None:
        """The vector dimension, None while the Milvus collection does not exist."""
        if self._dim is None and self.exists():
            info = self.client.describe_collection(self.spec.collection)
            field = next(f for f in info["fields"] if f["name"] == "vector")
            # a collection found on disk or on a restarted server is "released" until loaded
            self.client.load_collection(self.spec.collection)
            self._dim = int(field["params"]["dim"])
        return self._dim

    def ensure(self, dim: int) -> None:
        """Create the Milvus collection for `dim`-d vectors unless it exists (with the same dim)."""
        if self.dim is not None:
            if self.dim != dim:
                raise CollectionError(f"the Milvus collection {self.spec.collection} holds {self.dim}-d vectors, "
                                      f"not {dim}-d")
            return
        client, dtype = self.client, _pymilvus().DataType
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", dtype.INT64, is_primary=True)
        schema.add_field("sound_id", dtype.INT64)
        for name in ("start", "end", "duration"):
            schema.add_field(name, dtype.DOUBLE)
        schema.add_field("sample_rate", dtype.INT64)
        schema.add_field("channels", dtype.INT64)
        schema.add_field("path", dtype.VARCHAR, max_length=MAX_PATH_CHARS)
        schema.add_field("tags", dtype.ARRAY, element_type=dtype.VARCHAR, max_capacity=MAX_TAGS,
                         max_length=MAX_TAG_CHARS)
        schema.add_field("generation", dtype.INT64)
        schema.add_field("vector", dtype.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        params.add_index("vector", index_type="HNSW", metric_type="IP", params=HNSW_PARAMS)
        client.create_collection(self.spec.collection, schema=schema, index_params=params)
        self._dim = dim

    # -- writing -------------------------------------------------------------------------------
    def upsert(self, rows: SegmentRows) -> None:
        if not len(rows):
            return
        self.ensure(rows.vectors.shape[1])
        records = rows.records()
        with self._errors("write segments"):
            for start in range(0, len(records), BATCH):
                self.client.upsert(self.spec.collection, records[start : start + BATCH])

    def delete_ids(self, ids: np.ndarray) -> None:
        ids = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        if self.dim is None or not ids:
            return
        with self._errors("delete segments"):
            for start in range(0, len(ids), IDS_PER_QUERY):
                self.client.delete(self.spec.collection, ids=ids[start : start + IDS_PER_QUERY])

    def delete_sounds(self, sound_ids: list[int]) -> None:
        """Delete every row of these sounds."""
        sound_ids = sorted({int(s) for s in sound_ids})
        if self.dim is None or not sound_ids:
            return
        with self._errors("delete sounds"):
            for start in range(0, len(sound_ids), IDS_PER_QUERY):
                self.client.delete(self.spec.collection,
                                   filter=f"sound_id in {sound_ids[start : start + IDS_PER_QUERY]}")

    # -- reading -------------------------------------------------------------------------------
    def count(self) -> int:
        if self.dim is None:
            return 0
        rows = self.client.query(self.spec.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def iter_rows(self, fields: list[str], *, expr: str = "") -> Iterator[list[dict]]:
        """Every row (matching `expr`), in batches, with these fields."""
        if self.dim is None:
            return
        # milvus-lite answers the iterator's timestamp probe with nothing, and pymilvus warns on every
        # iterator that it uses its own clock instead (harmless for these reads).
        log = logging.getLogger("pymilvus.client.iterator.query_iterator")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            it = self.client.query_iterator(self.spec.collection, batch_size=BATCH, filter=expr, output_fields=fields)
        finally:
            log.setLevel(level)
        try:
            while batch := it.next():
                yield batch
        finally:
            it.close()

    def states(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(id, sound_id, generation) of every row. Returns three (n,) int64 arrays sorted by id."""
        cols: list[list[int]] = [[], [], []]
        for batch in self.iter_rows(["id", "sound_id", "generation"]):
            for row in batch:
                cols[0].append(row["id"]), cols[1].append(row["sound_id"]), cols[2].append(row["generation"])
        ids, sounds, gens = (np.asarray(c, dtype=np.int64) for c in cols)
        order = np.argsort(ids, kind="stable")
        return ids[order], sounds[order], gens[order]

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every vector. Returns: ids (n,) int64 sorted, vectors (n, dim) float32."""
        dim = self.dim or 0
        ids: list[int] = []
        vecs: list[np.ndarray] = []
        for batch in self.iter_rows(["id", "vector"]):
            ids.extend(r["id"] for r in batch)
            vecs.extend(np.asarray(r["vector"], dtype=np.float32) for r in batch)
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
        return np.asarray(ids, dtype=np.int64)[order], np.stack(vecs)[order]

    def vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """segment id -> its vector, for those of `ids` that have a row."""
        out: dict[int, np.ndarray] = {}
        if self.dim is None:
            return out
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = [int(i) for i in ids[start : start + IDS_PER_QUERY]]
            for row in self.client.query(self.spec.collection, ids=chunk, output_fields=["id", "vector"]):
                out[int(row["id"])] = np.asarray(row["vector"], dtype=np.float32)
        return out

    def rows(self, ids: list[int]) -> list[dict]:
        """Every field of these segments' rows (unknown ids left out)."""
        out: list[dict] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = [int(i) for i in ids[start : start + IDS_PER_QUERY]]
            out.extend(dict(r) for r in self.client.query(self.spec.collection, ids=chunk, output_fields=["*"]))
        return out

    def search(self, queries: np.ndarray, limit: int, *, expr: str = "", group_by_sound: bool = False,
               offset: int = 0) -> list[list[tuple[int, float]]]:
        """Nearest rows by inner product (with `group_by_sound`: the best row of each sound).

        Returns: per query, up to `limit` (segment id, score) pairs, best first, after skipping `offset`.
        """
        if self.dim is None or limit <= 0:
            return [[] for _ in range(len(queries))]
        extra: dict[str, Any] = {"group_by_field": "sound_id"} if group_by_sound else {}
        try:
            res = self.client.search(
                self.spec.collection, data=[np.asarray(q, dtype=np.float32).tolist() for q in queries], limit=limit,
                offset=offset, filter=expr, output_fields=["id"],
                search_params={"metric_type": "IP", "params": {"ef": max(EF_SEARCH, limit + offset)}}, **extra)
        except _pymilvus().MilvusException as exc:
            raise CollectionError(f"the Milvus store {self.spec.uri} refused a search ({expr or 'no filter'}): "
                                  f"{exc}") from exc
        return [[(int(h["id"]), float(h["distance"])) for h in hits] for hits in res]
