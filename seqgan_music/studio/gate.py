"""The studio's gate (`Gate`): what every request must pass before any route runs.

It turns away a request with a foreign Host header (DNS rebinding), one a browser marks as
coming from another origin (`Sec-Fetch-Site`, `Origin`), one without the launch token, and a
state-changing request without the CSRF header; see `studio.app` and docs/security.md.
"""

from __future__ import annotations

import secrets
import sys

from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seqgan_music.studio.state import Studio

SAFE_METHODS = ("GET", "HEAD")


def host_name(header: str) -> str:
    if header.startswith("["):  # [::1]:8000
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Gate:
    """Host-header check and launch token on every request (see the module docstring)."""

    def __init__(self, app: ASGIApp, studio: Studio) -> None:
        self.app = app
        self.studio = studio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = host_name(request.headers.get("host", "")).lower()
        if self.studio.hosts and host not in self.studio.hosts:
            await refuse(403, f"Host {host or '(none)'} is not this studio's address; open "
                          "the URL the studio printed")(scope, receive, send)
            return
        foreign = cross_origin(request)
        if foreign:
            await refuse(403, foreign)(scope, receive, send)
            return
        offered = (request.query_params.get("token") or request.headers.get("x-studio-token")
                   or request.cookies.get(self.studio.cookie) or "")
        if not same(offered, self.studio.token):
            await refuse(401, "this studio needs its launch token: open the full URL the "
                          "`seqgan-music studio` command printed")(scope, receive, send)
            return
        if request.method not in SAFE_METHODS and not (
                same(request.headers.get("x-studio-csrf", ""), self.studio.csrf)
                or same(request.headers.get("x-studio-token", ""), self.studio.token)):
            # A cookie (or a token in the address) alone never changes anything: a page on
            # another port of this host gets the cookie, but cannot set this header.
            await refuse(403, "this request lacks the studio's X-Studio-CSRF header; use the "
                          "studio's own page")(scope, receive, send)
            return
        if request.query_params.get("token") and request.method == "GET" \
                and not scope["path"].startswith("/api/"):
            # First visit: keep the token in a cookie and drop it from the address bar.
            response = RedirectResponse(local_path(scope["path"]), status_code=303)
            response.set_cookie(self.studio.cookie, self.studio.token, httponly=True,
                                samesite="strict")
            await response(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:  # a bug or a surprise: one line, never a traceback, server up
            print(f"studio: {scope['path']}: {type(error).__name__}: {error}", file=sys.stderr)
            if not started:
                await refuse(500, f"the studio could not do that ({type(error).__name__}: "
                              f"{error})")(scope, receive, send)


def refuse(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def same(offered: str, expected: str) -> bool:
    return bool(offered) and secrets.compare_digest(offered.encode("utf-8", "replace"),
                                                    expected.encode())


def cross_origin(request: Request) -> str | None:
    """Why a request comes from another origin (and is refused), or None.

    Browsers say where a request comes from: `Sec-Fetch-Site` (same-origin, or none for an
    address typed or opened from the terminal; same-site is another port of this host) and
    `Origin` (on POSTs and cross-origin fetches; `null` from sandboxed pages and files).
    Programs that send neither (curl, the tests) are judged by the token alone.
    """
    site = request.headers.get("sec-fetch-site", "").lower()
    if site and site not in ("same-origin", "none"):
        return (f"a request from another site or port ({site}) is refused; the studio answers "
                "its own page only")
    origin = request.headers.get("origin")
    if origin is not None:
        expected = {f"{scheme}://{request.headers.get('host', '').lower()}"
                    for scheme in ("http", "https")}
        if origin.lower().rstrip("/") not in expected:
            return (f"a request from origin {origin[:100]!r} is refused; the studio answers "
                    "its own page only")
    return None


def local_path(path: str) -> str:
    """`path` when it names a path of this studio, else `/` (never `//host/`, `/\\host`)."""
    if not path.startswith("/") or path[1:2] in ("/", "\\") or "\\" in path \
            or any(ord(c) < 32 for c in path):
        return "/"
    return path
