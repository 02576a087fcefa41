"""The Python API: what a user's script calls, and what every CLI command is a thin call into.

Functions take the repository (a path) first, return plain dataclasses and never print.
User mistakes raise `RegistryError` (or another `tagreg.errors.UserError`) with one clear line.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Union

from . import annotations as A
from . import config as C
from . import state as S
from . import tags as T
from .errors import UserError
from .git import Git, GitError

PathLike = Union[str, Path]


class RegistryError(UserError):
    """A registry operation the state of the repository does not allow."""


# -- results -------------------------------------------------------------------------------


@dataclass
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


@dataclass
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
    state: Optional[S.Version] = field(default=None, repr=False, compare=False)
    shown_stages: list[S.Stage] = field(default_factory=list, repr=False, compare=False)

    @property
    def commit_hexsha(self) -> str:
        """GTO's name for commit."""
        return self.commit

    def to_gto(self) -> dict[str, Any]:
        """This version as GTO's `show NAME --json` prints it."""
        from .gto_json import version_object

        assert self.state is not None
        return version_object(self.state, self.shown_stages, self.annotation)


@dataclass
class ArtifactInfo:
    """One artifact, as the registry table `show` lists it."""

    name: str
    registered: bool
    active: bool
    latest: Optional[str]
    stages: dict[str, list[str]]  # stage -> versions in it (usually one)
    annotation: Optional[A.Annotation] = None
    state: Optional[S.Artifact] = field(default=None, repr=False, compare=False)

    def to_gto(self, stage_names: list[str]) -> dict[str, Any]:
        """This artifact as one entry of GTO's `show --json`."""
        return {
            "version": self.latest,
            "stage": {s: ", ".join(self.stages[s]) if self.stages.get(s) else None for s in stage_names},
            "registered": self.registered,
            "active": self.active,
        }


@dataclass
class RegistryView:
    """The registry table: artifacts and the stage columns to show."""

    artifacts: list[ArtifactInfo]
    stages: list[str]


@dataclass
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
    state: Optional[S.Event] = field(default=None, repr=False, compare=False)

    def to_gto(self) -> dict[str, Any]:
        """This event as GTO's `check-ref --json` prints it."""
        from .gto_json import check_ref_event

        assert self.state is not None
        return check_ref_event(self.state)


@dataclass
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
    state: Optional[S.Event] = field(default=None, repr=False, compare=False)

    def to_gto(self) -> dict[str, Any]:
        """This event as a row of GTO's `history --json`."""
        from .gto_json import history_event

        assert self.state is not None
        return history_event(self.state)


@dataclass
class Check:
    """One finding of `doctor`."""

    level: str  # "ok", "warning" or "error"
    message: str


# -- opening a repository ------------------------------------------------------------------


class Repository:
    """A registry repository: its git, its config and cached reads for one API call."""

    def __init__(self, repo: PathLike = "."):
        self.location = str(repo)
        path = Path(repo)
        self.git = Git(path)
        if not path.exists():
            raise RegistryError(f"'{repo}' does not exist")
        where = self.git.locate()
        if where is None:
            raise RegistryError(f"'{repo}' is not a git repository")
        self.bare = where is True
        self.root: Optional[Path] = None if where is True else where  # type: ignore[assignment]
        self.config = C.load(self.root)
        self._tags: dict[str, list[S.TagInfo]] = {}

    def head(self) -> str:
        """HEAD's commit; RegistryError in a repository without commits."""
        sha = self.git.head()
        if sha is None:
            raise RegistryError(f"the repository at '{self.location}' has no commits yet")
        return sha

    def resolve(self, ref: str) -> str:
        """The commit ref names; RegistryError if none."""
        if ref == "HEAD":
            return self.head()
        sha = self.git.resolve(ref)
        if sha is None:
            raise RegistryError(f"Unknown Git revision '{ref}'")
        return sha

    def tags(self, name: Optional[str] = None) -> list[S.TagInfo]:
        """Every tag, or every tag of artifact name (read once per Repository object)."""
        key = name or ""
        if key not in self._tags:
            self._tags[key] = self.git.tags(T.ref_patterns(name) if name else ["refs/tags"])
        return self._tags[key]

    def registry(self, name: Optional[str] = None) -> S.Registry:
        """The registry from every tag, or from only name's tags (so cost doesn't grow with others)."""
        registry = S.build(self.tags(name))
        if name is not None:  # patterns may catch tags of similarly named artifacts
            registry.artifacts = {k: v for k, v in registry.artifacts.items() if k == name}
        return registry

    def tag_names(self, name: str) -> list[str]:
        """Names of every tag (annotated or lightweight) of artifact name."""
        return [t.tag for t in self.tags(name) if (p := T.parse_tag(t.tag)) and p.name == name]

    def forget_tags(self) -> None:
        """Drop what was read, after this process changed tags."""
        self._tags.clear()

    # -- annotations --

    def annotation_files(self, commit: str, names: Optional[list[str]] = None) -> list[str]:
        """Annotation files to read at commit: for names, or every one (dvc.yaml in any folder)."""
        if names is not None:
            files: list[str] = []
            for name in names:
                files += [f for f, _ in A.files_for(name, self.config.index)]
            return list(dict.fromkeys(files))
        listing = self.git.out("ls-tree", "-r", "--name-only", "--end-of-options", commit)
        return [f for f in listing.splitlines() if f == self.config.index or f == A.DVC_FILE or f.endswith("/" + A.DVC_FILE)]

    def annotations(self, commits: list[str], names: Optional[list[str]] = None) -> dict[str, dict[str, A.Annotation]]:
        """Annotations at each commit (commit -> full name -> annotation), in one cat-file call."""
        wanted: dict[str, list[str]] = {c: self.annotation_files(c, names) for c in dict.fromkeys(commits)}
        oids: dict[str, str] = {}
        blobs = self.git.read_objects([f"{c}:{f}" for c, files in wanted.items() for f in files], oids)
        out: dict[str, dict[str, A.Annotation]] = {}
        for commit, files in wanted.items():
            found: dict[str, A.Annotation] = {}
            # Later files in the list lose to earlier ones (artifacts.yaml over dvc.yaml).
            for file in reversed(files):
                data = blobs.get(f"{commit}:{file}")
                if data is None:
                    continue
                dirname = str(Path(file).parent) if "/" in file else None
                try:
                    found.update(A.parse_blob(file, oids[f"{commit}:{file}"], data,
                                              dirname if Path(file).name == A.DVC_FILE else None))
                except A.AnnotationError as exc:
                    raise A.AnnotationError(f"{exc} (in commit {commit[:7]})") from exc
            out[commit] = found
        return out

    def annotation(self, name: str, commit: str) -> Optional[A.Annotation]:
        """name's annotation at commit, or None."""
        return self.annotations([commit], [name])[commit].get(name)


def _open(repo: PathLike) -> Repository:
    return repo if isinstance(repo, Repository) else Repository(repo)


def _artifact(registry: S.Registry, name: str) -> S.Artifact:
    artifact = registry.find(name)
    if artifact is None:
        raise RegistryError(f"Cannot find artifact '{name}'")
    return artifact


# -- reading -------------------------------------------------------------------------------


def _stage_view(vs: int, av: int, sort: str, registered_only: bool) -> S.StageView:
    if sort not in ("timestamp", "semver"):
        raise RegistryError(f"Invalid sort '{sort}': use 'timestamp' or 'semver'")
    return S.StageView(versions_per_stage=vs, assignments_per_version=av, sort=sort, registered_only=registered_only)


def stages(repo: PathLike = ".", allowed: bool = False, used: bool = False) -> Optional[list[str]]:
    """Stage names: from config (`allowed`), in use (`used`), or config if set else in use."""
    if allowed and used:
        raise RegistryError('Either "allowed" or "used" can be set')
    r = _open(repo)
    if allowed:
        return r.config.stages
    if used or r.config.stages is None:
        return S.used_stages(r.registry())
    return list(r.config.stages)


def _matches(annotation: Optional[A.Annotation], type_: Optional[str], labels: tuple[str, ...]) -> bool:
    if type_ is None and not labels:
        return True
    if annotation is None:
        return False
    if type_ is not None and annotation.type != type_:
        return False
    return all(label in annotation.labels for label in labels)


def show_registry(
    repo: PathLike = ".",
    *,
    deprecated: bool = False,
    registered_only: bool = False,
    vs: int = 1,
    av: int = -1,
    sort: str = "timestamp",
    type: Optional[str] = None,
    label: tuple[str, ...] = (),
) -> RegistryView:
    """The registry table: every artifact with its latest version and the version in each stage."""
    r = _open(repo)
    view = _stage_view(vs, av, sort, registered_only)
    registry = r.registry()
    head = r.head()
    head_annotations = r.annotations([head])[head]
    for name in head_annotations:
        if name not in registry.artifacts:
            registry.artifacts[name] = S.Artifact(name, registered=False)
    infos = []
    for artifact in registry.artifacts.values():
        active = artifact.is_active
        if not deprecated and not active:
            continue
        annotation = head_annotations.get(artifact.name)
        if not _matches(annotation, type, label):
            continue
        latest = S.latest(artifact)
        winners = S.stage_winners(artifact, view)
        infos.append(
            ArtifactInfo(
                name=artifact.name,
                registered=artifact.registered,
                active=active,
                latest=latest.version if latest else None,
                stages={stage: [v.version for v in versions] for stage, versions in winners.items()},
                annotation=annotation,
                state=artifact,
            )
        )
    stage_names = r.config.stages if r.config.stages is not None else S.used_stages(registry)
    return RegistryView(infos, list(stage_names))


def show_versions(
    repo: PathLike,
    name: str,
    *,
    deprecated: bool = False,
    registered_only: bool = False,
    vs: int = 1,
    av: int = -1,
    sort: str = "timestamp",
) -> list[VersionInfo]:
    """The versions of one artifact, newest SemVer first, with the stages each is in."""
    T.check_name(name)
    r = _open(repo)
    view = _stage_view(vs, av, sort, registered_only)
    registry = r.registry(name)
    head = r.head()
    artifact = registry.find(name)
    head_annotation = r.annotation(name, head)
    if artifact is None:
        if head_annotation is None:
            raise RegistryError(f"Cannot find artifact '{name}'")
        artifact = registry.artifacts[name] = S.Artifact(name, registered=False)
    if not deprecated and not artifact.is_active:
        return []
    if head_annotation is not None and not artifact.versions_at(head):
        # GTO lists the annotated, unregistered HEAD commit as a 'discovered' version.
        artifact.versions.append(S.Version(name, head, head))
    versions = [v for v in S.semver_sorted(artifact.versions) if v.is_active]
    if registered_only:
        versions = [v for v in versions if v.is_registered]
    winners = S.stage_winners(artifact, view)
    commits = r.git.commits([v.commit for v in versions])
    notes = r.annotations([v.commit for v in versions], [name]) if versions else {}
    out = []
    for version in versions:
        version.commit_info = commits.get(version.commit)
        shown = [stage for stage, vers in winners.items() if version in vers]
        source = version.source
        info = version.commit_info
        out.append(
            VersionInfo(
                artifact=name,
                version=version.version,
                commit=version.commit,
                stages=shown,
                created_at=source.created_at if source else (S.to_datetime(info.timestamp, info.tz) if info else None),
                author=source.author if source else (info.author if info else None),
                author_email=source.author_email if source else (info.author_email if info else None),
                message=source.message if source else (info.message if info else None),
                ref=source.tag if source else version.commit,
                registered=version.is_registered,
                active=version.is_active,
                discovered=version.discovered,
                annotation=notes.get(version.commit, {}).get(name),
                artifact_registered=artifact.registered,
                state=version,
                shown_stages=[version.stages[s] for s in shown],
            )
        )
    return out


def show(repo: PathLike = ".", name: Optional[str] = None, **options):
    """`show`: the registry table (no name) or one artifact's versions (name, or a shortcut)."""
    if name is None:
        return show_registry(repo, **options)
    shortcut = T.parse_shortcut(name)
    if shortcut is None:
        raise T.GrammarError(T.INVALID_NAME.format(name))
    options.pop("type", None)
    options.pop("label", None)
    versions = show_versions(repo, shortcut.name, **options)
    if shortcut.latest:
        return versions[:1] if versions and versions[0].registered else []
    if shortcut.version:
        return [v for v in versions if v.version == shortcut.version]
    if shortcut.stage:
        return [v for v in versions if shortcut.stage in v.stages]
    return versions


def _entry(event: S.Event) -> HistoryEntry:
    return HistoryEntry(
        timestamp=event.created_at,
        artifact=event.artifact,
        event=event.event,
        version=event.version,
        stage=event.stage,
        commit=event.commit,
        author=event.author,
        author_email=event.author_email,
        message=event.message,
        ref=event.tag,
        state=event,
    )


def history(repo: PathLike = ".", name: Optional[str] = None, ascending: bool = False) -> list[HistoryEntry]:
    """Every registry event (of one artifact), newest first unless ascending."""
    if name is not None:
        T.check_name(name)
    r = _open(repo)
    registry = r.registry(name)
    return [_entry(e) for e in registry.history(name, ascending=ascending)]


def latest(repo: PathLike, name: str) -> Optional[VersionInfo]:
    """The greatest registered, active version of name (None if it has none)."""
    versions = show(repo, f"{T.check_name(name)}@latest")
    return versions[0] if versions else None


def find_versions_in_stage(
    repo: PathLike, name: str, stage: str, *, versions_per_stage: int = 1, registered_only: bool = False
) -> list[VersionInfo]:
    """The versions of name currently in stage (by default the one that wins it)."""
    T.check_name(name)
    T.check_stage(stage)
    versions = show_versions(repo, name, vs=versions_per_stage, registered_only=registered_only)
    return [v for v in versions if stage in v.stages]


def which(repo: PathLike, name: str, stage: str) -> Optional[VersionInfo]:
    """The version of name in stage (None if the stage is empty)."""
    found = find_versions_in_stage(repo, name, stage)
    return found[0] if found else None


def assignment_ref(version: VersionInfo, stage: str) -> Optional[str]:
    """The tag of the newest assignment of stage to version."""
    if version.state is None or stage not in version.state.stages:
        return None
    newest = version.state.stages[stage].activated_at
    return newest.tag if newest else None


def check_ref(repo: PathLike, ref: str) -> list[RefInfo]:
    """What a tag means: the events it is (empty for foreign, lightweight or unknown refs)."""
    tag = ref[len("refs/tags/"):] if ref.startswith("refs/tags/") else ref
    parsed = T.parse_tag(tag)
    if parsed is None:
        return []
    r = _open(repo)
    registry = r.registry(parsed.name)
    artifact = registry.find(parsed.name)
    if artifact is None:
        return []
    found = [e for e in artifact.events + artifact.creations if e.tag == tag and e.event != T.CREATION]
    out = []
    for event in found:
        out.append(
            RefInfo(
                tag=event.tag,
                event=event.event,
                name=event.artifact,
                version=event.version,
                stage=event.stage,
                commit=event.commit,
                created_at=event.created_at,
                author=event.author,
                author_email=event.author_email,
                message=event.message,
                annotation=r.annotation(event.artifact, event.commit),
                state=event,
            )
        )
    return out


def describe(repo: PathLike, name: str, rev: Optional[str] = None) -> Optional[A.Annotation]:
    """The annotation of `NAME@vX.Y.Z|@latest` or `NAME#stage` at that version's commit, at rev,
    or for a bare NAME as the work tree has it (HEAD in a bare repository)."""
    shortcut = T.parse_shortcut(name)
    if shortcut is None:
        raise T.GrammarError(T.INVALID_NAME.format(name))
    r = _open(repo)
    if rev is not None:
        return r.annotation(shortcut.name, r.resolve(rev))
    if shortcut.version or shortcut.stage:
        versions = show(r, name)
        if not versions:
            raise RegistryError(f"Nothing found for '{name}'")
        return r.annotation(shortcut.name, versions[0].commit)
    if r.root is None:
        return r.annotation(shortcut.name, r.head())
    for file, _ in A.files_for(shortcut.name, r.config.index):  # in order of precedence
        path = r.root / file
        if path.is_file():
            dirname = str(Path(file).parent) if Path(file).name == A.DVC_FILE and "/" in file else None
            found = A.parse(file, path.read_bytes(), dirname).get(shortcut.name)
            if found is not None:
                return found
    return None


# -- writing -------------------------------------------------------------------------------


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


# -- annotations ---------------------------------------------------------------------------


@dataclass
class AnnotationChange:
    """An annotation file tagreg edited, and the commit it made (if asked)."""

    name: str
    file: Optional[str]
    commit: Optional[str] = None


class _Target:
    """Where an annotation edit goes: the work tree, or a branch edited through git plumbing."""

    def __init__(self, r: Repository, rev: Optional[str]):
        self.r = r
        current = None if r.bare else r.git.current_branch()
        if rev is None:
            rev = current
            if rev is None and not r.bare:
                raise RegistryError("HEAD is detached: check out a branch, or name one with --rev")
        if rev is None:  # a bare repository: its default branch
            rev = r.git.out("symbolic-ref", "--short", "HEAD")
        if r.git.resolve(f"refs/heads/{rev}") is None:
            raise RegistryError(f"'{rev}' is not a branch")
        self.branch = rev
        self.worktree = r.root if (not r.bare and rev == current) else None

    def read(self, file: str) -> Optional[str]:
        if self.worktree is not None:
            path = self.worktree / file
            return path.read_text(encoding="utf-8") if path.is_file() else None
        data = self.r.git.read_file(f"refs/heads/{self.branch}", file)
        return data.decode("utf-8") if data is not None else None

    def write(self, file: str, text: str, commit: bool, message: str) -> Optional[str]:
        if self.worktree is None:  # another branch: there is no way but to commit
            return self.r.git.commit_on_branch(self.branch, {file: text.encode("utf-8")}, message)
        if commit and self.r.git.is_dirty([file]):
            raise RegistryError(f"{file} has uncommitted changes; commit or stash them before --commit")
        path = self.worktree / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return self.r.git.commit_paths([file], message) if commit else None


def annotate(
    repo: PathLike,
    name: str,
    *,
    type: Optional[str] = None,
    path: Optional[str] = None,
    description: Optional[str] = None,
    labels: Optional[list[str]] = None,
    custom: Optional[dict[str, Any]] = None,
    virtual: Optional[bool] = None,
    commit: bool = False,
    rev: Optional[str] = None,
) -> AnnotationChange:
    """Set fields of name's annotation (artifacts.yaml, or dir/dvc.yaml for `dir:name`).

    On the checked-out branch the file in the work tree is edited (and committed with `commit`);
    on another branch (`rev`) or in a bare repository a commit is made without a checkout.
    """
    T.check_name(name)
    r = _open(repo)
    if type is not None:
        r.config.check_type(type)
    for label in labels or []:
        T.check_stage(label)
    fields: dict[str, Any] = {}
    for key, value in (("type", type), ("path", path), ("virtual", virtual), ("description", description)):
        if value is not None:
            fields[key] = value
    if labels:
        fields["labels"] = list(dict.fromkeys(labels))
    if custom:
        fields["custom"] = custom
    target = _Target(r, rev)
    file, text = A.update(target.read, name, fields, r.config.index)
    return AnnotationChange(name, file, target.write(file, text, commit, f"Annotate {name}"))


def remove(repo: PathLike, name: str, *, commit: bool = False, rev: Optional[str] = None) -> AnnotationChange:
    """Remove name's annotation (work tree, or a commit on rev)."""
    T.check_name(name)
    r = _open(repo)
    target = _Target(r, rev)
    found = A.remove(target.read, name, r.config.index)
    if found is None:
        raise RegistryError(f"'{name}' has no annotation to remove")
    file, text = found
    return AnnotationChange(name, file, target.write(file, text, commit, f"Remove annotation of {name}"))


# -- doctor --------------------------------------------------------------------------------


def doctor(repo: PathLike = ".") -> list[Check]:
    """Check the repository, config, tags and annotations; one Check per finding."""
    checks: list[Check] = []
    try:
        r = _open(repo)
    except UserError as exc:
        return [Check("error", str(exc))]
    if r.git.head() is None:
        return [Check("error", f"the repository at '{r.location}' has no commits yet")]
    tags = r.git.tags()
    registry = S.build(tags)
    for problem in registry.problems:
        checks.append(Check("warning", f"{problem.artifact}: {problem.message}"))
    for name, names in registry.lightweight.items():
        for tag in names:
            checks.append(Check("warning", f"tag '{tag}' is lightweight; registry tags must be annotated (ignored)"))
    known = set(registry.artifacts)
    for info in tags:
        if T.parse_tag(info.tag) is None and _looks_like_registry_tag(info.tag, known):
            checks.append(Check("warning", f"tag '{info.tag}' looks like a registry tag but does not parse (ignored)"))
    try:
        head = r.head()
        r.annotations([head])
        commits = {}
        for artifact in registry.artifacts.values():
            for version in artifact.versions:
                if version.is_registered and version.is_active:
                    commits.setdefault(version.commit, []).append(version)
        notes = r.annotations(builtins.list(commits), builtins.list(registry.artifacts))
        for commit, versions in commits.items():
            for version in versions:
                note = notes[commit].get(version.artifact)
                if note is None or not note.path or "://" in note.path or note.repo:
                    continue
                if not r.git.path_exists(commit, note.path):
                    checks.append(Check(
                        "warning",
                        f"{version.artifact}@{version.version}: path '{note.path}' does not exist at commit {commit[:7]}",
                    ))
    except UserError as exc:
        checks.append(Check("error", str(exc)))
    return checks


def _looks_like_registry_tag(tag: str, known: set[str]) -> bool:
    import re

    m = re.match(r"^([^@#]+)[@#](.*)$", tag)
    if m is None:
        return False
    artifact, rest = m.group(1).replace("=", ":"), m.group(2)
    if artifact in known:
        return True
    return T.is_fullname(artifact) and bool(re.match(r"^(v?\d|deprecated|[a-zA-Z0-9-_/]+#\d+$)", rest))
