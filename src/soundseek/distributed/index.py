"""`soundseek index --ray`: the driver side. Ray workers embed; the driver (holding the collection's
writer lock, the only writer) loads each shard through the normal store API as it arrives.

A file's row in a shard becomes exactly what a plain run would have stored (`indexer.commit_encoded`):
the same sound, segments, vectors, class scores, tags, frame evidence and fingerprints, or the same
failure with the same reason. A loaded shard is deleted; a shard written but not loaded (the run was
killed) is reused by the next run (`ingest.plan_ingest`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from soundseek.audio import DEFAULT_MAX_DURATION
from soundseek.distributed.cluster import RayOptions, ray_session, require_ray
from soundseek.distributed.ingest import Shard, encoder_settings, plan_ingest, prune_stale, run_plan
from soundseek.distributed.shards import read_shard, staging_dir, table_to_encoded
from soundseek.encoders import AudioEncoder, encoder_config_dict
from soundseek.indexer import IndexReport, file_committer
from soundseek.library.scan import FoundFile
from soundseek.store import Collection


@dataclass
class RayRunStats:
    """What the Ray side of a run did: partitions computed here, shards reused from a killed run, and
    the driver's time spent loading shards into the collection (its ceiling as the only writer)."""

    workers: int = 0
    partitions: int = 0
    computed: int = 0
    reused: int = 0
    load_seconds: float = 0.0
    computed_shards: list[str] = field(default_factory=list)


@dataclass
class RayIndexer:
    """A `indexer.TodoIndexer` that embeds on Ray: pass it as `index_paths(..., index_todo=RayIndexer(opts))`.
    After the run, `stats` says what was computed and what was reused."""

    options: RayOptions = field(default_factory=RayOptions)
    stats: RayRunStats = field(default_factory=RayRunStats)

    def __call__(self, coll: Collection, todo: list[FoundFile], encoder: AudioEncoder, report: IndexReport, *,
                 metadata: dict[str, str] | None = None, max_duration: float = DEFAULT_MAX_DURATION,
                 quiet: bool = False, known: dict | None = None, outside_links: bool = False) -> None:
        require_ray()  # a missing extra is said before anything else happens
        self.stats = RayRunStats()
        known = coll.sound_signatures() if known is None else known
        staging = staging_dir(coll.root)
        staging.mkdir(parents=True, exist_ok=True)
        prune_stale(staging, known)
        if todo:
            loader = ShardLoader(coll, encoder, report, metadata, known, outside_links)
            self._run(todo, staging, encoder_settings(encoder.name, encoder_config_dict(encoder), max_duration),
                      loader, quiet)
        prune_stale(staging, coll.sound_signatures())

    def _run(self, todo: list[FoundFile], staging: Path, settings: dict, loader: "ShardLoader", quiet: bool) -> None:
        with ray_session(self.options) as workers:
            plan = plan_ingest(todo, staging, settings, workers=workers, partition_files=self.options.partition_files)
            self.stats = RayRunStats(workers=workers, partitions=plan.total)
            bar = tqdm(total=plan.total, desc=f"indexing on {workers} Ray worker(s)", unit="partition",
                       disable=quiet, file=sys.stderr)
            started, seconds0 = time.perf_counter(), loader.report.audio_seconds
            with bar:
                for shard in run_plan(plan, staging, settings, workers=workers):
                    load_started = time.perf_counter()
                    loader.load(shard.path)
                    self.stats.load_seconds += time.perf_counter() - load_started
                    self._count(shard)
                    speed = (loader.report.audio_seconds - seconds0) / max(time.perf_counter() - started, 1e-9)
                    bar.set_postfix_str(f"{speed:.0f} audio s/s", refresh=False)
                    bar.update(1)

    def _count(self, shard: Shard) -> None:
        if shard.reused:
            self.stats.reused += 1
        else:
            self.stats.computed += 1
            self.stats.computed_shards.append(str(shard.path))


@dataclass
class ShardLoader:
    """Loads shards into the collection, file by file, as a plain run commits them, then deletes each.
    The caller holds the collection's writer lock. `known`: the collection's `sound_signatures()` before
    the run (a known path is counted as updated, and its old version is forgotten if it now fails)."""

    coll: Collection
    encoder: AudioEncoder
    report: IndexReport
    metadata: dict[str, str] | None
    known: dict
    outside_links: bool

    def load(self, path: Path) -> None:
        commit = file_committer(self.coll, self.encoder, self.report, metadata=self.metadata, known=self.known,
                                outside_links=self.outside_links)
        for done in table_to_encoded(read_shard(path)):
            commit(done)
        path.unlink()
