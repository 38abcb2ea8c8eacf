"""Search filters: what every search can be restricted to (the engine applies them, search/pushdown.py
writes them as a Milvus expression)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Filters:
    """Restrictions applied to every search. `None` means no restriction."""

    min_duration: float | None = None
    max_duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    tag: str | None = None
    path_glob: str | None = None

    def active(self) -> bool:
        return any(v is not None for v in asdict(self).values())
