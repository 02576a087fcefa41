"""Delivering an artifact: the bytes at a version's commit, from the Git object store, LFS or DVC.

Reads objects straight from git (no checkout). Refuses paths that escape the output folder and
never overwrites a file unless told to. Links to other repositories are resolved by the API, which
hands this module the right repository and commit.
"""

from __future__ import annotations

import io
import os
import posixpath
from pathlib import Path

from .errors import UserError
from .git import Git, GitError
from .record import field, record

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from typing import BinaryIO, Optional

LFS_PREFIX = b"version https://git-lfs.github.com/spec/"
EXTERNAL_SCHEMES = ("s3://", "gs://", "gcs://", "azure://", "az://", "http://", "https://", "hdfs://",
                    "ssh://", "oss://", "webhdfs://")


class DeliveryError(UserError):
    """The artifact cannot be delivered (missing, unsafe path, needs a tool that is not installed)."""


@record
class Entry:
    """One file of an artifact in a git tree."""

    path: str  # relative to the artifact's root (a file artifact: its own name)
    mode: str
    oid: str
    full: str = ""  # the path in the repository


@record
class Delivery:
    """What `get` wrote (or would write)."""

    name: str
    version: Optional[str]
    commit: str
    path: str  # the annotated path
    kind: str  # "git", "lfs", "dvc" or "external"
    written: list[str] = field(factory=list)
    repo: Optional[str] = None  # the repository the files came from (links)


def is_external(path: str) -> bool:
    """Whether path is a URL outside Git (`s3://…`)."""
    return path.lower().startswith(EXTERNAL_SCHEMES)


def check_path(path: str) -> str:
    """path, normalised, if it stays inside the repository; DeliveryError otherwise."""
    if not path or path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise DeliveryError(f"refusing the absolute path '{path}': artifact paths are relative to the repository")
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../"):
        raise DeliveryError(f"refusing the path '{path}': it escapes the repository")
    return normal


def entries(git: Git, commit: str, path: str) -> list[Entry]:
    """The files at path in commit's tree (one for a file, many for a folder); [] if absent."""
    path = check_path(path)
    listing = git.run("ls-tree", "-r", "-z", "--full-tree", commit, "--", path).stdout.decode("utf-8", "replace")
    out = []
    for line in listing.split("\0"):
        if not line:
            continue
        meta, _, name = line.partition("\t")
        mode, kind, oid = meta.split(" ")
        if kind != "blob":
            continue  # submodules
        relative = posixpath.basename(path) if name == path else posixpath.relpath(name, path)
        out.append(Entry(relative, mode, oid, name))
    return out


def is_folder(git: Git, commit: str, path: str) -> bool:
    """Whether path is a folder (tree) at commit."""
    proc = git.run("cat-file", "-t", f"{commit}:{check_path(path)}", check=False)
    return proc.stdout.decode().strip() == "tree"


def _lfs(git: Git, pointer: bytes, path: str) -> bytes:
    proc = git.run("lfs", "version", check=False)
    if proc.returncode != 0:
        raise DeliveryError(
            f"'{path}' is stored with Git LFS, and git-lfs is not installed: install it (https://git-lfs.com) "
            "and try again"
        )
    try:
        return git.run("lfs", "smudge", "--", path, input=pointer).stdout
    except GitError as exc:
        raise DeliveryError(f"git-lfs could not fetch '{path}': {exc}") from exc


def read_blobs(git: Git, files: list[Entry], root_path: str, progress: bool = False) -> tuple[dict[str, bytes], bool]:
    """Contents of files (LFS pointers resolved), in one cat-file call; and whether LFS was used.

    With progress, a download of contents a partial clone does not have yet shows git's progress bar.
    """
    blobs = git.read_objects([e.oid for e in files], show_progress=progress)
    out = {}
    used_lfs = False
    for entry in files:
        data = blobs.get(entry.oid)
        if data is None:
            raise DeliveryError(f"object {entry.oid[:7]} of '{entry.path}' is missing from the repository")
        if data.startswith(LFS_PREFIX) and entry.mode != "120000":
            data = _lfs(git, data, entry.full or posixpath.join(root_path, entry.path))
            used_lfs = True
        out[entry.path] = data
    return out, used_lfs


def dvc_tracked(git: Git, commit: str, path: str) -> bool:
    """Whether path is tracked by DVC at commit (a `path.dvc` file, or outputs of dvc.yaml)."""
    found = git.read_objects([f"{commit}:{check_path(path)}.dvc", f"{commit}:dvc.lock"])
    if found.get(f"{commit}:{path}.dvc") is not None:
        return True
    lock = found.get(f"{commit}:dvc.lock")
    return lock is not None and f"path: {path}".encode() in lock


def _dvc_api():
    try:
        import dvc.api  # type: ignore[import-not-found]
    except ImportError as exc:
        raise DeliveryError(
            "this artifact is tracked by DVC; install the extra to fetch it: pip install 'tagreg[dvc]'"
        ) from exc
    return dvc.api


def _inside(root: Path, target: Path) -> bool:
    root = root.resolve()
    try:
        target.resolve().relative_to(root)
        return True
    except ValueError:
        return False


def plan(files: dict[str, bytes], modes: dict[str, str], dest: Path, single: bool, force: bool) -> dict[Path, bytes]:
    """Where each file goes; refuses escapes (paths, symlinks) and existing files unless force."""
    root = dest.parent if single else dest
    out: dict[Path, bytes] = {}
    for relative, data in files.items():
        target = dest if single else dest / relative
        if not _inside(root, target):
            raise DeliveryError(f"refusing to write '{relative}': it would land outside {root}")
        if modes.get(relative) == "120000":
            link = posixpath.normpath(posixpath.join(posixpath.dirname(relative), data.decode("utf-8", "replace")))
            if link.startswith("../") or link == ".." or link.startswith("/"):
                raise DeliveryError(f"refusing the symlink '{relative}' -> '{data.decode()}': it points outside")
        if (target.exists() or target.is_symlink()) and not force:
            raise DeliveryError(f"'{target}' exists; use --force to overwrite it")
        out[target] = data
    return out


def write(planned: dict[Path, bytes], modes: dict[Path, str]) -> list[str]:
    """Write planned files atomically one by one (temp file, then rename)."""
    written = []
    for target, data in planned.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        if modes.get(target) == "120000":
            if target.is_symlink() or target.exists():
                target.unlink()
            os.symlink(data.decode("utf-8"), target)
        else:
            tmp = target.with_name(f".{target.name}.tagreg-tmp")
            tmp.write_bytes(data)
            if modes.get(target) == "100755":
                tmp.chmod(0o755)
            os.replace(tmp, target)
        written.append(str(target))
    return written


def open_blob(data: bytes) -> BinaryIO:
    """A file object over bytes."""
    return io.BytesIO(data)


def dvc_open(url: str, path: str, rev: str) -> BinaryIO:
    """A DVC-tracked file as a file object, through DVC's API (tagreg[dvc])."""
    return _dvc_api().open(path, repo=url, rev=rev, mode="rb")


def dvc_get(url: str, path: str, rev: str, out: Path, force: bool) -> list[str]:
    """Download a DVC-tracked path (file or folder) to out."""
    api = _dvc_api()
    if out.exists() and not force:
        raise DeliveryError(f"'{out}' exists; use --force to overwrite it")
    from dvc.repo import Repo  # type: ignore[import-not-found]

    Repo.get(url, path, out=str(out), rev=rev, force=force)
    del api
    return [str(out)]
