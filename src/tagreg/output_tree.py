"""Writing a tree of files from a hostile repository under an output folder, safely.

The tree is checked whole before anything is written: every name is one git itself would check
out (no `.git` in any spelling, no `..`, no empty name, no backslash), no entry goes through a
symlink of the tree, and every symlink, resolved against the tree as the operating system would
resolve it (following the tree's other symlinks), stays inside the output folder.

Then it is written without ever following a symlink: each folder is opened relative to its
parent's descriptor with O_NOFOLLOW, each file is created new (O_EXCL, O_NOFOLLOW) under an
unpredictable temporary name and renamed into place, and symlinks are made last. If anything
fails, what was created is removed again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from functools import partial

from .errors import UserError
from .printable import printable

MAX_HOPS = 40  # symlinks followed while resolving one path, as Linux's MAXSYMLINKS
# Code points HFS+ ignores in names, so that `.g\u200cit` is `.git` there (git's is_hfs_dotgit).
HFS_IGNORED = dict.fromkeys([*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF])
LINK, FILE, EXEC = "120000", "100644", "100755"


class UnsafeTree(UserError):
    """The tree cannot be written safely (a name git refuses, a symlink out, an existing file)."""


def is_dotgit(name: str) -> bool:
    """Whether name is `.git` in a spelling some file system takes for it: any case, trailing dots
    or spaces, an NTFS stream (`.git::$INDEX_ALLOCATION`), the short name `git~1`, or with code
    points HFS+ ignores (git's is_ntfs_dotgit and is_hfs_dotgit)."""
    folded = name.translate(HFS_IGNORED).lower()
    for stem in (".git", "git~1"):
        if folded.startswith(stem):
            rest = folded[len(stem):].partition(":")[0]
            if not rest.strip(". "):
                return True
    return False


def name_problem(name: str) -> str | None:
    """Why name (one path component) must not be written, or None if it is fine."""
    if name in ("", ".", ".."):
        return f"the name '{printable(name)}'" if name else "an empty name"
    if "\\" in name or "\0" in name:
        return f"the name '{printable(name)}' (a backslash or NUL)"
    if is_dotgit(name):
        return f"the name '{printable(name)}' (git's own folder, .git)"
    return None


def check_name(path: str) -> None:
    """UnsafeTree if any component of path (relative, `/`-separated) must not be written."""
    for part in path.split("/"):
        problem = name_problem(part)
        if problem:
            raise UnsafeTree(f"refusing to write '{printable(path)}': {problem} is never written")


def check_tree(kinds: dict[str, str], links: dict[str, str]) -> None:
    """UnsafeTree unless the tree (relative path -> mode; symlink path -> target) can be written
    below one folder without anything landing, or pointing, outside it."""
    folders: set[str] = set()
    for path in kinds:
        check_name(path)
        parent = path.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    for path, mode in kinds.items():
        if path in folders:
            kind = "a symlink" if mode == LINK else "a file"
            raise UnsafeTree(f"refusing to write '{printable(path)}': it is both {kind} and a folder of the tree "
                             "(anything below it would be written through it)")
    resolved: dict[str, list[str]] = {}  # symlink path -> where it leads, as parts of a tree path
    for path, target in links.items():
        try:
            _resolve(path, _Tree(kinds, folders, links), resolved, [])
        except _Escape as exc:
            raise UnsafeTree(f"refusing the symlink '{printable(path)}' -> '{printable(target)}': {exc}") from None


class _Escape(Exception):
    """Why a symlink cannot be written (the message's end)."""


class _Tree:
    def __init__(self, kinds: dict[str, str], folders: set[str], links: dict[str, str]):
        self.kinds, self.folders, self.links = kinds, folders, links


def _resolve(path: str, tree: _Tree, resolved: dict[str, list[str]], active: list[str]) -> list[str]:
    """Where the symlink path leads, resolved as the operating system would resolve it once the
    tree is written (the tree's other symlinks followed): each symlink is resolved once (a tree of
    thousands of symlinks through long chains costs their total length), and only through names
    the tree itself has: a name it lacks may be anything on disk (a symlink of the user's), so it
    may only be the last part of a target."""
    if path in resolved:
        return resolved[path]
    if path in active or len(active) >= MAX_HOPS:
        raise _Escape("a loop of symlinks")
    target = tree.links[path]
    if not target or target.startswith("/") or "\\" in target or "\0" in target:
        raise _Escape("it points outside the output folder" if target.startswith("/") else "not a relative target")
    parts = [part for part in target.split("/") if part not in ("", ".")]
    if any(is_dotgit(part) for part in parts):
        raise _Escape("it points into a .git folder")
    active.append(path)
    where = path.split("/")[:-1]  # the folder the link is in, then the path resolved so far
    for i, part in enumerate(parts):
        if part == "..":
            if not where:
                raise _Escape("it resolves outside the output folder")
            where.pop()
            continue
        here = "/".join([*where, part])
        if tree.kinds.get(here) == LINK:
            where = list(_resolve(here, tree, resolved, active))
        elif here in tree.kinds or here in tree.folders or i == len(parts) - 1:
            where.append(part)
        else:
            raise _Escape(f"it goes through '{printable(part)}', which the artifact does not have (what is "
                          "there on disk would decide where it leads)")
    active.pop()
    resolved[path] = where
    return where


class Writer:
    """Writes files and symlinks below a folder (created if missing) without following any symlink
    below it; `commit` puts them in place, `abort` removes everything it made."""

    def __init__(self, root: str, force: bool):
        self.root, self.force = root, force
        self._made: list[tuple[int, str, bool]] = []  # (folder fd, name, is a folder), in creation order
        self._temps: list[tuple[int, str, str, bool]] = []  # (folder fd, temp name, final name, is new)
        self._links: list[tuple[int, str, str, bool]] = []  # (folder fd, name, target, is new)
        self._fds: dict[str, int] = {}
        self._open_root()

    def _open_root(self) -> None:
        missing = []
        folder = os.path.abspath(self.root)
        while not os.path.isdir(folder):
            if os.path.lexists(folder):
                raise UnsafeTree(f"'{printable(folder)}' is in the way: it is not a folder")
            missing.append(folder)
            folder = os.path.dirname(folder)
        try:
            for path in reversed(missing):  # the user's own path: symlinks in it are theirs to follow
                os.mkdir(path)
                self._made.append((-1, path, True))
            self._fds[""] = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        except OSError as exc:
            self.abort()
            raise UnsafeTree(f"cannot create '{printable(self.root)}': {exc.strerror}") from exc

    def _folder(self, path: str) -> int:
        """The descriptor of folder path (relative to the root), made if missing, never reached
        through a symlink."""
        fd = self._fds.get(path)
        if fd is not None:
            return fd
        parent_path, _, name = path.rpartition("/")
        parent = self._folder(parent_path)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
        try:
            fd = os.open(name, flags, dir_fd=parent)
        except FileNotFoundError:
            os.mkdir(name, 0o777, dir_fd=parent)
            self._made.append((parent, name, True))
            fd = os.open(name, flags, dir_fd=parent)
        except OSError as exc:  # ELOOP (a symlink) or ENOTDIR (a file)
            raise UnsafeTree(f"refusing to write into '{printable(self._show(path))}': it is a symlink or a file "
                             "in the output folder, not a folder") from exc
        self._fds[path] = fd
        return fd

    def _show(self, path: str) -> str:
        return os.path.join(self.root, path)

    def _slot(self, path: str) -> tuple[int, str, bool]:
        """(folder fd, name, whether the name is free) for path; UnsafeTree if it is taken and
        not to be replaced."""
        parent_path, _, name = path.rpartition("/")
        fd = self._folder(parent_path)
        try:
            found = os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            return fd, name, True
        if stat.S_ISDIR(found.st_mode):
            raise UnsafeTree(f"refusing to write '{printable(self._show(path))}': a folder of that name is in the way")
        if not self.force:
            raise UnsafeTree(f"'{printable(self._show(path))}' exists; use --force to overwrite it")
        return fd, name, False

    def check(self, path: str) -> None:
        """UnsafeTree now, before any content is fetched, if path cannot be written."""
        self._slot(path)

    def file(self, path: str, executable: bool, fill: Callable[[Callable[[bytes], object]], None]) -> None:
        """Create path's contents in a new temporary file beside it: fill(write) writes them."""
        fd, name, new = self._slot(path)
        temp = f".{name[:40]}.tagreg-{os.urandom(8).hex()}"
        out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC,
                      0o777 if executable else 0o666, dir_fd=fd)
        self._temps.append((fd, temp, name, new))
        with os.fdopen(out, "wb") as handle:
            fill(handle.write)

    def link(self, path: str, target: str) -> None:
        """Make the symlink path -> target when the files are in place (`commit`)."""
        fd, name, new = self._slot(path)
        self._links.append((fd, name, target, new))

    def commit(self) -> None:
        """Move every file into place, then make the symlinks; on a failure, `abort`."""
        try:
            for i, (fd, temp, name, new) in enumerate(self._temps):
                os.rename(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
                self._temps[i] = (fd, "", name, new)
            for i, (fd, name, target, new) in enumerate(self._links):
                temp = f".tagreg-{os.urandom(8).hex()}"
                os.symlink(target, temp, dir_fd=fd)
                os.rename(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
                self._links[i] = (fd, name, "", new)
        except OSError as exc:
            self.abort()
            raise UnsafeTree(f"cannot write into '{printable(self.root)}': {exc.strerror}") from exc
        self._close()

    def abort(self) -> None:
        """Remove every temporary file and every file, symlink and folder this writer created."""
        for fd, temp, name, new in reversed(self._temps):
            _quietly(os.unlink, temp or (name if new else ""), fd)
        for fd, name, target, new in reversed(self._links):
            _quietly(os.unlink, name if not target and new else "", fd)
        for fd, name, _ in reversed(self._made):
            _quietly(os.rmdir, name, fd if fd >= 0 else None)
        self._temps, self._links, self._made = [], [], []
        self._close()

    def _close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _quietly(remove: Callable, name: str, fd: int | None) -> None:
    if not name:
        return
    try:
        remove(name, dir_fd=fd)
    except OSError:
        pass


def write_tree(root: str, entries: Iterable[tuple[str, str, str]], force: bool,
               fill: Callable[[str, Callable[[bytes], object]], None]) -> list[str]:
    """Write entries (relative path, mode, symlink target or "") below root, the contents of each
    file through fill(path, write); the (relative) paths written. Nothing is left behind on a failure."""
    entries = list(entries)
    writer = Writer(root, force)
    try:
        for path, _, _ in entries:
            writer.check(path)  # an existing file or a symlink in the way: before any download
        for path, mode, target in entries:
            if mode == LINK:
                writer.link(path, target)
            else:
                writer.file(path, mode == EXEC, partial(fill, path))
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return [path for path, _, _ in entries]
