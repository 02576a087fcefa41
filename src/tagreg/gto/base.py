"""The objects GTO 1.10.1's API returns (`gto.base`): events, a version's stages (`VStage`) and
versions, as dataclasses with GTO's field names, properties and methods.

GTO's are pydantic models; scripts call `model_dump()` (or the older `dict()`), `model_dump_json()`
and `dict_state()` on them, so these objects have the same methods, giving the same dicts.
Which event of an object is its newest follows tagreg's reading of the tags (`tagreg.state`), so an
object says what the rest of tagreg says about the same tags: each event keeps its place in that
order (`_rank`), and only events of the same second are told apart by it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from .exceptions import NoStageForVersion, NotImplementedInGTO, WrongArgs

# -- what scripts call on pydantic models ------------------------------------------------------


def _dumped(value: Any, mode: str) -> Any:
    if isinstance(value, Model):
        return value.model_dump(mode=mode)
    if isinstance(value, list):
        return [_dumped(v, mode) for v in value]
    if isinstance(value, dict):
        return {k: _dumped(v, mode) for k, v in value.items()}
    if mode == "json" and isinstance(value, datetime):
        return _json_time(value)
    return value


def _json_time(value: datetime) -> str:
    """A datetime as pydantic writes it in JSON: ISO 8601, `Z` for UTC."""
    text = value.isoformat()
    return text[:-6] + "Z" if value.utcoffset() == timedelta(0) and text.endswith("+00:00") else text


class Model:
    """`model_dump`, `dict`, `model_dump_json` and `copy` of a dataclass, as pydantic models have them."""

    def model_dump(self, *, exclude: set[str] | None = None, mode: str = "python") -> dict[str, Any]:
        """The fields as a dict (nested objects as dicts); mode="json": datetimes as strings."""
        return {f.name: _dumped(getattr(self, f.name), mode) for f in fields(self)  # type: ignore[arg-type]
                if not f.name.startswith("_") and (exclude is None or f.name not in exclude)}

    def dict(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        """Same as `model_dump` (pydantic 1's name)."""
        return self.model_dump(exclude=exclude)

    def model_dump_json(self, *, exclude: set[str] | None = None, indent: int | None = None) -> str:
        """The fields as JSON, as pydantic writes it."""
        separators = (",", ":") if indent is None else None
        return json.dumps(self.model_dump(exclude=exclude, mode="json"), indent=indent, separators=separators,
                          ensure_ascii=False)

    def json(self, **kwargs: Any) -> str:
        """Same as `model_dump_json` (pydantic 1's name)."""
        return self.model_dump_json(**kwargs)


def _in_order(events: list[BaseEvent], ascending: bool) -> list[BaseEvent]:
    """events oldest first (ascending) or newest first, in tagreg's order of events."""
    found = sorted(events, key=lambda e: (e.created_at, e._rank))
    return found if ascending else found[::-1]


def _newest_event(stage: VStage) -> tuple:
    """A sort key of stages by their newest event (stages without one first)."""
    events = stage.get_events()
    return (1, events[0].created_at, events[0]._rank) if events else (0,)


# -- events ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class BaseEvent(Model):
    """One event: a tag (or, for `Commit`, the commit a version is at)."""

    priority: int
    addition: bool
    artifact: str
    created_at: datetime
    author: str
    author_email: str
    message: str
    commit_hexsha: str
    _rank: int = field(default=0, repr=False, compare=False)  # its place among its object's events

    @property
    def event(self) -> str:
        """The kind of event: `registration`, `assignment`..."""
        return type(self).__name__.lower()

    @property
    def ref(self) -> str:
        """The tag (a commit event: the commit)."""
        return getattr(self, "tag", self.commit_hexsha)

    def dict_state(self, exclude: set[str] | None = None) -> dict[str, Any]:
        """The fields as a dict, with `event`."""
        state = self.model_dump(exclude=exclude)
        state["event"] = self.event
        return state


@dataclass(kw_only=True)
class Commit(BaseEvent):
    """The commit of a version, with the annotations found there (GTO's 'enrichment')."""

    priority: int = 0
    addition: bool = True
    version: str
    enrichments: list[Any]
    committer: str
    committer_email: str

    def __str__(self) -> str:
        return f'Artifact "{self.artifact}" is annotated'


@dataclass(kw_only=True)
class Creation(BaseEvent):
    """A `NAME@created` tag (GTO gives it no meaning)."""

    priority: int = 1
    addition: bool = True
    tag: str

    def __str__(self) -> str:
        return f'Artifact "{self.artifact}" was created'


@dataclass(kw_only=True)
class Deprecation(BaseEvent):
    """A `NAME@deprecated` tag."""

    priority: int = 2
    addition: bool = False
    tag: str

    def __str__(self) -> str:
        return f'Artifact "{self.artifact}" was deprecated'


@dataclass(kw_only=True)
class Registration(BaseEvent):
    """A `NAME@vX.Y.Z` tag."""

    priority: int = 3
    addition: bool = True
    tag: str
    version: str

    def __str__(self) -> str:
        return f'Version "{self.version}" of artifact "{self.artifact}" was registered'


@dataclass(kw_only=True)
class Deregistration(BaseEvent):
    """A `NAME@vX.Y.Z!` tag."""

    priority: int = 4
    addition: bool = False
    tag: str
    version: str

    def __str__(self) -> str:
        return f'Version "{self.version}" of artifact "{self.artifact}" was deregistered'


@dataclass(kw_only=True)
class Assignment(BaseEvent):
    """A `NAME#STAGE#N` tag."""

    priority: int = 5
    addition: bool = True
    tag: str
    version: str
    stage: str

    def __str__(self) -> str:
        return f'Stage "{self.stage}" was assigned to version "{self.version}" of artifact "{self.artifact}"'


@dataclass(kw_only=True)
class Unassignment(BaseEvent):
    """A `NAME#STAGE!#N` tag."""

    priority: int = 6
    addition: bool = False
    tag: str
    version: str
    stage: str

    def __str__(self) -> str:
        return f'Stage "{self.stage}" was unassigned from version "{self.version}" of artifact "{self.artifact}"'


# -- a version and its stages ----------------------------------------------------------------


@dataclass(kw_only=True)
class BaseObject(Model):
    """What a version and a version's stage have in common: who made it, when, by which tag."""

    artifact: str

    def get_events(self, direct: bool = True, indirect: bool = True, ascending: bool = False) -> list[BaseEvent]:
        """Its events, newest first unless ascending."""
        raise NotImplementedError

    @property
    def authoring_event(self) -> BaseEvent:
        """The event that gives created_at, author, message and ref: the newest addition."""
        raise NotImplementedError

    @property
    def created_at(self) -> datetime:
        """When its authoring event happened."""
        return self.authoring_event.created_at

    @property
    def author(self) -> str:
        """The tagger (or commit author) of its authoring event."""
        return self.authoring_event.author

    @property
    def author_email(self) -> str:
        """The e-mail of author."""
        return self.authoring_event.author_email

    @property
    def message(self) -> str:
        """The message of its authoring event."""
        return self.authoring_event.message

    @property
    def ref(self) -> str:
        """The tag of its authoring event (its commit, for a version known only from its commit)."""
        return self.authoring_event.ref

    @property
    def is_active(self) -> bool:
        """Not cancelled by its newest event."""
        raise NotImplementedError

    @property
    def activated_at(self) -> datetime | None:
        """When it became what it is."""
        raise NotImplementedError

    def dict_state(self, exclude: set[str] | None = None) -> dict[str, Any]:
        """The fields as a dict, with the properties above."""
        state = self.model_dump(exclude=exclude)
        state["is_active"] = self.is_active
        state["activated_at"] = self.activated_at
        state["created_at"] = self.created_at
        state["author"] = self.author
        state["author_email"] = self.author_email
        state["message"] = self.message
        state["ref"] = self.ref
        return state


@dataclass(kw_only=True)
class VStage(BaseObject):
    """One stage of one version: its assignments and unassignments."""

    commit_hexsha: str
    version: str
    stage: str
    assignments: list[Assignment] = field(default_factory=list)
    unassignments: list[Unassignment] = field(default_factory=list)

    def get_events(self, direct: bool = True, indirect: bool = True, ascending: bool = False) -> list[BaseEvent]:
        """Its assignments and unassignments, newest first unless ascending."""
        return _in_order([*self.assignments, *self.unassignments] if direct else [], ascending)

    @property
    def authoring_event(self) -> BaseEvent:
        """Its newest assignment (else its newest unassignment)."""
        events = self.get_events()
        return next((e for e in events if e.addition), events[0])

    @property
    def is_active(self) -> bool:
        """Assigned now: its newest event is an assignment."""
        events = self.get_events()
        return bool(events) and isinstance(events[0], Assignment)

    @property
    def activated_at(self) -> datetime | None:
        """When it was assigned, if it is now."""
        events = self.get_events()
        return events[0].created_at if events and isinstance(events[0], Assignment) else None

    def dict_state(self, exclude: set[str] | None = None) -> dict[str, Any]:
        """The fields as a dict, with the properties and each event's `event`."""
        state = super().dict_state(exclude=exclude)
        state["assignments"] = [a.dict_state() for a in self.assignments]
        state["unassignments"] = [u.dict_state() for u in self.unassignments]
        return state


@dataclass(kw_only=True)
class Version(BaseObject):
    """A version of an artifact: a commit, named by its registered version or by its sha."""

    commit_hexsha: str
    version: str
    enrichments: list[Commit] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    deregistrations: list[Deregistration] = field(default_factory=list)
    stages: dict[str, VStage] = field(default_factory=dict)

    def get_events(self, direct: bool = True, indirect: bool = True, ascending: bool = False) -> list[BaseEvent]:
        """Its events (direct: registrations and deregistrations; indirect: its commit and its
        stages' events), newest first unless ascending."""
        found: list[BaseEvent] = [*self.registrations, *self.deregistrations] if direct else []
        if indirect:
            found += self.enrichments
            for stage in self.stages.values():
                found += stage.get_events()
        return _in_order(found, ascending)

    def _tag_events(self) -> list[BaseEvent]:
        return [e for e in self.get_events() if not isinstance(e, Commit)]

    @property
    def authoring_event(self) -> BaseEvent:
        """Its newest registration, else its newest tag, else its commit."""
        if self.registrations:
            return _in_order(list(self.registrations), ascending=False)[0]
        tags = self._tag_events()
        return tags[0] if tags else self.get_events()[0]

    @property
    def is_active(self) -> bool:
        """Not deregistered: its newest registration or deregistration is a registration, or it
        has neither (but has other events)."""
        direct = self.get_events(indirect=False)
        if direct:
            return isinstance(direct[0], Registration)
        return bool(self.get_events(direct=False))

    @property
    def activated_at(self) -> datetime | None:
        """When it was registered last; a version never registered: its commit's time, else its
        newest event's."""
        if self.registrations:
            return _in_order(list(self.registrations), ascending=False)[0].created_at
        if self.enrichments:
            return self.enrichments[0].created_at
        events = self.get_events()
        return events[0].created_at if events else None

    @property
    def is_registered(self) -> bool:
        """A version tag names it (not a commit known only from a stage tag or an annotation)."""
        return len(self.registrations) > 0

    @property
    def discovered(self) -> bool:
        """Never registered."""
        return not self.registrations

    @property
    def get_enrichments_info(self) -> list[Any]:
        """The annotations at its commit."""
        if len(self.enrichments) > 1:
            raise NotImplementedInGTO("Multiple enrichments for a single version are not supported")
        return self.enrichments[0].enrichments

    def get_vstage(self, stage: str, create_new: bool = False) -> VStage:
        """Its stage of that name (NoStageForVersion if it never had it)."""
        if create_new and stage not in self.stages:
            self.stages[stage] = VStage(artifact=self.artifact, version=self.version, stage=stage,
                                        commit_hexsha=self.commit_hexsha)
        if stage in self.stages:
            return self.stages[stage]
        raise NoStageForVersion(self.artifact, self.version, stage)

    def get_vstages(self, active_only: bool = True, ascending: bool = False) -> list[VStage]:
        """Its stages (those assigned now, unless not active_only), newest assignment first unless ascending."""
        found = [s for s in self.stages.values() if not active_only or s.is_active]
        found.sort(key=_newest_event)
        return found if ascending else found[::-1]

    def dict_state(self, exclude: set[str] | None = None, assignments_per_version: int = -1) -> dict[str, Any]:
        """The fields as a dict, with the properties, `discovered` and its stages assigned now."""
        if assignments_per_version < -1:
            raise WrongArgs("'assignments_per_version' must be >= -1")
        state = super().dict_state(exclude=exclude)
        state["discovered"] = self.discovered
        state["stages"] = [stage.dict_state() for stage in self.get_vstages()]
        if assignments_per_version >= 0:
            state["stages"] = state["stages"][:assignments_per_version]
        return state
