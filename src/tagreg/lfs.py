"""Git LFS as `get`, `open` and `doctor` use it: where the LFS server and the local object store
are, one `git lfs fetch` for all the objects of an artifact, which of them a server has, and why
git-lfs could not fetch one, said plainly.

git-lfs does the talking to servers (its transports, credentials and `.lfsconfig`); tagreg reads
what it fetched straight from the store, checked against each pointer's sha256 and size. A
`file://` remote (or a local path) has no server: git-lfs reads its store directly, and so can
`missing_on_server`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .git import Git

# An artifact path git-lfs's --include takes literally: no wildcard, bracket, backslash, comma
# (its list separator), `!` or `#` (gitignore syntax). Others get one smudge per file.
_LITERAL = re.compile(r"[A-Za-z0-9._/@+=~-]+( [A-Za-z0-9._/@+=~-]+)*")
_OID = re.compile(r"[0-9a-f]{64}")

# What git-lfs says when the server answers that it has no such object, and when there is no
# server to answer: a refused or reset connection, a host that does not resolve, TLS spoken to a
# git daemon, no endpoint at all.
_MISSING = ("remote missing object", "object does not exist", "[404] object")
_NO_SERVER = ("connection refused", "connection reset", "no such host", "dial tcp", "read tcp", "tls:",
              "x509:", "eof", "i/o timeout", "missing protocol", "unsupported protocol", "not found: 404",
              "[404]", "server gave http response to https client")


@dataclass
class LfsEnv:
    """What `git lfs env` says of a repository: its LFS server and its local object store."""

    endpoint: str  # the server's URL (credentials removed); "" when there is none
    media: str  # the folder of the local object store


def environment(git: Git, remote: str | None = None) -> LfsEnv | None:
    """`git lfs env` of git's repository (for remote, else git-lfs's default); None if it fails."""
    args = ["lfs", "env"] if remote is None else ["-c", f"remote.lfsdefault={remote}", "lfs", "env"]
    proc = git.run(*args, check=False, env={"GIT_TERMINAL_PROMPT": "0"})
    if proc.returncode != 0:
        return None
    endpoint = media = ""
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("Endpoint=") and not endpoint:
            endpoint = line[len("Endpoint="):].rpartition(" (auth=")[0] or line[len("Endpoint="):]
        elif line.startswith("LocalMediaDir="):
            media = line[len("LocalMediaDir="):]
    from .remote import redact

    return LfsEnv(redact(endpoint.strip()), media.strip())


def skip_smudge() -> bool:
    """Whether GIT_LFS_SKIP_SMUDGE asks git-lfs for pointers instead of content (as git-lfs reads it)."""
    return os.environ.get("GIT_LFS_SKIP_SMUDGE", "").strip().lower() in ("1", "true", "yes", "on")


def stored(media: str, oid: str) -> str | None:
    """The file of object oid (a sha256 in hex) in the object store at media, if it is there."""
    if not media or not _OID.fullmatch(oid):
        return None
    path = os.path.join(media, oid[:2], oid[2:4], oid)
    return path if os.path.isfile(path) else None


def fetch_remote(git: Git) -> str | None:
    """The remote `git lfs fetch` should name: `remote.lfsdefault`, else origin; None if there is none."""
    name = git.run("config", "--get", "remote.lfsdefault", check=False).stdout.decode("utf-8", "replace").strip()
    for candidate in (name, "origin"):
        if candidate and git.remote_url(candidate) is not None:
            return candidate
    return None


def batchable(path: str) -> bool:
    """Whether `fetch` can name path (an artifact's, normalised) as the one pattern to fetch."""
    return path != "." and _LITERAL.fullmatch(path) is not None


def fetch(git: Git, remote: str, commit: str, path: str) -> tuple[bool, str]:
    """Fetch the LFS objects under path (a `batchable` file or folder) at commit into the local
    store, in one `git lfs fetch` (one batch request for all of them); (done, git-lfs's stderr)."""
    # anchored (`/path`): `model.bin` alone would match every model.bin below; --exclude= drops an
    # lfs.fetchexclude of the repository's .lfsconfig
    proc = git.run("lfs", "fetch", remote, commit, f"--include=/{path}", "--exclude=", check=False,
                   env={"GIT_TERMINAL_PROMPT": "0"})
    return proc.returncode == 0, proc.stderr.decode("utf-8", "replace")


def cause(stderr: str, endpoint: str) -> str | None:
    """Why git-lfs could not fetch, from its stderr, in words a user can act on: the server does not
    have the object, or there is no LFS server to ask (and what to configure); None when it said
    something else (then its own reason is the message)."""
    said = stderr.lower()
    where = f" at {endpoint}" if endpoint else ""
    if any(word in said for word in _MISSING):
        return (f"the LFS server{where} does not have it (it was never uploaded: push it with `git lfs push "
                "--all origin` from a clone that has it)")
    if any(word in said for word in _NO_SERVER):
        if not endpoint:
            return ("the repository names no LFS server (no remote git-lfs can derive one from, and no lfs.url): "
                    "set lfs.url in the registry's .lfsconfig to its LFS server")
        detail = _last_words(stderr)
        return (f"no LFS server answers at {endpoint}{f' ({detail})' if detail else ''}; a git:// or ssh remote "
                "may have none: set lfs.url in the registry's .lfsconfig (or `git config lfs.url URL`) to its "
                "LFS server")
    return None


def _last_words(stderr: str) -> str:
    """The end of git-lfs's line about the failed connection (`connection refused`), without the URL
    and object it repeats."""
    for line in stderr.splitlines():
        if any(word in line.lower() for word in _NO_SERVER):
            return line.rpartition(": ")[2].strip()[:80]
    return ""


def missing_oid(stderr: str) -> str | None:
    """The object git-lfs says the server does not have, if it names one."""
    for line in stderr.splitlines():
        if any(word in line.lower() for word in _MISSING):
            found = _OID.search(line)
            if found:
                return found.group(0)
    return None


@dataclass
class ServerCheck:
    """Which of some LFS objects the server of a repository lacks (`missing_on_server`)."""

    endpoint: str
    checked: bool = False  # False: the server could not be asked (see note)
    missing: list[str] = None  # type: ignore[assignment]  # oids
    note: str = ""

    def __post_init__(self) -> None:
        if self.missing is None:
            self.missing = []


def missing_on_server(git: Git, objects: dict[str, int], remote: str | None = None) -> ServerCheck:
    """Of objects (sha256 -> size), those the LFS server of git's repository (for remote) does not
    have. A `file://` endpoint (a remote that is a folder) is read directly: its store has the file
    or not. Any other server is not asked (git-lfs has no way to ask without downloading): the
    answer then says so in `note`."""
    env = environment(git, remote)
    if env is None:
        return ServerCheck("", note="git-lfs could not tell where the LFS server is")
    out = ServerCheck(env.endpoint)
    if not env.endpoint:
        out.note = "the repository names no LFS server"
        return out
    store = _file_store(env.endpoint)
    if store is None:
        out.note = f"the LFS server at {env.endpoint} is not a folder tagreg can look into"
        return out
    out.checked = True
    for oid, size in sorted(objects.items()):
        found = stored(store, oid)
        if found is None or os.path.getsize(found) != size:
            out.missing.append(oid)
    return out


def _file_store(endpoint: str) -> str | None:
    """The object store of a `file://` LFS endpoint (git-lfs's standalone transfer reads the
    remote repository's own store: `lfs/objects` of a bare one, `.git/lfs/objects` otherwise)."""
    if not endpoint.startswith("file://"):
        return None
    root = unquote(urlsplit(endpoint).path)
    for store in (os.path.join(root, ".git", "lfs", "objects"), os.path.join(root, "lfs", "objects")):
        if os.path.isdir(store):
            return store
    return os.path.join(root, "lfs", "objects")  # none yet: every object is missing
