"""`get` and `open`: from (name, version or stage) to the artifact's bytes, following links."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from .. import annotations as A
from .. import tags as T
from ..printable import printable
from .read import latest, show, which
from .repository import PathLike, Repository, _open, open_link
from .results import ListedVersion, RegistryError

if TYPE_CHECKING:  # imported by the commands that deliver, not by every read
    from pathlib import Path

    from .. import delivery as D


@dataclass
class Located:
    """Where an artifact version's files are: which repository, which commit, which path."""

    name: str
    version: str | None
    registry_commit: str  # the commit the version tag points at
    annotation: A.Annotation
    source: Repository  # the registry itself, or the repository a link points to
    commit: str  # the commit to read the files at
    path: str

    @property
    def is_link(self) -> bool:
        """Whether the files live in another repository."""
        return self.annotation.repo is not None


def _version(r: Repository, name: str, version: str | None, stage: str | None) -> ListedVersion:
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
    name: str, *, version: str | None = None, stage: str | None = None, repo: PathLike = ".",
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
    return Located(found.artifact, found.version if found.is_registered else None, found.commit, annotation,
                   source, commit, annotation.resolved_path or annotation.path)


def parse_size(text: str, *, what: str = "size") -> int:
    """Bytes from a size such as `5000`, `500M`, `20G` (binary units); DeliveryError naming what."""
    from .. import delivery as D

    return D.parse_size(text, what)


def get(
    name: str, *, version: str | None = None, stage: str | None = None, repo: PathLike = ".",
    out: str | Path | None = None, force: bool = False, offline: bool = False,
    max_files: int | None = None, max_bytes: int | str | None = None,
) -> D.Delivery:
    """Write the artifact's file or folder to out (default: its name in the current folder).

    Refuses (DeliveryError, nothing written) a tree with a `.git` name or a symlink that resolves
    outside out, more than max_files files or max_bytes bytes (defaults: TAGREG_MAX_FILES and
    TAGREG_MAX_BYTES, else 10,000 files and 10 GiB; max_bytes may be a size such as "20G"), and
    LFS content that does not match its pointer.
    """
    from .. import delivery as D
    from .. import output_tree as O

    max_files, max_bytes = D.limits(max_files, max_bytes)
    if out is not None and not str(out):  # `-o "$DIR"` with DIR unset: not "here" by accident
        raise D.DeliveryError("the output path is empty; name a file or folder (-o .  for the current folder)")
    where = locate(name, version=version, stage=stage, repo=repo, offline=offline)
    result = D.Delivery(where.name, where.version, where.commit, where.path, "git",
                        repo=where.source.location if where.is_link else None)
    if D.is_external(where.path):
        result.kind = "external"
        return result
    git = where.source.git
    files = D.listing(git, where.commit, where.path, max_files)
    default = D.check_path(where.path).rstrip("/").split("/")[-1]
    if out is None:
        O.check_name(default)  # the annotated path's last name, written in the current folder
        if os.path.islink(default):  # in a clone of the registry, the registry put it there too
            raise D.DeliveryError(f"refusing to write '{printable(default)}': it is a symlink in the current "
                                  "folder (perhaps the registry's own); name the output with -o/--out")
    from pathlib import Path

    target = Path(out) if out is not None else Path(default)
    # `-o DIR/` (made if missing) or an existing folder: a file goes in it under its own name, a
    # folder's files go in it, as `cp` and `curl -o dir/` users expect.
    into = out is not None and (str(out).endswith(("/", os.sep)) or target.is_dir())
    if not files:
        output = D.dvc_output(git, where.commit, where.path)
        if output is None:
            raise RegistryError(f"'{where.path}' does not exist at commit {where.commit[:7]}")
        result.kind = "dvc"
        result.written, written_to = D.dvc_get(_dvc_source(where), target, force, output, into, max_files, max_bytes)
        result.target = str(written_to)
        return result
    folder = not (len(files) == 1 and files[0].full == D.check_path(where.path))
    if not folder and into:
        target = target / default
    progress = where.source.mirror is not None and where.source.mirror.progress
    result.kind = "lfs" if D.inspect(git, files, max_bytes, progress=progress) else "git"
    D.fetch_lfs(git, where.commit, where.path, files)
    result.written = D.deliver(git, files, target, single=not folder, force=force, progress=progress)
    result.target = str(target)
    return result


def open(
    name: str, *, version: str | None = None, stage: str | None = None, repo: PathLike = ".",
    offline: bool = False, max_bytes: int | str | None = None,
) -> BinaryIO:
    """The artifact (a single file) as a binary file object: `open("churn", stage="prod", repo=URL)`.

    Its first MiBs are held in memory, the rest in a temporary file (at most max_bytes: default
    TAGREG_MAX_BYTES, else 10 GiB); LFS content is checked against its pointer first; a DVC file
    is read through DVC (tagreg[dvc]) in the same way.
    """
    from .. import delivery as D

    _, max_bytes = D.limits(1, max_bytes)
    where = locate(name, version=version, stage=stage, repo=repo, offline=offline)
    if D.is_external(where.path):
        raise RegistryError(f"'{where.path}' is outside Git; open it with the tool for that storage")
    git = where.source.git
    if D.is_folder(git, where.commit, where.path):
        raise RegistryError(f"'{where.path}' is a folder; use get() to write it to disk")
    files = D.listing(git, where.commit, where.path, 1)
    if not files:
        output = D.dvc_output(git, where.commit, where.path)
        if output is not None and D.dvc_is_folder(output):
            raise RegistryError(f"'{where.path}' is a folder; use get() to write it to disk")
        if output is not None:
            return D.dvc_open(_dvc_source(where), output, max_bytes)
        raise RegistryError(f"'{where.path}' does not exist at commit {where.commit[:7]}")
    D.inspect(git, files, max_bytes)
    D.fetch_lfs(git, where.commit, where.path, files)
    return D.open_file(git, files[0])


def _dvc_source(where: Located) -> D.DvcSource:
    """What DVC fetches from: a local registry's folder, or a remote's URL, which DVC clones itself
    (the cached mirror is a partial clone: DVC cannot read it). So not offline."""
    from .. import delivery as D

    mirror = where.source.mirror
    if mirror is None:
        return D.DvcSource(str(where.source.git.path), where.commit, where.path)
    if mirror.offline:
        raise D.DeliveryError(f"'{printable(where.path)}' is tracked by DVC, which fetches it by cloning "
                              f"{mirror.display} itself: run without --offline")
    return D.DvcSource(mirror.url, where.commit, where.path)
