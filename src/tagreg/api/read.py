"""Reading the registry: show, history, latest, which, stages, check-ref, describe."""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
from collections.abc import Collection
from dataclasses import fields
from typing import NamedTuple

from .. import annotations as A
from .. import cache
from .. import state as S
from .. import tags as T
from ..git import parse_commit
from .repository import PathLike, Repository, _open
from .results import ArtifactInfo, BadFile, ListedVersion, RefEvent, RegistryError, RegistryView


def _reads(function=None, *, about: str | None = None):
    """A read of the registry. On a remote, it reads the cached mirror while git asks the remote
    whether anything changed (the round trip is hidden behind the read); if something did, the
    mirror is fetched and the read runs again.

    about: the argument naming the one artifact the read is about ("name": a name or shortcut;
    "ref": a tag); git reads that artifact's tags while another git process opens the repository.
    """
    if function is None:
        return lambda f: _reads(f, about=about)

    @functools.wraps(function)
    def read(repo=".", *args, **kwargs):
        hint = _artifact_in(args[0] if args else kwargs.get(about)) if about else None
        r = _open(repo, check_later=True, prefetch=hint)
        try:
            result = function(r, *args, **kwargs)
        except RegistryError:  # "Unknown stage" from a mirror behind its remote is not the remote's answer
            if r.catch_up():
                raise
            return function(r, *args, **kwargs)
        if not r.catch_up():
            result = function(r, *args, **kwargs)
        return result

    return read


def _artifact_in(value) -> str | None:
    """The artifact a name, shortcut or tag names; None for anything else (it is the read's to
    refuse)."""
    if not isinstance(value, str):
        return None
    found = T.parse_shortcut(value) or T.parse_tag(value)
    return found.name if found is not None else None


def _listed_tags(r: Repository) -> list[T.ParsedTag]:
    """What the names of every tag say (a cheap listing: no tag object is read; lightweight tags
    too, which only makes a name or stage known that an event-less tag carries)."""
    found = []
    for line in r.tag_listing().split(b"\n"):
        ref = line.partition(b"\t")[2]
        if ref.startswith(b"refs/tags/"):
            parsed = T.parse_tag(ref[len(b"refs/tags/"):].decode("utf-8", "replace"))
            if parsed is not None:
                found.append(parsed)
    return found


def used_stage_names(r: Repository) -> list[str]:
    """Every stage an event of any artifact names (assigned or unassigned, now or before), sorted."""
    return sorted({parsed.stage for parsed in _listed_tags(r) if parsed.stage is not None})


def artifact_names(r: Repository, name: str) -> set[str]:
    """The artifacts the registry knows, for telling name from them: every one a tag names, and
    those of the annotation files at HEAD that a read of name reads."""
    known = {parsed.name for parsed in _listed_tags(r)}
    try:
        head = r.head()
    except RegistryError:  # no commits yet
        return known
    known.update(r.annotations([head], [name])[head])
    return known


def unknown_artifact(r: Repository, name: str, message: str | None = None) -> RegistryError:
    """GTO's error for name (by default "Cannot find artifact"), with the close names the registry has."""
    from .. import names as N

    known = artifact_names(r, name)
    return RegistryError((message or f"Cannot find artifact '{name}'") + N.did_you_mean(N.close_names(name, known)))


@_reads(about="name")
def close_artifacts(repo: PathLike, name: str) -> list[str]:
    """The registry's artifacts whose names are close to name, closest first (for a mistyped
    name; none when name is an artifact of the registry)."""
    from .. import names as N

    r = _open(repo, check_later=True)
    known = artifact_names(r, name)
    return [] if name in known else N.close_names(name, known)


def _shown(stages: list[str], most: int = 10, longest: int = 100) -> str:
    """The first most stages, each cut to longest characters (a hostile registry's names are any length)."""
    cut = [s if len(s) <= longest else s[:longest] + "..." for s in stages[:most]]
    return ", ".join(cut) + (", ..." if len(stages) > most else "")


def check_known_stage(r: Repository, stage: str) -> None:
    """RegistryError unless stage is one the registry knows: allowed by the config, or used by an
    event of any artifact. (A known stage with no version in it is GTO's empty answer.)"""
    allowed = r.config.stages
    if allowed is not None and stage in allowed:
        return
    used = used_stage_names(r)
    if stage in used:
        return
    from .. import names as N

    if allowed is not None:
        known = f"the allowed stages: {_shown(allowed)}" if allowed else "the config allows no stage"
    elif used:
        known = f"the registry's stages: {_shown(used)}"
    else:
        known = "no stage has been assigned in this registry"
    raise RegistryError(f"Unknown stage '{stage}' ({known})"
                        + N.did_you_mean(N.close_names(stage, [*(allowed or []), *used])))


def show_options(repo: PathLike = ".", *, vs: int | None = None, av: int | None = None,
                 sort: str | None = None) -> tuple[int, int, str]:
    """The (vs, av, sort) a read uses: each one given, else the one the policy's `show:` pins (read
    with the policy: not `--no-policy`), else GTO's (1, -1, timestamp)."""
    r = _open(repo, check_later=True)
    if r.in_effect and (vs is None or av is None or sort is None):
        from . import governance

        policy = governance.policy_of(r)
        if policy is not None:
            pins = policy.show
            vs = pins.vs if vs is None else vs
            av = pins.av if av is None else av
            sort = pins.sort if sort is None else sort
    gto = S.GTO_VIEW
    return (gto.versions_per_stage if vs is None else vs, gto.assignments_per_version if av is None else av,
            gto.sort if sort is None else sort)


def _stage_view(r: Repository, vs: int | None, av: int | None, sort: str | None,
                registered_only: bool) -> S.StageView:
    vs, av, sort = show_options(r, vs=vs, av=av, sort=sort)
    if sort not in S.SORTS:
        raise RegistryError(f"Invalid sort '{sort}': use 'timestamp' or 'semver'")
    return S.StageView(versions_per_stage=vs, assignments_per_version=av, sort=sort, registered_only=registered_only)


@_reads
def stages(repo: PathLike = ".", *, allowed: bool = False, used: bool = False) -> list[str] | None:
    """Stage names: from config (`allowed`), in use (`used`), or config if set else in use."""
    if allowed and used:
        raise RegistryError('Either "allowed" or "used" can be set')
    r = _open(repo, check_later=True)
    if allowed:
        return r.config.stages
    if used or r.config.stages is None:
        return S.used_stages(r.registry())
    return list(r.config.stages)


def _matches(annotation: A.Annotation | None, type_: str | None, labels: tuple[str, ...]) -> bool:
    if type_ is None and not labels:
        return True
    if annotation is None:
        return False
    if type_ is not None and annotation.type != type_:
        return False
    return all(label in annotation.labels for label in labels)


@_reads
def show_registry(
    repo: PathLike = ".",
    *,
    deprecated: bool = False,
    registered_only: bool = False,
    vs: int | None = None,
    av: int | None = None,
    sort: str | None = None,
    type: str | None = None,
    label: tuple[str, ...] = (),
    cached: bool = True,
) -> RegistryView:
    """The registry table: every artifact with its latest version and the version in each stage
    (vs, av, sort: GTO's show options; None: the policy's pinned ones, else GTO's: `show_options`).

    The view comes from the cache folder when the tags, HEAD, config and options are those it was
    kept for (as does every artifact's row whose tags did not change). cached=False reads every
    tag; `TAGREG_NO_CACHE=1` leaves the cache folder out.
    """
    r = _open(repo, check_later=True)
    if cached:
        r.prefetch_listing()  # git lists the tags' names while HEAD, the config and the policy are read
    view = _stage_view(r, vs, av, sort, registered_only)
    key = None
    if cached and not os.environ.get("TAGREG_NO_CACHE"):
        key = repr(("withheld", r.fingerprint(), sorted(vars(r.config).items(), key=str), deprecated, view, type,
                    label))
        found = cache.load_pickle("views", r.cache_name(), key)
        if isinstance(found, RegistryView):
            for bad in found.bad_files:  # read when the view was made: still true of HEAD
                r.warn(bad)
            for withheld in found.withheld:
                r.tell(withheld.notice)
            return found
    from . import view as V

    V.prefetch(r, incremental=key is not None, whole=not cached)  # git reads while the annotations are read
    head = r.head_commit()  # None before the first commit: no annotation at HEAD, as GTO reads it
    head_annotations = r.annotations([head])[head] if head is not None else {}
    found = V.rows(r, view, incremental=key is not None, whole=not cached)
    names = {row.info.name for row in found}
    infos = []
    for info in [row.info for row in found] + [ArtifactInfo(name, False, True, None, {})
                                               for name in head_annotations if name not in names]:
        if not deprecated and not info.active:
            continue
        annotation = head_annotations.get(info.name)
        if _matches(annotation, type, label):
            info.annotation = annotation  # the rows are this call's own
            infos.append(info)
    used = sorted(set().union(*(row.used for row in found)))
    stage_names = r.config.stages if r.config.stages is not None else used
    bad_files = [bad for bad in r.warnings if isinstance(bad, BadFile) and bad.commit == head]
    shown = {info.name for info in infos}
    result = RegistryView(infos, list(stage_names), bad_files, [w for w in r.withheld if w.artifact in shown],
                          r.governed())
    if key is not None:
        cache.store_pickle("views", r.cache_name(), key, result)
    return result


@_reads(about="name")
def show_versions(
    repo: PathLike,
    name: str,
    *,
    deprecated: bool = False,
    registered_only: bool = False,
    vs: int | None = None,
    av: int | None = None,
    sort: str | None = None,
) -> list[ListedVersion]:
    """The versions of one artifact, newest SemVer first, with the stages each is in (vs, av, sort:
    as `show_registry`'s)."""
    T.check_name(name)
    r = _open(repo, check_later=True)
    return _versions(r, name, _stage_view(r, vs, av, sort, registered_only), deprecated)


def _versions(r: Repository, name: str, view: S.StageView, deprecated: bool,
              stage: str | None = None) -> list[ListedVersion]:
    """`show_versions`; with stage, only the versions in stage, and only their objects are read."""
    r.prefetch(name)
    head = r.head_commit()  # None before the first commit: no annotation at HEAD, as GTO reads it
    found = kept(r, name, view) if stage is not None else None
    if found is not None:  # only the tags at the commits of the versions in stage are built
        winners = found.winners
        commits = {commit for _, commit in winners.get(stage or "", [])}
        artifact: S.Artifact | None = artifact_at(r, name, commits) or S.Artifact(name)
    else:
        artifact = r.registry(name).find(name)
        if artifact is None:
            winners = {}
        else:  # kept for `which` (a read of one stage); `show NAME` writes no cache
            winners = keep(r, name, artifact, view).winners if stage is not None else _winners(artifact, view)
    if stage is None:
        wanted = artifact.versions if artifact is not None else []
    else:
        in_stage = winners.get(stage, [])
        wanted = [v for v in (artifact.versions if artifact is not None else []) if (v.version, v.commit) in in_stage]
    # One cat-file call for the annotation files at HEAD and at every version wanted, and their commits.
    commits_read: dict[str, bytes | None] = dict.fromkeys(([head] if head else []) + [v.commit for v in wanted])
    notes = r.annotations(list(commits_read), [name], also=commits_read)
    head_annotation = notes[head].get(name) if head is not None else None
    if artifact is None:
        if head_annotation is None:
            raise unknown_artifact(r, name)
        artifact = S.Artifact(name, registered=False)
    if not deprecated and not (artifact.is_active if found is None else found.active):
        return []
    if head is not None and head_annotation is not None and not artifact.versions_at(head):
        # GTO lists the annotated, unregistered HEAD commit as a 'discovered' version.
        artifact.versions.append(S.Version(name, head, head))
    versions = [v for v in S.semver_sorted(artifact.versions) if v.is_active or deprecated]
    if view.registered_only:  # drops commits known only from stage tags (`assign --sr`), as GTO does
        versions = [v for v in versions if v.is_registered or not v.stages]
    if stage is not None:
        versions = [v for v in versions if v in wanted]
    withheld = [w for w in r.withheld if w.artifact == name] if r.governed() else None
    out = []
    for version in versions:
        raw = commits_read.get(version.commit)
        in_stages = [stage for stage, pairs in winners.items() if (version.version, version.commit) in pairs]
        out.append(ListedVersion(
            **_fields(version, S.Version, commit_info=parse_commit(version.commit, raw) if raw is not None else None),
            in_stages=in_stages,
            annotation=notes.get(version.commit, {}).get(name),
            artifact_registered=artifact.registered,
            not_in_effect=None if withheld is None else [w for w in withheld if w.touches(version.version, in_stages)],
        ))
    return out


def _fields(obj, cls, **changes) -> dict:
    """The fields of cls that obj has, with changes: to make an answer's object from the registry's."""
    return {f.name: changes[f.name] if f.name in changes else getattr(obj, f.name) for f in fields(cls)}


KEPT_FORMAT = "1"  # part of the key of `Kept` answers: raise it when the same tags give others


class Kept(NamedTuple):
    """What one artifact's tags say, kept in the cache for the tags as they are (names and ids):
    it depends on nothing else (not HEAD, not the config)."""

    active: bool  # not deprecated
    winners: dict[str, list[tuple[str, str]]]  # stage -> its versions by one StageView, as (version, commit)
    latest: str | None  # `state.latest`
    stages: frozenset[str]  # every stage an event of one of its versions names


def _kept_file(r: Repository, name: str, view: S.StageView) -> str:
    return f"{r.cache_name()}-{hashlib.sha1(f'{KEPT_FORMAT}:{name}:{view!r}'.encode()).hexdigest()[:16]}"


def kept(r: Repository, name: str, view: S.StageView = S.GTO_VIEW) -> Kept | None:
    """name's `Kept` answers by view as kept for its tags as they are now, or None."""
    digest = r.tags_digest(name)
    found = cache.load_keyed("kept", _kept_file(r, name, view), digest) if digest else None
    return Kept(*found) if isinstance(found, tuple) and len(found) == len(Kept._fields) else None


def keep(r: Repository, name: str, artifact: S.Artifact, view: S.StageView = S.GTO_VIEW) -> Kept:
    """The `Kept` answers of artifact (built from every tag of name), kept for its tags as they are."""
    latest = S.latest(artifact)
    found = Kept(artifact.is_active, _winners(artifact, view), latest.version if latest else None,
                 frozenset(stage for v in artifact.versions for stage in v.stages))
    digest = r.tags_digest(name)
    if digest:
        cache.store_keyed("kept", _kept_file(r, name, view), digest, tuple(found))  # plain values: no pickle
    return found


def _winners(artifact: S.Artifact, view: S.StageView) -> dict[str, list[tuple[str, str]]]:
    return {stage: [(v.version, v.commit) for v in versions]
            for stage, versions in S.stage_winners(artifact, view).items()}


def known(r: Repository, name: str) -> Kept | None:
    """name's `Kept` answers by GTO's default view, from the cache or from all its tags; None if
    no tag names it."""
    found = kept(r, name)
    if found is None:
        artifact = r.registry(name).find(name)
        found = keep(r, name, artifact) if artifact is not None else None
    return found


def artifact_at(r: Repository, name: str, commits: Collection[str],
                versions: Collection[str] = ()) -> S.Artifact | None:
    """name built from only its tags at commits and those of versions named as in versions: what a
    version at one of the commits is, and what the versions of those names are (in full)."""
    tags = r.tags(name)
    prefixes = tuple(f"{T.tag_prefix(name)}@{v}" for v in versions)
    keep_ = set()
    for i, t in enumerate(tags):
        if t.commit in commits or (
                prefixes and t.tag.startswith(prefixes) and (p := T.parse_tag(t.tag)) and p.version in versions):
            keep_.add(i)
    return S.build(tags, keep_).find(name)


@_reads(about="name")
def show(repo: PathLike = ".", name: str | None = None, **options):
    """`show`: the registry table (no name) or one artifact's versions (name, or a shortcut)."""
    if name is None:
        return show_registry(repo, **options)
    shortcut = T.parse_shortcut(name)
    if shortcut is None:
        raise T.GrammarError(T.INVALID_NAME.format(name))
    options.pop("type", None)
    options.pop("label", None)
    versions = show_versions(repo, shortcut.name, **options)
    if shortcut.latest:  # GTO's @latest and @greatest: the first row, SemVer-greatest first
        return versions[:1]
    if shortcut.version:
        return [v for v in versions if v.version == shortcut.version]
    if shortcut.stage:
        found = [v for v in versions if shortcut.stage in v.in_stages]
        if not found:
            check_known_stage(_open(repo, check_later=True), shortcut.stage)
        return found
    return versions


@_reads(about="name")
def history(repo: PathLike = ".", name: str | None = None, *, ascending: bool = False) -> list[S.Event]:
    """Every registry event (of one artifact), newest first unless ascending."""
    if name is not None:
        T.check_name(name)
    r = _open(repo, check_later=True)
    registry = r.registry(name)
    return registry.history(name, ascending=ascending)


@_reads(about="name")
def latest(repo: PathLike, name: str) -> ListedVersion | None:
    """The greatest registered, active version of name (None if it has none)."""
    versions = show(repo, f"{T.check_name(name)}@latest")
    return versions[0] if versions and versions[0].registered else None


@_reads(about="name")
def find_versions_in_stage(
    repo: PathLike, name: str, stage: str, *, versions_per_stage: int = 1, registered_only: bool = False,
    sort: str | None = None,
) -> list[ListedVersion]:
    """The versions of name currently in stage (by default the one that wins it), read as `show`
    reads them: by sort (None: the policy's pinned sort, else the newest assignment) and the
    policy's pinned av, so that `which` names the version `show` puts in the stage."""
    T.check_name(name)
    T.check_stage(stage)
    r = _open(repo, check_later=True)
    view = _stage_view(r, versions_per_stage, None, sort, registered_only)
    found = _versions(r, name, view, deprecated=False, stage=stage)
    if not found:
        check_known_stage(r, stage)
    return found


@_reads(about="name")
def which(repo: PathLike, name: str, stage: str, *, sort: str | None = None) -> ListedVersion | None:
    """The version of name in stage (None if the stage is empty; RegistryError if the registry
    does not know the stage: see `check_known_stage`); sort: which version wins it, as `show`'s
    (None: the policy's pinned one, else the newest assignment)."""
    found = find_versions_in_stage(repo, name, stage, sort=sort)
    return found[0] if found else None


def assignment_ref(version: S.Version, stage: str) -> str | None:
    """The tag of the newest assignment of stage to version."""
    if stage not in version.stages:
        return None
    newest = version.stages[stage].activated_at
    return newest.tag if newest else None


@_reads(about="ref")
def check_ref(repo: PathLike, ref: str) -> list[RefEvent]:
    """What a tag means: the events it is (empty for foreign, lightweight or unknown refs)."""
    tag = ref.removeprefix("refs/tags/")
    parsed = T.parse_tag(tag)
    if parsed is None:
        return []
    r = _open(repo, check_later=True)
    # What a tag means depends only on the artifact's tags at its commit: only those are built.
    tags = r.tags(parsed.name)
    commit = next((t.commit for t in tags if t.tag == tag), None)
    registry = S.build(tags, {i for i, t in enumerate(tags) if t.commit == commit and commit is not None})
    artifact = registry.find(parsed.name)
    if artifact is None:
        return []
    found = [e for e in artifact.events + artifact.creations if e.tag == tag and e.event != T.CREATION]
    out = []
    exact = r.config.gto_exact
    for e in found:
        # gto-action v2 reads the dvc.yaml of the name's folder with DVC, even where GTO reads none:
        # its outputs are what a script reading as GTO does compares with.
        pending = len(r.warnings)
        note = r.annotation(e.artifact, e.commit, exact=False)
        if exact:  # GTO reads no dvc.yaml, and says nothing about one it cannot read
            r.warnings[pending:] = [w for w in r.warnings[pending:] if getattr(w, "file", None) == r.config.index]
        path = (note.path if exact else note.resolved_path) if note is not None else None
        out.append(RefEvent(**_fields(e, S.Event), annotation=note, path=path))
    return out


@_reads
def describe(repo: PathLike, name: str, *, rev: str | None = None) -> A.Annotation | None:
    """The annotation of `NAME@vX.Y.Z|@latest` or `NAME#stage` at that version's commit, at rev,
    or for a bare NAME as the work tree has it (HEAD in a bare repository)."""
    shortcut = T.parse_shortcut(name)
    if shortcut is None:
        raise T.GrammarError(T.INVALID_NAME.format(name))
    r = _open(repo, check_later=True)
    if rev is not None:
        return r.annotation(shortcut.name, r.resolve(rev))
    if shortcut.version or shortcut.stage:
        versions = show(r, name)
        if not versions and shortcut.stage:
            raise RegistryError(f"No version of '{shortcut.name}' is in stage '{shortcut.stage}'")
        if not versions:
            raise RegistryError(f"Nothing found for '{name}'")
        return r.annotation(shortcut.name, versions[0].commit)
    if r.root is None:
        return r.annotation(shortcut.name, r.head())
    for file, _ in A.files_for(shortcut.name, r.config.index, r.config.gto_exact):  # in order of precedence
        data = A.read_worktree(r.root, file)  # being edited: a bad file is an error, not a warning
        if data is not None:
            dirname = posixpath.dirname(file) if posixpath.basename(file) == A.DVC_FILE and "/" in file else None
            inputs = {path: A.read_worktree(r.root, path) for path in A.template_inputs(file, data) or ()}
            found = A.parse(file, data, dirname, inputs).get(shortcut.name)
            if found is not None:
                return found
    return None


