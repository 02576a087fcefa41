"""The tag grammar: names, versions, stages, tag names and shortcuts, exactly as GTO writes them.

Pure functions, no I/O. A tag that does not match the grammar belongs to someone else and
parses to ``None``; it is never an error.

The grammar is GTO's regular expressions (gto/constants.py), matched with `fullmatch`: GTO anchors
them with `$`, which also accepts a trailing newline, and git cannot store one in a tag name.
"""

from __future__ import annotations

import re
from collections import namedtuple
from dataclasses import dataclass
from functools import lru_cache

from .errors import UserError

# GTO's patterns, with `(?:...)` for its unnamed groups: only the named groups of TAG and SHORTCUT
# are read, and capturing the others costs time on every tag (benchmarks/parse_bench.py).
NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
DIRNAME = r"[a-zA-Z0-9-_./]+"
SEMVER = (
    r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)
FULLNAME = f"(?:{DIRNAME}:)?{NAME}"
VERSION = f"v{SEMVER}"
TAG = (
    f"(?P<artifact>(?:{DIRNAME}=)?{NAME})"
    f"(?:(?:#(?P<stage>{NAME})|@(?P<version>{VERSION}))(?P<cancel>!?)"
    f"|@(?:(?P<deprecated>deprecated)|(?P<created>created)))"
    r"(?:#(?P<counter>[0-9]+))?"
)
SHORTCUT = f"(?P<artifact>{FULLNAME})(?:#(?P<stage>{NAME})|@(?P<version>latest|greatest|{VERSION}))"

_NAME = re.compile(NAME)
_FULLNAME = re.compile(FULLNAME)
_VERSION = re.compile(VERSION)
_TAG = re.compile(TAG)
_SHORTCUT = re.compile(SHORTCUT)

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


@dataclass(frozen=True)
class Shortcut:
    """`NAME`, `NAME@latest`, `NAME@greatest`, `NAME@vX.Y.Z` or `NAME#stage`."""

    name: str
    version: str | None = None  # "latest", "greatest" or a version
    stage: str | None = None

    @property
    def latest(self) -> bool:
        """True for `@latest` and `@greatest`, which GTO treats the same."""
        return self.version in ("latest", "greatest")


def is_name(value: str) -> bool:
    """Whether value is a simple name (also valid for stages, types and labels): NAME."""
    return _NAME.fullmatch(value) is not None


def is_fullname(value: str) -> bool:
    """Whether value is an artifact name, optionally `dir/path:name`: FULLNAME."""
    return _FULLNAME.fullmatch(value) is not None


@lru_cache(maxsize=1 << 16)  # asked again and again for the same versions while building a registry
def is_version(value: str) -> bool:
    """Whether value is `v` followed by a SemVer 2.0 version: VERSION."""
    return _VERSION.fullmatch(value) is not None


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


def split_fullname(name: str) -> tuple[str | None, str]:
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


def parse_tag(tag: str) -> ParsedTag | None:
    """Parse a tag name (with or without `refs/tags/`); None if it is not a registry tag."""
    tag = tag.removeprefix("refs/tags/")
    fields = tag_fields(tag)
    return None if fields is None else ParsedTag(*fields)


def tag_fields(tag: str) -> tuple | None:
    """`parse_tag` as a plain tuple (name, event, version, stage, counter), for a tag name without
    `refs/tags/`: what building a registry calls once per tag."""
    match = _TAG.fullmatch(tag)
    if match is None:
        return None
    artifact, stage, version, cancel, deprecated, _created, counter = match.groups()
    if version is not None:
        event = DEREGISTRATION if cancel else REGISTRATION
    elif stage is not None:
        event = UNASSIGNMENT if cancel else ASSIGNMENT
    else:
        event = DEPRECATION if deprecated else CREATION
    return (artifact.replace("=", ":"), event, version, stage, None if counter is None else int(counter))


@lru_cache(maxsize=1 << 16)
def version_key(version: str) -> tuple:
    """Sort key for SemVer 2.0 precedence of `vX.Y.Z[-pre][+build]` (build metadata ignored)."""
    if not is_version(version):
        raise GrammarError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
    # The numbers hold neither `-` nor `+`, the prerelease no `+`: the first of each ends them.
    core, dash, pre = version[1:].partition("+")[0].partition("-")
    major, minor, patch = core.split(".")
    release = (int(major), int(minor), int(patch))
    if not dash:
        return (*release, (1,))  # a release ranks above its prereleases
    # Numeric identifiers compare as numbers and rank below alphanumeric ones.
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*release, (0, parts))


def bump(version: str | None, part: str) -> str:
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
    version: str | None = None,
    stage: str | None = None,
    counter: int | None = None,
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


def parse_shortcut(value: str) -> Shortcut | None:
    """Parse `NAME`, `NAME@latest|@greatest|@vX.Y.Z` or `NAME#stage` (FULLNAME or SHORTCUT); None
    if neither."""
    if is_fullname(value):
        return Shortcut(value)
    match = _SHORTCUT.fullmatch(value)
    if match is None:
        return None
    return Shortcut(match["artifact"], version=match["version"], stage=match["stage"])


def message_for(event: str, name: str, version: str | None = None, stage: str | None = None) -> str:
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
