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
from dataclasses import dataclass, field
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


def parse_pointer(data: bytes) -> tuple[str, int] | None:
    """(sha256, size) of a valid Git LFS pointer (a blob under 1 KiB), else None."""
    if not data.startswith(b"version https://git-lfs.github.com/spec/") or len(data) >= 1024:
        return None
    fields = dict(line.partition(" ")[::2] for line in data.decode("utf-8", "replace").splitlines())
    oid, size = fields.get("oid", "").removeprefix("sha256:"), fields.get("size", "")
    valid = fields.get("oid", "").startswith("sha256:") and _OID.fullmatch(oid) and size.isascii() and size.isdigit()
    if not valid:
        return None
    return oid, int(size)


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
    """Which of some LFS objects the LFS server of a repository lacks (`missing_on_server`)."""

    endpoint: str
    checked: bool = False  # False: the server could not be asked (see note)
    missing: list[str] = field(default_factory=list)  # their sha256s
    note: str = ""  # why it was not asked
    unreachable: bool = False  # no LFS server answered (as `get` would find): a problem, not just unchecked


BATCH = 100  # objects per batch request (what LFS servers take at most)
BATCH_ANSWER_MOST = 4 << 20  # bytes of one batch answer read: ~1 KiB per object is plenty
TIMEOUT = 30  # seconds to wait on an LFS server


def missing_on_server(git: Git, objects: dict[str, int]) -> ServerCheck:
    """Of objects (sha256 -> size), those the LFS server of git's repository does not have, asked
    without downloading them: a `file://` endpoint (a remote that is a folder) is looked into, an
    http(s) server is asked with the LFS batch API (with the credentials git's credential helpers
    give for it, if it wants some). Other servers (ssh) are not asked; `note` then says why."""
    env = environment(git)
    if env is None:
        return ServerCheck("", note="git-lfs could not tell where the LFS server is")
    out = ServerCheck(env.endpoint)
    if not env.endpoint:
        out.note, out.unreachable = "the repository names no LFS server (set lfs.url in its .lfsconfig)", True
        return out
    store = _file_store(env.endpoint)
    if store is not None:
        out.checked = True
        out.missing = [oid for oid, size in sorted(objects.items())
                       if (found := stored(store, oid)) is None or os.path.getsize(found) != size]
        return out
    if not env.endpoint.startswith(("https://", "http://")):
        out.note = f"tagreg cannot ask the LFS server at {env.endpoint} (only file://, http and https)"
        return out
    wanted = sorted(objects.items())
    for start in range(0, len(wanted), BATCH):
        answer = _ask(git, env.endpoint, dict(wanted[start:start + BATCH]))
        if isinstance(answer, str):
            out.note = answer
            out.unreachable = answer.startswith("no LFS server answers")
            out.missing = []
            return out
        out.missing += answer
    out.checked = True
    return out


def _file_store(endpoint: str) -> str | None:
    """The object store of a `file://` LFS endpoint (git-lfs's standalone transfer reads the
    remote repository's own store: `.git/lfs/objects` of a work tree, `lfs/objects` of a bare one)."""
    if not endpoint.startswith("file://"):
        return None
    root = unquote(urlsplit(endpoint).path)
    work_tree = os.path.join(root, ".git", "lfs", "objects")
    return work_tree if os.path.isdir(work_tree) else os.path.join(root, "lfs", "objects")


def _ask(git: Git, endpoint: str, objects: dict[str, int]) -> list[str] | str:
    """The LFS batch API's answer for a download of objects: the sha256s the server says it does
    not have, or (a str) why it could not be asked."""
    import json
    import urllib.error
    import urllib.request

    class Refuse(urllib.request.HTTPRedirectHandler):  # a redirect is not followed with credentials
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(Refuse)
    body = json.dumps({"operation": "download", "transfers": ["basic"],
                       "objects": [{"oid": oid, "size": size} for oid, size in objects.items()]}).encode()
    headers = {"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}
    url = endpoint.rstrip("/") + "/objects/batch"
    tried_credentials = False
    while True:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with opener.open(request, timeout=TIMEOUT) as response:
                data = response.read(BATCH_ANSWER_MOST + 1)
            break
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403) and not tried_credentials:
                tried_credentials = True
                authorization = _credentials(git, url)
                if authorization is not None:
                    headers["Authorization"] = authorization
                    continue
            if exc.code in (401, 403):
                return f"the LFS server at {endpoint} wants credentials git's credential helpers do not give"
            return f"the LFS server at {endpoint} answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            detail = getattr(exc, "reason", exc)
            return f"no LFS server answers at {endpoint} ({detail})"
    try:
        answer = json.loads(data) if len(data) <= BATCH_ANSWER_MOST else None
    except ValueError:
        answer = None
    listed = answer.get("objects") if isinstance(answer, dict) else None
    if not isinstance(listed, list):
        return f"the LFS server at {endpoint} gave an answer that is not the LFS batch API's"
    missing = set(objects)
    for item in listed:
        if isinstance(item, dict) and item.get("oid") in objects and "error" not in item:
            missing.discard(item["oid"])
    return sorted(missing)


def _credentials(git: Git, url: str) -> str | None:
    """An HTTP Basic `Authorization` value from git's credential helpers for url, if they have one
    (never a prompt); used for one request, never stored."""
    import base64

    parts = urlsplit(url)
    asked = f"protocol={parts.scheme}\nhost={parts.netloc}\npath={parts.path.lstrip('/')}\n\n"
    proc = git.run("credential", "fill", input=asked.encode(), check=False,
                   env={"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""})
    if proc.returncode != 0:
        return None
    given = dict(line.partition("=")[::2] for line in proc.stdout.decode("utf-8", "replace").splitlines())
    if not given.get("username") and not given.get("password"):
        return None
    pair = f"{given.get('username', '')}:{given.get('password', '')}".encode()
    return "Basic " + base64.b64encode(pair).decode()
