"""Uploaded query sounds: a body-size cap enforced while the request streams in, temp files, duration cap.

`BodyLimitMiddleware` refuses a request body larger than the cap with a 413 JSON error before it is
read (by Content-Length up front, and by counting bytes for chunked bodies), so a huge upload never
reaches the disk. `saved_upload` writes the part to a temp file keeping a sanitized suffix (decoders look at it),
probes it, and deletes it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

from fastapi import HTTPException, UploadFile

from soundseek.audio import probe

#: Room for the multipart envelope around the file part.
MULTIPART_SLACK = 64 * 1024
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _TooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so FastAPI's body parsing lets it through as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"upload too large: the limit is {limit} bytes")


class BodyLimitMiddleware:
    """ASGI middleware: 413 for request bodies over `max_bytes` (+ MULTIPART_SLACK)."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limit = max_bytes + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.limit:
            await _send_413(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_413(send, self.max_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"upload too large: the limit is {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


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
