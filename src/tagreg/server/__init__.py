"""`tagreg serve`: a web dashboard and REST API over one or many registries (the `server` extra).

Stack: FastAPI (on Starlette) for routing and the OpenAPI schema it derives from the endpoints'
signatures; Jinja2 for server-rendered pages with autoescaping; uvicorn to serve. No JavaScript
build step: one small script and one stylesheet under static/. SQLite (in the standard library)
holds the index, which is only a cache of what Git says (see index.py and sources.py).

Layout: settings (the config file) -> index (SQLite cache) -> sources (refs fingerprints,
re-indexing through `tagreg.api`, background fetches) -> service (reads and writes both the pages
and the API use) -> rest / pages (HTTP) -> app (the ASGI application). Nothing here is imported on
the CLI's start-up path: `tagreg serve` imports it inside the command.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

from ..errors import UserError

EXTRA = ("fastapi", "jinja2", "uvicorn")


def missing() -> list[str]:
    """The server's dependencies that are not installed."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


MIN_TOKEN_LENGTH = 32


def launch(config: str | None, host: str = "127.0.0.1", port: int = 8000, write: bool = False,
           allowed_hosts: Sequence[str] = (), header_timeout: float = 10.0, body_timeout: float = 30.0,
           max_connections: int | None = None) -> None:
    """Run the server until interrupted (what `tagreg serve` does)."""
    absent = missing()
    if absent:
        from ..install import pip_install

        raise UserError(f"the server needs {', '.join(absent)}: add tagreg's server extra (tagreg[server]): "
                        + pip_install("server"))
    from . import settings as S

    loaded = S.load(config)
    token = os.environ.get("TAGREG_TOKEN") or None
    if write and not token:
        raise UserError("--write needs a token: set TAGREG_TOKEN to a long random secret")
    if write and len(token) < MIN_TOKEN_LENGTH:  # type: ignore[arg-type]
        raise UserError(f"TAGREG_TOKEN is too short for --write: use at least {MIN_TOKEN_LENGTH} random characters, "
                        'e.g. from `python -c "import secrets; print(secrets.token_urlsafe(32))"`')
    for value, what in ((header_timeout, "--header-timeout"), (body_timeout, "--body-timeout")):
        if not value > 0:
            raise UserError(f"{what} must be a positive number of seconds")
    if max_connections is not None and max_connections < 1:
        raise UserError("--max-connections must be at least 1")
    loaded.write, loaded.token = write, token

    import logging

    from .app import create_app
    from .limits import Limits, default_hosts, serve

    limits = Limits(header_timeout=header_timeout, body_timeout=body_timeout, max_connections=max_connections,
                    allowed_hosts=default_hosts(host) + tuple(allowed_hosts))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    app = create_app(loaded, limits=limits)
    mode = "read and write" if write else "read-only"
    log = logging.getLogger("tagreg.server")
    log.info(
        "tagreg serves %d repositor%s (%s) at http://%s:%d (index: %s)", len(loaded.repos),
        "y" if len(loaded.repos) == 1 else "ies", mode, host if ":" not in host else f"[{host}]", port, loaded.index)
    log.info("host names answered: %s; at most %d connections", ", ".join(limits.allowed_hosts),
             limits.connections())
    if not allowed_hosts and host.strip("[]") in ("0.0.0.0", "::", ""):
        log.warning("listening on every address, but answering only to localhost: "
                    "name the host names clients use with --allowed-host NAME")
    if not serve(app, host, port, limits):
        raise UserError(f"the server could not start on {host}:{port} (see the message above)")
