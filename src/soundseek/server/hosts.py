"""Refuse requests whose `Host` header is not one of the server's own names (DNS rebinding).

A page on another site can make the browser send requests to a name it controls that resolves to
127.0.0.1; the browser then treats the answers as that site's, token-less. Those requests still carry
the other site's name in `Host`, so a server that answers only to its own names cannot be reached this
way. By default the names are the loopback ones; `soundseek serve --host` adds the address it binds
and `--allow-host NAME` (repeatable; `*` = any) adds names the server is reached by.
"""

from __future__ import annotations

import json
from typing import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_HOST = "*"


def host_name(header: str) -> str:
    """The name part of a Host header, lower-cased, without port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header[1:]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed_names(bind_host: str | None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The loopback names, the bound address (unless a wildcard), and `extra`."""
    names = set(LOOPBACK_NAMES) | {host_name(h) if h != ANY_HOST else ANY_HOST for h in extra}
    if bind_host and bind_host not in ("0.0.0.0", "::", ""):
        names.add(host_name(bind_host))
    return frozenset(names)


class HostCheckMiddleware:
    """Pure ASGI middleware answering 421 to HTTP requests for another host name."""

    def __init__(self, app: ASGIApp, *, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or ANY_HOST in self.allowed:
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if host_name(header) in self.allowed:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": f"this server does not answer to the host name {host_name(header)!r}; "
                                     "start it with --allow-host NAME to allow it"}).encode()
        await send({"type": "http.response.start", "status": 421,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
