"""The tag grammar: names, versions, stages, tag names and shortcuts, exactly as GTO writes them.

Pure functions, no I/O. A tag that does not match the grammar belongs to someone else and
parses to ``None``; it is never an error.

The grammar is written below as regular expressions (GTO's), and implemented with plain string
operations: importing `re` and compiling these patterns cost every command ~10 ms, more than
parsing the tags of one artifact takes. tests/test_tags.py checks the two agree on any text.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import lru_cache

from .errors import UserError

NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
DIRNAME = r"[a-zA-Z0-9-_./]+"
SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
# Each with fullmatch (`$` would also accept a trailing newline, which git cannot store in a tag):
FULLNAME = f"(?:{DIRNAME}:)?{NAME}"
VERSION = f"v{SEMVER}"
TAG = (
    f"(?P<artifact>(?:{DIRNAME}=)?{NAME})"
    f"(?:(?:#(?P<stage>{NAME})|@(?P<version>v{SEMVER}))(?P<cancel>!?)"
    f"|@(?:(?P<deprecated>deprecated)|(?P<created>created)))"
    r"(?:#(?P<counter>[0-9]+))?"
)
SHORTCUT = f"(?P<artifact>{FULLNAME})(?:#(?P<stage>{NAME})|@(?P<version>latest|greatest|v{SEMVER}))"

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")  # ASCII, as [a-zA-Z0-9]
_NAME_CHARS = _ALNUM | frozenset("-/_")
_DIRNAME_CHARS = _ALNUM | frozenset("-_./")
_IDENTIFIER_CHARS = _ALNUM | frozenset("-")  # SemVer's [0-9a-zA-Z-]
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
_DIGITS = frozenset("0123456789")

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
    return value != "" and value[0] in _ALNUM and value[-1] in _ALNUM and _NAME_CHARS.issuperset(value)


def is_fullname(value: str) -> bool:
    """Whether value is an artifact name, optionally `dir/path:name`: FULLNAME."""
    dirname, colon, name = value.rpartition(":")
    return is_name(name) and (not colon or (dirname != "" and _DIRNAME_CHARS.issuperset(dirname)))


@lru_cache(maxsize=1 << 16)  # asked again and again for the same versions while building a registry
def is_version(value: str) -> bool:
    """Whether value is `v` followed by a SemVer 2.0 version: VERSION."""
    return _semver(value) is not None


def _semver(value: str) -> tuple | None:
    """(major, minor, patch, prerelease or None) of a VERSION, as text; None if it is not one."""
    if value[:1] != "v":
        return None
    # Neither the numbers nor the prerelease can hold a `+`, nor the numbers a `-`: the first of
    # each starts the build metadata and the prerelease.
    core, plus, build = value[1:].partition("+")
    if plus and not all(part != "" and _IDENTIFIER_CHARS.issuperset(part) for part in build.split(".")):
        return None
    core, dash, pre = core.partition("-")
    numbers = core.split(".")
    if len(numbers) != 3 or not all(_is_number(n) for n in numbers):
        return None
    if dash and not all(_is_prerelease(part) for part in pre.split(".")):
        return None
    return numbers[0], numbers[1], numbers[2], pre if dash else None


def _is_number(text: str) -> bool:
    """`0|[1-9]\\d*` (\\d: any Unicode decimal digit, as in `re`)."""
    return text == "0" or (text != "" and text[0] in "123456789" and (len(text) == 1 or text[1:].isdecimal()))


def _is_prerelease(text: str) -> bool:
    """A prerelease identifier: `0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*`."""
    if _is_number(text):
        return True
    i = 0
    while i < len(text) and text[i].isdecimal():
        i += 1
    return i < len(text) and text[i] in _LETTERS and _IDENTIFIER_CHARS.issuperset(text[i + 1:])


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
    `refs/tags/`: what building a registry calls once per tag. TAG, with fullmatch."""
    # The artifact ends at the first `#` or `@` (it cannot hold either), a stage or version at the
    # next `!` or `#`: each part has one place to end, so no backtracking is ever needed.
    end = _first(tag, "@", "#")
    if end <= 0:
        return None
    name = _artifact(tag[:end])
    if name is None:
        return None
    mark, body = tag[end], tag[end + 1:]
    if mark == "#" or body[:1] == "v":
        stop = _first(body, "!", "#")
        word, tail = (body, "") if stop < 0 else (body[:stop], body[stop:])
        cancel = tail[:1] == "!"
        if cancel:
            tail = tail[1:]
        if mark == "#":
            if not _is_stage(word):
                return None
            version, stage, event = None, word, UNASSIGNMENT if cancel else ASSIGNMENT
        else:
            if not is_version(word):
                return None
            version, stage, event = word, None, DEREGISTRATION if cancel else REGISTRATION
    else:
        word = body.partition("#")[0]
        tail = body[len(word):]
        if word == "deprecated":
            event = DEPRECATION
        elif word == "created":
            event = CREATION
        else:
            return None
        version = stage = None
    if not tail:
        return (name, event, version, stage, None)
    if tail[0] != "#" or len(tail) == 1 or not _DIGITS.issuperset(tail[1:]):
        return None
    return (name, event, version, stage, int(tail[1:]))


def _first(text: str, one: str, other: str) -> int:
    """Where the first of two characters is in text; -1 if neither is."""
    i, j = text.find(one), text.find(other)
    return i if j < 0 or 0 <= i < j else j


@lru_cache(maxsize=1 << 16)  # a registry has many tags per artifact
def _artifact(part: str) -> str | None:
    """The artifact's name from the part of a tag before `@`/`#` (`dir/sub=clf` -> `dir/sub:clf`),
    or None if it is not `(DIRNAME=)?NAME`."""
    if "=" not in part:
        return part if is_name(part) else None
    dirname, _, short = part.partition("=")
    if dirname != "" and _DIRNAME_CHARS.issuperset(dirname) and is_name(short):
        return f"{dirname}:{short}"
    return None


_is_stage = lru_cache(maxsize=1 << 12)(is_name)


@lru_cache(maxsize=1 << 16)
def version_key(version: str) -> tuple:
    """Sort key for SemVer 2.0 precedence of `vX.Y.Z[-pre][+build]` (build metadata ignored)."""
    parts = _semver(version)
    if parts is None:
        raise GrammarError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
    major, minor, patch, pre = int(parts[0]), int(parts[1]), int(parts[2]), parts[3]
    if pre is None:
        return (major, minor, patch, (1,))  # a release ranks above its prereleases
    # Numeric identifiers compare as numbers and rank below alphanumeric ones.
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, (0, parts))


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
    end = _first(value, "@", "#")
    if end <= 0 or not is_fullname(value[:end]):
        return None
    rest = value[end + 1:]
    if value[end] == "#":
        return Shortcut(value[:end], stage=rest) if is_name(rest) else None
    if rest in ("latest", "greatest") or is_version(rest):
        return Shortcut(value[:end], version=rest)
    return None


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
