"""What the API returns: plain records (and the one error class of registry operations)."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import annotations as A
from .. import state as S
from ..errors import UserError


class RegistryError(UserError):
    """A registry operation the state of the repository does not allow."""


@dataclass
class TagChange:
    """A tag tagreg created or deleted, and whether it was pushed."""

    tag: str
    event: str
    name: str
    version: str | None
    stage: str | None
    commit: str
    deleted: bool = False
    pushed: bool = False
    remote: str | None = None
    replaced: str | None = None  # rollback: the version that was current in the stage


@dataclass
class VersionInfo:
    """One version of an artifact, as `show NAME` lists it."""

    artifact: str
    version: str
    commit: str
    stages: list[str]
    created_at: datetime | None
    author: str | None
    author_email: str | None
    message: str | None
    ref: str
    registered: bool
    active: bool
    discovered: bool
    annotation: A.Annotation | None = None
    artifact_registered: bool = True  # False: known only from an annotation file
    state: S.Version | None = field(default=None, repr=False, compare=False)
    shown_stages: list[S.Stage] = field(default_factory=list, repr=False, compare=False)

    @property
    def commit_hexsha(self) -> str:
        """GTO's name for commit."""
        return self.commit

    def to_gto(self) -> dict[str, Any]:
        """This version as GTO's `show NAME --json` prints it."""
        from ..gto_json import version_object

        assert self.state is not None
        return version_object(self.state, self.shown_stages, self.annotation)


@dataclass
class ArtifactInfo:
    """One artifact, as the registry table `show` lists it."""

    name: str
    registered: bool
    active: bool
    latest: str | None
    stages: dict[str, list[str]]  # stage -> versions in it (usually one)
    annotation: A.Annotation | None = None
    state: S.Artifact | None = field(default=None, repr=False, compare=False)

    def to_gto(self, stage_names: list[str]) -> dict[str, Any]:
        """This artifact as one entry of GTO's `show --json`."""
        return {
            "version": self.latest,
            "stage": {s: ", ".join(self.stages[s]) if self.stages.get(s) else None for s in stage_names},
            "registered": self.registered,
            "active": self.active,
        }


@dataclass
class BadFile:
    """An annotation file that cannot be read at a commit; it counts as no annotation there."""

    file: str
    commit: str
    reason: str

    @property
    def message(self) -> str:
        """One line for the user."""
        return f"{self.file} at commit {self.commit[:7]}: {self.reason}; read as no annotation"


class Notice(namedtuple("Notice", "message")):
    """A line for the user about a command that still did what it was asked (a new name that looks
    like a typo of another)."""

    __slots__ = ()


@dataclass
class RegistryView:
    """The registry table: artifacts and the stage columns to show."""

    artifacts: list[ArtifactInfo]
    stages: list[str]
    bad_files: list[BadFile] = field(default_factory=list)  # at HEAD: kept with a cached view


@dataclass
class RefInfo:
    """What a tag means, for `check-ref`."""

    tag: str
    event: str
    name: str
    version: str | None
    stage: str | None
    commit: str
    created_at: datetime
    author: str
    author_email: str
    message: str
    annotation: A.Annotation | None = None
    state: S.Event | None = field(default=None, repr=False, compare=False)

    def to_gto(self) -> dict[str, Any]:
        """This event as GTO's `check-ref --json` prints it."""
        from ..gto_json import check_ref_event

        assert self.state is not None
        return check_ref_event(self.state)


@dataclass
class HistoryEntry:
    """One event of `history`."""

    timestamp: datetime
    artifact: str
    event: str
    version: str | None
    stage: str | None
    commit: str
    author: str
    author_email: str
    message: str
    ref: str
    state: S.Event | None = field(default=None, repr=False, compare=False)

    def to_gto(self) -> dict[str, Any]:
        """This event as a row of GTO's `history --json`."""
        from ..gto_json import history_event

        assert self.state is not None
        return history_event(self.state)


@dataclass
class Check:
    """One finding of `doctor`."""

    level: str  # "ok", "warning" or "error"
    message: str


@dataclass
class AnnotationChange:
    """An annotation file tagreg edited, and the commit it made (if asked)."""

    name: str
    file: str | None
    commit: str | None = None


