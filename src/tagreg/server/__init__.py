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
from typing import TextIO

from ..errors import UserError

EXTRA = ("fastapi", "jinja2", "uvicorn")


def missing() -> list[str]:
    """The server's dependencies that are not installed."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


def hash_token_line(stream: TextIO) -> str:
    """The `hash:` line for the token on stream's first line (what `tagreg serve --hash-token` prints)."""
    from .people import TokenError, hash_line

    if stream.isatty():
        import click

        token = click.prompt("Token", hide_input=True, err=True)
    else:
        token = stream.readline(4096).rstrip("\r\n")
    try:
        return f"hash: {hash_line(token)}"
    except TokenError as exc:
        raise UserError(str(exc)) from None


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
    from .people import TokenError, check_token, digest

    loaded = S.load(config)
    token = os.environ.get("TAGREG_TOKEN") or None
    if write and not token and not loaded.people:
        raise UserError("--write needs a token: set TAGREG_TOKEN to a long random secret, or list people's tokens "
                        "under `tokens:` in the config")
    if write and token:
        try:
            check_token(token, "TAGREG_TOKEN", " for --write")
        except TokenError as exc:
            raise UserError(str(exc)) from None
        if any(p.digest == digest(token) for p in loaded.people):
            raise UserError("TAGREG_TOKEN is also a person's token in the config: the admin token must be its own")
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
    mode = (f"read and write, {len(loaded.people)} personal token{'' if len(loaded.people) == 1 else 's'}"
            f"{' and the admin token' if token else ''}" if write else "read-only")
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
