"""The Python API: what a user's script calls, and what every CLI command is a thin call into.

Functions take the repository first (a path, a URL, or a `Repository`), return plain dataclasses
and never print. User mistakes raise `RegistryError` (or another `tagreg.errors.UserError`) with one
clear line.
"""

from .annotate import annotate, link, remove
from .deliver import Located, get, locate, open
from .doctor import doctor
from .read import (
    assignment_ref,
    check_ref,
    describe,
    find_versions_in_stage,
    history,
    latest,
    show,
    show_registry,
    show_versions,
    stages,
    which,
)
from .repository import Repository
from .results import (
    AnnotationChange,
    ArtifactInfo,
    Check,
    HistoryEntry,
    RefInfo,
    RegistryError,
    RegistryView,
    TagChange,
    VersionInfo,
)
from .write import assign, deprecate, register

__all__ = [
    "AnnotationChange", "ArtifactInfo", "Check", "HistoryEntry", "RefInfo", "RegistryError", "RegistryView",
    "Repository", "TagChange", "VersionInfo", "annotate", "assign", "assignment_ref", "check_ref", "deprecate",
    "describe", "doctor", "find_versions_in_stage", "history", "latest", "register", "remove", "show",
    "show_registry", "show_versions", "stages", "which", "get", "open", "locate", "Located", "link",
]
