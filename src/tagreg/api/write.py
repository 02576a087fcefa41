"""Changing the registry: register, assign, deprecate (and deregister, unassign, delete)."""

from __future__ import annotations

from typing import Optional, Union

from .. import state as S
from .. import tags as T
from ..git import GitError
from .repository import PathLike, Repository, _open
from .results import RegistryError, TagChange


def _simple(value: Union[str, bool, None]) -> Optional[bool]:
    """`--simple auto|true|false` as None/True/False."""
    if value is None or value == "auto":
        return None
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise RegistryError(f"Invalid value for simple: '{value}'. Only one of ['auto', 'true', 'false'] is allowed")


def _next_counter(r: Repository, name: str) -> int:
    counters = [p.counter for t in r.tag_names(name) if (p := T.parse_tag(t)) and p.counter is not None]
    return max(counters, default=0) + 1


def _create(
    r: Repository, name: str, event: str, commit: str, *, version=None, stage=None, counter=None, message=None,
    push: bool = False, remote: str = "origin",
) -> TagChange:
    tag = T.format_tag(name, event, version=version, stage=stage, counter=counter)
    if tag in r.tag_names(name):
        raise RegistryError(f"tag '{tag}' already exists")
    r.git.create_tag(tag, commit, message or T.message_for(event, name, version=version, stage=stage))
    r.forget_tags()
    change = TagChange(tag, event, name, version, stage, commit, remote=remote)
    if push:
        _push(r, change)
    return change


def _push(r: Repository, change: TagChange) -> None:
    remote = change.remote or "origin"
    refspec = f":refs/tags/{change.tag}" if change.deleted else f"refs/tags/{change.tag}:refs/tags/{change.tag}"
    command = f"git push {'--delete ' if change.deleted else ''}{remote} {change.tag}"
    try:
        r.git.push(remote, [refspec])
    except GitError as exc:
        if not change.deleted:
            r.git.delete_tag(change.tag)  # leave nothing the remote does not have
        raise RegistryError(
            f"The command `{command}` failed. Make sure your local repository is in sync with the remote. ({exc})"
        ) from exc
    change.pushed = True


def _active_version_at(artifact: Optional[S.Artifact], commit: str) -> Optional[S.Version]:
    if artifact is None:
        return None
    found = [v for v in artifact.versions_at(commit) if v.is_registered and v.is_active]
    return found[-1] if found else None


def register(
    repo: PathLike,
    name: str,
    ref: str = "HEAD",
    *,
    version: Optional[str] = None,
    message: Optional[str] = None,
    simple: Union[str, bool, None] = "auto",
    force: bool = False,
    bump_major: bool = False,
    bump_minor: bool = False,
    bump_patch: bool = False,
    push: bool = False,
    remote: str = "origin",
) -> TagChange:
    """Register a new version of name at ref (next patch version unless told otherwise)."""
    T.check_name(name)
    if sum([version is not None, bump_major, bump_minor, bump_patch]) > 1:
        raise RegistryError("Need to specify either version or single bump argument")
    if version is not None and not T.is_version(version):
        raise RegistryError(f"Supplied version '{version}' cannot be parsed")
    simple_value = _simple(simple)
    r = _open(repo)
    commit = r.resolve(ref)
    artifact = r.registry(name).find(name)
    existing = _active_version_at(artifact, commit)
    if existing is not None and not force:
        raise RegistryError(f"'{name}' is already registered in this commit with version '{existing.version}'")
    if existing is not None:
        version = existing.version
    here = [v for v in (artifact.versions_at(commit) if artifact else []) if v.is_registered]
    if here and version is None:
        version = here[-1].version  # a deregistered commit can only get its own version back
    if here and version != here[-1].version:
        raise RegistryError(f"For this REF you can only register {here[-1].version}")
    if version is not None:
        other = artifact.find_version(version) if artifact else None
        if other is not None and other.commit != commit and other.registrations:
            who = other.registrations[-1]
            raise RegistryError(
                f"Version '{version}' already was registered (by {who.author} <{who.author_email}> "
                f"at {who.created_at}, commit {other.commit[:7]})."
            )
    else:
        base = S.latest(artifact) if artifact else None
        if base is None and (bump_major or bump_minor or bump_patch):
            raise RegistryError("Can't apply bump, because this is the first version being registered")
        part = "major" if bump_major else "minor" if bump_minor else "patch"
        version = T.bump(base.version if base else None, part)
    counted = simple_value is False or (simple_value is None and force and existing is not None)
    counter = _next_counter(r, name) if counted else None
    return _create(r, name, T.REGISTRATION, commit, version=version, counter=counter, message=message,
                   push=push, remote=remote)


def assign(
    repo: PathLike,
    name: str,
    stage: str,
    ref: Optional[str] = None,
    *,
    version: Optional[str] = None,
    message: Optional[str] = None,
    simple: Union[str, bool, None] = "auto",
    force: bool = False,
    push: bool = False,
    remote: str = "origin",
    skip_registration: bool = False,
) -> list[TagChange]:
    """Assign stage to a version of name (by version, or by ref, registering the commit if needed)."""
    T.check_name(name)
    r = _open(repo)
    r.config.check_stage(stage)
    if version is not None and not T.is_version(version):
        raise RegistryError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
    simple_value = _simple(simple)
    artifact = r.registry(name).find(name)
    changes: list[TagChange] = []
    if ref is None and version is not None:
        target = artifact.find_version(version) if artifact else None
        if target is None or not target.is_registered or not target.is_active:
            raise RegistryError(f"Version '{version}' is not registered")
        commit, version_name = target.commit, target.version
    else:
        commit = r.resolve(ref or "HEAD")
        target = _active_version_at(artifact, commit)
        if target is not None:
            version_name = target.version
        elif skip_registration:
            version_name = commit
            target = next((v for v in (artifact.versions_at(commit) if artifact else []) if not v.is_registered), None)
        else:
            change = register(r, name, commit, version=version, push=push, remote=remote)
            changes.append(change)
            version_name = change.version or commit
            target = None
    if target is not None and stage in target.stages and target.stages[stage].is_active and not force:
        raise RegistryError(
            f"Version '{version_name}' is already in stage '{stage}'. "
            "Use the '--force' flag to create a new Git tag nevertheless."
        )
    counter = None if simple_value else _next_counter(r, name)
    changes.append(
        _create(r, name, T.ASSIGNMENT, commit, version=version_name, stage=stage, counter=counter,
                message=message or T.message_for(T.ASSIGNMENT, name, version=version_name, stage=stage),
                push=push, remote=remote)
    )
    return changes


def _delete(r: Repository, tags: list[S.Event], push: bool, remote: str) -> list[TagChange]:
    changes = []
    for event in sorted(tags, key=lambda e: (e.timestamp, e.order)):
        change = TagChange(event.tag, event.event, event.artifact, event.version, event.stage, event.commit,
                           deleted=True, remote=remote)
        if push:
            _push(r, change)
        r.git.delete_tag(event.tag)
        r.forget_tags()
        changes.append(change)
    return changes


def deprecate(
    repo: PathLike,
    name: str,
    version: Optional[str] = None,
    stage: Optional[str] = None,
    *,
    ref: Optional[str] = None,
    message: Optional[str] = None,
    simple: Union[str, bool, None] = "auto",
    force: bool = False,
    delete: bool = False,
    push: bool = False,
    remote: str = "origin",
) -> list[TagChange]:
    """Deprecate name; with version, deregister it; with version and stage, unassign the stage."""
    T.check_name(name)
    if version is not None and not T.is_version(version):
        raise RegistryError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
    if stage is not None:
        T.check_stage(stage)
    simple_value = _simple(simple)
    if force and simple_value is True:
        raise RegistryError("Can't use 'force' with 'simple=True'")
    r = _open(repo)
    artifact = r.registry(name).find(name)
    if version is None:
        if artifact is None:
            raise RegistryError(f"Cannot find artifact '{name}'")
        if delete:
            return _delete(r, artifact.events, push, remote)
        if not artifact.is_active and not force:
            raise RegistryError("Artifact was deprecated already")
        if ref is not None:
            commit = r.resolve(ref)
        else:
            newest = S._newest(artifact.events)
            commit = newest.commit if newest else r.head()
        counter = _next_counter(r, name) if (simple_value is False or (simple_value is None and force)) else None
        return [_create(r, name, T.DEPRECATION, commit, counter=counter, message=message, push=push, remote=remote)]
    target = artifact.find_version(version) if artifact else None
    if target is None:
        raise RegistryError(f"No versions found for '{name}'" if artifact is None or not artifact.versions
                            else f"Version '{version}' is not registered")
    if stage is None:
        if delete:
            return _delete(r, target.events, push, remote)
        if not target.is_registered:
            raise RegistryError(f"The version at ref '{target.commit}' is not registered")
        if not target.is_active and not force:
            raise RegistryError(f"The version at ref '{target.commit}' was deregistered already")
        counter = _next_counter(r, name) if simple_value is False else None
        return [_create(r, name, T.DEREGISTRATION, target.commit, version=target.version, counter=counter,
                        message=message, push=push, remote=remote)]
    vstage = target.stages.get(stage)
    if vstage is None or not vstage.assignments:
        raise RegistryError(f"Stage '{stage}' is not assigned to a version '{version}'")
    if delete:
        return _delete(r, vstage.assignments + vstage.unassignments, push, remote)
    counter = None if simple_value else _next_counter(r, name)
    return [_create(r, name, T.UNASSIGNMENT, target.commit, version=target.version, stage=stage, counter=counter,
                    message=message, push=push, remote=remote)]


