"""The ASGI application: routes, error handling, security headers, the browser session cookie."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import UserError
from . import pages as P
from . import rest
from .index import damaged
from .limits import Bounded, Limits
from .security import SID_COOKIE, Guard
from .service import Dashboard, Problem, problem_for
from .settings import Settings
from .settings import load as load_settings
from .signing import ServerKey
from .sources import Hub, NotReady

log = logging.getLogger("tagreg.server")

# Scripts and styles only from our own /static: even an escaping bug could not run injected code.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Headers:
    """ASGI middleware: security headers on every answer, and a session id cookie for each browser."""

    def __init__(self, app, guard: Guard):
        self.app, self.guard = app, guard

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sid = None
        for key, value in scope.get("headers", []):
            if key == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == SID_COOKIE and v:
                        sid = v
        fresh = sid is None
        if fresh:
            sid = self.guard.new_sid()
        scope.setdefault("state", {})["sid"] = sid
        is_page = not scope["path"].startswith(("/api/", "/static/"))

        async def wrapped(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                            (b"x-frame-options", b"DENY")]
                if is_page:
                    headers.append((b"content-security-policy", CSP.encode()))
                    headers.append((b"cache-control", b"no-store"))
                    if fresh:
                        secure = "; Secure" if scope.get("scheme") == "https" else ""
                        headers.append((b"set-cookie",
                                        f"{SID_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax{secure}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, wrapped)


def create_app(settings: Settings, start_background: bool = True, limits: Limits | None = None) -> FastAPI:
    """The dashboard and API over the repositories of settings (answering only to localhost by default)."""
    limits = limits or Limits()
    key = ServerKey(settings.signing, f"{settings.source or 'the config'}: signing") if settings.signing else None
    hub = Hub(settings)
    dashboard = Dashboard(hub, key.key if key else None)
    source = str(settings.source) if settings.source else None
    guard = Guard(settings.token, settings.write, settings.people, config=source,
                  reload=(lambda: load_settings(source).people) if source else None)
    static = files("tagreg.server") / "static"
    digest = hashlib.sha256()
    for name in sorted(p.name for p in static.iterdir()):
        digest.update((static / name).read_bytes())
    pages = P.Pages(dashboard, guard, digest.hexdigest()[:10], max_form_fields=limits.max_form_fields)

    @asynccontextmanager
    async def lifespan(app):
        if start_background:
            hub.start()
        yield
        hub.stop()
        if key is not None:
            key.close()

    app = FastAPI(
        title="tagreg", version=__version__, lifespan=lifespan,
        description=(rest.__doc__ or "").strip(), openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.hub, app.state.dashboard, app.state.guard = hub, dashboard, guard

    def openapi() -> dict:
        if app.openapi_schema is None:  # the write endpoints' `security` names this scheme
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
                "type": "http", "scheme": "bearer",
                "description": "a person's token (the config's `tokens:`), or the server's (TAGREG_TOKEN)"}
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(rest.router(dashboard, guard))
    app.include_router(P.router(pages, app.openapi))
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/api/"

    def answer(request: Request, problem: Problem):
        return rest.error_json(problem) if is_api(request) else pages.error(request, problem)

    app.add_middleware(Bounded, limits=limits, reject=lambda scope, problem: answer(Request(scope), problem))

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem):
        return answer(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: f"there is nothing at {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return answer(request, Problem(exc.status_code, code, message))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                            for e in exc.errors())
        return answer(request, Problem(422, "invalid", details or "invalid request"))

    @app.exception_handler(UserError)
    async def on_user_error(request: Request, exc: UserError):
        return answer(request, problem_for(exc))

    @app.exception_handler(NotReady)
    async def on_not_ready(request: Request, exc: NotReady):
        return answer(request, problem_for(exc))

    @app.exception_handler(sqlite3.DatabaseError)
    async def on_database_error(request: Request, exc: sqlite3.DatabaseError):
        if not damaged(exc):
            return await on_error(request, exc)
        from starlette.concurrency import run_in_threadpool

        # The index is only a cache: replace it, index the repositories again, and say so once.
        await run_in_threadpool(hub.recover)
        return answer(request, Problem(503, "index_rebuilt", "the server's index was damaged and has been rebuilt: "
                                                             "retry the request", retry_after=1))

    @app.exception_handler(Exception)  # a bug: logged here, never shown to the client
    async def on_error(request: Request, exc: Exception):
        problem = problem_for(exc)
        if problem.status >= 500 and problem.code == "internal":
            log.exception("error on %s %s", request.method, request.url.path, exc_info=exc)
        return answer(request, problem)

    return Headers(app, guard)  # type: ignore[return-value]

