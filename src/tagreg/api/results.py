"""What the API returns: plain records (and the one error class of registry operations)."""

from __future__ import annotations

from collections import namedtuple

from .. import annotations as A
from .. import state as S
from ..errors import UserError
from ..record import field, record

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any, Optional


class RegistryError(UserError):
    """A registry operation the state of the repository does not allow."""


@record
class TagChange:
    """A tag tagreg created or deleted, and whether it was pushed."""

    tag: str
    event: str
    name: str
    version: Optional[str]
    stage: Optional[str]
    commit: str
    deleted: bool = False
    pushed: bool = False
    remote: Optional[str] = None
    replaced: str | None = None  # rollback: the version that was current in the stage


@record
class VersionInfo:
    """One version of an artifact, as `show NAME` lists it."""

    artifact: str
    version: str
    commit: str
    stages: list[str]
    created_at: Optional[datetime]
    author: Optional[str]
    author_email: Optional[str]
    message: Optional[str]
    ref: str
    registered: bool
    active: bool
    discovered: bool
    annotation: Optional[A.Annotation] = None
    artifact_registered: bool = True  # False: known only from an annotation file
    state: Optional[S.Version] = field(None, repr=False, compare=False)
    shown_stages: list[S.Stage] = field(factory=list, repr=False, compare=False)

    @property
    def commit_hexsha(self) -> str:
        """GTO's name for commit."""
        return self.commit

    def to_gto(self) -> dict[str, Any]:
        """This version as GTO's `show NAME --json` prints it."""
        from ..gto_json import version_object

        assert self.state is not None
        return version_object(self.state, self.shown_stages, self.annotation)


@record
class ArtifactInfo:
    """One artifact, as the registry table `show` lists it."""

    name: str
    registered: bool
    active: bool
    latest: Optional[str]
    stages: dict[str, list[str]]  # stage -> versions in it (usually one)
    annotation: Optional[A.Annotation] = None
    state: Optional[S.Artifact] = field(None, repr=False, compare=False)

    def to_gto(self, stage_names: list[str]) -> dict[str, Any]:
        """This artifact as one entry of GTO's `show --json`."""
        return {
            "version": self.latest,
            "stage": {s: ", ".join(self.stages[s]) if self.stages.get(s) else None for s in stage_names},
            "registered": self.registered,
            "active": self.active,
        }


@record
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


@record
class RegistryView:
    """The registry table: artifacts and the stage columns to show."""

    artifacts: list[ArtifactInfo]
    stages: list[str]
    bad_files: list[BadFile] = field(factory=list)  # at HEAD: kept with a cached view


@record
class RefInfo:
    """What a tag means, for `check-ref`."""

    tag: str
    event: str
    name: str
    version: Optional[str]
    stage: Optional[str]
    commit: str
    created_at: datetime
    author: str
    author_email: str
    message: str
    annotation: Optional[A.Annotation] = None
    state: Optional[S.Event] = field(None, repr=False, compare=False)

    def to_gto(self) -> dict[str, Any]:
        """This event as GTO's `check-ref --json` prints it."""
        from ..gto_json import check_ref_event

        assert self.state is not None
        return check_ref_event(self.state)


@record
class HistoryEntry:
    """One event of `history`."""

    timestamp: datetime
    artifact: str
    event: str
    version: Optional[str]
    stage: Optional[str]
    commit: str
    author: str
    author_email: str
    message: str
    ref: str
    state: Optional[S.Event] = field(None, repr=False, compare=False)

    def to_gto(self) -> dict[str, Any]:
        """This event as a row of GTO's `history --json`."""
        from ..gto_json import history_event

        assert self.state is not None
        return history_event(self.state)


@record
class Check:
    """One finding of `doctor`."""

    level: str  # "ok", "warning" or "error"
    message: str


@record
class AnnotationChange:
    """An annotation file tagreg edited, and the commit it made (if asked)."""

    name: str
    file: Optional[str]
    commit: Optional[str] = None


