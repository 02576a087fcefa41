"""GTO 1.10.1's `gto.api` on tagreg: `import gto.api` -> `import tagreg.gto.api` is the migration.

Every public function of `gto.api` with its parameters (order, names and defaults), the objects it
returns (`tagreg.gto.base`, `tagreg.gto.index`; dicts where GTO returns dicts) and the exceptions it
raises (`tagreg.gto.exceptions`, with GTO's messages). Each is a thin call into `tagreg.api`: the
registry is read and written by tagreg, and only translated here. `stdout` is accepted and, as in
GTO's API, prints nothing (GTO prints only under its CLI).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import annotations as A
from .. import api
from .. import state as S
from .. import tags as T
from ..api import ListedVersion, Repository
from ..errors import UserError
from . import base as B
from .constants import ASSIGNMENTS_PER_VERSION, VERSIONS_PER_STAGE, Action, VersionSort
from .exceptions import (
    ArtifactNotFound,
    CloneError,
    GTOException,
    InvalidTagName,
    InvalidVersion,
    ManyVersions,
    NotImplementedInGTO,
    RefNotFound,
    RevError,
    SCMError,
    TagExists,
    UnknownStage,
    ValidationError,
    VersionAlreadyRegistered,
    VersionExistsForCommit,
    VersionRequired,
    WrongArgs,
    WrongConfig,
)
from .index import Artifact, GTOInfo

RepoLike = str | Path | Repository  # GTO also takes a scmrepo `Git`; tagreg takes its own `Repository`

__all__ = [
    "assign", "check_ref", "deprecate", "deregister", "describe", "find_latest_version",
    "find_versions_in_stage", "get_stages", "history", "parse_tag", "register", "show", "unassign",
]

# -- errors ------------------------------------------------------------------------------------

_FORCE_HINT = "Use the '--force' flag to create a new Git tag nevertheless."

# tagreg's message of a refusal -> the exception GTO's API raises for it (tagreg's messages add a
# cause or a suggestion to some of GTO's; the exception has GTO's message).
_TRANSLATED: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Exception]]] = [
    (re.compile(r"Cannot find artifact '(.*?)'(; did you mean .*)?"), lambda m: ArtifactNotFound(m[1])),
    (re.compile(r"No versions found for '(.*)'"), lambda m: VersionRequired(m[1])),
    (re.compile(r"Version '(.*?)' is already the current version in stage '(.*?)'\. .*"),
     lambda m: WrongArgs(f"Version '{m[1]}' is already in stage '{m[2]}'. {_FORCE_HINT}")),
    (re.compile(r"'(.*?)' is already registered in this commit with version '(.*?)'.*"),
     lambda m: VersionExistsForCommit(m[1], m[2])),
    (re.compile(r"Version '(.*?)' already was registered.*", re.DOTALL), lambda m: VersionAlreadyRegistered(m[1])),
    (re.compile(r"(For this REF you can only register \S+):.*"), lambda m: WrongArgs(m[1])),
    (re.compile(r"tag '(.*)' already exists"), lambda m: TagExists(m[1])),
    (re.compile(r"Supplied version '.*' cannot be parsed"), lambda m: InvalidVersion(m[0])),
    (re.compile(r"Unknown Git revision '(.*)'"), lambda m: RevError(f"unknown Git revision '{m[1]}'")),
    (re.compile(r"The command `git push (?:--delete )?(\S+ \S+)` failed.*", re.DOTALL),
     lambda m: GTOException(f"The command `git push {m[1]}` failed. "
                            "Make sure your local repository is in sync with the remote.")),
    (re.compile(r"Wrong config file '(.*?)'.*", re.DOTALL), lambda m: WrongConfig(m[1])),
    (re.compile(r"Invalid value '.*", re.DOTALL), lambda m: ValidationError(m[0])),
    (re.compile(r"Version '.*' is not valid\. Example of valid version: 'v1\.0\.0'|Version '.*' is not registered"
                r"|Stage '.*' is not assigned to a version '.*'|The version at ref '.*' (is not registered|was "
                r"deregistered already)|Artifact was deprecated already|Can't use 'force' with 'simple=True'"
                r"|Need to specify either version or single bump argument|Can't apply bump, because this is the "
                r"first version being registered|You either need to supply version name or skip registration"
                r"|Can't register '.*', since '.*' is registered already at this ref"), lambda m: WrongArgs(m[0])),
]


def _translated(exc: UserError) -> Exception:
    """The GTO exception for one of tagreg's (a GTOException with tagreg's message if GTO has none)."""
    message = str(exc)
    for pattern, make in _TRANSLATED:
        match = pattern.fullmatch(message)
        if match is not None:
            return make(match)
    return GTOException(message)


@contextmanager
def _gto_errors() -> Iterator[None]:
    """tagreg's errors raised as GTO's."""
    try:
        yield
    except UserError as exc:
        raise _translated(exc) from exc


def _open(repo: RepoLike) -> Repository:
    """The registry repo names, as GTO opens it: an existing path is a local repository, anything
    else a URL (GTO clones it; tagreg reads it through its cached mirror)."""
    if isinstance(repo, Repository):
        return repo
    if not isinstance(repo, (str, os.PathLike)):
        raise TypeError(f"a repository is a path, a URL or a tagreg Repository, not {type(repo).__name__}")
    location = os.fspath(repo)
    try:
        return Repository(location)
    except UserError as exc:
        if os.path.exists(location):
            if str(exc).endswith("is not a git repository"):
                raise SCMError(f"{location} is not a git repository") from exc
            raise _translated(exc) from exc
        raise CloneError(location, tempfile.gettempdir()) from exc


def _has_commits(r: Repository) -> bool:
    return r.git.head() is not None


def _tagger(r: Repository, author: str | None, author_email: str | None) -> None:
    """Tags of this call's writes name author <author_email> as their tagger (GTO's parameters)."""
    if author:
        r.git.env["GIT_COMMITTER_NAME"] = author
    if author_email:
        r.git.env["GIT_COMMITTER_EMAIL"] = author_email


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not T.is_fullname(name):
        raise ValidationError(T.INVALID_NAME.format(name))


def _check_version(version: str | None) -> None:
    if version and not T.is_version(version):
        raise WrongArgs(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")


def _check_args(r: Repository, name: str, version: str | None, ref: str | None, stage: str | None = None) -> None:
    """GTO's checks of a write that names a version by its version or by its commit."""
    _check_name(name)
    if stage is not None:
        if not T.is_name(stage):
            raise ValidationError(T.INVALID_NAME.format(stage))
        if r.config.stages is not None and stage not in r.config.stages:
            raise UnknownStage(stage, r.config.stages)
    _check_version(version)
    if not (version is None) ^ (ref is None):
        raise WrongArgs("One and only one of (version, rev) must be specified.")


def _resolve(r: Repository, ref: str) -> str:
    sha = r.git.resolve(ref)
    if sha is None:
        raise RevError(f"unknown Git revision '{ref}'")
    return sha


def _sort(sort: VersionSort | str) -> str:
    if isinstance(sort, VersionSort):
        return sort.value
    for member in VersionSort:
        if sort in (member.value, member.name):
            return member.value
    raise WrongArgs(f"Only one of {[m.value for m in VersionSort]} is allowed as sort, not '{sort}'")


_HEXSHA = re.compile(r"[0-9a-fA-F]{40}")


def _truncated(value: Any, truncate: bool) -> Any:
    """A commit sha cut to 7 characters if truncate (versions are never cut)."""
    return value[:7] if truncate and isinstance(value, str) and _HEXSHA.fullmatch(value) else value


# -- tagreg's objects as GTO's -----------------------------------------------------------------

_EVENTS: dict[str, type[B.BaseEvent]] = {
    T.REGISTRATION: B.Registration, T.DEREGISTRATION: B.Deregistration, T.ASSIGNMENT: B.Assignment,
    T.UNASSIGNMENT: B.Unassignment, T.DEPRECATION: B.Deprecation, T.CREATION: B.Creation,
}


def _event(event: S.Event, rank: int = 0) -> Any:
    """A tag's event as GTO's event object."""
    values: dict[str, Any] = {
        "artifact": event.artifact, "created_at": event.created_at, "author": event.author,
        "author_email": event.author_email, "message": event.message, "commit_hexsha": event.commit,
        "tag": event.tag, "_rank": rank,
    }
    if event.event in (T.REGISTRATION, T.DEREGISTRATION, T.ASSIGNMENT, T.UNASSIGNMENT):
        values["version"] = event.version
    if event.event in (T.ASSIGNMENT, T.UNASSIGNMENT):
        values["stage"] = event.stage
    return _EVENTS[event.event](**values)


def _ranks(events: list[S.Event]) -> dict[int, int]:
    """Each event's place in tagreg's order of events (by `id`)."""
    return {id(e): i for i, e in enumerate(S.in_order(events), start=1)}


def _vstage(stage: S.Stage, ranks: dict[int, int]) -> B.VStage:
    return B.VStage(
        artifact=stage.artifact, commit_hexsha=stage.commit, version=stage.version, stage=stage.stage,
        assignments=[_event(e, ranks.get(id(e), 0)) for e in stage.assignments],
        unassignments=[_event(e, ranks.get(id(e), 0)) for e in stage.unassignments],
    )


def _annotation(annotation: A.Annotation) -> Artifact:
    return Artifact(type=annotation.type, path=annotation.path, virtual=annotation.virtual,
                    labels=list(annotation.labels), description=annotation.description, custom=annotation.custom)


def _version(version: ListedVersion) -> B.Version:
    """A version as GTO's `Version`: its tags' events, its commit with its annotation, every stage it had."""
    ranks = _ranks(version.events)
    enrichments = []
    info = version.commit_info
    if info is not None:
        notes = []
        if version.annotation is not None:
            source = "dvc" if version.annotation.source.endswith(A.DVC_FILE) else "gto"
            notes.append(GTOInfo(source=source, artifact=_annotation(version.annotation)))
        enrichments.append(B.Commit(
            artifact=version.artifact, version=version.version, created_at=S.to_datetime(info.timestamp, info.tz),
            author=info.author, author_email=info.author_email, commit_hexsha=version.commit, message=info.message,
            committer=info.committer, committer_email=info.committer_email, enrichments=notes,
        ))
    return B.Version(
        artifact=version.artifact, commit_hexsha=version.commit, version=version.version, enrichments=enrichments,
        registrations=[_event(e, ranks[id(e)]) for e in version.registrations],
        deregistrations=[_event(e, ranks[id(e)]) for e in version.deregistrations],
        stages={name: _vstage(stage, ranks) for name, stage in version.stages.items()},
    )


def _versions(r: Repository, name: str) -> list[ListedVersion]:
    """Every version of name (deregistered ones too, of a deprecated artifact too), greatest SemVer
    first; ArtifactNotFound if the registry does not know name."""
    if not T.is_fullname(name) or not _has_commits(r):
        raise ArtifactNotFound(name)
    with _gto_errors():
        return api.show_versions(r, name, deprecated=True, vs=1, av=-1, sort="timestamp")  # GTO's, not a pin


def _find_version(r: Repository, name: str, version: str | None, ref: str | None,
                  known: bool = False) -> ListedVersion:
    """name's version named version, or at the commit ref names, as GTO finds it for a write: one
    with version tags (VersionRequired if none, ManyVersions if several). known: name must be an
    artifact of the registry (ArtifactNotFound if not)."""
    sha = _resolve(r, ref) if ref is not None else None
    try:
        versions = _versions(r, name)
    except ArtifactNotFound:
        if known:
            raise
        versions = []
    found = [v for v in versions if (v.registrations or v.deregistrations)
             and (version is None or v.version == version) and (sha is None or v.commit == sha)]
    if not found:
        raise VersionRequired(name)
    if len(found) > 1:
        raise ManyVersions(name, [v.version for v in found])
    return found[0]


def _written(r: Repository, change: api.TagChange) -> Any:
    """The event of a tag just written, as GTO's API returns it."""
    found = api.check_ref(r, change.tag)
    if len(found) != 1:
        raise NotImplementedInGTO("Can't process a tag that caused multiple events")
    return _event(found[0])


# -- reading -----------------------------------------------------------------------------------


def get_stages(repo: RepoLike, allowed: bool = False, used: bool = False) -> list[str] | None:
    """The stages of the registry: allowed by its config, used by its tags, or the config's if set
    else those used."""
    if allowed and used:
        raise AssertionError('Either "allowed" or "used" can be set')
    with _gto_errors():
        r = _open(repo)
        if not _has_commits(r):
            return r.config.stages if allowed or (not used and r.config.stages is not None) else []
        return api.stages(r, allowed=allowed, used=used)


def describe(repo: RepoLike, name: str, rev: str | None = None) -> Artifact | None:
    """The annotation of name at rev (default HEAD), or of the version a shortcut names
    (`NAME@vX.Y.Z`, `NAME@latest`, `NAME#STAGE`); None if there is none."""
    shortcut = T.parse_shortcut(name) if isinstance(name, str) else None
    with _gto_errors():
        r = _open(repo)
        if shortcut is not None and (shortcut.version or shortcut.stage):
            if rev:
                raise WrongArgs("Either specify revision or use naming shortcut.")
            versions = show(r, name)
            if len(versions) == 0:
                return None
            if len(versions) > 1:
                raise NotImplementedInGTO("Ambiguous naming shortcut: multiple variants found.")
            rev = versions[0]["commit_hexsha"]
        if shortcut is None:
            return None
        commit = _resolve(r, rev) if rev else r.head_commit()
        if commit is None:
            raise SCMError("Empty git repo")  # GTO asks scmrepo for HEAD's commit, which says so
        found = r.annotation(shortcut.name, commit)
        return _annotation(found) if found is not None else None


def parse_tag(name: str) -> dict[str, Any]:
    """What a tag name says: `name`, `version` or `stage`, `action` (an `Action`), `counter`."""
    fields = T.tag_fields(name) if isinstance(name, str) else None  # `refs/tags/m@v1.0.0`: the artifact `refs/tags/m`
    if fields is None:
        raise InvalidTagName(name)
    parsed = T.ParsedTag(*fields)
    out: dict[str, Any] = {"name": parsed.name}
    if parsed.version is not None:
        out["version"] = parsed.version
    if parsed.stage is not None:
        out["stage"] = parsed.stage
    if parsed.event in T.ACTIONS:
        out["action"] = Action(T.ACTIONS[parsed.event])
    if parsed.counter is not None:
        out["counter"] = parsed.counter
    return out


def find_latest_version(repo: RepoLike, name: str, all: bool = False,
                        registered: bool = True) -> B.Version | list[B.Version] | None:
    """The greatest version of name (all: every active version, greatest first); with registered
    (the default), only registered versions count."""
    with _gto_errors():
        r = _open(repo)
        versions = [v for v in _versions(r, name) if v.is_active and (v.is_registered or not registered)]
        if all:
            return [_version(v) for v in versions]
        return _version(versions[0]) if versions else None


def find_versions_in_stage(
    repo: RepoLike,
    name: str,
    stage: str,
    assignments_per_version: int = ASSIGNMENTS_PER_VERSION,
    versions_per_stage: int = VERSIONS_PER_STAGE,
    registered_only: bool = False,
) -> list[B.VStage] | None:
    """The versions of name in stage, as the stage of each (`VStage`); None if the stage has none.

    As in GTO's API, the versions in a stage are ranked by SemVer (the greatest first), not by the
    time of their assignment as `show` and `tagreg.api.which` rank them."""
    if versions_per_stage < -1:
        raise WrongArgs("'versions_per_stage' must be >=-1")
    if assignments_per_version < -1:
        raise WrongArgs("'assignments_per_version' must be >= -1")
    with _gto_errors():
        r = _open(repo)
        if not T.is_fullname(name) or not _has_commits(r):
            raise ArtifactNotFound(name)
        versions = api.show_versions(r, name, deprecated=True, registered_only=registered_only, vs=-1,
                                     av=assignments_per_version, sort="semver")
        found = [v for v in versions if stage in v.in_stages]
        if not found:
            return None
        if versions_per_stage >= 0:
            found = found[:versions_per_stage]
        return [_vstage(v.stages[stage], _ranks(v.events)) for v in found]


def check_ref(repo: RepoLike, ref: str) -> list[Any]:
    """The events the tag ref is (empty for a tag that is not a registry's, or not annotated)."""
    with _gto_errors():
        r = _open(repo)
        if not _has_commits(r):
            return []
        return [_event(e) for e in api.check_ref(r, ref)]


def show(
    repo: RepoLike,
    name: str | None = None,
    truncate_hexsha: bool = False,
    registered_only: bool = False,
    deprecated: bool = False,
    assignments_per_version: int = ASSIGNMENTS_PER_VERSION,
    versions_per_stage: int = VERSIONS_PER_STAGE,
    sort: VersionSort | str = VersionSort.Timestamp,
    table: bool = False,
) -> Any:
    """The registry (no name: `{artifact: {"version", "stage", "registered", "active"}}`) or the
    versions of one artifact or shortcut (a list of dicts, GTO's `dict_state` of each version with
    the stages it is in); with table, `(rows, "keys")` as GTO's CLI prints them."""
    with _gto_errors():
        r = _open(repo)
        options = {"registered_only": registered_only, "deprecated": deprecated, "vs": versions_per_stage,
                   "av": assignments_per_version, "sort": _sort(sort)}
        if name:
            return _show_versions(r, name, options, table, truncate_hexsha)
        return _show_registry(r, options, table, truncate_hexsha)


def _show_registry(r: Repository, options: dict[str, Any], table: bool, truncate: bool) -> Any:
    if not _has_commits(r):
        state: dict[str, Any] = {}
        stages: list[str] = list(r.config.stages or [])
        registered: dict[str, bool] = {}
    else:
        view = api.show_registry(r, **options)
        state, stages = view.to_gto(), view.stages
        registered = {a.name: a.registered for a in view.artifacts}
    if truncate:
        for entry in state.values():
            entry["version"] = _truncated(entry["version"], True)
            entry["stage"] = {s: None if v is None else ", ".join(_truncated(x, True) for x in v.split(", "))
                              for s, v in entry["stage"].items()}
    if not table:
        return state
    rows = [OrderedDict(zip(["name", "latest"] + [f"#{s}" for s in stages],
                            [name if registered[name] else f"*{name}", entry["version"]]
                            + [entry["stage"][s] for s in stages], strict=True))
            for name, entry in sorted(state.items())]
    return rows, "keys"


def _show_versions(r: Repository, name: str, options: dict[str, Any], table: bool, truncate: bool) -> Any:
    shortcut = T.parse_shortcut(name)
    if shortcut is None or not _has_commits(r):
        raise ArtifactNotFound(shortcut.name if shortcut is not None else name)
    listed = api.show_versions(r, shortcut.name, **options)
    versions = []
    for version in listed:
        gto = _version(version)
        state = gto.dict_state()
        state["stages"] = [gto.stages[s].dict_state() for s in version.in_stages]
        versions.append(state)
    if shortcut.latest:
        versions = versions[:1]
    elif shortcut.version:
        versions = [v for v in versions if v["version"] == shortcut.version]
    elif shortcut.stage:
        versions = [v for v in versions for s in v["stages"] if s["stage"] == shortcut.stage]
    if not table:
        return versions
    registered = all(v.artifact_registered for v in listed)
    rows = []
    for v in versions:
        rows.append(OrderedDict([
            ("artifact", v["artifact"] if registered else f"*{v['artifact']}"),
            ("version", _truncated(v["version"], truncate)),
            ("stage", ", ".join(dict.fromkeys(s["stage"] for s in v["stages"]))),
            ("created_at", v["created_at"]),
            ("ref", _truncated(v["ref"], truncate)),
        ]))
    return rows, "keys"


def history(
    repo: RepoLike,
    artifact: str | None = None,
    ascending: bool = False,
    table: bool = False,
    truncate_hexsha: bool = False,
) -> Any:
    """Every registry event (of one artifact), newest first unless ascending: dicts with
    `timestamp`, `artifact`, `event`, `priority`, `version`, `stage`, `commit`, `author`,
    `author_email`, `message`, `ref`; with table, `(rows, "keys")` as GTO's CLI prints them."""
    with _gto_errors():
        r = _open(repo)
        events: list[S.Event] = []
        if _has_commits(r) and (not artifact or T.is_fullname(artifact)):
            events = api.history(r, artifact or None, ascending=ascending)
    rows = [OrderedDict(
        timestamp=e.created_at, artifact=e.artifact, event=e.event, priority=e.priority,
        version=_truncated(e.version, truncate_hexsha), stage=e.stage, commit=_truncated(e.commit, truncate_hexsha),
        author=e.author, author_email=e.author_email, message=e.message, ref=e.tag,
    ) for e in events]
    if not table:
        return rows
    keys = ["timestamp", "artifact", "event", "version", "stage", "commit", "ref"] if rows else []
    return [OrderedDict((key, row[key]) for key in keys) for row in rows], "keys"


# -- writing -----------------------------------------------------------------------------------


def register(
    repo: RepoLike,
    name: str,
    ref: str,
    version: str | None = None,
    message: str | None = None,
    simple: bool | None = None,
    force: bool = False,
    bump_major: bool = False,
    bump_minor: bool = False,
    bump_patch: bool = False,
    push: bool = False,
    stdout: bool = False,
    author: str | None = None,
    author_email: str | None = None,
) -> B.Registration:
    """Register a version of name at ref (the next patch version unless told otherwise)."""
    with _gto_errors():
        r = _open(repo)
        _check_name(name)
        if sum(bool(v) for v in (version, bump_major, bump_minor, bump_patch)) > 1:
            raise WrongArgs("Need to specify either version or single bump argument")
        commit = _resolve(r, ref)
        _tagger(r, author, author_email)
        change = api.register(r, name, ref=commit, version=version or None, message=message,
                              simple=True if simple is None else bool(simple), force=force, bump_major=bump_major,
                              bump_minor=bump_minor, bump_patch=bump_patch, push=push)
        return _written(r, change)


def assign(
    repo: RepoLike,
    name: str,
    stage: str,
    version: str | None = None,
    ref: str | None = None,
    name_version: str | None = None,
    message: str | None = None,
    simple: bool | None = False,
    force: bool = False,
    push: bool = False,
    skip_registration: bool = False,
    stdout: bool = False,
    author: str | None = None,
    author_email: str | None = None,
) -> B.Assignment:
    """Assign stage to a version of name: by version, or the commit ref (registering it as
    name_version, or the next patch version, unless skip_registration)."""
    with _gto_errors():
        r = _open(repo)
        _check_args(r, name, version, ref, stage)
        _check_version(name_version)
        if name_version and skip_registration:
            raise WrongArgs("You either need to supply version name or skip registration")
        commit = _resolve(r, ref) if ref is not None else None
        _tagger(r, author, author_email)
        changes = api.assign(r, name, stage, ref=commit, version=version if commit is None else name_version or None,
                             message=message, simple=bool(simple), force=force, push=push,
                             skip_registration=skip_registration)
        return _written(r, changes[-1])


def unassign(
    repo: RepoLike,
    name: str,
    ref: str | None = None,
    version: str | None = None,
    stage: str | None = None,
    message: str | None = None,
    stdout: bool = False,
    simple: bool | None = None,
    force: bool = False,
    delete: bool = False,
    push: bool = False,
    author: str | None = None,
    author_email: str | None = None,
) -> B.Unassignment | None:
    """Unassign stage from a version of name (by version or by ref); with delete, delete the
    version's tags of that stage instead (and return None)."""
    with _gto_errors():
        r = _open(repo)
        _check_args(r, name, version, ref, stage)
        found = _find_version(r, name, version, ref, known=True)
        _tagger(r, author, author_email)
        changes = api.deprecate(r, name, version=found.version, stage=str(stage), message=message,
                                simple=bool(simple), delete=delete, push=push)
        return None if delete else _written(r, changes[-1])


def deregister(
    repo: RepoLike,
    name: str,
    ref: str | None = None,
    version: str | None = None,
    message: str | None = None,
    stdout: bool = False,
    simple: bool | None = None,
    force: bool = False,
    delete: bool = False,
    push: bool = False,
    author: str | None = None,
    author_email: str | None = None,
) -> B.Deregistration | None:
    """Deregister a version of name (by version or by ref); with delete, delete the version's tags
    instead (and return None)."""
    with _gto_errors():
        r = _open(repo)
        _check_args(r, name, version, ref)
        try:
            found = _find_version(r, name, version, ref)
        except VersionRequired:
            if force:  # GTO's check of the version is what force skips
                raise WrongArgs("Can't deregister a version that have no git tags") from None
            raise
        _tagger(r, author, author_email)
        # simple unless told otherwise; "auto", not True: tagreg.api refuses force with simple=True, which GTO
        # refuses for a deprecation only
        changes = api.deprecate(r, name, version=found.version, message=message,
                                simple="auto" if simple is None or simple else False, force=force, delete=delete,
                                push=push)
        return None if delete else _written(r, changes[-1])


def deprecate(
    repo: RepoLike,
    name: str,
    ref: str | None = None,
    message: str | None = None,
    stdout: bool = False,
    simple: bool | None = None,
    force: bool = False,
    delete: bool = False,
    push: bool = False,
    author: str | None = None,
    author_email: str | None = None,
) -> B.Deprecation | None:
    """Deprecate name (its tag at ref, else at its newest event); with delete, delete every tag of
    name instead (and return None)."""
    with _gto_errors():
        r = _open(repo)
        _check_name(name)
        if force and simple:
            raise WrongArgs("Can't use 'force' with 'simple=True'")
        _tagger(r, author, author_email)
        try:
            changes = api.deprecate(r, name, ref=ref, message=message, simple=False if force else simple is not False,
                                    force=force, delete=delete, push=push)
        except UserError as exc:
            found = _translated(exc)
            raise (RefNotFound(ref) if isinstance(found, RevError) else found) from exc
        return None if delete else _written(r, changes[-1])
