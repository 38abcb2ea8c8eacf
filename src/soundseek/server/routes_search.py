"""Search endpoints: text, audio upload, more like this (a sound or one segment of it), describe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Callable

import numpy as np
from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)

from soundseek.encoders.base import l2_normalize
from soundseek.errors import AudioError
from soundseek.search.filters import Filters
from soundseek.search.hits import Hit
from soundseek.search.relevance import no_good_match
from soundseek.server.schemas import (
    DescribeResponse,
    FiltersModel,
    SearchRequest,
    SearchResponse,
)
from soundseek.server.state import MAX_OFFSET, MAX_TOP, ServerState
from soundseek.server.uploads import saved_upload

router = APIRouter(prefix="/api", tags=["search"])

Top = Annotated[int, Query(ge=1, le=MAX_TOP, description="results per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="results to skip (pagination)")]
#: A sound or segment id (SQLite integers are 64-bit).
SoundId = Annotated[int, Path(ge=0, le=2**63 - 1)]


async def state_of(request: Request) -> ServerState:
    return request.app.state.soundseek  # type: ignore[no-any-return]


State = Annotated[ServerState, Depends(state_of)]


async def query_filters(
    min_duration: Annotated[float | None, Query(ge=0)] = None,
    max_duration: Annotated[float | None, Query(ge=0)] = None,
    sample_rate: Annotated[int | None, Query(gt=0, le=1_000_000)] = None,
    channels: Annotated[int | None, Query(gt=0, le=64)] = None,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    path_glob: Annotated[str | None, Query(max_length=500, description="e.g. '*/rain/*'")] = None,
) -> FiltersModel:
    return FiltersModel(min_duration=min_duration, max_duration=max_duration, sample_rate=sample_rate,
                        channels=channels, tag=tag, path_glob=path_glob)


QueryFilters = Annotated[FiltersModel, Depends(query_filters)]
#: "Like this, but ...": words the hits should also be about, or should not be about.
Toward = Annotated[str | None, Query(max_length=200, description="words the hits should also be about, e.g. 'metallic'")]
Away = Annotated[str | None, Query(max_length=200, description="words the hits should not be about, e.g. 'speech'")]


def page_json(kind: str, query: str | None, hits: list[Hit], *, top: int, offset: int) -> bytes:
    """A SearchResponse as JSON bytes; `next_offset` is set when the page is full (there may be more)."""
    return json.dumps({
        "kind": kind, "query": query, "top": top, "offset": offset,
        "next_offset": offset + top if len(hits) == top else None,
        "no_good_match": no_good_match([h.relevance for h in hits]),
        "hits": [h.to_dict() for h in hits],
    }, separators=(",", ":"), ensure_ascii=False).encode()


async def cached_page(state: ServerState, key: tuple, search: Callable[[], list[Hit]], *, kind: str,
                      query: str | None, top: int, offset: int) -> Response:
    """The page for `key` from the result cache, else computed on the engine thread under the engine lock.

    A cache hit is answered on the event loop without touching the engine or a thread.
    """
    full_key = state.cache_key((kind, query, *key, top, offset))
    body = state.results.peek(full_key)
    if body is None:
        def compute() -> bytes:
            return page_json(kind, query, state.locked(search), top=top, offset=offset)

        body = await state.run(lambda: state.results.get_or_compute(full_key, compute))
    return Response(body, media_type="application/json")


@router.get("/search", response_model=SearchResponse, summary="Text search")
async def search_get(state: State, filters: QueryFilters,
                     q: Annotated[str, Query(min_length=1, max_length=500, description="words, e.g. 'dog barking'")],
                     top: Top = 10, offset: Offset = 0, without: Away = None) -> Response:
    """Rank sounds for a text query (the same scoring and hit schema as `soundseek search --json`);
    `without` pushes the ranking away from other words."""
    f = filters.to_filters()
    if without and without.strip():
        from soundseek.search.steer import text_without
        return await cached_page(state, (f, without), lambda: text_without(state.engine, q, without, top=top,
                                 offset=offset, filters=f), kind="text", query=q, top=top, offset=offset)
    return await cached_page(state, (f,), lambda: state.engine.search_text(q, top=top, offset=offset, filters=f),
                             kind="text", query=q, top=top, offset=offset)


@router.post("/search", response_model=SearchResponse, summary="Text search (JSON body)")
async def search_post(state: State, body: SearchRequest) -> Response:
    f, top, offset = body.filters.to_filters(), body.top, body.offset
    return await cached_page(state, (f,), lambda: state.engine.search_text(body.query, top=top, offset=offset, filters=f),
                             kind="text", query=body.query, top=top, offset=offset)


@router.post("/search/audio", response_model=SearchResponse, summary="Search by an example sound (upload)")
def search_audio(state: State, filters: QueryFilters,
                 file: Annotated[UploadFile, File(description="any format the indexer reads (WAV, FLAC, OGG, MP3, ...)")],
                 start: Annotated[float | None, Form(ge=0)] = None, end: Annotated[float | None, Form(gt=0)] = None,
                 top: Top = 10, offset: Offset = 0, toward: Toward = None, away: Away = None) -> Response:
    """Nearest sounds to the uploaded one (or its [start, end] part), optionally steered by words
    ("like this, but `toward`, without `away`"). Size and duration are capped."""
    from soundseek.search.steer import Steer, search_audio_like

    cfg, how, f = state.config, Steer.of(toward, away), filters.to_filters()
    with saved_upload(file, max_bytes=cfg.max_upload_bytes, max_seconds=cfg.max_upload_seconds) as path:
        wave = decoded_upload(state, path)
        if how.active():
            hits = state.locked(lambda: search_audio_like(state.engine, path, how, start=start, end=end, top=top,
                                                          offset=offset, filters=f, waveform=wave))
        else:
            hits = state.locked(lambda: state.engine.search_audio(path, start=start, end=end, top=top,
                                                                  offset=offset, filters=f, waveform=wave))
    return Response(page_json("audio", file.filename, hits, top=top, offset=offset), media_type="application/json")


def decoded_upload(state: ServerState, path: Path) -> np.ndarray:
    """The upload's samples at the engine's rate, decoded without holding the engine lock (so one
    upload does not hold up every search while it decodes)."""
    from soundseek.audio import load_audio

    rate = state.locked(lambda: state.engine.audio_encoder.sample_rate)
    try:
        return load_audio(path, sr=rate, max_duration=state.config.max_upload_seconds)
    except AudioError as exc:
        raise HTTPException(422, f"not usable audio: {exc}") from exc


@router.get("/segments/{segment_id}/similar", response_model=SearchResponse, summary="More like this segment")
async def similar_segment(state: State, segment_id: SoundId, filters: QueryFilters,
                          top: Top = 10, offset: Offset = 0, toward: Toward = None, away: Away = None) -> Response:
    """Nearest sounds to one indexed segment, leaving out its own span; `toward`/`away` steer it by words."""
    from soundseek.search.steer import Steer, segment_like

    f, how = filters.to_filters(), Steer.of(toward, away)

    def search() -> list[Hit]:
        if not state.engine.coll.segments([segment_id]):
            raise HTTPException(404, f"no segment with id {segment_id}")
        if how.active():
            return segment_like(state.engine, segment_id, how, top=top, offset=offset, filters=f)
        return state.engine.more_like_this(segment_id, top=top, offset=offset, filters=f)

    return await cached_page(state, (f, how), search, kind="similar", query=f"segment {segment_id}", top=top, offset=offset)


@router.get("/sounds/{sound_id}/similar", response_model=SearchResponse, summary="More like this sound")
async def similar_sound(state: State, sound_id: SoundId, filters: QueryFilters,
                        top: Top = 10, offset: Offset = 0) -> Response:
    """Nearest sounds to a whole indexed sound (the mean of its segments' vectors), leaving it out."""
    f = filters.to_filters()
    return await cached_page(state, (f,), lambda: _similar_to_sound(state, sound_id, top=top, offset=offset, filters=f),
                             kind="similar", query=f"sound {sound_id}", top=top, offset=offset)


def _similar_to_sound(state: ServerState, sound_id: int, *, top: int, offset: int, filters: Filters) -> list[Hit]:
    engine = state.engine
    sound = engine.coll.sound(sound_id)
    if sound is None:
        raise HTTPException(404, f"no sound with id {sound_id}")
    seg_ids = engine.coll.segment_ids_of_sound(sound_id)
    if not seg_ids:
        return []
    vectors = engine.coll.vectors_for(engine.space, seg_ids)
    centroid = l2_normalize(np.asarray(vectors, dtype=np.float32).mean(axis=0))
    return engine.search_vector(centroid, top=top, offset=offset, filters=filters, exclude=(sound.path, 0.0, float("inf")))


@router.post("/describe", response_model=DescribeResponse, summary="Suggest tags and words for a sound")
def describe_upload(state: State, file: Annotated[UploadFile, File()],
                    top: Annotated[int, Query(ge=1, le=50)] = 10) -> DescribeResponse:
    """Audio -> text: AudioSet tags (YAMNet collections), the joint model's labels, neighbours' words."""
    from soundseek.search.describe import describe

    cfg = state.config
    with saved_upload(file, max_bytes=cfg.max_upload_bytes, max_seconds=cfg.max_upload_seconds) as path:
        wave = decoded_upload(state, path)
        run: Callable[[], list] = lambda: describe(state.engine, path, top=top, waveform=wave)  # noqa: E731
        suggestions = state.locked(run)
    return DescribeResponse.model_validate({"suggestions": [s.to_dict() for s in suggestions]})
