"""The HTTP API and web page (`soundseek serve`); needs the 'serve' extra (fastapi, uvicorn, pillow)."""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See `soundseek.server.app.create_app` (imported lazily so a missing extra gets a clear error)."""
    try:
        from soundseek.server.app import create_app as build
    except ImportError as exc:
        if (exc.name or "").startswith("soundseek"):
            raise
        from soundseek.errors import MissingExtraError

        raise MissingExtraError("serve", exc.name or "fastapi") from exc
    return build(*args, **kwargs)
