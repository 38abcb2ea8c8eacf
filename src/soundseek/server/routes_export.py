"""Export endpoints: one segment as a WAV (what the page drags out into a DAW), several hits as a ZIP.

Sounds are named by id, never by path: only indexed files can be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from soundseek.export import LUFS_RANGE, MAX_EXPORT_ITEMS, ExportItem, export_zip, normalize_loudness, read_segment
from soundseek.server.routes_search import SoundId, State
from soundseek.server.routes_sounds import find_sound

router = APIRouter(prefix="/api", tags=["export"])

Lufs = Annotated[float | None, Query(ge=LUFS_RANGE[0], le=LUFS_RANGE[1], description="loudness target (LUFS), e.g. -23")]


class ExportItemModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sound_id: int = Field(ge=0, le=2**63 - 1)
    start: float = Field(0.0, ge=0)
    end: float | None = Field(None, gt=0)


class ExportRequest(BaseModel):
    """Body of POST /api/export: the sounds, and whether to render their segments (else the originals)."""

    model_config = ConfigDict(extra="forbid")

    items: list[ExportItemModel] = Field(min_length=1, max_length=MAX_EXPORT_ITEMS)
    segments: bool = Field(False, description="render each item's [start, end] to WAV (else copy the original)")
    lufs: float | None = Field(None, ge=LUFS_RANGE[0], le=LUFS_RANGE[1],
                               description="normalize each exported sound to this integrated loudness (LUFS)")


def _attachment(name: str) -> dict[str, str]:
    from urllib.parse import quote

    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"}


@router.get("/sounds/{sound_id}/segment.wav", response_class=Response, summary="A segment rendered to WAV",
            responses={200: {"content": {"audio/wav": {}}}})
def segment_wav(state: State, sound_id: SoundId, start: Annotated[float, Query(ge=0)] = 0.0,
                end: Annotated[float | None, Query(gt=0)] = None, lufs: Lufs = None) -> Response:
    """[start, end] of the sound at its own rate and channels, 24-bit WAV (optionally loudness-normalized)."""
    import io

    import soundfile as sf

    record = find_sound(state, sound_id)
    data, sr = read_segment(record.path, start, end)
    if lufs is not None:
        data, _ = normalize_loudness(data, sr, lufs)
    buffer = io.BytesIO()
    sf.write(buffer, data, sr, format="WAV", subtype="PCM_24")
    stop = f"{end:.2f}" if end is not None else "end"
    name = f"{Path(record.path).stem}_{start:.2f}-{stop}.wav"
    return Response(buffer.getvalue(), media_type="audio/wav", headers=_attachment(name))


@router.post("/export", response_class=Response, summary="Several sounds as one ZIP",
             responses={200: {"content": {"application/zip": {}}}})
async def export(state: State, body: ExportRequest) -> Response:
    """The originals, or their segments rendered to WAV, optionally normalized to `lufs`; a README.txt in
    the ZIP lists where each came from and any note (e.g. too short to measure loudness)."""
    items = [ExportItem(find_sound(state, i.sound_id).path, i.start, i.end) for i in body.items]
    data = await run_in_threadpool(export_zip, items, segments=body.segments, lufs=body.lufs)
    return Response(data, media_type="application/zip", headers=_attachment("soundseek-export.zip"))
