"""Editing annotations: annotate and remove, in the work tree or on a branch through plumbing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import annotations as A
from .. import tags as T
from .repository import PathLike, Repository, _open
from .results import AnnotationChange, Notice, RegistryError


class _Target:
    """Where an annotation edit goes: the work tree, or a branch edited through git plumbing."""

    def __init__(self, r: Repository, rev: str | None):
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

    def read(self, file: str) -> str | None:
        """file's text on the branch; AnnotationError if it is not UTF-8 or over the size bound."""
        from ..yaml import YamlError, limits, text_of

        if self.worktree is not None:
            data = A.read_worktree(self.worktree, file)
        else:
            problem = A.outside_reason(file)
            if problem is not None:
                raise A.AnnotationError(file, problem)
            most = limits()["bytes"]
            found = self.r.git.read_objects_within([f"refs/heads/{self.branch}:{file}"], most)
            stored = found[f"refs/heads/{self.branch}:{file}"]
            if isinstance(stored, int):
                raise A.AnnotationError(file, f"larger than {most} bytes ({stored} bytes)")
            data = stored
        try:
            return text_of(data) if data is not None else None
        except YamlError as exc:
            raise A.AnnotationError(file, str(exc)) from None

    def write(self, file: str, text: str, commit: bool, message: str) -> str | None:
        """Write the new text (and commit it); if the commit fails, the file is put back as it was."""
        if commit or self.worktree is None:
            self.r.git.identity()  # fail before touching anything
        if self.worktree is None:  # another branch: there is no way but to commit
            return self.r.git.commit_on_branch(self.branch, {file: text.encode("utf-8")}, message)
        if commit and self.r.git.is_dirty([file]):
            raise RegistryError(f"{file} has uncommitted changes; commit or stash them before --commit")

        from pathlib import Path

        path = Path(A.worktree_file(self.worktree, file))  # never through a symlink out of the work tree
        before = path.read_bytes() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not commit:
            return None
        try:
            return self.r.git.commit_paths([file], message)
        except Exception:
            self.r.git.run("reset", "-q", "--", file, check=False)
            if before is None:
                path.unlink()
            else:
                path.write_bytes(before)
            raise


def annotate(
    repo: PathLike,
    name: str,
    *,
    type: str | None = None,
    path: str | None = None,
    description: str | None = None,
    labels: list[str] | None = None,
    custom: dict[str, Any] | None = None,
    virtual: bool | None = None,
    commit: bool = False,
    rev: str | None = None,
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
    for key, given in (("path", path), ("description", description)):  # what reading would refuse
        if given is not None and not isinstance(given, str):
            raise RegistryError(f"the {key} of '{name}' must be text, not {given.__class__.__name__}")
    if path is not None and any(c in path for c in "\0\n\r"):
        raise RegistryError(f"the path of '{name}' must be one line of text without NUL")
    fields: dict[str, Any] = {}
    for key, value in (("type", type), ("path", path), ("virtual", virtual), ("description", description)):
        if value is not None:
            fields[key] = value
    if labels:
        fields["labels"] = list(dict.fromkeys(labels))
    if custom:
        fields["custom"] = custom
    from .write import notice_new_names

    notice_new_names(r, name, r.registry(name).find(name))
    return _edit(r, name, rev, commit, f"Annotate {name}",
                 lambda read: A.update(read, name, fields, r.config.index))


def link(
    repo: PathLike,
    source: str,
    path: str,
    name: str,
    *,
    rev: str,
    type: str | None = None,
    description: str | None = None,
    labels: list[str] | None = None,
    branch: str | None = None,
    commit: bool = False,
) -> AnnotationChange:
    """Annotate name as path in another repository (source) at rev, so one registry can version,
    promote and deliver models whose files live elsewhere. The link is checked before it is written."""
    from .. import delivery as D
    from .. import links as L
    from .repository import open_linked

    T.check_name(name)
    D.check_path(path)
    if not rev:
        raise RegistryError("a link needs --rev: pin the source to a tag or a commit")
    r = _open(repo)
    if type is not None:
        r.config.check_type(type)
    for label in labels or []:
        T.check_stage(label)
    # What readers will open: the transports they allow, without the credentials typed here.
    target, _ = L.check(source, name, local=r.mirror is None)
    L.check_rev(rev, name)
    linked = open_linked(source, name, local=r.mirror is None)
    sha = linked.resolve(rev)
    if not D.exists(linked.git, sha, path) and not D.dvc_tracked(linked.git, sha, path):
        raise RegistryError(f"'{path}' does not exist in {linked.location} at {rev}")
    moving = L.moving_rev(linked.git, rev, sha)
    fields: dict[str, Any] = {}
    if type is not None:
        fields["type"] = type
    fields.update({"path": path, "repo": target, "rev": rev})
    if description is not None:
        fields["description"] = description
    if labels:
        fields["labels"] = list(dict.fromkeys(labels))
    change = _edit(r, name, branch, commit, f"Link {name} to {path} in {target}@{rev}",
                   lambda read: A.update(read, name, fields, r.config.index))
    if moving:  # written as asked; the moving rev is the user's to know about
        r.tell(Notice(f"rev '{rev}' {moving} in {target}: the link moves with it, and `get` delivers "
                      "whatever it names then; pin a tag or a commit id for a fixed artifact"))
    return change


def remove(repo: PathLike, name: str, *, commit: bool = False, rev: str | None = None) -> AnnotationChange:
    """Remove name's annotation (work tree, or a commit on rev)."""
    T.check_name(name)
    r = _open(repo)

    def edit(read: A.Reader) -> tuple[str, str]:
        found = A.remove(read, name, r.config.index)
        if found is None:
            raise RegistryError(f"'{name}' has no annotation to remove")
        return found

    return _edit(r, name, rev, commit, f"Remove annotation of {name}", edit)


def _edit(
    r: Repository, name: str, rev: str | None, commit: bool, message: str,
    edit: Callable[[A.Reader], tuple[str, str]], attempts: int = 5,
) -> AnnotationChange:
    """Apply edit to the annotation files; on a remote, commit and push the branch, retrying when
    someone else pushed to it meanwhile (never forcing)."""
    if r.mirror is None:
        target = _Target(r, rev)
        file, text = edit(target.read)
        return AnnotationChange(name, file, target.write(file, text, commit, message))
    from ..remote import RemoteError, push_porcelain  # a remote's mirror is open: remote is imported already

    with r.mirror.lock():
        for _ in range(attempts):
            target = _Target(r, rev)
            before = r.git.resolve(f"refs/heads/{target.branch}")
            file, text = edit(target.read)
            sha = target.write(file, text, True, message)
            assert sha is not None  # asked to commit, write gives the commit
            ref = f"refs/heads/{target.branch}"
            try:
                flags = push_porcelain(r.git, "origin", [f"{ref}:{ref}"], r.mirror.display)
            except RemoteError:
                r.git.run("update-ref", ref, before or "", sha)  # the mirror keeps only what the remote has
                raise
            if flags.get(ref) != "!":
                return AnnotationChange(name, file, sha)
            r.git.run("update-ref", ref, before or "", sha)
            r.refresh()
    raise RegistryError(f"gave up: '{target.branch}' kept moving on the remote while annotating {name}")


def uncommitted_edits(repo: PathLike, name: str, *, ref: str = "HEAD") -> list[str]:
    """The files of name that have changes not committed (its annotation file, its annotated path)
    when ref is the checked-out HEAD of a work tree: a version registered there leaves them out.
    [] for another commit, a bare repository, a remote, or a work tree git cannot read (a warning
    never fails the command that asked for it)."""
    from ..errors import UserError

    try:
        return _uncommitted_edits(_open(repo), name, ref)
    except UserError:  # a hostile tree `git status` refuses (an empty file name), a bad annotation file
        return []


def _uncommitted_edits(r: Repository, name: str, ref: str) -> list[str]:
    from .. import delivery as D

    if r.mirror is not None or r.bare:
        return []
    head = r.head()  # as opening the repository read it: no other git call
    if ref != "HEAD" and r.resolve(ref) != head:
        return []
    files = [file for file, _ in A.files_for(name, r.config.index, r.config.gto_exact)]
    note = r.annotation(name, head)
    if note is not None:
        files.insert(0, note.source)
        if note.path and not note.repo and not D.is_external(note.path):
            try:
                files.append(D.check_path(note.resolved_path or note.path))
            except D.DeliveryError:
                pass  # a path out of the repository is refused by `get`, not looked at here
    return r.git.uncommitted(list(dict.fromkeys(files)))
