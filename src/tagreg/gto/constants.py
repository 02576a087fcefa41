"""The enums of GTO 1.10.1's `gto.constants` that its API takes or returns."""

from __future__ import annotations

from enum import Enum


class Action(Enum):
    """What a tag does, as `parse_tag` returns it."""

    CREATE = "create"
    DEPRECATE = "deprecate"
    DEREGISTER = "deregister"
    REGISTER = "register"
    ASSIGN = "assign"
    UNASSIGN = "unassign"


class VersionSort(Enum):
    """How `show` picks the versions in a stage: by the time of their assignment, or by SemVer."""

    SemVer = "semver"
    Timestamp = "timestamp"


ASSIGNMENTS_PER_VERSION = -1
VERSIONS_PER_STAGE = 1
