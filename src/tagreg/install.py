"""How to add one of tagreg's optional extras (dvc, server) to the tagreg that is running.

tagreg is not on PyPI, so `pip install "tagreg[dvc]"` finds nothing (or someone else's package).
The line an error message gives installs from where this copy of tagreg came from, as pip
recorded it (PEP 610's direct_url.json: a folder, a Git URL at its commit, an archive), into the
environment it runs in (`PYTHON -m pip`); when that is not known, from a checkout of tagreg's
repository.
"""

from __future__ import annotations

import json
import shlex
import sys
from urllib.parse import unquote, urlsplit


def pip_install(extra: str) -> str:
    """A command that adds extra to this tagreg, e.g. `/venv/bin/python -m pip install -e '/src/tagreg[dvc]'`."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    origin = _direct_url()
    url = origin.get("url") if isinstance(origin.get("url"), str) else None
    dir_info, vcs_info = origin.get("dir_info"), origin.get("vcs_info")
    if url and url.startswith("file://") and isinstance(dir_info, dict):
        where = shlex.quote(f"{unquote(urlsplit(url).path)}[{extra}]")
        return f"{pip} -e {where}" if dir_info.get("editable") else f"{pip} {where}"
    if url and isinstance(vcs_info, dict) and vcs_info.get("vcs") == "git" and "@" not in urlsplit(url).netloc:
        commit = vcs_info.get("commit_id")
        at = f"@{commit}" if isinstance(commit, str) and commit.isalnum() else ""
        return f"{pip} {shlex.quote(f'tagreg[{extra}] @ git+{url}{at}')}"
    if url and isinstance(origin.get("archive_info"), dict) and "@" not in urlsplit(url).netloc:
        return f"{pip} {shlex.quote(f'tagreg[{extra}] @ {url}')}"
    return f"{pip} -e {shlex.quote(f'.[{extra}]')} in a checkout of tagreg's repository"


def _direct_url() -> dict:
    """What pip recorded of where it installed tagreg from ({} when it recorded nothing)."""
    from importlib import metadata

    try:
        text = metadata.distribution("tagreg").read_text("direct_url.json")
        found = json.loads(text) if text else {}
    except (metadata.PackageNotFoundError, ValueError, OSError):
        return {}
    return found if isinstance(found, dict) else {}
