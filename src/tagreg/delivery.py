"""Delivering an artifact: the bytes at a version's commit, from the Git object store, LFS or DVC.

Reads objects straight from git (no checkout), streaming them: memory stays bounded whatever an
artifact's size. Repository content is hostile: before anything is written, the tree is listed
and checked whole (`output_tree`: no `.git` name, no symlink out), its entries counted and its
bytes summed against limits, its LFS pointers read; then it is written without following any
symlink, and LFS content is checked against its pointer's size and sha256. Never overwrites a
file unless told to. Links to other repositories are resolved by the API, which hands this module
the right repository and commit.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO

from . import output_tree as O
from .errors import UserError
from .git import BlobReader, Git, GitError, Stream
from .printable import printable

if TYPE_CHECKING:  # `register` reads paths with this module (check_path): LFS, files and folders come with `get`
    from pathlib import Path

LFS_PREFIX = b"version https://git-lfs.github.com/spec/"
LFS_MAX_POINTER = 1024  # the LFS spec: a pointer file is smaller than this
EXTERNAL_SCHEMES = ("s3://", "gs://", "gcs://", "azure://", "az://", "http://", "https://", "hdfs://",
                    "ssh://", "oss://", "webhdfs://")

# What one `get` may write, unless raised (--max-files/--max-bytes, max_files=/max_bytes=, or the
# environment): a tree of shared subtrees is a few hundred bytes in git and a million files on disk.
MAX_FILES = 10_000
MAX_BYTES = 10 << 30  # 10 GiB
MAX_LINK = 4096  # bytes of a symlink's target (PATH_MAX)
MAX_PATH = 4096  # bytes of one path in the listing
SPOOL = 4 << 20  # `open` keeps this much in memory, the rest in a temporary file
FILES_ENV, BYTES_ENV = "TAGREG_MAX_FILES", "TAGREG_MAX_BYTES"
UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class DeliveryError(UserError):
    """The artifact cannot be delivered (missing, unsafe path, needs a tool that is not installed)."""


@dataclass
class Entry:
    """One file of an artifact in a git tree."""

    path: str  # relative to the artifact's root (a file artifact: its own name)
    mode: str
    oid: str
    full: str = ""  # the path in the repository
    size: int = 0  # what is written: the blob's size, or the size an LFS pointer gives
    target: str = ""  # a symlink's target
    pointer: bytes | None = None  # an LFS pointer, to be replaced by its content
    sha256: str = ""  # the content's sha256, from the LFS pointer
    stored: str = ""  # that content's file in the local LFS store, once `fetch_lfs` brought it


@dataclass
class Delivery:
    """What `get` wrote (or would write)."""

    name: str
    version: str | None
    commit: str
    path: str  # the annotated path
    kind: str  # "git", "lfs", "dvc" or "external"
    written: list[str] = field(default_factory=list)
    repo: str | None = None  # the repository the files came from (links)
    target: str = ""  # the file, or the folder of the files, written


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


def exists(git: Git, commit: str, path: str) -> bool:
    """Whether path at commit is a file or a folder with files, as `listing` finds them: the first
    one found is enough (a git bomb is not listed)."""
    path = check_path(path)
    with _ls_tree(git, commit, path) as stream:
        if next(_blobs(stream, path), None) is not None:
            return True
        stream.finish()
    return False


def storage(git: Git, commit: str, path: str) -> str:
    """Where path is stored at commit, as far as two small git reads tell: "url" (outside Git),
    "git", "lfs" (a file whose blob is an LFS pointer), "dvc", or "missing". A folder is "git": its
    files are not read."""
    if is_external(path):
        return "url"
    try:
        path = check_path(path)
        with _ls_tree(git, commit, path) as stream:
            first = next(_blobs(stream, path), None)
            if first is None:
                stream.finish()
        if first is None:
            return "dvc" if dvc_tracked(git, commit, path) else "missing"
        if first[2] != path:
            return "git"
        data = git.read_objects_within([first[1]], LFS_MAX_POINTER).get(first[1])
    except UserError:  # an unreadable commit or path, a dvc.lock over the bound
        return "missing"
    return "lfs" if isinstance(data, bytes) and data.startswith(LFS_PREFIX) else "git"


def storages(git: Git, commit: str, paths: list[str]) -> dict[str, str]:
    """`storage` of many paths at commit: their files read in one `git cat-file --batch` (a pointer
    is under 1 KiB, a bigger blob is not read); folders and missing paths one by one."""
    safe = {}
    for path in paths:
        try:
            safe[path] = check_path(path) if not is_external(path) else None
        except DeliveryError:
            safe[path] = None
    found = git.read_objects_within([f"{commit}:{p}" for p in safe.values() if p], LFS_MAX_POINTER)
    out = {}
    for path, normal in safe.items():
        data = found.get(f"{commit}:{normal}") if normal else None
        if data is None:  # a folder, a DVC path, a URL, or missing
            out[path] = storage(git, commit, path)
        else:
            out[path] = "lfs" if isinstance(data, bytes) and data.startswith(LFS_PREFIX) else "git"
    return out


def is_folder(git: Git, commit: str, path: str) -> bool:
    """Whether path is a folder (tree) at commit."""
    proc = git.run("cat-file", "-t", f"{commit}:{check_path(path)}", check=False)
    return proc.stdout.decode().strip() == "tree"


def parse_size(text: str, what: str) -> int:
    """A size in bytes from `123`, `500M`, `10GiB`, `1.5G` (binary units); DeliveryError naming
    what (the option or variable it came from) otherwise."""
    value = text.strip().lower().removesuffix("b").removesuffix("i")
    number, unit = (value[:-1], value[-1]) if value[-1:] in UNITS and value[-1:] else (value, "")
    try:
        size = int(float(number) * UNITS[unit]) if number.replace(".", "", 1).isdigit() else -1
    except (ValueError, OverflowError):
        size = -1
    if size < 0:
        raise DeliveryError(f"{what}: '{printable(text)}' is not a size (examples: 5000, 500M, 20G)")
    return size


def limits(max_files: int | None = None, max_bytes: int | str | None = None) -> tuple[int, int]:
    """(files, bytes) one `get` may write: as given, else from TAGREG_MAX_FILES/TAGREG_MAX_BYTES,
    else the defaults."""
    if max_files is None:
        given = os.environ.get(FILES_ENV)
        max_files = MAX_FILES if not given else int(given) if given.strip().isdigit() else -1
        if max_files < 0:
            raise DeliveryError(f"{FILES_ENV}: '{printable(given or '')}' is not a number of files")
    if max_bytes is None:
        given = os.environ.get(BYTES_ENV)
        max_bytes = parse_size(given, BYTES_ENV) if given else MAX_BYTES
    elif isinstance(max_bytes, str):
        max_bytes = parse_size(max_bytes, "max_bytes")
    return max_files, max_bytes


def _human(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size:.1f} TiB"  # pragma: no cover


def listing(git: Git, commit: str, path: str, max_files: int) -> list[Entry]:
    """The files at path in commit's tree (one for a file, many for a folder; [] if absent), read
    as a stream and only up to max_files: DeliveryError beyond, or on a name that must not be
    written, or a name listed twice."""
    path = check_path(path)
    out: list[Entry] = []
    seen: set[str] = set()
    with _ls_tree(git, commit, path) as stream:
        for mode, oid, name in _blobs(stream, path):
            relative = posixpath.basename(path) if name == path else name[len(path) + 1:] if path != "." else name
            if len(out) >= max_files:
                raise DeliveryError(f"refusing to write '{printable(path)}': it has more than {max_files} files "
                                    f"(a git bomb?); raise the limit with --max-files, max_files= or {FILES_ENV}")
            if relative in seen:
                raise DeliveryError(
                    f"refusing to write '{printable(path)}': '{printable(relative)}' is in its tree twice")
            seen.add(relative)
            out.append(Entry(relative, mode, oid, name))
        stream.finish()
    return out


def _ls_tree(git: Git, commit: str, path: str) -> Stream:
    return git.stream("ls-tree", "-r", "-z", "--full-tree", commit, "--", path)


def _blobs(stream: Stream, path: str) -> Iterator[tuple[str, str, str]]:
    """(mode, oid, name) of each file `_ls_tree` lists at path (normalised), one record at a time."""
    while record_ := stream.read_until(b"\0", MAX_PATH + 100):
        meta, _, raw = record_.partition(b"\t")
        mode, kind, oid = meta.decode("ascii", "replace").split(" ")
        if kind != "blob":
            continue  # submodules
        name = raw.decode("utf-8", "surrogateescape")  # the exact bytes, as file names
        if name != path and not name.startswith(path + "/") and path != ".":
            continue
        yield mode, oid, name


def inspect(git: Git, files: list[Entry], max_bytes: int, progress: bool = False) -> bool:
    """Fill in each entry's size (LFS: the pointer's), symlink target and LFS pointer, reading only
    small blobs; DeliveryError if the total is over max_bytes or a symlink or pointer is bad.
    Whether any file is in LFS."""
    sizes = git.object_sizes([e.oid for e in files], show_progress=progress)
    links = {e.oid for e in files if e.mode == O.LINK}
    wanted = {e.oid for e in files if (sizes.get(e.oid) or 0) < (MAX_LINK + 1 if e.mode == O.LINK else LFS_MAX_POINTER)}
    found = git.read_objects_within(sorted(wanted), MAX_LINK, show_progress=progress)
    # symlink targets and LFS pointers: each under a few KiB
    small = {oid: data for oid, data in found.items()
             if isinstance(data, bytes) and (oid in links or data.startswith(LFS_PREFIX))}
    total = 0
    for entry in files:
        size = sizes.get(entry.oid)
        if size is None:
            raise DeliveryError(f"object {entry.oid[:7]} of '{printable(entry.full)}' is missing from the repository")
        entry.size = size
        if entry.mode == O.LINK:
            target = small.get(entry.oid)
            if target is None:
                raise DeliveryError(f"refusing the symlink '{printable(entry.full)}': its target is longer than "
                                    f"{MAX_LINK} bytes")
            entry.target = target.decode("utf-8", "surrogateescape")
        elif entry.oid in small and small[entry.oid].startswith(LFS_PREFIX):
            entry.pointer = small[entry.oid]
            entry.sha256, entry.size = _pointer(entry.pointer, entry.full)
        total += entry.size
    if total > max_bytes:
        raise DeliveryError(f"refusing to write {_human(total)} (more than {_human(max_bytes)}); raise the limit "
                            f"with --max-bytes, max_bytes= or {BYTES_ENV}")
    used_lfs = any(e.pointer is not None for e in files)
    if used_lfs:
        _need_lfs(git, next(e for e in files if e.pointer is not None).full)
    return used_lfs


def _pointer(data: bytes, path: str) -> tuple[str, int]:
    """(sha256, size) of a Git LFS pointer (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)."""
    fields = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value
    oid, size = fields.get("oid", ""), fields.get("size", "")
    digest = oid.removeprefix("sha256:")
    if (not oid.startswith("sha256:") or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest)
            or not size.isdigit() or not size.isascii()):
        raise DeliveryError(f"'{printable(path)}' looks like a Git LFS pointer but is not a valid one")
    return digest, int(size)


def _need_lfs(git: Git, path: str) -> None:
    if git.run("lfs", "version", check=False).returncode != 0:
        raise DeliveryError(
            f"'{printable(path)}' is stored with Git LFS, and git-lfs is not installed: "
            "install it (https://git-lfs.com) "
            "and try again"
        )


def fetch_lfs(git: Git, commit: str, path: str, files: list[Entry]) -> None:
    """Bring the LFS content of the `inspect`ed files at path (the artifact's) into the local LFS
    store with one `git lfs fetch` (one batch request, whatever their number: one `git lfs smudge`
    a file took seconds per hundred), and note where each is (`Entry.stored`), to be read from
    there. DeliveryError when git-lfs says the server lacks an object or there is no server; when
    it fails otherwise, or path is not one it takes literally, each file is smudged on its own."""
    from . import lfs as L

    pointed = [e for e in files if e.pointer is not None]
    if not pointed or L.skip_smudge():  # asked for pointers: git-lfs hands them back, and they are refused
        return
    env = L.environment(git)
    if env is None:
        return
    missing = [e for e in pointed if L.stored(env.media, e.sha256) is None]
    remote = L.fetch_remote(git) if missing else None
    if missing and remote is not None and L.batchable(check_path(path)):
        done, said = L.fetch(git, remote, commit, check_path(path))
        why = None if done else L.cause(said, env.endpoint)
        if why is not None:
            oid = L.missing_oid(said)
            named = next((e for e in missing if e.sha256 == oid), missing[0])
            raise DeliveryError(f"git-lfs could not fetch '{printable(named.full)}': {printable(why)}")
    for entry in pointed:
        entry.stored = L.stored(env.media, entry.sha256) or ""


def copy(git: Git, reader: BlobReader, entry: Entry, write: Callable[[bytes], object]) -> None:
    """Pass entry's contents to write in chunks: its blob, or, for an LFS pointer, its content from
    the local LFS store (`fetch_lfs`) or as git-lfs fetches it, checked against the pointer's size
    and sha256."""
    from . import lfs as L

    if entry.pointer is None:
        if reader.copy(entry.oid, write) is None:
            raise DeliveryError(f"object {entry.oid[:7]} of '{printable(entry.full)}' is missing from the repository")
        return

    digest = hashlib.sha256()
    head = bytearray()  # the first bytes: a pointer handed back instead of the content shows there
    written = 0
    if entry.stored:
        with open(entry.stored, "rb") as stored:  # the store's file, named by the pointer's sha256
            while chunk := stored.read(1 << 20):
                written += len(chunk)
                if written > entry.size:
                    break
                digest.update(chunk)
                write(chunk)
        return _check_lfs(entry, written, digest, failed=False)
    with git.stream("lfs", "smudge", "--", entry.full, stdin=True) as stream:
        stream.write(entry.pointer)
        stream.end_input()
        while chunk := stream.read(1 << 20):
            written += len(chunk)
            if len(head) < LFS_MAX_POINTER:
                head += chunk[: LFS_MAX_POINTER - len(head)]
            if written > entry.size:
                break
            digest.update(chunk)
            write(chunk)
        code = stream.close()
        error, said = stream.error, stream.said  # git-lfs's reason (not its progress line), and all it said
    # git-lfs hands back the pointer when it fails (more bytes than a small object has): its reason
    # says why; content cut off because it is longer than the pointer says is another failure
    pointer_back = head.startswith(LFS_PREFIX) and written < LFS_MAX_POINTER and entry.size != written
    failed = code != 0 and (written <= entry.size or pointer_back)
    if failed and error:
        from .remote import redact

        env = L.environment(git)
        why = L.cause(said, env.endpoint if env else "")
        raise DeliveryError(f"git-lfs could not fetch '{printable(entry.full)}': {printable(redact(why or error))}")
    if pointer_back:
        raise DeliveryError(f"git-lfs handed back the pointer of '{printable(entry.full)}', not its content "
                            "(is GIT_LFS_SKIP_SMUDGE set, or the object missing?)")
    _check_lfs(entry, written, digest, failed)


def _check_lfs(entry: Entry, written: int, digest, failed: bool) -> None:
    """DeliveryError unless what was written of an LFS file is its pointer's size and sha256."""
    if failed:
        raise DeliveryError(f"git-lfs could not fetch '{printable(entry.full)}'")
    if written != entry.size:
        raise DeliveryError(f"git-lfs handed back {written} bytes for '{printable(entry.full)}'; its pointer says "
                            f"{entry.size}")
    if digest.hexdigest() != entry.sha256:
        raise DeliveryError(f"the content git-lfs handed back for '{printable(entry.full)}' does not match the "
                            "sha256 of its pointer")


def deliver(git: Git, files: list[Entry], target: Path, single: bool, force: bool, progress: bool = False) -> list[str]:
    """Write the checked files (`listing`, `inspect`) to target (a file, or a folder of them)."""
    root = str(target.parent if single else target)
    if single:
        files = [replace(files[0], path=target.name)]
    kinds = {e.path: e.mode for e in files}
    O.check_tree(kinds, {e.path: e.target for e in files if e.mode == O.LINK})
    by_path = {e.path: e for e in files}
    with BlobReader(git, show_progress=progress) as reader:
        try:
            written = O.write_tree(root, [(e.path, e.mode, e.target) for e in files], force,
                                   lambda path, write: copy(git, reader, by_path[path], write))
        except GitError as exc:
            raise DeliveryError(f"could not read '{printable(files[0].full)}': {exc}") from exc
    return [str(target)] if single else [str(target / path) for path in written]


def open_file(git: Git, entry: Entry) -> BinaryIO:
    """A file object over the (checked, `inspect`ed) file: its first MiBs in memory, the rest in a
    temporary file, read once from git (LFS content checked before it is handed out)."""
    import tempfile


    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - handed to the caller, who closes it
    try:
        with BlobReader(git) as reader:
            copy(git, reader, entry, spool.write)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool  # type: ignore[return-value]


def dvc_tracked(git: Git, commit: str, path: str) -> bool:
    """Whether path is tracked by DVC at commit (see `dvc_output`); reads no `.dvc` file or
    dvc.lock over the YAML size bound (DeliveryError)."""
    return dvc_output(git, commit, path) is not None


def present(git: Git, commit: str, path: str) -> bool:
    """Whether `get` finds path at commit: files in git (or LFS), or an output DVC tracks."""
    return exists(git, commit, path) or dvc_tracked(git, commit, path)


@dataclass
class DvcOutput:
    """Where DVC tracks a path: the `.dvc` file or dvc.lock declaring it, and its entry there."""

    file: str  # the `.dvc` file or dvc.lock, in the repository
    entry: dict  # its `outs` entry as DVC wrote it (md5, size, nfiles); {} when it cannot be read
    inside: bool = False  # the path is in this output (a tracked folder), not the output itself

    @property
    def folder(self) -> bool | None:
        """Whether the path is a folder (its md5 names a `.dir` listing); None when only DVC can
        tell: a path inside a tracked folder."""
        return None if self.inside else str(self.entry.get("md5", "")).endswith(".dir")


def dvc_is_folder(output: DvcOutput) -> bool:
    """Whether a DVC output (`dvc_output`) is known to be a folder."""
    return output.folder is True


def dvc_output(git: Git, commit: str, path: str) -> DvcOutput | None:
    """The DVC output of path at commit, found as DVC finds it, or None when DVC does not track
    path. Read in one batch: `A.dvc` for path and each folder above it (`dvc add` of a file or a
    folder, path then being inside that folder), and the dvc.lock of each folder above path
    (pipeline outputs, relative to the lock's folder or to the stage's `wdir` in the dvc.yaml
    beside it). The nearest declaration wins. A `path.dvc` that cannot be read counts as
    tracking path ({} entry: DVC then says what is wrong with it)."""
    from .yaml import limits

    path = check_path(path)
    parts = path.split("/")
    ancestors = ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]  # path, its folder, ...
    folders = ["/".join(parts[:i]) for i in range(len(parts) - 1, -1, -1)]  # its folder, ..., the root
    candidates = [f"{a}.dvc" for a in ancestors]
    for folder in folders:
        candidates += [posixpath.join(folder, "dvc.lock"), posixpath.join(folder, "dvc.yaml")]
    most = limits()["bytes"]
    blobs = git.read_objects_within([f"{commit}:{file}" for file in candidates], most)
    for file in candidates:
        data = blobs.get(f"{commit}:{file}")
        if data is None or file.endswith("/dvc.yaml") or file == "dvc.yaml":
            continue
        if isinstance(data, int):
            raise DeliveryError(f"{file} at commit {commit[:7]} is larger than {most} bytes ({data} bytes); "
                                "raise the limit with TAGREG_YAML_MAX_BYTES")
        folder = posixpath.dirname(file)
        if file.endswith(".dvc"):
            doc = _dvc_yaml(data)
            if doc is None and file == f"{path}.dvc":
                return DvcOutput(file, {})
            wdir = doc.get("wdir") if isinstance(doc, dict) else None
            outs = [(out, _joined(folder, wdir)) for out in _outs(doc)]
        else:
            pipeline = blobs.get(f"{commit}:{posixpath.join(folder, 'dvc.yaml')}")
            outs = _lock_outs(_dvc_yaml(data), _dvc_yaml(pipeline) if isinstance(pipeline, bytes) else None, folder)
        for out, base in outs:
            where = out.get("path")
            if not isinstance(where, str) or base is None:
                continue
            declared = posixpath.normpath(posixpath.join(base, where))
            if declared == path:
                return DvcOutput(file, out)
            if path.startswith(declared + "/") and declared not in (".", ""):
                return DvcOutput(file, out, inside=True)
    return None


def _dvc_yaml(data: bytes | int | None) -> object:
    """A `.dvc`, dvc.lock or dvc.yaml file, parsed within the bounds; None when it cannot be read."""
    from .yaml import load

    if not isinstance(data, bytes):
        return None
    try:
        return load(data)
    except UserError:
        return None


def _outs(holder: object) -> list[dict]:
    outs = holder.get("outs") if isinstance(holder, dict) else None
    return [out for out in outs if isinstance(out, dict)] if isinstance(outs, list) else []


def _joined(folder: str, wdir: object) -> str | None:
    """The folder paths are relative to: folder, or its `wdir` (a plain relative path); None for a
    wdir that only DVC's templating could resolve or that is not a path."""
    if wdir is None:
        return folder
    if not isinstance(wdir, str) or "${" in wdir or wdir.startswith("/"):
        return None
    return posixpath.normpath(posixpath.join(folder, wdir))


def _lock_outs(lock: object, pipeline: object, folder: str) -> list[tuple[dict, str | None]]:
    """(output, the folder its path is relative to) of each stage in a dvc.lock; a stage's `wdir` is
    in the dvc.yaml beside it (for `foreach`/`matrix` stages, `NAME@KEY`, in the stage's `do`)."""
    stages = lock.get("stages") if isinstance(lock, dict) else None
    defined = pipeline.get("stages") if isinstance(pipeline, dict) else None
    out: list[tuple[dict, str | None]] = []
    for name, stage in stages.items() if isinstance(stages, dict) else ():
        definition = defined.get(str(name).partition("@")[0]) if isinstance(defined, dict) else None
        if isinstance(definition, dict) and "@" in str(name) and isinstance(definition.get("do"), dict):
            definition = definition["do"]
        wdir = definition.get("wdir") if isinstance(definition, dict) else None
        out += [(entry, _joined(folder, wdir)) for entry in _outs(stage)]
    return out


def _dvc_repo():
    try:
        from dvc.repo import Repo  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as exc:
        from .install import pip_install

        raise DeliveryError("this artifact is tracked by DVC; add tagreg's dvc extra (tagreg[dvc]) to fetch it: "
                            + pip_install("dvc")) from exc
    except Exception as exc:  # an installation DVC itself cannot start with
        raise DeliveryError(f"this artifact is tracked by DVC, which cannot be loaded: {_reason(exc)}") from exc
    return Repo


def _dvc_failed(path: str, rev: str, exc: BaseException) -> DeliveryError:
    """DVC's reason for not delivering path, in one line. DVC raises plain exceptions whose text is
    all it says; an object missing from the DVC remote is a FileNotFoundError, itself or as the
    cause of DVC's own error ("failed to load directory"), whose file is then named too; an error
    of DVC's with a generic text ("SCM error") is followed by its cause's."""
    chain = [exc]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) is not None and len(chain) < 10:
        chain.append(cause)
    reasons = [_reason(exc)]
    missing = next((e for e in chain if isinstance(e, FileNotFoundError)), None)
    if missing is not None and missing is not exc:
        reasons.append(_reason(missing))
    elif len(chain) > 1 and reasons[0] in ("SCM error", "DVC error"):
        reasons.append(_reason(chain[1]))
    hint = " (is it pushed to the DVC remote with `dvc push`?)" if missing is not None else ""
    return DeliveryError(f"DVC could not fetch '{printable(path)}' at commit {rev[:7]}: "
                         f"{printable(' '.join(': '.join(reasons).split()))}{hint}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": '{exc.filename}'" if exc.filename else "")
    return str(exc) or type(exc).__name__


def _check_declared(output: DvcOutput, path: str, max_files: int, max_bytes: int) -> None:
    """Refuse before any download what the DVC output itself says is over the limits (its entry
    is the whole folder's for a path inside it: only the download can tell)."""
    if output.inside:
        return
    for key, most, message in (("nfiles", max_files, _too_many_files), ("size", max_bytes, _too_big)):
        value = output.entry.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > most:
            raise DeliveryError(message(path, value, most))


def _too_many_files(path: str, count: int, most: int) -> str:
    return (f"refusing to write '{printable(path)}': it has more than {most} files; raise the limit "
            f"with --max-files, max_files= or {FILES_ENV}")


def _too_big(path: str, total: int, most: int) -> str:
    return (f"refusing to write {_human(total)} (more than {_human(most)}); raise the limit "
            f"with --max-bytes, max_bytes= or {BYTES_ENV}")


@dataclass
class DvcSource:
    """What DVC fetches from: the registry's URL (DVC clones it) or local path, a commit, a path."""

    url: str
    rev: str
    path: str


def dvc_open(source: DvcSource, output: DvcOutput, max_bytes: int) -> BinaryIO:
    """A DVC-tracked file as a file object (at most max_bytes), fetched through DVC (tagreg[dvc])
    as `get` fetches it: its first MiBs in memory, the rest in a temporary file, as `open_file`."""
    import shutil
    import tempfile


    path = check_path(source.path)
    staging = tempfile.mkdtemp(prefix="tagreg-dvc-")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - handed to the caller, who closes it
    try:
        fetched = _dvc_fetch(source, output, staging, 1, max_bytes)
        if os.path.isdir(fetched) and not os.path.islink(fetched):
            raise DeliveryError(f"'{printable(path)}' is a folder; use get() to write it to disk")
        _staged(fetched, path, False, 1, max_bytes)
        with open(fetched, "rb") as handle:  # a file of our own temporary folder
            shutil.copyfileobj(handle, spool, 1 << 20)
    except BaseException:
        spool.close()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _dvc_fetch(source: DvcSource, output: DvcOutput, staging: str, max_files: int, max_bytes: int) -> str:
    """Have DVC download the path into the new folder staging; where it wrote it. Refuses first
    what the DVC output itself says is over the limits."""
    Repo = _dvc_repo()
    path = check_path(source.path)
    _check_declared(output, path, max_files, max_bytes)
    fetched = os.path.join(staging, "out")
    try:
        Repo.get(source.url, path, out=fetched, rev=source.rev)
    except Exception as exc:  # DVC's own, whatever it is: its text is the reason
        raise _dvc_failed(path, source.rev, exc) from exc
    return fetched


def dvc_get(source: DvcSource, out: Path, force: bool, output: DvcOutput, into: bool = False,
            max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> tuple[list[str], Path]:
    """Write a DVC-tracked path (a file, or a folder) to out, as `deliver` writes a git tree: DVC
    downloads it into a new temporary folder; what DVC wrote there is checked as a git tree is
    (names, no symlink, the limits), then written below out. into: out is a folder, that a file
    goes in under its own name. What was written, and the file or folder written."""
    import shutil
    import tempfile


    _dvc_repo()
    path = check_path(source.path)
    name = posixpath.basename(path)
    folder = output.folder  # None: a path inside a tracked folder, which DVC's download tells
    if folder is False and into:
        out = out / name
    if folder is False and (out.exists() or out.is_symlink()) and not force:
        raise DeliveryError(f"'{printable(str(out))}' exists; use --force to overwrite it")
    # beside the output (on its disk, not in a small /tmp), in the nearest folder that exists, so
    # that no folder is made for a download that fails
    near = os.path.dirname(os.path.abspath(out))
    while not os.path.isdir(near):
        near = os.path.dirname(near)
    try:
        staging = tempfile.mkdtemp(prefix=".tagreg-dvc-", dir=near)
    except OSError as exc:  # a folder we may not write in: what writing there would have said
        raise DeliveryError(f"cannot write in '{printable(near)}': {exc.strerror}") from exc
    try:
        fetched = _dvc_fetch(source, output, staging, max_files if folder is not False else 1, max_bytes)
        if folder is None:
            folder = os.path.isdir(fetched) and not os.path.islink(fetched)
            if not folder and into:
                out = out / name
        files = _staged(fetched, path, folder, max_files, max_bytes)
        root = str(out.parent if not folder else out)
        if not folder:
            files = {out.name: files[name]}
        O.check_tree(dict(files), {})

        def fill(relative: str, write: Callable[[bytes], object]) -> None:
            source_file = os.path.join(fetched, relative) if folder else fetched
            with open(source_file, "rb") as handle:  # a file of our own temporary folder
                while chunk := handle.read(1 << 20):
                    write(chunk)

        written = O.write_tree(root, [(relative, mode, "") for relative, mode in files.items()], force, fill)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ([str(out / relative) for relative in written] if folder else [str(out)]), out


def _staged(fetched: str, path: str, folder: bool, max_files: int, max_bytes: int) -> dict[str, str]:
    """relative path -> git mode of each file DVC wrote at fetched, checked: regular files only
    (DVC writes no symlink), at most max_files and max_bytes."""

    found: dict[str, str] = {}
    total = 0

    def add(name: str, full: str) -> None:
        nonlocal total
        info = os.lstat(full)
        if not stat.S_ISREG(info.st_mode):
            raise DeliveryError(f"refusing to write '{printable(path)}': DVC wrote '{printable(name)}', "
                                "which is not a file")
        if len(found) >= max_files:
            raise DeliveryError(_too_many_files(path, len(found) + 1, max_files))
        total += info.st_size
        if total > max_bytes:
            raise DeliveryError(_too_big(path, total, max_bytes))
        found[name] = O.EXEC if info.st_mode & 0o100 else O.FILE

    if folder and not os.path.lexists(fetched):  # an empty folder: DVC makes nothing
        return found
    if not os.path.lexists(fetched):
        raise DeliveryError(f"DVC wrote nothing for '{printable(path)}'")
    if not folder or not os.path.isdir(fetched) or os.path.islink(fetched):
        add(posixpath.basename(path), fetched)
        return found
    for top, folders, names in os.walk(fetched):
        for name in [*names, *(f for f in folders if os.path.islink(os.path.join(top, f)))]:
            full = os.path.join(top, name)
            add(os.path.relpath(full, fetched).replace(os.sep, "/"), full)
    return found
