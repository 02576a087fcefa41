"""Events in, registry out: artifacts, versions, stages and history as a pure function of tags.

No I/O and no git here. The git layer turns `git for-each-ref` output into `TagInfo` records;
`build` turns those into a `Registry`. The rules follow GTO 1.10.1 (see the spec), except where
GTO crashes: two versions on one commit and `NAME@created` tags are read, and `problems` lists
them for `doctor`.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import attrgetter, itemgetter

from . import tags as T


class TagInfo(namedtuple("TagInfo", "tag annotated commit object_id tagger tagger_email timestamp tz message",
                         defaults=("", "", "", 0, "+0000", ""))):
    """One tag as git stores it (a tuple: there can be tens of thousands): its name, whether it is
    annotated, the commit it points at (peeled; None if not a commit), the id of the tag object
    (annotated) or of the commit (lightweight), its tagger, Unix time, `+HHMM` offset and message."""

    __slots__ = ()


@dataclass(frozen=True)
class CommitInfo:
    """The commit a version points at, for GTO's 'enrichment' events."""

    sha: str
    author: str
    author_email: str
    committer: str
    committer_email: str
    timestamp: int
    tz: str
    message: str


_TZ_CACHE: dict[str, timezone] = {}


def to_datetime(timestamp: int, tz: str) -> datetime:
    """A Unix time and git's `+HHMM` offset as an aware datetime in that offset."""
    zone = _TZ_CACHE.get(tz)
    if zone is None:
        zone = _TZ_CACHE[tz] = _zone(tz)
    try:
        return datetime.fromtimestamp(timestamp, zone)
    except (OverflowError, OSError, ValueError):  # a tag's date before year 1 or after 9999 (hostile)
        return datetime.fromtimestamp(min(max(timestamp, EARLIEST), LATEST), zone)


EARLIEST, LATEST = -62135510400, 253402128000  # 0001-01-02 and 9999-12-30 UTC: in range in any offset


def _zone(tz: str) -> timezone:
    sign = -1 if tz.startswith("-") else 1
    digits = tz[1:] if tz[:1] in "+-" else tz
    if not (len(digits) == 4 and digits.isascii() and digits.isdigit()) or digits[:2] > "23" or digits[2:] > "59":
        return timezone.utc  # an offset no clock has (a hostile tag's): read as UTC
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def iso(when: datetime | float | None) -> str | None:
    """A time as GTO's JSON and the dashboard's API write it: a datetime in ISO 8601 with its
    offset; a Unix time (the server's own clock) in UTC, to the second; None stays None."""
    if when is None:
        return None
    if isinstance(when, datetime):
        return when.isoformat()
    return datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="seconds")


@dataclass(slots=True)
class Event:
    """A registry event: one parsed, annotated tag."""

    event: str
    artifact: str
    commit: str
    tag: str
    timestamp: int
    tz: str
    author: str
    author_email: str
    message: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None
    order: int = 0  # position in git's listing, to keep sorts stable as GTO's are
    object_id: str = ""  # the tag object's id: with the tag name, a stable identity of the event

    @property
    def priority(self) -> int:
        """GTO's ordering of event kinds within one second."""
        return T.PRIORITY[self.event]

    @property
    def created_at(self) -> datetime:
        """When the event happened, in the tagger's own UTC offset."""
        return to_datetime(self.timestamp, self.tz)

    @property
    def sort_key(self) -> tuple[int, int]:
        """GTO's history order: by time, then by event kind (`in_order` puts counted ties right)."""
        return (self.timestamp, self.priority)

    @property
    def ref(self) -> str:
        """The tag, by the name GTO's history gives it."""
        return self.tag

    @property
    def name(self) -> str:
        """The artifact, by the name the tag grammar and CI outputs give it."""
        return self.artifact


@dataclass
class Stage:
    """One stage of one version (GTO's 'vstage'): its assignments and unassignments."""

    artifact: str
    version: str
    commit: str
    stage: str
    assignments: list[Event] = field(default_factory=list)
    unassignments: list[Event] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        """Assigned now: the newest of its events is an assignment."""
        if not self.unassignments:  # the common case, answered without comparing events
            return bool(self.assignments)
        last = newest(self.assignments + self.unassignments)
        return last is not None and last.event == T.ASSIGNMENT

    @property
    def activated_at(self) -> Event | None:
        """The newest assignment, which defines when the stage became active."""
        return newest(self.assignments)

    @property
    def source(self) -> Event:
        """The event that gives created_at, author, message and ref."""
        return newest(self.assignments) or newest(self.unassignments)  # type: ignore[return-value]


@dataclass
class Version:
    """A version of an artifact: a commit, named by its registered version or by its sha."""

    artifact: str
    version: str
    commit: str
    registrations: list[Event] = field(default_factory=list)
    deregistrations: list[Event] = field(default_factory=list)
    stages: dict[str, Stage] = field(default_factory=dict)
    commit_info: CommitInfo | None = None  # filled in by the API where needed

    @property
    def is_registered(self) -> bool:
        """A version tag names it (as opposed to a commit known only from a stage tag)."""
        return bool(self.registrations)

    @property
    def discovered(self) -> bool:
        """GTO's word for a version with no registration."""
        return not self.registrations

    @property
    def is_active(self) -> bool:
        """Not deregistered: the newest of its version events is a registration, or it has none."""
        if not self.deregistrations:  # the common case, answered without comparing events
            return True
        last = newest(self.registrations + self.deregistrations)
        return last is None or last.event == T.REGISTRATION

    @property
    def is_semver(self) -> bool:
        """Named by a SemVer version rather than a commit sha."""
        return T.is_version(self.version)

    @property
    def events(self) -> list[Event]:
        """Every tag event of this version, version events first."""
        out = self.registrations + self.deregistrations
        for stage in self.stages.values():
            out += stage.assignments + stage.unassignments
        return out

    @property
    def source(self) -> Event | None:
        """The event that gives created_at, author, message and ref (None: only the commit)."""
        return newest(self.registrations) or newest(self.events)

    @property
    def registered(self) -> bool:
        """Same as is_registered."""
        return self.is_registered

    @property
    def active(self) -> bool:
        """Same as is_active."""
        return self.is_active

    @property
    def created_at(self) -> datetime | None:
        """When the version was made: its source event, else its commit (None if neither is known)."""
        source, info = self.source, self.commit_info
        if source is not None:
            return source.created_at
        return to_datetime(info.timestamp, info.tz) if info is not None else None

    @property
    def author(self) -> str | None:
        """Who made it: the tagger of its source event, else the commit's author."""
        source, info = self.source, self.commit_info
        return source.author if source is not None else info.author if info is not None else None

    @property
    def author_email(self) -> str | None:
        """The e-mail of author."""
        source, info = self.source, self.commit_info
        return source.author_email if source is not None else info.author_email if info is not None else None

    @property
    def message(self) -> str | None:
        """The message of its source event, else the commit's."""
        source, info = self.source, self.commit_info
        return source.message if source is not None else info.message if info is not None else None

    @property
    def ref(self) -> str:
        """The tag of its source event, else its commit."""
        source = self.source
        return source.tag if source is not None else self.commit

    @property
    def activated_at(self) -> datetime | None:
        """GTO's activated_at: the newest registration, else the commit, else the source event."""
        registration, info, source = newest(self.registrations), self.commit_info, self.source
        if registration is not None:
            return registration.created_at
        if info is not None:
            return to_datetime(info.timestamp, info.tz)
        return source.created_at if source is not None else None

    def stage_events(self) -> list[Event]:
        """Assignments and unassignments of every stage of this version."""
        out: list[Event] = []
        for stage in self.stages.values():
            out += stage.assignments + stage.unassignments
        return out


@dataclass
class Artifact:
    """An artifact with its versions and deprecations."""

    name: str
    versions: list[Version] = field(default_factory=list)
    deprecations: list[Event] = field(default_factory=list)
    creations: list[Event] = field(default_factory=list)
    registered: bool = True  # False for artifacts known only from an annotation file
    first: Event | None = field(default=None, repr=False, compare=False)  # its first event in GTO's order

    @property
    def rank(self) -> tuple:
        """Where GTO lists this artifact among others: by its first event (kind group, time, tag)."""
        first = self.first
        return (9, 0, "") if first is None else (_GROUPS[first.event], first.timestamp, first.tag)

    @property
    def events(self) -> list[Event]:
        """Every tag event of this artifact."""
        out = list(self.deprecations)
        for version in self.versions:
            out += version.events
        return out

    @property
    def is_active(self) -> bool:
        """Not deprecated: the newest event of any kind (GTO's order within a second) is not a deprecation."""
        if not self.deprecations:
            return True
        last = newest(self.events)
        return last is None or last.event != T.DEPRECATION

    def find_version(self, version: str) -> Version | None:
        """The version named version (active or not), preferring an active one."""
        found = [v for v in self.versions if v.version == version]
        active = [v for v in found if v.is_active]
        return (active or found)[-1] if found else None

    def versions_at(self, commit: str) -> list[Version]:
        """Every version whose commit is commit."""
        return [v for v in self.versions if v.commit == commit]

    def max_counter(self) -> int:
        """The highest `#N` among this artifact's tags (0 if none)."""
        counters = [e.counter for e in self.events + self.creations if e.counter is not None]
        return max(counters, default=0)


@dataclass
class Problem:
    """Something GTO would refuse to read, reported by `doctor` instead of crashing."""

    artifact: str
    message: str


@dataclass
class Registry:
    """Every artifact, in the order GTO discovers them, plus any problems found."""

    artifacts: dict[str, Artifact] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    lightweight: dict[str, list[str]] = field(default_factory=dict)  # name -> tag names

    def find(self, name: str) -> Artifact | None:
        """The artifact name, or None."""
        return self.artifacts.get(name)

    def history(self, name: str | None = None, ascending: bool = False) -> list[Event]:
        """Every event (of one artifact), oldest first if ascending else newest first."""
        events: list[Event] = []
        for artifact in self.artifacts.values():
            if name is None or artifact.name == name:
                events += artifact.deprecations
                for version in semver_sorted(artifact.versions):
                    events += version.events
        events = in_order(events)
        if not ascending:
            events.reverse()
        return events


# -- the order of events ------------------------------------------------------------------------
# Tagger dates have one-second resolution, so events tie. GTO orders a tie by event kind (an
# unassignment after an assignment, a deregistration after a registration, a deprecation before
# any version event), then by git's listing order (tag names: `m#prod!#2` before `m#prod#1`,
# `m#prod#10` before `m#prod#9`). The counter `#N` says which event came last: events that have
# one are put in counter order among the places GTO gives them; events without one stay where
# GTO puts them. Every newest-event question and every order of events here uses this one rule.


def _gto_tie(event: Event) -> tuple[int, int]:
    """GTO's order of events in one second: by kind, then by git's listing order."""
    return (T.PRIORITY[event.event], event.order)


def _counted(event: Event) -> tuple[int, int, int]:
    return (event.counter, T.PRIORITY[event.event], event.order)  # type: ignore[return-value]


def newest(events: Iterable[Event]) -> Event | None:
    """The newest event (the last of `in_order`): of the latest second; in a tie, GTO's newest,
    or the highest counter of the tie if GTO's newest has a counter."""
    best: Event | None = None
    tied: list[Event] | None = None
    for event in events:
        if best is None or event.timestamp > best.timestamp:
            best, tied = event, None
        elif event.timestamp == best.timestamp:
            if tied is None:
                tied = [best]
            tied.append(event)
    if tied is None:
        return best
    last = max(tied, key=_gto_tie)
    if last.counter is None:
        return last
    return max((e for e in tied if e.counter is not None), key=_counted)


def in_order(events: Iterable[Event]) -> list[Event]:
    """events oldest first, as GTO's history lists them (by time, then kind, else in the order
    given), except that the events of one second that have a counter are in counter order."""
    return _counter_order(sorted(events, key=_sort_key), _itself)


_sort_key = attrgetter("sort_key")


def _itself(event: Event) -> Event:
    return event


def _counter_order(items: list, event_of: Callable) -> list:
    """items (sorted by their event's time) with each second's counted events of each artifact in
    counter order, in place; a second with one event (the usual case) costs one comparison."""
    n, i = len(items), 0
    while i < n:
        second = event_of(items[i]).timestamp
        j = i + 1
        while j < n and event_of(items[j]).timestamp == second:
            j += 1
        if j - i > 1:
            places: dict[str, list[int]] = {}  # counters count per artifact: compared only within one
            for k in range(i, j):
                event = event_of(items[k])
                if event.counter is not None:
                    places.setdefault(event.artifact, []).append(k)
            for slots in places.values():
                if len(slots) > 1:
                    counted = sorted((items[k] for k in slots), key=lambda item: _counted(event_of(item)))
                    for k, item in zip(slots, counted, strict=True):
                        items[k] = item
        i = j
    return items


def semver_sorted(versions: Iterable[Version]) -> list[Version]:
    """GTO's version order: SemVer descending, then sha-named versions by name descending."""
    versions = list(versions)
    named = [v for v in versions if v.is_semver]
    named.sort(key=lambda v: T.version_key(v.version), reverse=True)
    shas = sorted((v for v in versions if not v.is_semver), key=lambda v: v.version, reverse=True)
    return named + shas


def greatest(versions: Iterable[Version]) -> Version | None:
    """The greatest SemVer version among versions (None if there is none)."""
    named = [v for v in versions if v.is_semver]
    if not named:
        return None
    return max(named, key=lambda v: T.version_key(v.version))


_timestamp = attrgetter("timestamp")

_GROUPS = {
    T.DEPRECATION: 0,
    T.CREATION: 0,
    T.REGISTRATION: 1,
    T.DEREGISTRATION: 1,
    T.ASSIGNMENT: 2,
    T.UNASSIGNMENT: 2,
}


def build(tags: Iterable[TagInfo], keep: Container[int] | None = None) -> Registry:
    """Build the registry from tags (in git's listing order); with keep, from only the tags at those
    places of the listing (each event keeps its place, so the events order as in the whole).

    This runs once per command over every tag (tens of thousands), so it avoids repeated lookups.
    """
    registry = Registry()
    # GTO applies deprecations, then version events, then stage events, each in time order.
    groups: tuple[list[Event], list[Event], list[Event]] = ([], [], [])
    deprecations, versions, stages = groups
    group_of = {kind: groups[group] for kind, group in _GROUPS.items()}
    fields_of = T.tag_fields
    for order, (tag, annotated, commit, object_id, tagger, email, timestamp, tz, message) in enumerate(tags):
        if keep is not None and order not in keep:
            continue
        parsed = fields_of(tag)
        if parsed is None:
            continue
        name, kind, version, stage, counter = parsed
        if not annotated or commit is None:
            registry.lightweight.setdefault(name, []).append(tag)
            continue
        # Positional arguments: this runs once per tag, and keywords cost a third more.
        group_of[kind].append(Event(kind, name, commit, tag, timestamp, tz, tagger, email, message.strip(), version,
                                    stage, counter, order, object_id))
    for group in (deprecations, versions, stages):
        group.sort(key=_timestamp)  # stable: events of one second stay in git's order
    artifacts = registry.artifacts

    def artifact_of(event: Event) -> Artifact:
        found = artifacts.get(event.artifact)
        if found is None:
            found = artifacts[event.artifact] = Artifact(event.artifact, first=event)
        return found

    for event in deprecations:
        artifact = artifact_of(event)
        if event.event == T.DEPRECATION:
            artifact.deprecations.append(event)
        else:
            artifact.creations.append(event)
            registry.problems.append(
                Problem(event.artifact, f"tag '{event.tag}' uses '@created', which has no meaning (ignored)")
            )
    by_name: dict[tuple[str, str | None, str], Version] = {}  # (artifact, version, commit)
    at_commit: dict[tuple[str, str], list[Version]] = {}  # (artifact, commit): registered there
    registration = T.REGISTRATION
    for event in versions:
        key = (event.artifact, event.version, event.commit)
        found = by_name.get(key)
        if found is None:
            found = by_name[key] = Version(event.artifact, event.version or "", event.commit)
            artifact_of(event).versions.append(found)
            at_commit.setdefault((event.artifact, event.commit), []).append(found)
        (found.registrations if event.event == registration else found.deregistrations).append(event)
    by_commit: dict[tuple[str, str], Version] = {}  # (artifact, commit): the version stage tags mean
    assignment = T.ASSIGNMENT
    for event in stages:
        key2 = (event.artifact, event.commit)
        found = by_commit.get(key2)
        if found is None:
            found = by_commit[key2] = _version_for_commit(artifact_of(event), event.commit, at_commit.get(key2))
        event.version = found.version
        stage_name = event.stage or ""
        vstage = found.stages.get(stage_name)
        if vstage is None:
            vstage = found.stages[stage_name] = Stage(event.artifact, found.version, found.commit, stage_name)
        (vstage.assignments if event.event == assignment else vstage.unassignments).append(event)
    _check(registry)
    return registry


def _version_for_commit(artifact: Artifact, commit: str, candidates: list[Version] | None) -> Version:
    """The version a stage tag on commit belongs to; a sha-named one if none is registered there."""
    if candidates:
        if len(candidates) == 1:
            return candidates[0]
        active = [v for v in candidates if v.is_active and v.is_registered]
        pool = active or candidates
        return max(pool, key=lambda v: (v.source.timestamp, v.source.order) if v.source else (0, 0))
    version = Version(artifact.name, commit, commit)
    artifact.versions.append(version)
    return version


def _check(registry: Registry) -> None:
    """Record what GTO refuses to read: several versions on one commit."""
    for artifact in registry.artifacts.values():
        by_commit: dict[str, list[str]] = {}
        for version in artifact.versions:
            if version.is_registered:
                by_commit.setdefault(version.commit, []).append(version.version)
        for commit, names in by_commit.items():
            if len(names) > 1:
                registry.problems.append(
                    Problem(
                        artifact.name,
                        f"versions {', '.join(names)} are registered on the same commit {commit[:7]}; "
                        "GTO refuses to read such a repository",
                    )
                )


@dataclass
class StageView:
    """Options of GTO's stage-to-version resolution."""

    versions_per_stage: int = 1  # --vs; -1 for all
    assignments_per_version: int = -1  # --av; -1 for all
    sort: str = "timestamp"  # or "semver": one of SORTS
    registered_only: bool = False  # --ro


SORTS = ("timestamp", "semver")  # --sort: which version wins a stage, the newest assignment or the greatest
GTO_VIEW = StageView()  # GTO's default reading (`which`, `show`)


def stage_winners(artifact: Artifact, view: StageView = GTO_VIEW) -> dict[str, list[Version]]:
    """Which versions are in each stage now, by GTO's rules (--vs, --av, --sort, --ro)."""
    # (version, its stage, the stage's newest assignment, GTO's tie-break among versions)
    kept: list[tuple[Version, Stage, Event, tuple[int, int]]] = []
    for index, version in enumerate(artifact.versions):
        if not version.is_active:
            continue
        if view.registered_only and not version.is_registered:
            continue
        active = [(s, s.activated_at) for s in version.stages.values() if s.is_active]
        if not active:
            continue
        if len(active) > 1:
            active.sort(key=lambda pair: _time(pair[1]))
            _counter_order(active, _second)
        if view.assignments_per_version >= 0:
            active = active[: view.assignments_per_version]
        # GTO: of stages assigned in one second, the one of the version registered first wins.
        source = version.source
        first = (-(source.timestamp if source else 0), -index)
        kept += [(version, stage, activated, first) for stage, activated in active]  # type: ignore[misc]
    if view.sort == "semver":
        rank = {id(v): i for i, v in enumerate(semver_sorted(item[0] for item in kept))}
        kept.sort(key=lambda item: rank[id(item[0])])
    else:
        kept.sort(key=lambda item: (item[2].timestamp, item[3]))
        _counter_order(kept, _third)
        kept.reverse()
    winners: dict[str, list[Version]] = {}
    limit = view.versions_per_stage
    for version, stage, _, _ in kept:
        chosen = winners.setdefault(stage.stage, [])
        if (limit >= 0 and len(chosen) >= limit) or version in chosen:
            continue
        chosen.append(version)
    return winners


_second = itemgetter(1)
_third = itemgetter(2)


def _time(event: Event | None) -> tuple[int, int]:
    return (event.timestamp, event.order) if event is not None else (0, 0)


def latest(artifact: Artifact, include_inactive: bool = False) -> Version | None:
    """The greatest SemVer version that is registered and not deregistered."""
    return greatest(v for v in artifact.versions if v.is_registered and (v.is_active or include_inactive))


def used_stages(registry: Registry) -> list[str]:
    """Stages with an active assignment anywhere, sorted."""
    found: set[str] = set()
    for artifact in registry.artifacts.values():
        for version in artifact.versions:
            if version.is_active:
                found.update(s.stage for s in version.stages.values() if s.is_active)
    return sorted(found)
