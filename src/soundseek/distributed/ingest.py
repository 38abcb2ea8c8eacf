"""The ingestion stage on Ray: (list of sources) -> Parquet shards in a staging folder.

Sources are cut into partitions; each Ray worker (an actor holding one encoder, built once) decodes
and embeds whole partitions and hands back an Arrow table, which the driver writes as a shard
(`shards.py`, atomic). Shards already in the staging folder for the same files and settings (a run
that was killed after them) are reused instead of recomputed. Nothing here writes the collection:
the caller loads the shards (`index.py` for `soundseek index --ray`; a crawler or watcher can feed
its own list of sources the same way). Ray must be initialized (see `cluster.ray_session`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from soundseek.distributed.cluster import require_ray
from soundseek.distributed.shards import (
    encoded_to_table,
    partition_key,
    shard_files,
    shard_path,
    shard_settings,
    write_shard,
)
from soundseek.errors import SoundseekError
from soundseek.indexer import encode_found, encoder_settings  # noqa: F401  (re-exported: part of this stage's API)
from soundseek.library.scan import FoundFile

#: Automatic partitioning: about this many partitions per worker (for load balance), each of at most
#: MAX_PARTITION_FILES files and MAX_PARTITION_BYTES of sources (small enough that a killed run loses
#: little and a shard stays small, big enough to amortize a task).
PARTITIONS_PER_WORKER = 4
MAX_PARTITION_FILES = 64
MAX_PARTITION_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Partition:
    """A slice of the sources, embedded by one task into the shard `part-<key>.parquet`."""

    key: str
    files: list[FoundFile]


@dataclass(frozen=True)
class IngestPlan:
    """Shards found ready from an earlier run, and the partitions still to compute."""

    reused: list[Path]
    partitions: list[Partition]
    reused_files: int = 0

    @property
    def total(self) -> int:
        return len(self.reused) + len(self.partitions)


@dataclass(frozen=True)
class Shard:
    """A finished shard. `reused`: found in the staging folder, not computed by this run."""

    path: Path
    reused: bool = False
    files: int = 0


def plan_ingest(sources: list[FoundFile], staging: Path, settings: dict, *, workers: int,
                partition_files: int = 0) -> IngestPlan:
    """Reuse the staged shards whose every file is among `sources` with the same size and mtime (and
    whose settings match); cut the other sources into partitions."""
    wanted = {str(f.path): (f.size, f.mtime_ns) for f in sources}
    reused, claimed = [], set()
    for path in sorted(staging.glob("part-*.parquet")):
        files = _adoptable(path, settings, wanted, claimed)
        if files:
            reused.append(path)
            claimed.update(files)
    rest = [f for f in sources if str(f.path) not in claimed]
    return IngestPlan(reused, cut_partitions(rest, settings, workers=workers, partition_files=partition_files),
                      len(claimed))


def _adoptable(path: Path, settings: dict, wanted: dict, claimed: set) -> list[str]:
    """The files of a staged shard when it can stand in for them, else []."""
    try:
        if shard_settings(path) != settings:
            return []
        files = shard_files(path)
    except (OSError, pa.ArrowException):
        return []  # unreadable: left for prune_stale to judge
    ok = all(wanted.get(p) == (s, m) and p not in claimed for p, s, m in files)
    return [p for p, _, _ in files] if ok and files else []


def cut_partitions(files: list[FoundFile], settings: dict, *, workers: int, partition_files: int = 0) -> list[Partition]:
    """Consecutive slices of `files` (their scan order): `partition_files` each, or automatic (see
    PARTITIONS_PER_WORKER); a slice also closes at MAX_PARTITION_BYTES of source files, so that a
    partition of long recordings stays a modest object for Ray (a shard holds ~7.4 MB per hour of audio)."""
    if not files:
        return []
    size = partition_files or min(MAX_PARTITION_FILES, max(1, math.ceil(len(files) / (workers * PARTITIONS_PER_WORKER))))
    slices: list[list[FoundFile]] = [[]]
    held = 0
    for f in files:
        if slices[-1] and (len(slices[-1]) >= size or held + f.size > MAX_PARTITION_BYTES):
            slices.append([])
            held = 0
        slices[-1].append(f)
        held += f.size
    return [Partition(partition_key(settings, s), s) for s in slices]


class PartitionEmbedder:
    """The body of one Ray actor: builds the encoder once, then embeds partitions."""

    def __init__(self, settings: dict) -> None:
        from soundseek.encoders import build_audio_encoder

        self.settings = settings
        self.encoder = build_audio_encoder(settings["encoder"], settings["config"])

    def embed(self, files: list[FoundFile]) -> pa.Table:
        """Decode and embed each file (a failure becomes its row's reason). Returns the shard table."""
        max_duration = self.settings["max_duration"]
        return encoded_to_table([encode_found(f, self.encoder, max_duration=max_duration) for f in files], self.settings)


def run_plan(plan: IngestPlan, staging: Path, settings: dict, *, workers: int) -> Iterator[Shard]:
    """Yield the reused shards, then each computed shard as soon as it is written. Closing the
    generator early stops the workers; the shards written so far stay for a later run."""
    for path in plan.reused:
        yield Shard(path, reused=True)
    if plan.partitions:
        yield from _compute(plan.partitions, staging, settings, workers)


def ingest(sources: list[FoundFile], staging: Path, settings: dict, *, workers: int,
           partition_files: int = 0) -> Iterator[Shard]:
    """(list of sources) -> shards in `staging`: `plan_ingest` then `run_plan`."""
    plan = plan_ingest(sources, staging, settings, workers=workers, partition_files=partition_files)
    return run_plan(plan, staging, settings, workers=workers)


def _compute(partitions: list[Partition], staging: Path, settings: dict, workers: int) -> Iterator[Shard]:
    ray = require_ray()
    actor_type = ray.remote(num_cpus=1)(PartitionEmbedder)
    actors = [actor_type.remote(settings) for _ in range(min(workers, len(partitions)))]
    queue, pending = deque(partitions), {}

    def submit(actor: object) -> None:
        if queue:
            part = queue.popleft()
            pending[actor.embed.remote(part.files)] = (actor, part)  # type: ignore[attr-defined]

    try:
        for actor in actors * 2:  # two partitions in flight per worker: no idle gap between them
            submit(actor)
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            actor, part = pending.pop(ref)
            table = _result(ray, ref, part)
            submit(actor)
            path = shard_path(staging, part.key)
            write_shard(table, path)
            yield Shard(path, files=len(part.files))
    finally:
        for actor in actors:
            ray.kill(actor)


def _result(ray: object, ref: object, part: Partition) -> pa.Table:
    try:
        return ray.get(ref)  # type: ignore[attr-defined]
    except Exception as exc:  # a worker crashed or hit a bug: stop, keeping the finished shards
        first = part.files[0].path if part.files else "?"
        raise SoundseekError(f"a Ray worker failed on the partition starting at {first}: {exc}\n"
                             "finished partitions are kept: run the same command again to resume") from exc


def prune_stale(staging: Path, stored: dict[str, tuple[int, int]]) -> list[Path]:
    """Delete staged shards (and leftover temporary files) that no run can use any more: every file of
    the shard is stored in the collection already, gone, or changed on disk. Returns the removed paths.
    Only the collection's writer (who holds its lock) may call this."""
    removed = []
    for tmp in staging.glob(".part-*.tmp"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    for path in staging.glob("part-*.parquet"):
        try:
            files = shard_files(path)
        except (OSError, pa.ArrowException):
            files = []
        if not any(_still_waiting(p, s, m, stored) for p, s, m in files):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _still_waiting(path: str, size: int, mtime_ns: int, stored: dict[str, tuple[int, int]]) -> bool:
    try:
        st = Path(path).stat()
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (size, mtime_ns) and stored.get(path) != (size, mtime_ns)
