"""`get` and `open`: from (name, version or stage) to the artifact's bytes, following links."""

from __future__ import annotations

from pathlib import Path

from .. import annotations as A
from .. import delivery as D
from .. import tags as T
from .read import latest, show, which
from .repository import Repository, _open, open_link
from ..record import record
from .results import RegistryError, VersionInfo

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from typing import BinaryIO, Optional
    from .repository import PathLike


@record
class Located:
    """Where an artifact version's files are: which repository, which commit, which path."""

    name: str
    version: Optional[str]
    registry_commit: str  # the commit the version tag points at
    annotation: A.Annotation
    source: Repository  # the registry itself, or the repository a link points to
    commit: str  # the commit to read the files at
    path: str

    @property
    def is_link(self) -> bool:
        """Whether the files live in another repository."""
        return self.annotation.repo is not None


def _version(r: Repository, name: str, version: Optional[str], stage: Optional[str]) -> VersionInfo:
    shortcut = T.parse_shortcut(name)
    if shortcut is None:
        raise T.GrammarError(T.INVALID_NAME.format(name))
    version = version or (shortcut.version if shortcut.version not in ("latest", "greatest") else None)
    stage = stage or shortcut.stage
    base = shortcut.name
    if stage is not None:
        found = which(r, base, stage)
        if found is None:
            raise RegistryError(f"No version of '{base}' is in stage '{stage}'")
        return found
    if version is None:
        found = latest(r, base)
        if found is None:
            raise RegistryError(f"'{base}' has no registered version")
        return found
    versions = show(r, f"{base}@{version}")
    if not versions:
        raise RegistryError(f"Version '{version}' of '{base}' is not registered")
    return versions[0]


def locate(
    name: str, version: Optional[str] = None, stage: Optional[str] = None, *, repo: PathLike = ".",
    offline: bool = False,
) -> Located:
    """Resolve name (`NAME`, `NAME@vX.Y.Z`, `NAME@latest`, `NAME#stage`) to its files' location."""
    r = _open(repo) if not isinstance(repo, str) or not offline else Repository(repo, offline=True)
    found = _version(r, name, version, stage)
    annotation = r.annotation(found.artifact, found.commit)
    if annotation is None or not annotation.path:
        raise RegistryError(f"'{found.artifact}' has no annotated path at {found.version}: "
                            f"set one with `tagreg annotate {found.artifact} --path PATH`")
    source, commit = r, found.commit
    if annotation.repo is not None:  # checked: only the transports a reader expects (see links.py)
        source, commit = open_link(r, annotation, offline=offline)
    return Located(found.artifact, found.version if found.registered else None, found.commit, annotation,
                   source, commit, annotation.path)


def get(
    name: str, version: Optional[str] = None, stage: Optional[str] = None, *, repo: PathLike = ".",
    out: Optional[str | Path] = None, force: bool = False, offline: bool = False,
) -> D.Delivery:
    """Write the artifact's file or folder to out (default: its name in the current folder)."""
    where = locate(name, version, stage, repo=repo, offline=offline)
    result = D.Delivery(where.name, where.version, where.commit, where.path, "git",
                        repo=where.source.location if where.is_link else None)
    if D.is_external(where.path):
        result.kind = "external"
        return result
    git = where.source.git
    files = D.entries(git, where.commit, where.path)
    default = Path(D.check_path(where.path).rstrip("/").split("/")[-1])
    target = Path(out) if out is not None else default
    if not files:
        if D.dvc_tracked(git, where.commit, where.path):
            result.kind = "dvc"
            result.written = D.dvc_get(_dvc_url(where.source), where.path, where.commit, target, force)
            return result
        raise RegistryError(f"'{where.path}' does not exist at commit {where.commit[:7]}")
    folder = D.is_folder(git, where.commit, where.path)
    if not folder and target.is_dir():
        target = target / default.name
    progress = where.source.mirror is not None and where.source.mirror.progress
    contents, used_lfs = D.read_blobs(git, files, where.path, progress=progress)
    result.kind = "lfs" if used_lfs else "git"
    modes = {e.path: e.mode for e in files}
    planned = D.plan(contents, modes, target, single=not folder, force=force)
    target_modes = {(target if not folder else target / rel): mode for rel, mode in modes.items()}
    result.written = D.write(planned, target_modes)
    return result


def open(  # noqa: A001 - the name users expect, as dvc.api.open
    name: str, version: Optional[str] = None, stage: Optional[str] = None, *, repo: PathLike = ".",
    offline: bool = False,
) -> BinaryIO:
    """The artifact (a single file) as a binary file object: `open("churn", stage="prod", repo=URL)`."""
    where = locate(name, version, stage, repo=repo, offline=offline)
    if D.is_external(where.path):
        raise RegistryError(f"'{where.path}' is outside Git; open it with the tool for that storage")
    git = where.source.git
    files = D.entries(git, where.commit, where.path)
    if not files:
        if D.dvc_tracked(git, where.commit, where.path):
            return D.dvc_open(_dvc_url(where.source), where.path, where.commit)
        raise RegistryError(f"'{where.path}' does not exist at commit {where.commit[:7]}")
    if D.is_folder(git, where.commit, where.path):
        raise RegistryError(f"'{where.path}' is a folder; use get() to write it to disk")
    contents, _ = D.read_blobs(git, files, where.path)
    return D.open_blob(contents[files[0].path])


def _dvc_url(source: Repository) -> str:
    return source.mirror.url if source.mirror is not None else str(source.git.path)
