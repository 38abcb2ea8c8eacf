"""The soundseek HTTP API and web page: `create_app(collection_dir, ...)` builds one FastAPI app.

Routes: /api/... (JSON API, see docs/server.md), /docs (OpenAPI UI), / and /sound/{id} (the web page),
/static/... (its files, shipped in the package). Every error a client can cause is a 4xx JSON
`{"detail": "..."}`; an unexpected failure is a 500 with a generic message (the traceback goes to the log).
"""

from __future__ import annotations

import hmac
import logging
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, AsyncIterator

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soundseek.errors import AudioError, CollectionError, QueryError, SoundseekError
from soundseek.search.engine import SearchEngine
from soundseek.server.hosts import HostCheckMiddleware, allowed_names
from soundseek.server.state import (
    CACHE_SIZE,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_SECONDS,
    REFRESH_SECONDS,
    ServerConfig,
    ServerState,
    open_state,
)
from soundseek.server.uploads import BodyLimitMiddleware

log = logging.getLogger("soundseek.server")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                                "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"),
}
# /docs loads Swagger UI from a CDN, so the strict policy is not applied there.
_DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def create_app(collection_dir: Path | str, *, token: str | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               max_upload_seconds: float = MAX_UPLOAD_SECONDS, cache_size: int = CACHE_SIZE,
               model_dir: Path | None = None, engine: SearchEngine | None = None,
               allowed_hosts: frozenset[str] | None = None, refresh_seconds: float = REFRESH_SECONDS) -> FastAPI:
    """Build the app over one collection (opened now; CollectionError if it is missing).

    `token`: when set, every /api route but /api/health needs it (`Authorization: Bearer T`,
    `X-API-Token: T`, or `?token=T` for media elements); an empty token is refused. `engine`: reuse an
    engine already built. `allowed_hosts`: the Host names answered (default: the loopback names; see
    server/hosts.py). `refresh_seconds`: how often requests check for a re-indexed collection.
    """
    check_token(token)
    config = ServerConfig(Path(collection_dir), token or None, max_upload_bytes, max_upload_seconds, cache_size, model_dir,
                          refresh_seconds)
    state = ServerState(config, engine) if engine is not None else open_state(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="soundseek", version=_version(), summary="Find sounds by words or by example",
                  description="Search, audition and explore a soundseek collection. See docs/server.md.",
                  lifespan=lifespan)
    app.state.soundseek = state
    _add_routes(app, config)
    _add_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_upload_bytes)
    app.add_middleware(HostCheckMiddleware, allowed=allowed_hosts or allowed_names(None))
    return app


def check_token(token: str | None) -> None:
    """QueryError for an empty (or blank) API token: a server that looks protected but is not."""
    if token is not None and not token.strip():
        raise QueryError("the API token is empty: give a real token, or none to serve without one")


def _add_routes(app: FastAPI, config: ServerConfig) -> None:
    from soundseek.server.routes_export import router as export_router
    from soundseek.server.routes_search import router as search_router
    from soundseek.server.routes_sounds import health_router
    from soundseek.server.routes_sounds import router as sounds_router

    auth = [Depends(_token_checker(config.token))]
    app.include_router(health_router)
    app.include_router(sounds_router, dependencies=auth)
    app.include_router(search_router, dependencies=auth)
    app.include_router(export_router, dependencies=auth)
    static = resources.files("soundseek") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    index = Path(str(static / "index.html"))

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    @app.get("/sound/{sound_id}", include_in_schema=False)
    def sound_page(sound_id: int) -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def _token_checker(expected: str | None):  # type: ignore[no-untyped-def]
    """A dependency refusing requests without the API token (a no-op when no token is set)."""

    async def check(authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
              x_api_token: Annotated[str | None, Header(include_in_schema=False)] = None,
              token: Annotated[str | None, Query(include_in_schema=False)] = None) -> None:
        if expected is None:
            return
        given = x_api_token or token
        if authorization and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "missing or wrong API token (send 'Authorization: Bearer TOKEN')",
                                headers={"WWW-Authenticate": "Bearer"})

    return check


def _add_error_handlers(app: FastAPI) -> None:
    statuses: dict[type[SoundseekError], int] = {QueryError: 400, AudioError: 422, CollectionError: 409}

    async def soundseek_error(request: Request, exc: Exception) -> JSONResponse:
        status = next((code for cls, code in statuses.items() if isinstance(exc, cls)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        return JSONResponse({"detail": _describe_validation(errors), "errors": _jsonable(errors)}, status_code=422)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (see the server log)"}, status_code=500)

    app.add_exception_handler(SoundseekError, soundseek_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)


def _describe_validation(errors: list) -> str:  # type: ignore[type-arg]
    """One readable line, e.g. "query parameter 'top': Input should be less than or equal to 100"."""
    if not errors:
        return "invalid request"
    parts = []
    for err in errors[:3]:
        loc = [str(x) for x in err.get("loc", ())]
        where = f"{loc[0]} '{'.'.join(loc[1:])}'" if len(loc) > 1 else (loc[0] if loc else "request")
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _jsonable(errors: list) -> list:  # type: ignore[type-arg]
    return [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors]


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding SECURITY_HEADERS to every response (not CSP/framing on /docs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        self.docs_headers = [(k, v) for k, v in self.headers if k not in (b"content-security-policy", b"x-frame-options")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_headers if scope["path"].startswith(_DOCS_PATHS) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _version() -> str:
    from soundseek import __version__

    return __version__
