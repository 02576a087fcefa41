"""What the API returns besides the domain objects of `state` (and the one error class of registry operations)."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import annotations as A
from .. import gto_json
from .. import state as S
from ..errors import UserError

if TYPE_CHECKING:
    from .. import policy as P


class RegistryError(UserError):
    """A registry operation the state of the repository does not allow."""


class PolicyRefusal(RegistryError):
    """A write the policy does not allow; breaches: the rules it breaks (`policy.Breach`)."""

    def __init__(self, message: str, breaches: list | None = None):
        super().__init__(message)
        self.breaches = list(breaches or [])


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
class ListedVersion(S.Version):
    """A version as `show NAME` lists it: the registry's `state.Version`, and what the answer adds to
    it: the stages it is in by the answer's options (GTO's --vs, --av, --sort), the annotation at
    its commit, and whether its artifact is registered (False: known only from an annotation file)."""

    in_stages: list[str] = field(default_factory=list)
    annotation: A.Annotation | None = None
    artifact_registered: bool = True
    # With a policy that governs the registry: the events left out that would change this version's
    # stages (None: no policy governs it, and the JSON is GTO's, byte for byte)
    not_in_effect: list[Withheld] | None = None

    def to_gto(self) -> dict[str, Any]:
        """This version as GTO's `show NAME --json` prints it (and, when a policy governs the
        registry, `not_in_effect`: the events it left out that would change this version's stages)."""
        out = gto_json.version(self, [self.stages[s] for s in self.in_stages], self.annotation)
        if self.not_in_effect is not None:
            out["not_in_effect"] = [w.to_dict() for w in self.not_in_effect]
        return out


@dataclass
class ArtifactInfo:
    """One artifact, as the registry table `show` lists it (kept in the cache folder: a summary,
    not the artifact's events)."""

    name: str
    registered: bool
    active: bool
    latest: str | None
    stages: dict[str, list[str]]  # stage -> versions in it (usually one)
    annotation: A.Annotation | None = None

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


@dataclass(frozen=True)
class Withheld:
    """An event the policy does not allow, left out of what is read, that would change an answer now
    (newer than every allowed event of its stage or, for a removal, of its artifact): what `show`
    marks and its `--json` carries. breaches: the rules it breaks, each with what would satisfy it."""

    tag: str
    event: str
    artifact: str
    version: str | None
    stage: str | None
    author_email: str
    breaches: tuple[P.Breach, ...]

    @property
    def stages(self) -> frozenset[str]:
        """The stages whose answer it would change (a removal's: those its version or artifact is in)."""
        return frozenset(b.stage for b in self.breaches)

    def touches(self, version: str | None, in_stages: list[str]) -> bool:
        """It would change the stages of version (in in_stages now)."""
        if self.version is not None:
            return self.version == version
        return bool(self.stages.intersection(in_stages))

    @property
    def notice(self) -> Notice:
        """The line readers say on stderr."""
        return Notice(f"'{self.tag}' is not in effect: {self.breaches[0].line} (--no-policy shows it)")

    def to_dict(self) -> dict[str, Any]:
        """As `show --json` carries it, under `not_in_effect` (the breaches as `verify --json` has them)."""
        return {"tag": self.tag, "event": self.event, "version": self.version, "stage": self.stage,
                "author_email": self.author_email,
                "breaches": [{"rule": b.rule, "stage": b.stage, "reason": b.reason, "remedy": b.remedy}
                             for b in self.breaches]}


@dataclass
class RegistryView:
    """The registry table: artifacts and the stage columns to show."""

    artifacts: list[ArtifactInfo]
    stages: list[str]
    bad_files: list[BadFile] = field(default_factory=list)  # at HEAD: kept with a cached view
    # events left out because the policy does not allow them, which would change the table: said
    # again with a cached view
    withheld: list[Withheld] = field(default_factory=list)
    governed: bool = False  # a policy with rules was applied to what was read

    def to_gto(self) -> dict[str, Any]:
        """The registry as GTO's `show --json` prints it; when a policy governs it, each artifact also
        has `not_in_effect`: the events left out that would change its row (and why)."""
        out = {a.name: a.to_gto(self.stages) for a in self.artifacts}
        if self.governed:
            for name, entry in out.items():
                entry["not_in_effect"] = [w.to_dict() for w in self.withheld if w.artifact == name]
        return out

    def marked(self, name: str, stage: str) -> bool:
        """An event left out would change the stage's cell of artifact name."""
        return any(w.artifact == name and stage in w.stages for w in self.withheld)


@dataclass(slots=True)
class RefEvent(S.Event):
    """What a tag means, for `check-ref`: the registry's `state.Event`, with the annotation of its
    artifact at its commit, and the path CI acts on (`check-ref --path`, the `path` output)."""

    annotation: A.Annotation | None = None
    # The annotation's `resolved_path` (a folder's dvc.yaml names paths in that folder: `clf.pkl` in
    # models/dvc.yaml is `models/clf.pkl`). Reading as GTO does (`config.gto_exact`), its `path` as
    # written, which is gto-action v2's `path` output.
    path: str | None = None

    def to_gto(self) -> dict[str, Any]:
        """This event as GTO's `check-ref --json` prints it."""
        return gto_json.event(self)


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


