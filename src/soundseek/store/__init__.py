"""Stage 4, the store: a collection on disk. Every SQL statement of the package lives in this package."""

from __future__ import annotations

from soundseek.store.collection import DB_NAME, Collection, default_collection_dir
from soundseek.store.records import NewSegment, SegmentRecord, SoundRecord

__all__ = ["DB_NAME", "Collection", "NewSegment", "SegmentRecord", "SoundRecord", "default_collection_dir"]
