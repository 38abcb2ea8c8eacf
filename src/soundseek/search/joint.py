"""Search in a trained joint text-audio space (soundseek.joint), fused with the core engine.

A collection gets a joint model with `soundseek index --model DIR` (recorded in its meta, used by every
later search) or per search with `--model DIR`. The model maps the collection's stored acoustic vectors
into the joint space; those joint vectors are stored as their own embedding space `joint:<id>`, where
`<id>` is the fingerprint of the model's weight files, so a retrained model gets fresh vectors.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soundseek.errors import CollectionError, ModelError
from soundseek.search.state import SegmentTable, load_vector_index
from soundseek.store import Collection
from soundseek.vindex import VectorIndex

if TYPE_CHECKING:  # the loader is imported lazily: the search path needs no training stack
    from soundseek.joint.saved import JointModel

BATCH = 4096


def load_model_for(coll: Collection, model_dir: Path | str | None) -> JointModel:
    """Load `model_dir` (or the collection's recorded model) and check it fits the collection."""
    from soundseek.joint.saved import load_joint_model

    directory = model_dir or coll.meta("joint_model")
    if not directory:
        raise ModelError("no joint model: give the directory of a model written by `soundseek train`")
    model = load_joint_model(Path(str(directory)))
    if model.audio_encoder_name != coll.audio_encoder:
        raise CollectionError(
            f"the joint model expects '{model.audio_encoder_name}' audio vectors but the collection holds "
            f"'{coll.audio_encoder}' vectors: train a model on {coll.audio_encoder} features"
        )
    return model


def attach_model(coll: Collection, model_dir: Path) -> None:
    """Record `model_dir` as the collection's joint model and embed every segment with it."""
    from soundseek.search.state import load_segment_table

    model = load_model_for(coll, model_dir)
    coll.set_meta("joint_model", str(Path(model_dir).absolute()))
    ensure_joint_vectors(coll, model, load_segment_table(coll))


def joint_space(model: JointModel) -> str:
    """The embedding-space name of a model's vectors: named by its weights' fingerprint."""
    digest = model.fingerprint or hashlib.sha1(repr(sorted(model.config.items())).encode()).hexdigest()
    return f"joint:{digest[:12]}"


def ensure_joint_vectors(coll: Collection, model: JointModel, table: SegmentTable) -> VectorIndex:
    """The joint-space index of the collection, embedding the segments that lack a joint vector."""
    space = joint_space(model)
    missing = np.setdiff1d(table.ids, coll.segment_ids_in_space(space))
    if len(missing):
        ids, acoustic = coll.iter_vectors(coll.audio_encoder)
        todo = np.isin(ids, missing)
        ids, acoustic = ids[todo], acoustic[todo]
        for start in range(0, len(ids), BATCH):
            coll.put_vectors(space, ids[start : start + BATCH], model.embed_audio(acoustic[start : start + BATCH]))
    return load_vector_index(coll, space)


def joint_text_scores(model: JointModel, index: VectorIndex, table: SegmentTable, query: str) -> np.ndarray:
    """Cosine (>= 0) of every segment's joint vector with the query's joint text vector. Returns (n,)."""
    return _dense_scores(index, table, model.embed_text([query])[0])


def joint_audio_scores(model: JointModel, index: VectorIndex, table: SegmentTable, acoustic: np.ndarray) -> np.ndarray:
    """Cosine (>= 0) of every segment's joint vector with an acoustic query vector mapped to the joint space."""
    return _dense_scores(index, table, model.embed_audio(acoustic[None, :])[0])


def nearest_labels(model: JointModel, acoustic: np.ndarray, *, top: int = 5) -> list[tuple[str, float]]:
    """audio -> text: the training labels nearest to a sound in the joint space."""
    return model.nearest_labels(model.embed_audio(acoustic[None, :]), top=top)[0]


def _dense_scores(index: VectorIndex, table: SegmentTable, query: np.ndarray) -> np.ndarray:
    k = min(len(table), max(1000, len(table) // 20))
    sims, ids = index.search(np.asarray(query, dtype=np.float32)[None, :], k)
    out = np.zeros(len(table), dtype=np.float32)
    ok = ids[0] >= 0
    out[table.positions(ids[0][ok])] = np.maximum(sims[0][ok], 0.0)
    return out
