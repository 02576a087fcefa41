"""The tag grammar: names, versions, stages, tag names and shortcuts, exactly as GTO writes them.

Pure functions, no I/O. A tag that does not match the grammar belongs to someone else and
parses to ``None``; it is never an error.
"""

from __future__ import annotations

import re
from collections import namedtuple
from functools import lru_cache

from .errors import UserError
from .record import record

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from typing import Optional

NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
DIRNAME = r"[a-zA-Z0-9-_./]+"
SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)

# Used with fullmatch: `$` would also accept a trailing newline, which git cannot store in a tag.
_NAME_RE = re.compile(NAME)
_FULLNAME_RE = re.compile(f"(?:{DIRNAME}:)?{NAME}")
_VERSION_RE = re.compile(f"v{SEMVER}")
_TAG_RE = re.compile(
    f"(?P<artifact>(?:{DIRNAME}=)?{NAME})"
    f"(?:(?:#(?P<stage>{NAME})|@(?P<version>v{SEMVER}))(?P<cancel>!?)"
    f"|@(?:(?P<deprecated>deprecated)|(?P<created>created)))"
    r"(?:#(?P<counter>[0-9]+))?"
)

# GTO's event words, used in JSON, history and check-ref.
REGISTRATION = "registration"
DEREGISTRATION = "deregistration"
ASSIGNMENT = "assignment"
UNASSIGNMENT = "unassignment"
DEPRECATION = "deprecation"
CREATION = "creation"  # NAME@created: matches GTO's grammar but GTO gives it no meaning

# History ordering at equal timestamps, as GTO sorts them.
PRIORITY = {
    "commit": 0,
    CREATION: 1,
    DEPRECATION: 2,
    REGISTRATION: 3,
    DEREGISTRATION: 4,
    ASSIGNMENT: 5,
    UNASSIGNMENT: 6,
}

# GTO's action words, as `parse-tag` prints them.
ACTIONS = {
    REGISTRATION: "register",
    DEREGISTRATION: "deregister",
    ASSIGNMENT: "assign",
    UNASSIGNMENT: "unassign",
    DEPRECATION: "deprecate",
}

INVALID_NAME = (
    "Invalid value '{}'. Only letters, numbers, '_', '-', '/' are allowed. "
    "Value must be of len >= 2 and must start and end with a letter or a number."
)


class GrammarError(UserError, ValueError):
    """A name, version or stage that the grammar refuses."""


class ParsedTag(namedtuple("ParsedTag", "name event version stage counter", defaults=(None, None, None))):
    """What a registry tag name says: which event (one of the words above), for which artifact (its
    full name, with ':' for monorepo names), version or stage, and the `#N` counter."""

    __slots__ = ()


@record(frozen=True)
class Shortcut:
    """`NAME`, `NAME@latest`, `NAME@greatest`, `NAME@vX.Y.Z` or `NAME#stage`."""

    name: str
    version: Optional[str] = None  # "latest", "greatest" or a version
    stage: Optional[str] = None

    @property
    def latest(self) -> bool:
        """True for `@latest` and `@greatest`, which GTO treats the same."""
        return self.version in ("latest", "greatest")


def is_name(value: str) -> bool:
    """Whether value is a simple name (also valid for stages, types and labels)."""
    return bool(_NAME_RE.fullmatch(value))


def is_fullname(value: str) -> bool:
    """Whether value is an artifact name, optionally `dir/path:name`."""
    return bool(_FULLNAME_RE.fullmatch(value))


@lru_cache(maxsize=1 << 16)  # asked again and again for the same versions while building a registry
def is_version(value: str) -> bool:
    """Whether value is `v` followed by a SemVer 2.0 version."""
    return bool(_VERSION_RE.fullmatch(value))


def check_name(value: str) -> str:
    """Return value if it is a valid artifact name, else raise GrammarError."""
    if not isinstance(value, str) or not is_fullname(value):
        raise GrammarError(INVALID_NAME.format(value))
    return value


def check_stage(value: str) -> str:
    """Return value if it is a valid stage (or type, or label) name, else raise GrammarError."""
    if not isinstance(value, str) or not is_name(value):
        raise GrammarError(INVALID_NAME.format(value))
    return value


def split_fullname(name: str) -> tuple[Optional[str], str]:
    """`dir/sub:clf` -> (`dir/sub`, `clf`); `clf` -> (None, `clf`)."""
    if ":" in name:
        dirname, _, short = name.rpartition(":")
        return dirname, short
    return None, name


def tag_prefix(name: str) -> str:
    """The artifact part of every tag of name (`dir/sub:clf` -> `dir/sub=clf`)."""
    return name.replace(":", "=")


def ref_patterns(name: str) -> list[str]:
    """`git for-each-ref` patterns that match every tag of one artifact (and a few more)."""
    prefix = tag_prefix(name)
    # git's `*` does not cross `/`, and stages may contain one (`m#team/prod#1`).
    return [f"refs/tags/{prefix}@*", f"refs/tags/{prefix}#*", f"refs/tags/{prefix}#*/**"]


def parse_tag(tag: str) -> Optional[ParsedTag]:
    """Parse a tag name (with or without `refs/tags/`); None if it is not a registry tag."""
    if tag.startswith("refs/tags/"):
        tag = tag[len("refs/tags/"):]
    fields = tag_fields(tag)
    return None if fields is None else ParsedTag(*fields)


def tag_fields(tag: str) -> Optional[tuple]:
    """`parse_tag` as a plain tuple (name, event, version, stage, counter), for a tag name without
    `refs/tags/`: what building a registry calls once per tag."""
    m = _TAG_RE.fullmatch(tag)
    if m is None:
        return None
    artifact, stage, version, cancel, deprecated, counter = m.group(
        "artifact", "stage", "version", "cancel", "deprecated", "counter")
    name = artifact.replace("=", ":") if "=" in artifact else artifact
    count = int(counter) if counter is not None else None
    if version:
        return (name, DEREGISTRATION if cancel else REGISTRATION, version, None, count)
    if stage:
        return (name, UNASSIGNMENT if cancel else ASSIGNMENT, None, stage, count)
    if deprecated:
        return (name, DEPRECATION, None, None, count)
    return (name, CREATION, None, None, count)


@lru_cache(maxsize=1 << 16)
def version_key(version: str) -> tuple:
    """Sort key for SemVer 2.0 precedence of `vX.Y.Z[-pre][+build]` (build metadata ignored)."""
    m = _VERSION_RE.fullmatch(version)
    if m is None:
        raise GrammarError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
    major, minor, patch, pre = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    if pre is None:
        return (major, minor, patch, (1,))  # a release ranks above its prereleases
    # Numeric identifiers compare as numbers and rank below alphanumeric ones.
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, (0, parts))


def bump(version: Optional[str], part: str) -> str:
    """The next version: `major`, `minor` or `patch` (prerelease and build dropped); v0.0.1 first."""
    if version is None:
        return "v0.0.1"
    major, minor, patch = version_key(version)[:3]
    if part == "major":
        return f"v{major + 1}.0.0"
    if part == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"  # as python-semver: v1.0.0-rc.1 -> v1.0.1


def format_tag(
    name: str,
    event: str,
    version: Optional[str] = None,
    stage: Optional[str] = None,
    counter: Optional[int] = None,
) -> str:
    """Build the tag name GTO would write for an event."""
    check_name(name)
    prefix = tag_prefix(name)
    if event in (REGISTRATION, DEREGISTRATION):
        if version is None or not is_version(version):
            raise GrammarError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
        body = f"{prefix}@{version}" + ("!" if event == DEREGISTRATION else "")
    elif event in (ASSIGNMENT, UNASSIGNMENT):
        check_stage(stage or "")
        body = f"{prefix}#{stage}" + ("!" if event == UNASSIGNMENT else "")
    elif event == DEPRECATION:
        body = f"{prefix}@deprecated"
    else:
        raise GrammarError(f"Cannot write a tag for event '{event}'")
    if counter is not None:
        if not isinstance(counter, int) or isinstance(counter, bool) or counter < 0:
            raise GrammarError(f"Counter must be a non-negative integer, not {counter!r}")
        body += f"#{counter}"
    return body


@lru_cache(maxsize=None)
def _shortcut_re() -> re.Pattern:
    """Compiled on first use: most commands never parse a shortcut (compiling costs a millisecond)."""
    return re.compile(
        f"(?P<artifact>(?:{DIRNAME}:)?{NAME})"
        f"(?:#(?P<stage>{NAME})|@(?P<version>latest|greatest|v{SEMVER}))"
    )


def parse_shortcut(value: str) -> Optional[Shortcut]:
    """Parse `NAME`, `NAME@latest|@greatest|@vX.Y.Z` or `NAME#stage`; None if neither."""
    if is_fullname(value):
        return Shortcut(value)
    m = _shortcut_re().fullmatch(value)
    if m is None:
        return None
    return Shortcut(m.group("artifact"), version=m.group("version"), stage=m.group("stage"))


def message_for(event: str, name: str, version: Optional[str] = None, stage: Optional[str] = None) -> str:
    """The default tag message GTO writes for an event."""
    if event == REGISTRATION:
        return f"Registering artifact {name} version {version}"
    if event == DEREGISTRATION:
        return f"Deregistering artifact {name} version {version}"
    if event == ASSIGNMENT:
        return f"Assigning stage {stage} to artifact {name} version {version}"
    if event == UNASSIGNMENT:
        return f"Unassigning stage '{stage}' to artifact '{name}' version '{version}'"
    if event == DEPRECATION:
        return f"Deprecating artifact '{name}'"
    raise GrammarError(f"No message for event '{event}'")
