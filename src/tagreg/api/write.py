"""Changing the registry: register, assign, rollback, deprecate (and deregister, unassign, delete)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import replace
from typing import TypeVar

from .. import state as S
from .. import tags as T
from ..file_lock import file_lock
from . import governance
from .read import Kept, artifact_at, known, unknown_artifact
from .repository import PathLike, Repository, Writer, _open
from .results import Notice, RegistryError, TagChange

Result = TypeVar("Result")

MAX_ATTEMPTS = 100
BACKOFF_BASE, BACKOFF_CAP = 0.05, 2.0  # seconds: the first retry's window, and the widest
WRITE_TIMEOUT = 120.0  # seconds a write may spend waiting for a lock or retrying; TAGREG_WRITE_TIMEOUT


class _Conflict(Exception):
    """The remote already has the tag we pushed (someone was faster): fetch and compute again."""


def _transaction(
    repo: PathLike, name: str, push: bool, remote: str, body: Callable[[Repository, bool], Result]
) -> Result:
    """Run body (which creates and maybe pushes tags) until its pushes land without a conflict.

    Writers of one repository on this machine take turns: a local repository's lock file in its
    git folder, a remote's mirror lock. Each reads the tags under the lock, so two of them never
    compute the same `#N`. Writers elsewhere still can: the second push is rejected (or, for
    byte-identical tag objects, is a no-op), so we fetch, recompute and try the next counter,
    backing off exponentially with full jitter, for up to MAX_ATTEMPTS or the write timeout.
    On a remote registry, writes always push.
    """
    timeout = _write_timeout()
    deadline = time.monotonic() + timeout
    with _local_lock(repo, timeout):
        r = _open(repo, prefetch=name)
        reading = r.in_effect
        r.in_effect = False  # a write sees every tag (counters, names); the policy judges it in `_create`
        if isinstance(repo, Repository):
            r.forget_tags(head=False)  # tags read before the lock was ours (HEAD is no writer's to move)
        if r.mirror is not None:
            push, remote = True, r.remote_name
        try:
            with r.mirror.lock() if r.mirror is not None else nullcontext():
                attempt = 0
                while True:
                    try:
                        return body(r, push)
                    except _Conflict as conflict:
                        last = str(conflict)
                    attempt += 1
                    if attempt >= MAX_ATTEMPTS or time.monotonic() >= deadline:
                        break
                    import random

                    # Full jitter: racing writers spread out over a window that doubles with each loss
                    # (up to BACKOFF_CAP), so the next round has fewer of them at the same instant.
                    window = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt)
                    time.sleep(min(random.uniform(0, window), max(0.0, deadline - time.monotonic())))
                    r.refresh(remote, name)
        finally:
            if reading:  # what this write read, it read whole: a read after it starts afresh
                r.in_effect = True
                r.forget_tags()
    raise RegistryError(f"gave up after {attempt} attempts in {timeout - (deadline - time.monotonic()):.0f} s: "
                        f"concurrent writers keep taking {last}")


def _write_timeout() -> float:
    """TAGREG_WRITE_TIMEOUT (seconds), else WRITE_TIMEOUT."""
    value = os.environ.get("TAGREG_WRITE_TIMEOUT")
    try:
        return max(1.0, float(value)) if value else WRITE_TIMEOUT
    except ValueError:
        raise RegistryError(f"TAGREG_WRITE_TIMEOUT must be a number of seconds, not '{value}'") from None


def _local_lock(repo: PathLike, timeout: float):
    """The lock of a local repository's writers (`tagreg.lock` in its git folder, shared by its work
    trees); nothing for a remote (its mirror has a lock) or what is not a repository (opening it
    says so)."""
    from ..git import Git

    if isinstance(repo, Repository):
        if repo.mirror is not None:
            return nullcontext()
        where = repo.git.where
    elif isinstance(repo, (str, os.PathLike)) and os.path.isdir(repo):
        where = os.fspath(repo)
    else:
        return nullcontext()
    dot_git = os.path.join(where, ".git")
    git_dir = dot_git if os.path.isdir(dot_git) else Git(where).common_dir()  # a folder: no git to ask
    if git_dir is None:
        return nullcontext()
    return file_lock(os.path.join(git_dir, "tagreg"), where, timeout,
                     busy=f"another tagreg is writing to {where}: gave up waiting after {timeout:.0f} s")


def _simple(value: str | bool | None) -> bool | None:
    """`--simple auto|true|false` as None/True/False."""
    if value is None or value == "auto":
        return None
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise RegistryError(f"Invalid value for simple: '{value}'. Only one of ['auto', 'true', 'false'] is allowed")


def _next_counter(r: Repository, name: str) -> int:
    counters = [p.counter for _, p in r.own_tags(name) if p.counter is not None]
    return max(counters, default=0) + 1


FUTURE = 86400  # seconds: a tag dated later than a day from now is a broken clock or a hostile one


def _newest_time(r: Repository, name: str) -> int | None:
    """The tagger time of name's newest event (any of its annotated tags), as read under the
    writers' lock: a new event is dated after it, so no reader (GTO included) sees them tie.

    Events dated more than a day in the future are left out, with a notice: one such tag (year 9999)
    would otherwise date every later event after it, past what GTO can read."""
    import time

    limit = time.time() + FUTURE
    times: list[S.TagInfo] = []
    ahead: list[S.TagInfo] = []
    for t, _ in r.own_tags(name):
        if t.annotated:
            (ahead if t.timestamp > limit else times).append(t)
    if ahead:
        newest = max(ahead, key=lambda t: t.timestamp)
        more = f" and {len(ahead) - 1} more" if len(ahead) > 1 else ""
        r.tell(Notice(f"tag '{newest.tag}'{more} of '{name}' dated in the future (tagger time {newest.timestamp}): "
                      "new events are dated now, and sort before it"))
    return max((t.timestamp for t in times), default=None)


def _create(
    r: Repository, name: str, event: str, commit: str, *, version=None, stage=None, counter=None, message=None,
    push: bool = False, remote: str = "origin", rollback: bool = False, sign: bool = False,
) -> TagChange:
    """Create one annotated tag (and push it; on failure nothing is left behind locally). A policy
    that governs the change checks the tag as made (tagger, date, signature) before it is pushed,
    and one it refuses is taken back. rollback: a downgrade made on purpose (recorded in the message)."""
    tag = T.format_tag(name, event, version=version, stage=stage, counter=counter)
    if tag in r.tag_names(name):
        raise RegistryError(f"tag '{tag}' already exists")
    text = message or T.message_for(event, name, version=version, stage=stage)
    guard = governance.guard(r, name, event, stage)
    writer = r.writer or Writer()
    try:
        if guard is not None:
            text = guard.message(event, stage, version, text, rollback)
        text = with_trailers(text, writer.trailers)
        r.git.create_tag(tag, commit, text, after=_newest_time(r, name), sign=sign, tagger=writer.tagger,
                         signing=writer.signing)
        r.forget_tags()
        breaches = guard.check(tag) if guard is not None else []
    finally:
        if guard is not None:
            guard.close()
    if breaches:
        _drop(r, tag)
        raise governance.refusal(tag, breaches)
    change = TagChange(tag, event, name, version, stage, commit, remote=remote)
    if push:
        _push(r, change)
        if counter is not None:
            _yield_a_shared_counter(r, change, counter)
    return change


def with_trailers(message: str, trailers: tuple[tuple[str, str], ...]) -> str:
    """message with `Key: value` trailers at its end: in its last paragraph if that holds trailers
    already (`Tagreg-Rollback: v1.2.0`), else in a paragraph of their own, as git puts them."""
    if not trailers:
        return message
    lines = [f"{key}: {value}" for key, value in trailers]
    body = message.rstrip("\n")
    last = body.rpartition("\n\n")[2] if "\n\n" in body else ""
    if last and all(_TRAILER.match(line) for line in last.splitlines()):
        return body + "\n" + "\n".join(lines)
    return body + "\n\n" + "\n".join(lines)


_TRAILER = re.compile(r"^[A-Za-z0-9-]+: \S")


def _yield_a_shared_counter(r: Repository, change: TagChange, counter: int) -> None:
    """After pushing a counted tag: if the remote has another tag of the artifact with the same
    `#N` (a writer elsewhere pushed, say, `m#prod!#3` while we pushed `m#prod#3`: different names,
    so neither push was refused), take ours back and let the transaction try the next counter.
    Both writers may take theirs back; neither leaves a shared counter behind."""
    from ..git import GitError

    prefix = T.tag_prefix(change.name)
    try:
        listing = r.git.list_remote_tags(change.remote or "origin",
                                         [f"refs/tags/{prefix}@*", f"refs/tags/{prefix}#*"])
    except GitError:
        return  # the push just worked: a listing that fails now is not worth failing the write for
    for line in listing.decode("utf-8", "replace").splitlines():
        other = line.partition("\t")[2].removeprefix("refs/tags/")
        parsed = T.parse_tag(other)
        if other != change.tag and parsed is not None and parsed.name == change.name and parsed.counter == counter:
            withdrawn = TagChange(change.tag, change.event, change.name, change.version, change.stage, change.commit,
                                  deleted=True, remote=change.remote)
            _push(r, withdrawn)
            _drop(r, change.tag)
            raise _Conflict(change.tag)


def _push(r: Repository, change: TagChange) -> None:
    remote = change.remote or "origin"
    ref = f"refs/tags/{change.tag}"
    refspec = f":{ref}" if change.deleted else f"{ref}:{ref}"
    command = f"git push {'--delete ' if change.deleted else ''}{remote} {change.tag}"
    from ..remote import RemoteError, push_porcelain  # only when pushing: not on a local write's path

    try:
        flags = push_porcelain(r.git, remote, [refspec])
    except RemoteError as exc:
        if not change.deleted:
            _drop(r, change.tag)  # leave nothing the remote does not have
        raise RegistryError(f"The command `{command}` failed: {exc}") from exc
    flag = flags.get(ref)
    if not change.deleted and flag in ("!", "="):  # '=': an identical tag object was pushed by someone else
        _drop(r, change.tag)
        raise _Conflict(change.tag)
    if change.deleted and flag == "!":
        raise RegistryError(f"The command `{command}` failed: the remote refused to delete the tag")
    change.pushed = True


def _drop(r: Repository, tag: str) -> None:
    # A mirror's push of a deletion already removed its own copy (its refspec maps refs/tags/*).
    if tag in r.git.tag_names([f"refs/tags/{tag}"]):
        r.git.delete_tag(tag)
    r.forget_tags()


def _active_version_at(artifact: S.Artifact | None, commit: str) -> S.Version | None:
    if artifact is None:
        return None
    found = [v for v in artifact.versions_at(commit) if v.is_registered and v.is_active]
    return found[-1] if found else None


def _who(version: S.Version) -> str:
    event = version.registrations[-1] if version.registrations else version.source
    if event is None:
        return ""
    return f" (by {event.author} <{event.author_email}> at {event.created_at})"


def notice_new_names(r: Repository, name: str, artifact: S.Artifact | Kept | None, stage: str | None = None) -> None:
    """A new artifact (or stage) whose name looks like a typo of one the registry has is written all
    the same, with a notice for the caller in `r.warnings` (the CLI prints it). artifact: name's, or
    what is known of it (`read.known`), or None for a new one."""
    from .. import names as N  # small: difflib comes only for a name near another

    if artifact is None:
        from .read import artifact_names

        known = artifact_names(r, name)
        if name not in known and (close := N.typos_of(name, known)):
            r.tell(Notice(f"'{name}' is a new artifact" + N.did_you_mean(close)))
    stages: Collection[str]
    if isinstance(artifact, S.Artifact):
        stages = {s for v in artifact.versions for s in v.stages}
    else:
        stages = artifact.stages if artifact is not None else set()
    if stage is not None and r.config.stages is None and stage not in stages:
        from .read import used_stage_names

        used = used_stage_names(r)
        if stage not in used and (close := N.typos_of(stage, used)):
            r.tell(Notice(f"'{stage}' is a new stage" + N.did_you_mean(close)))


def _register(
    r: Repository, name: str, ref: str, version: str | None, message: str | None, simple: bool | None,
    force: bool, bump: str | None, push: bool, remote: str, sign: bool = False,
) -> TagChange:
    commit = r.resolve(ref)
    summary = known(r, name)
    notice_new_names(r, name, summary)
    # Only the tags at commit, and later those of the version to register, are built.
    artifact = artifact_at(r, name, {commit}) if summary is not None else None
    existing = _active_version_at(artifact, commit)
    if existing is not None and not force:
        raise RegistryError(
            f"'{name}' is already registered in this commit with version '{existing.version}'{_who(existing)}"
        )
    here = [v for v in (artifact.versions_at(commit) if artifact else []) if v.is_registered]
    if here and version is None:
        version = here[-1].version  # a commit (deregistered, or --force) can only get its own version back
    if here and version != here[-1].version:
        own = here[-1]
        was = "is registered" if own.is_active else "was registered"
        since = "" if own.is_active else " (deregistered since)"
        raise RegistryError(f"For this REF you can only register {own.version}: this commit {was} as "
                            f"{own.version}{since}, and a commit keeps its one version")
    if version is not None:
        if summary is not None:
            artifact = artifact_at(r, name, {commit}, {version})
        other = artifact.find_version(version) if artifact else None
        if other is not None and other.commit != commit and other.registrations:
            raise RegistryError(
                f"Version '{version}' already was registered{_who(other)} at commit {other.commit[:7]}."
            )
    else:
        base = summary.latest if summary is not None else None
        if base is None and bump is not None:
            raise RegistryError("Can't apply bump, because this is the first version being registered")
        version = T.bump(base, bump or "patch")
    counted = simple is False or (simple is None and force and existing is not None)
    counter = _next_counter(r, name) if counted else None
    return _create(r, name, T.REGISTRATION, commit, version=version, counter=counter, message=message,
                   push=push, remote=remote, sign=sign)


def register(
    repo: PathLike,
    name: str,
    *,
    ref: str = "HEAD",
    version: str | None = None,
    message: str | None = None,
    simple: str | bool | None = "auto",
    force: bool = False,
    bump_major: bool = False,
    bump_minor: bool = False,
    bump_patch: bool = False,
    push: bool = False,
    remote: str = "origin",
    sign: bool = False,
) -> TagChange:
    """Register a new version of name at ref (next patch version unless told otherwise); sign: sign
    the tag (`git tag -s`)."""
    T.check_name(name)
    if sum([version is not None, bump_major, bump_minor, bump_patch]) > 1:
        raise RegistryError("Need to specify either version or single bump argument")
    if version is not None and not T.is_version(version):
        raise RegistryError(f"Supplied version '{version}' cannot be parsed")
    simple_value = _simple(simple)
    bump = "major" if bump_major else "minor" if bump_minor else "patch" if bump_patch else None
    return _transaction(repo, name, push, remote, lambda r, push_: _register(
        r, name, ref, version, message, simple_value, force, bump, push_, remote, sign))


def assign(
    repo: PathLike,
    name: str,
    stage: str,
    *,
    ref: str | None = None,
    version: str | None = None,
    message: str | None = None,
    simple: str | bool | None = "auto",
    force: bool = False,
    push: bool = False,
    remote: str = "origin",
    skip_registration: bool = False,
    sign: bool = False,
) -> list[TagChange]:
    """Assign stage to a version of name (by version, or by ref, registering the commit if needed).
    With a policy that forbids downgrades, force records a lower version as a rollback; sign: sign
    the tags (`git tag -s`)."""
    T.check_name(name)
    if version is not None and not T.is_version(version):
        raise RegistryError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
    simple_value = _simple(simple)

    def body(r: Repository, push: bool) -> list[TagChange]:
        r.config.check_stage(stage)
        if ref is not None and version is not None and skip_registration:  # --version names a version to register
            raise RegistryError("You either need to supply version name or skip registration")
        summary = known(r, name)
        notice_new_names(r, name, summary, stage)
        changes: list[TagChange] = []
        if ref is None and version is not None:
            artifact = artifact_at(r, name, set(), {version}) if summary is not None else None
            target = artifact.find_version(version) if artifact else None
            if target is None or not target.is_registered or not target.is_active:
                raise RegistryError(f"Version '{version}' is not registered")
            commit, version_name = target.commit, target.version
        else:
            commit = r.resolve(ref or "HEAD")
            artifact = artifact_at(r, name, {commit}) if summary is not None else None
            target = _active_version_at(artifact, commit)
            if target is not None and version is not None and version != target.version:
                # GTO's refusal; assigning the ref's own version instead would do something else than asked
                raise RegistryError(f"Can't register '{version}', since '{target.version}' is registered already "
                                    "at this ref")
            if target is not None:
                version_name = target.version
            elif skip_registration:
                version_name = commit
                target = next((v for v in (artifact.versions_at(commit) if artifact else []) if not v.is_registered),
                              None)
            else:
                change = _register(r, name, commit, version, None, None, False, None, push, remote, sign)
                changes.append(change)
                version_name = change.version or commit
                target = None
        current = summary.winners.get(stage) if summary is not None else None
        if target is not None and not force and current and current[0] == (target.version, target.commit):
            # Only a real no-op is refused: another version's older assignment is a rollback.
            raise RegistryError(
                f"Version '{version_name}' is already the current version in stage '{stage}'. "
                "Use the '--force' flag to create a new Git tag nevertheless."
            )
        changes.append(_assign_tag(r, name, stage, commit, version_name, message, simple_value, push, remote,
                                   rollback=force, sign=sign))
        return changes

    return _transaction(repo, name, push, remote, body)


def _assign_tag(
    r: Repository, name: str, stage: str, commit: str, version_name: str, message: str | None,
    simple: bool | None, push: bool, remote: str, rollback: bool = False, sign: bool = False,
) -> TagChange:
    counter = None if simple else _next_counter(r, name)
    return _create(
        r, name, T.ASSIGNMENT, commit, version=version_name, stage=stage, counter=counter,
        message=message or T.message_for(T.ASSIGNMENT, name, version=version_name, stage=stage),
        push=push, remote=remote, rollback=rollback, sign=sign)


def _current_in(artifact: S.Artifact | None, stage: str) -> S.Version | None:
    """The version in stage now, as `which` answers (GTO's default reading)."""
    if artifact is None:
        return None
    winners = S.stage_winners(artifact).get(stage)
    return winners[0] if winners else None


def _deprecation_commit(r: Repository, artifact: S.Artifact) -> str:
    """Where `deprecate NAME` puts its tag, as GTO does: at the artifact's newest event, where GTO's
    events include each version's commit (dated by its committer) and HEAD when HEAD's annotation
    files mention the artifact. Ties go to the one GTO lists last (versions after deprecations)."""
    from ..git import parse_commit

    try:
        head: str | None = r.head()
    except RegistryError:
        head = None
    commits: dict[str, bytes | None] = dict.fromkeys(([head] if head else []) + [v.commit for v in artifact.versions])
    annotated = head is not None and artifact.name in r.annotations([head], [artifact.name], also=commits)[head]

    def dated(commit: str) -> list[tuple[int, str]]:
        raw = commits.get(commit)
        return [(parse_commit(commit, raw).timestamp, commit)] if raw is not None else []

    candidates = [(e.timestamp, e.commit) for e in artifact.deprecations]
    for version in artifact.versions:
        candidates += dated(version.commit) + [(e.timestamp, e.commit) for e in version.events]
    if annotated:
        candidates += dated(head)  # type: ignore[arg-type]
    if not candidates:
        return r.head()
    return max(enumerate(candidates), key=lambda item: (item[1][0], item[0]))[1][1]


def rollback_plan(artifact: S.Artifact) -> dict[str, tuple[S.Version, S.Version]]:
    """For each stage that has a version to roll back to: (its current version, that version).

    The version to roll back to is the one the stage would fall back to if its current version were
    unassigned (GTO's reading): the newest still-standing assignment of another registered, not
    deregistered version. So a version unassigned by hand is never brought back, and rolling back
    twice returns to where it started (like `kubectl rollout undo`).
    """
    plan = {}
    every_version = replace(S.StageView(), versions_per_stage=-1)  # each stage's versions, newest assignment first
    for stage, versions in S.stage_winners(artifact, every_version).items():
        previous = next((v for v in versions[1:] if v.is_registered), None)
        if previous is not None:
            plan[stage] = (versions[0], previous)
    return plan


def _rollback_target(artifact: S.Artifact, stage: str) -> tuple[S.Version, S.Version]:
    plan = rollback_plan(artifact)
    if stage in plan:
        return plan[stage]
    if not any(stage in v.stages and v.stages[stage].assignments for v in artifact.versions):
        raise RegistryError(f"Stage '{stage}' was never assigned to a version of '{artifact.name}': "
                            "nothing to roll back")
    current = _current_in(artifact, stage)
    if current is None:
        raise RegistryError(f"Stage '{stage}' of '{artifact.name}' is empty: nothing to roll back")
    raise RegistryError(f"Nothing to roll back to: no version of '{artifact.name}' other than {current.version} "
                        f"is still assigned to stage '{stage}'")


def rollback(
    repo: PathLike,
    name: str,
    stage: str,
    *,
    message: str | None = None,
    simple: str | bool | None = "auto",
    push: bool = False,
    remote: str = "origin",
    sign: bool = False,
) -> TagChange:
    """Assign stage the version it had before its current one (see `rollback_plan`); the change's
    `replaced` is the version that was current. A policy that forbids downgrades sees it recorded as
    a rollback."""
    T.check_name(name)
    simple_value = _simple(simple)

    def body(r: Repository, push: bool) -> TagChange:
        r.config.check_stage(stage)
        artifact = r.registry(name).find(name)
        if artifact is None:
            raise unknown_artifact(r, name)
        current, target = _rollback_target(artifact, stage)
        change = _assign_tag(r, name, stage, target.commit, target.version, message, simple_value, push, remote,
                             rollback=True, sign=sign)
        change.replaced = current.version
        return change

    return _transaction(repo, name, push, remote, body)


def _delete(r: Repository, tags: list[S.Event], push: bool, remote: str) -> list[TagChange]:
    if tags:
        governance.check_deletion(r, tags[0].artifact, tags)
    changes = []
    for event in sorted(tags, key=lambda e: (e.timestamp, e.order)):
        change = TagChange(event.tag, event.event, event.artifact, event.version, event.stage, event.commit,
                           deleted=True, remote=remote)
        if push:
            _push(r, change)
        _drop(r, event.tag)
        changes.append(change)
    return changes


def deprecate(
    repo: PathLike,
    name: str,
    *,
    version: str | None = None,
    stage: str | None = None,
    ref: str | None = None,
    message: str | None = None,
    simple: str | bool | None = "auto",
    force: bool = False,
    delete: bool = False,
    push: bool = False,
    remote: str = "origin",
    sign: bool = False,
) -> list[TagChange]:
    """Deprecate name; with version, deregister it; with version and stage, unassign the stage.

    With delete, remove the related tags instead of adding a cancelling one (a policy's `who` for
    the stages they change applies to the deleting identity). sign: sign the tag (`git tag -s`).
    """
    T.check_name(name)
    if version is not None and not T.is_version(version):
        raise RegistryError(f"Version '{version}' is not valid. Example of valid version: 'v1.0.0'")
    if stage is not None:
        T.check_stage(stage)
    simple_value = _simple(simple)
    if force and simple_value is True:
        raise RegistryError("Can't use 'force' with 'simple=True'")

    def body(r: Repository, push: bool) -> list[TagChange]:
        artifact = r.registry(name).find(name)
        if version is None:
            if artifact is None:
                raise unknown_artifact(r, name)
            if delete:
                return _delete(r, artifact.events, push, remote)
            if not artifact.is_active and not force:
                raise RegistryError("Artifact was deprecated already")
            commit = r.resolve(ref) if ref is not None else _deprecation_commit(r, artifact)
            counted = simple_value is False or (simple_value is None and force)
            return [_create(r, name, T.DEPRECATION, commit, counter=_next_counter(r, name) if counted else None,
                            message=message, push=push, remote=remote, sign=sign)]
        if artifact is None:
            raise unknown_artifact(r, name, f"No versions found for '{name}'")
        target = artifact.find_version(version)
        if target is None:
            raise RegistryError(f"No versions found for '{name}'" if not artifact.versions
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
                            message=message, push=push, remote=remote, sign=sign)]
        vstage = target.stages.get(stage)
        if vstage is None or not vstage.assignments:
            raise RegistryError(f"Stage '{stage}' is not assigned to a version '{version}'")
        if delete:
            return _delete(r, vstage.assignments + vstage.unassignments, push, remote)
        counter = None if simple_value else _next_counter(r, name)
        return [_create(r, name, T.UNASSIGNMENT, target.commit, version=target.version, stage=stage,
                        counter=counter, message=message, push=push, remote=remote, sign=sign)]

    return _transaction(repo, name, push, remote, body)
