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
from typing import Optional

from ..errors import UserError

EXTRA = ("fastapi", "jinja2", "uvicorn")


def missing() -> list[str]:
    """The server's dependencies that are not installed."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


def launch(config: Optional[str], host: str = "127.0.0.1", port: int = 8000, write: bool = False) -> None:
    """Run the server until interrupted (what `tagreg serve` does)."""
    absent = missing()
    if absent:
        raise UserError(f'the server needs {", ".join(absent)}: pip install "tagreg[server]"')
    from . import settings as S

    loaded = S.load(config)
    token = os.environ.get("TAGREG_TOKEN") or None
    if write and not token:
        raise UserError("--write needs a token: set TAGREG_TOKEN to a long random secret")
    loaded.write, loaded.token = write, token

    import logging

    import uvicorn

    from .app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    app = create_app(loaded)
    mode = "read and write" if write else "read-only"
    logging.getLogger("tagreg.server").info(
        "tagreg serves %d repositor%s (%s) at http://%s:%d (index: %s)", len(loaded.repos),
        "y" if len(loaded.repos) == 1 else "ies", mode, host if ":" not in host else f"[{host}]", port, loaded.index)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, server_header=False)
