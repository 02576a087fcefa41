"""The Python API: what a user's script calls, and what every CLI command is a thin call into.

Functions take the repository first (a path, a URL, or a `Repository`), return plain dataclasses
(the domain objects of `tagreg.state`, or what an answer adds to them) and never print. User
mistakes raise `RegistryError` (or another `tagreg.errors.UserError`) with one clear line. (`get`
and `open` take the artifact first: `open("churn", stage="prod", repo=URL)`.)
"""

from .annotate import annotate, link, remove, uncommitted_edits
from .deliver import Located, get, locate, open, parse_size
from .doctor import RemoteTags, doctor, remote_tags
from .governance import Audit, Judged, TagVerdict, Verdict, host_rules, judge_tag, judged, tag_verdict, verify
from .read import (
    assignment_ref,
    check_ref,
    close_artifacts,
    describe,
    find_versions_in_stage,
    history,
    latest,
    show,
    show_options,
    show_registry,
    show_versions,
    stages,
    which,
)
from .repository import Repository, Writer
from .results import (
    AnnotationChange,
    ArtifactInfo,
    BadFile,
    Check,
    ListedVersion,
    Notice,
    PolicyRefusal,
    RefEvent,
    RegistryError,
    RegistryView,
    TagChange,
)
from .write import assign, deprecate, register, rollback

__all__ = [
    "AnnotationChange", "ArtifactInfo", "Audit", "BadFile", "Check", "Judged", "ListedVersion", "Located", "Notice",
    "PolicyRefusal", "RefEvent", "RegistryError", "RegistryView", "RemoteTags", "Repository", "TagChange", "TagVerdict",
    "Verdict", "Writer", "annotate",
    "assign", "assignment_ref", "check_ref", "close_artifacts", "deprecate", "describe", "doctor",
    "find_versions_in_stage", "get", "history", "host_rules", "judge_tag", "judged", "latest", "link", "locate", "open",
    "parse_size", "register",
    "remote_tags", "remove", "rollback", "show", "show_options", "show_registry", "show_versions", "stages",
    "tag_verdict", "uncommitted_edits", "verify", "which",
]
