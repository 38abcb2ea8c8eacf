"""JSON shapes of the HTTP API (pydantic models; they are what /docs shows).

`HitModel` mirrors `soundseek.search.engine.Hit.to_dict()`, the hit schema shared with `soundseek search --json`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from soundseek.search.engine import Filters
from soundseek.server.state import MAX_OFFSET, MAX_TOP


class FiltersModel(BaseModel):
    """The same filters as the CLI; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    min_duration: float | None = Field(None, ge=0, description="only sounds at least this long (s)")
    max_duration: float | None = Field(None, ge=0, description="only sounds at most this long (s)")
    sample_rate: int | None = Field(None, gt=0, le=1_000_000)
    channels: int | None = Field(None, gt=0, le=64)
    tag: str | None = Field(None, max_length=200, description="only sounds with this AudioSet tag")
    path_glob: str | None = Field(None, max_length=500, description="only paths matching this glob, e.g. '*/rain/*'")

    def to_filters(self) -> Filters:
        return Filters(self.min_duration, self.max_duration, self.sample_rate, self.channels,
                       self.tag or None, self.path_glob or None)


class SearchRequest(BaseModel):
    """Body of POST /api/search."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, max_length=500, examples=["dog barking"])
    top: int = Field(10, ge=1, le=MAX_TOP)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    filters: FiltersModel = Field(default_factory=FiltersModel)


class MomentModel(BaseModel):
    """A matching time range of the file (seconds)."""

    start: float
    end: float
    score: float


class HitModel(BaseModel):
    """One result: a file with its best-matching segment (`start`..`end`, seconds)."""

    path: str
    start: float
    end: float
    score: float = Field(description="higher is better; comparable only within one query")
    tags: list[str]
    text: str = Field(description="the sound's own words (file name, folders, metadata)")
    sound_id: int
    segment_id: int
    duration: float = Field(description="the whole sound's duration (s)")
    relevance: float | None = Field(None, description="text queries: calibrated probability in [0, 1] that the "
                                                      "hit is relevant (see search/relevance.py)")
    moments: list[MomentModel] = Field(default_factory=list, description="the file's matching moments, best first; "
                                       "the first is the hit's own start and end")
    source: dict[str, Any] | None = Field(None, description="crawled sounds: source, url, page, title, licence "
                                          "(when the source gives one), published, fetched_at")
    duplicates: dict[str, Any] | None = Field(None, description="the sound's duplicate group from `soundseek "
                                              "duplicates`: kind ('exact' or 'near') and the other sound_ids")


class SearchResponse(BaseModel):
    """A page of hits. `next_offset` is the offset of the next page, or null when this page is not full."""

    kind: str = Field(description="text, audio or similar")
    query: str | None = None
    top: int
    offset: int
    next_offset: int | None
    no_good_match: bool = Field(False, description="text queries: no hit of this page reaches the relevance "
                                                   "threshold (the closest sounds are still listed)")
    hits: list[HitModel]


class SuggestionModel(BaseModel):
    text: str
    score: float
    source: str = Field(description="audioset, collection or joint")


class DescribeResponse(BaseModel):
    suggestions: list[SuggestionModel]


class SegmentModel(BaseModel):
    segment_id: int
    start: float
    end: float
    tags: list[str]


class SoundModel(BaseModel):
    """An indexed sound. `audio_url` plays it (range requests); `waveform_url` gives its peaks."""

    sound_id: int
    path: str
    name: str
    duration: float
    sample_rate: int
    channels: int
    format: str | None
    size: int
    text: str
    tags: list[str] = Field(description="its segments' tags, most frequent first")
    audio_url: str
    waveform_url: str


class SoundDetail(SoundModel):
    segments: list[SegmentModel]


class SoundList(BaseModel):
    total: int
    offset: int
    limit: int
    next_offset: int | None
    sounds: list[SoundModel]


class TagCount(BaseModel):
    tag: str
    sounds: int


class InfoResponse(BaseModel):
    audio_encoder: str
    sounds: int
    segments: int
    seconds: int
    failures: int
    joint_model: bool
    max_upload_bytes: int
    max_upload_seconds: float
    auth_required: bool


class HealthResponse(BaseModel):
    """`worker`: the process id of the server process that answered; with `serve --workers N` each
    worker has its own result cache, so `cache` counts that worker's."""

    status: str
    sounds: int
    segments: int
    cache: dict[str, int]
    worker: int


class WaveformResponse(BaseModel):
    """Peak envelope: `peaks[i] = [min, max]` of the samples in bucket i (mono mix, -1..1)."""

    sound_id: int
    duration: float
    width: int
    peaks: list[list[float]]
