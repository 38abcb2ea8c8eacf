"""Exceptions raised by soundseek. Every error a user can cause derives from `SoundseekError`."""

from __future__ import annotations


class SoundseekError(Exception):
    """Root of all soundseek errors; the CLI prints these without a traceback."""


class AudioError(SoundseekError):
    """An audio file cannot be used: unreadable, corrupt, empty, silent, too long."""


class CollectionError(SoundseekError):
    """A collection is missing, unreadable, or was built with incompatible settings."""


class ModelError(SoundseekError):
    """A model file is missing, has the wrong checksum, or cannot be loaded."""


class QueryError(SoundseekError):
    """A search request is malformed (empty text, bad time range, unknown filter)."""


class MissingExtraError(SoundseekError):
    """An optional dependency group (extra) is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this feature needs the '{extra}' extra (missing module '{module}'): "
            f"pip install 'soundseek[{extra}]'"
        )
