"""The Python API: what a user's script calls, and what every CLI command is a thin call into.

Functions take the repository first (a path, a URL, or a `Repository`), return plain records
(`tagreg.record`) and never print. User mistakes raise `RegistryError` (or another
`tagreg.errors.UserError`) with one clear line. (`get` and `open` take the artifact first:
`open("churn", stage="prod", repo=URL)`.)

Submodules are imported on first use, so a command pays only for what it calls.
"""

from __future__ import annotations

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from typing import Any

_WHERE = {
    "annotate": "annotate", "link": "annotate", "remove": "annotate", "uncommitted_edits": "annotate",
    "Located": "deliver", "get": "deliver", "locate": "deliver", "open": "deliver", "parse_size": "deliver",
    "doctor": "doctor", "remote_tags": "doctor", "RemoteTags": "doctor",
    "assignment_ref": "read", "check_ref": "read", "close_artifacts": "read", "describe": "read",
    "find_versions_in_stage": "read", "history": "read", "latest": "read", "show": "read", "show_registry": "read",
    "show_versions": "read", "stages": "read", "which": "read",
    "Repository": "repository",
    "AnnotationChange": "results", "ArtifactInfo": "results", "BadFile": "results", "Check": "results", "HistoryEntry": "results",
    "Notice": "results", "RefInfo": "results", "RegistryError": "results", "RegistryView": "results",
    "TagChange": "results", "VersionInfo": "results",
    "assign": "write", "deprecate": "write", "register": "write", "rollback": "write",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tagreg.api' has no attribute '{name}'")
    value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors
    from .annotate import annotate, link, remove  # noqa: F401
    from .deliver import Located, get, locate, open, parse_size  # noqa: F401
    from .doctor import RemoteTags, doctor, remote_tags  # noqa: F401
    from .read import (assignment_ref, check_ref, close_artifacts, describe, find_versions_in_stage, history,  # noqa: F401
                       latest, show, show_registry, show_versions, stages, which)
    from .repository import Repository  # noqa: F401
    from .results import (AnnotationChange, ArtifactInfo, BadFile, Check, HistoryEntry, Notice, RefInfo,  # noqa: F401
                          RegistryError, RegistryView, TagChange, VersionInfo)
    from .write import assign, deprecate, register, rollback  # noqa: F401
