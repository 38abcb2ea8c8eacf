"""Stage 3 at scale: decode and embed on a Ray cluster, hand back Parquet shards, load them here.

`cluster` connects (a local instance or a cluster address), `shards` is the Parquet layout, `ingest`
is the stage itself, (list of sources) -> shards, and `index` is the driver of `soundseek index
--ray`, which loads the shards into the collection. Ray is the `scale` extra: nothing here imports
it until a run starts (`pip install 'soundseek[scale]'`).
"""

from __future__ import annotations

from soundseek.distributed.cluster import RayOptions, ray_session, require_ray
from soundseek.distributed.index import RayIndexer, RayRunStats, ShardLoader
from soundseek.distributed.ingest import Shard, encoder_settings, ingest, plan_ingest, run_plan

__all__ = ["RayIndexer", "RayOptions", "RayRunStats", "Shard", "ShardLoader", "encoder_settings", "ingest",
           "plan_ingest", "ray_session", "require_ray", "run_plan"]
