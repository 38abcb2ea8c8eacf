"""Connecting to Ray: a local instance started for one run, or an existing cluster by address."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Iterator

from soundseek.errors import MissingExtraError, SoundseekError

#: The object store of a local instance: shards are small (a few MB per partition), so a bounded
#: store is plenty and leaves the machine's memory to the encoders.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run.

    address: a running cluster ("HOST:PORT", or "auto" for the one this machine belongs to); None
        starts a local Ray instance for the run and stops it afterwards.
    workers: Ray workers (actors, one CPU and one encoder each); None: the local instance's CPUs
        (`os.cpu_count()`), or all CPUs of the cluster.
    partition_files: files per partition (one shard each); 0 chooses about four partitions per worker,
        between 1 and 64 files each.
    """

    address: str | None = None
    workers: int | None = None
    partition_files: int = 0

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise SoundseekError(f"the number of Ray workers must be at least 1, not {self.workers}")
        if self.partition_files < 0:
            raise SoundseekError(f"files per partition must be at least 1 (or 0: automatic), not {self.partition_files}")


def require_ray() -> ModuleType:
    """The `ray` module, or MissingExtraError naming `pip install 'soundseek[scale]'`."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError("scale", "ray") from None
    return ray


@contextmanager
def ray_session(options: RayOptions) -> Iterator[int]:
    """Connect for one run and yield the number of workers to use. A Ray already initialized in this
    process (by a library caller) is used as it is and left running."""
    ray = require_ray()
    if ray.is_initialized():
        yield _workers(ray, options)
        return
    if options.address is None:
        _start_local(ray, options.workers or os.cpu_count() or 1)
    else:
        _connect(ray, options.address)
    try:
        yield _workers(ray, options)
    finally:
        ray.shutdown()


def _start_local(ray: ModuleType, num_cpus: int) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             object_store_memory=LOCAL_OBJECT_STORE_BYTES)


def _connect(ray: ModuleType, address: str) -> None:
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as exc:  # Ray raises unrelated types here (connection, auth, version)
        raise SoundseekError(f"cannot reach the Ray cluster at {address}: {exc}") from exc


def _workers(ray: ModuleType, options: RayOptions) -> int:
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if cpus < 1:
        raise SoundseekError("the Ray cluster has no CPUs to run workers on")
    return min(options.workers, cpus) if options.workers else cpus
