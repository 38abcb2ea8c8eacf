"""Collection endpoints: health, info, tags, sounds, audio playback (range requests), waveforms.

Audio is looked up by sound id in the collection; a client never names a path, so nothing outside the
indexed files can be read.
"""

from __future__ import annotations

import mimetypes
import os
from collections import Counter
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import FileResponse

from soundseek.server.routes_search import SoundId, State
from soundseek.server.schemas import (
    HealthResponse,
    InfoResponse,
    SegmentModel,
    SoundDetail,
    SoundList,
    SoundModel,
    TagCount,
    WaveformResponse,
)
from soundseek.server.state import MAX_OFFSET, MAX_TOP, ServerState
from soundseek.server.waveform import (
    MAX_HEIGHT,
    MAX_WIDTH,
    MIN_HEIGHT,
    MIN_WIDTH,
    peaks,
    peaks_png,
)
from soundseek.store import SoundRecord

router = APIRouter(prefix="/api", tags=["collection"])
health_router = APIRouter(prefix="/api", tags=["collection"])

AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
               ".opus": "audio/ogg", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aif": "audio/aiff",
               ".aiff": "audio/aiff", ".webm": "audio/webm"}


@health_router.get("/health", response_model=HealthResponse, summary="Liveness and collection size")
def health(state: State) -> HealthResponse:
    """Always open (no token): `status` is 'ok' once the engine is loaded."""
    counts = state.locked(lambda: state.engine.coll.counts())  # the engine current once locked
    return HealthResponse(status="ok", sounds=counts["sounds"], segments=counts["segments"],
                          cache=state.results.stats(), worker=os.getpid())


@router.get("/info", response_model=InfoResponse, summary="What the collection holds")
def info(state: State) -> InfoResponse:
    counts = state.locked(lambda: state.engine.coll.counts())
    return InfoResponse(audio_encoder=state.engine.coll.audio_encoder, joint_model=state.engine.joint_model is not None,
                        max_upload_bytes=state.config.max_upload_bytes,
                        max_upload_seconds=state.config.max_upload_seconds,
                        auth_required=state.config.token is not None, **counts)


@router.get("/tags", response_model=list[TagCount], summary="Most frequent tags")
def tags(state: State, limit: Annotated[int, Query(ge=1, le=1000)] = 30) -> list[TagCount]:
    rows = state.locked(lambda: state.engine.coll.tag_counts(limit=limit))
    return [TagCount(tag=t, sounds=n) for t, n in rows]


@router.get("/sounds", response_model=SoundList, summary="List indexed sounds (by path)")
def list_sounds(state: State, limit: Annotated[int, Query(ge=1, le=MAX_TOP)] = 50,
                offset: Annotated[int, Query(ge=0, le=10 * MAX_OFFSET)] = 0) -> SoundList:
    records, total = state.locked(lambda: (state.engine.coll.sounds(limit=limit, offset=offset),
                                           state.engine.coll.counts()["sounds"]))
    items = [sound_model(state, r) for r in records]
    return SoundList(total=total, offset=offset, limit=limit, sounds=items,
                     next_offset=offset + limit if offset + limit < total else None)


@router.get("/sounds/{sound_id}", response_model=SoundDetail, summary="One sound with its segments and tags")
def get_sound(state: State, sound_id: SoundId) -> SoundDetail:
    record = find_sound(state, sound_id)

    def segments() -> list[SegmentModel]:
        coll = state.engine.coll  # inside the lock: the engine may be swapped for a re-indexed collection
        ids = coll.segment_ids_of_sound(sound_id)
        tags_by_id = coll.tags_of(ids)
        return [SegmentModel(segment_id=r.id, start=round(r.start, 3), end=round(r.end, 3),
                             tags=[t for t, _ in tags_by_id.get(r.id, [])]) for r in coll.segments(ids)]

    segs = state.locked(segments)
    return SoundDetail(**sound_model(state, record, segs).model_dump(), segments=segs)


@router.head("/sounds/{sound_id}/audio", include_in_schema=False)
@router.get("/sounds/{sound_id}/audio", summary="The sound's file (supports HTTP range requests; HEAD too)",
            response_class=FileResponse, responses={206: {"description": "partial content"}, 404: {}})
def sound_audio(state: State, sound_id: SoundId) -> FileResponse:
    """The original file, streamed with `Accept-Ranges: bytes` (206 for a Range request, 416 if unsatisfiable)."""
    record = find_sound(state, sound_id)
    path = _readable_file(record)
    media = AUDIO_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/sounds/{sound_id}/waveform", response_model=WaveformResponse, summary="Waveform peaks (JSON)")
def waveform_json(state: State, sound_id: SoundId,
                  width: Annotated[int, Query(ge=MIN_WIDTH, le=MAX_WIDTH)] = 600) -> WaveformResponse:
    record = find_sound(state, sound_id)
    env = _envelope(state, record, width)
    return WaveformResponse(sound_id=sound_id, duration=record.duration, width=width,
                            peaks=[[round(float(lo), 4), round(float(hi), 4)] for lo, hi in env])


@router.get("/sounds/{sound_id}/waveform.png", response_class=Response, summary="Waveform overview (PNG)",
            responses={200: {"content": {"image/png": {}}}})
def waveform_png(state: State, sound_id: SoundId, width: Annotated[int, Query(ge=MIN_WIDTH, le=MAX_WIDTH)] = 600,
                 height: Annotated[int, Query(ge=MIN_HEIGHT, le=MAX_HEIGHT)] = 64,
                 start: Annotated[float | None, Query(ge=0)] = None,
                 end: Annotated[float | None, Query(ge=0)] = None) -> Response:
    """The envelope drawn as a PNG; give `start` and `end` (s) to highlight a segment."""
    record = find_sound(state, sound_id)
    png = peaks_png(_envelope(state, record, width), height=height, duration=record.duration, start=start, end=end)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def find_sound(state: ServerState, sound_id: int) -> SoundRecord:
    record = state.locked(lambda: state.engine.coll.sound(sound_id))
    if record is None:
        raise HTTPException(404, f"no sound with id {sound_id}")
    return record


def sound_model(state: ServerState, record: SoundRecord, segments: list[SegmentModel] | None = None) -> SoundModel:
    if segments is None:
        ids = state.locked(lambda: state.engine.coll.segment_ids_of_sound(record.id))
        by_id = state.locked(lambda: state.engine.coll.tags_of(ids))
        segments = [SegmentModel(segment_id=i, start=0, end=0, tags=[t for t, _ in by_id.get(i, [])]) for i in ids]
    counts = Counter(t for s in segments for t in s.tags)
    return SoundModel(sound_id=record.id, path=record.path, name=os.path.basename(record.path),
                      duration=round(record.duration, 3), sample_rate=record.sample_rate, channels=record.channels,
                      format=record.format, size=record.size, text=record.text,
                      tags=[t for t, _ in counts.most_common(10)],
                      audio_url=f"/api/sounds/{record.id}/audio", waveform_url=f"/api/sounds/{record.id}/waveform")


def _readable_file(record: SoundRecord) -> Path:
    path = Path(record.path)
    if not path.is_file():
        raise HTTPException(410, f"sound {record.id} is indexed but its file is gone; re-index the collection")
    return path


def _envelope(state: ServerState, record: SoundRecord, width: int):  # type: ignore[no-untyped-def]
    from soundseek.errors import AudioError

    path = _readable_file(record)
    key = (record.id, record.mtime_ns, width)
    try:
        return state.waveforms.get_or_compute(key, lambda: peaks(path, width=width))
    except AudioError as exc:
        raise HTTPException(422, f"sound {record.id} cannot be decoded: {exc}") from exc
