"""Uploaded query sounds: temp files, the size cap and the duration cap.

The app refuses request bodies over the cap (+ MULTIPART_SLACK) with 413 while they stream in (FastAPI's
`max_body_size`), so a huge upload never reaches the disk. `saved_upload` writes the part to a temp file keeping a sanitized suffix (decoders look at it),
probes it, and deletes it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

from fastapi import HTTPException, UploadFile

from soundseek.audio import probe

#: Room for the multipart envelope around the file part.
MULTIPART_SLACK = 64 * 1024
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")

def safe_suffix(filename: str | None) -> str:
    """The file name's extension when it looks like one (letters and digits), else '.bin'."""
    suffix = Path(filename or "").suffix
    return suffix.lower() if _SUFFIX.match(suffix) else ".bin"


@contextlib.contextmanager
def saved_upload(upload: UploadFile, *, max_bytes: int, max_seconds: float) -> Iterator[Path]:
    """The upload as a temp file (deleted on exit), checked against the size and duration caps.

    Raises: HTTPException 400 (empty), 413 (too large or too long), 422 (not readable audio).
    """
    fd, name = tempfile.mkstemp(prefix="soundseek-upload-", suffix=safe_suffix(upload.filename))
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_capped(upload, out, max_bytes)
        if path.stat().st_size == 0:
            raise HTTPException(400, "empty upload: send an audio file in the 'file' form field")
        _check_duration(path, max_seconds)
        yield path
    finally:
        path.unlink(missing_ok=True)


def _copy_capped(upload: UploadFile, out: Any, max_bytes: int) -> None:
    total = 0
    while chunk := upload.file.read(1 << 20):
        total += len(chunk)
        if total > max_bytes:
            raise HTTPException(413, f"upload too large: the limit is {max_bytes} bytes")
        out.write(chunk)


def _check_duration(path: Path, max_seconds: float) -> None:
    from soundseek.errors import AudioError

    try:
        info = probe(path)
    except AudioError as exc:
        raise HTTPException(422, f"not usable audio: {exc}") from exc
    if info.duration > max_seconds:
        raise HTTPException(413, f"upload too long: {info.duration:.1f} s exceeds the limit of {max_seconds:g} s")
