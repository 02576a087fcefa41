"""Remote registries: a cached bare mirror per URL, brought up to date with one fetch per call.

The mirror is a partial clone (`--filter=blob:none`: commits and trees, blobs on demand) under
the cache folder, so a second `tagreg show --repo URL` fetches only what changed. A lock file per
mirror keeps two processes from fetching or writing into it at once. Everything above this layer
gets a local git directory and does not care whether the registry is local or remote.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import cache
from .errors import UserError
from .file_lock import file_lock
from .git import (
    HOST_CHARS,
    LIST_REFS,
    LISTING_FORMAT,
    URL_SCHEMES,
    Git,
    GitError,
    Process,
    clip,
    credential_env,
    is_url,
    reason,
    url_userinfo,
)


class RemoteError(UserError):
    """A remote that cannot be reached, cloned, fetched or pushed to."""


def redact(text: str, url: str | None = None) -> str:
    """text with any credentials in URLs replaced by `***`; also where git repeats url's
    `user:password@` without the scheme (e.g. "unable to look up user:pw@host")."""
    if "@" not in text and (url is None or "@" not in url):
        return text  # no credentials to hide (and no `re` or `urllib` to import for it)

    if url and "://" in url:
        userinfo = url_userinfo(url)[0]
        if userinfo:
            text = text.replace(userinfo + "@", "***@").replace(userinfo, "***")
    return re.sub(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@", r"\1***@", text)


_PLAIN_URL = HOST_CHARS | frozenset("~:/+")


def strip_credentials(url: str) -> str:
    """url without user name and password (credentials belong in a credential helper)."""
    if "://" not in url:
        return url
    userinfo, without = url_userinfo(url)
    if "#" in userinfo or "?" in userinfo:  # urllib would take the rest for a fragment or query
        url = without
    scheme, _, rest = url.partition("://")
    if (url.startswith(URL_SCHEMES) and _PLAIN_URL.issuperset(url) and rest.strip("/")
            and (rest[0] != "/" or scheme == "file")):
        return url  # no `@`: no credentials, and nothing urlsplit would rewrite

    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if netloc or not parts.path.startswith("//"):
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    # The empty host stays, as urlunsplit keeps it from Python 3.11.10 and 3.12.4 on (gh-67693):
    # before, `file:////srv/r` (git: the folder //srv/r) became `file://srv/r` (git: /r on host
    # srv), so two repositories shared a mirror, and the folder depended on the Python version.
    scheme = f"{parts.scheme}:" if parts.scheme else ""
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{scheme}//{parts.path}{query}{fragment}"


def mirror_dir(url: str) -> Path:
    """The cache folder of url's mirror: readable, and never containing credentials."""

    return Path(_mirror_where(url))


def _mirror_where(url: str) -> str:
    """`mirror_dir` as a str: `<readable part of the URL>-<12 hex digits of its SHA-256>`."""
    clean = strip_credentials(url)
    digest = hashlib.sha256(clean.encode()).hexdigest()[:12]
    return cache.folder("repos", f"{readable_name(clean) or 'repo'}-{digest}")


_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyz+")


def readable_name(url: str) -> str:
    """url without its scheme, each run of other characters than [A-Za-z0-9._-] made one `_`,
    `_` and `.` stripped at both ends, the last 60 characters (a folder name a person can read)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme and _SCHEME.issuperset(scheme):
        url = rest
    out: list[str] = []
    for char in url:
        if char in HOST_CHARS:
            out.append(char)
        elif not out or out[-1] != "\0":
            out.append("\0")  # a run of others: one `_` (a real `_` stays apart from it)
    return "".join(out).replace("\0", "_").strip("_.")[-60:]


def _interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("TAGREG_QUIET") != "1"


class Mirror:
    """The cached bare mirror of one remote repository."""

    def __init__(self, url: str, offline: bool = False, progress: bool | None = None,
                 branch: str | None = None, config: tuple = (), env: dict[str, str] | None = None):
        """config, env: for every git command on this remote (see `Git`; links.py restricts transports)."""
        self.url = url
        self.display = redact(url)
        self.where = _mirror_where(url)  # a str; `path` is the same as a Path
        # git gets the URL without its password, and the credentials per process (never stored)
        self.git_url, credentials = credential_env(url)
        self._config, self.env = config, {**(env or {}), **credentials}
        self.git = Git(self.where, config=config, env=self.env)
        self.offline = offline
        self.branch = branch  # fetch only this branch (and tags)
        self.progress = _interactive() if progress is None else progress
        self._lock_depth = 0
        self._check: tuple | None = None  # (branch, local listing, ls-remote) started by start_check
        self._local: bytes | None = None  # that local listing, once read

    @property
    def path(self) -> Path:
        """The mirror's folder."""

        return Path(self.where)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this mirror's lock file (re-entrant within a process)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with file_lock(self.where, self.display):
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    def exists(self) -> bool:
        """Whether the mirror has been cloned."""
        return os.path.exists(os.path.join(self.where, "HEAD"))

    def _run(self, *args: str) -> None:
        """Run a network git command in the mirror (or beside it, to clone)."""
        where = Git(self.where if self.exists() else os.path.dirname(self.where), config=self._config, env=self.env)
        try:
            where.run_network(*args, progress=self.progress)
        except GitError as exc:
            detail = explain(str(exc), _has_password(self.git))
            raise RemoteError(redact(f"cannot {args[0]} {self.display}: {detail}", self.url)) from exc

    def clone(self) -> None:
        """Make the mirror: a bare partial clone keeping branches and tags as the remote has them."""
        tmp = f"{self.where}.tmp{os.getpid()}"
        os.makedirs(os.path.dirname(self.where), exist_ok=True)

        shutil.rmtree(tmp, ignore_errors=True)
        target, self.where = self.where, tmp
        try:
            self._run("clone", "--bare", "--filter=blob:none", "--", self.git_url, tmp)
            tmp_git = Git(tmp)
            tmp_git.run("config", "--replace-all", "remote.origin.fetch", "+refs/heads/*:refs/heads/*")
            tmp_git.run("config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*")
            tmp_git.run("config", "tagreg.url", strip_credentials(self.url))
            os.replace(tmp, target)  # atomic: a half-made mirror is never seen
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            self.where = target

    def _use_url(self) -> None:
        """Make the mirror's origin this call's URL without credentials: a mirror an older tagreg
        made keeps a password in its config, and another call's ssh user name is not this one's."""
        try:
            with open(os.path.join(self.where, "config"), "rb") as handle:
                text = handle.read(1 << 20)
        except OSError:
            return
        start = text.find(b'[remote "origin"]')
        end = text.find(b"\n[", start + 1)
        section = text[start:] if end < 0 else text[start:end + 1]
        if start >= 0 and f"\n\turl = {self.git_url}\n".encode() in section + b"\n":
            return
        Git(self.where).run("config", "--replace-all", "remote.origin.url", self.git_url)
        Git(self.where).run("config", "tagreg.url", strip_credentials(self.url))

    def _stamp_fetched(self) -> None:
        """Note when the mirror was last brought up to date (`tagreg cache list` shows it)."""
        with open(os.path.join(self.where, "tagreg-fetched"), "w") as handle:
            handle.write(str(int(time.time())))

    def fetch(self, branch: str | None = None) -> None:
        """Bring branches (or one branch) and tags up to date (deleted tags go too: it is a mirror).

        A listing of the remote's refs comes first: when they equal the mirror's, as on most calls,
        the fetch (which costs several times more on a registry of thousands of tags) is skipped.
        """
        self.start_check(branch)
        if self.settle():
            return
        self._fetch(branch)

    def _fetch(self, branch: str | None) -> None:
        specs = [f"+refs/heads/{branch}:refs/heads/{branch}", "+refs/tags/*:refs/tags/*"] if branch else []
        self._run("fetch", "--prune", "--prune-tags", "--no-write-fetch-head", "origin", *specs)
        self._stamp_fetched()

    def start_check(self, branch: str | None = None, asked: Process | None = None) -> None:
        """Start asking the remote for its refs (unless `asked`, a `git.ask_remote` of this URL,
        already does), and listing the mirror's, in the background; `settle` compares them.
        Reads of the mirror can go on meanwhile."""
        heads = f"refs/heads/{branch}" if branch else "refs/heads/"
        local = self.git.start(["for-each-ref", f"--format={LISTING_FORMAT}", heads, "refs/tags/"])
        self._local = None
        listing = asked or self.git.start([*LIST_REFS, "--", "origin"], env={"GIT_TERMINAL_PROMPT": "0"})
        self._check = (branch, local, listing)

    @property
    def checking(self) -> bool:
        """Whether a check of the remote's refs is under way (see `start_check`)."""
        return self._check is not None

    def checked_refs(self) -> bytes | None:
        """While a check runs: the mirror's own refs as it listed them (`OID<TAB>REF` lines of its
        branches and tags; a reader can key on them instead of listing the tags again)."""
        if self._check is None:
            return None
        if self._local is None:
            self._local = self.git.finish(self._check[1])
        return self._local

    def settle(self) -> bool:
        """After `start_check`: True if the remote's branches (or branch) and tags are exactly the
        mirror's; else False (then `fetch` or `catch_up` brings them)."""
        check, self._check = self._check, None
        if check is None:
            return True
        branch, local, listing = check
        mine = self._local if self._local is not None else self.git.finish(local)
        self._local = None
        theirs, _ = listing.communicate()
        if listing.returncode != 0:
            return False  # let the fetch report the failure
        if theirs == mine:  # both list refs in git's order: the usual answer, without parsing
            return True
        heads = f"refs/heads/{branch}" if branch else "refs/heads/"
        wanted = (lambda ref: ref == heads) if branch else (lambda ref: ref.startswith("refs/heads/"))
        theirs_set = set()
        for line in theirs.decode("utf-8", "replace").splitlines():
            ref = line.partition("\t")[2]
            if ref.startswith("refs/tags/") or wanted(ref):
                theirs_set.add(line)
        return theirs_set == set(mine.decode("utf-8", "replace").splitlines())

    def ensure(self, check_later: bool = False, asked: Process | None = None) -> Git:
        """The mirror, cloned if missing and fetched unless offline.

        With check_later, an existing mirror is not fetched: the check of the remote's refs runs in
        the background while the caller reads the mirror, and the caller calls `catch_up` after
        reading (and reads again if it fetched)."""
        with self.lock():
            if not self.exists():
                if self.offline:
                    raise RemoteError(f"{self.display} is not in the cache yet; run once without --offline")
                self.clone()
                self._stamp_fetched()
            else:
                self._use_url()
                if check_later and not self.offline:
                    self.start_check(self.branch, asked)
                    asked = None
                elif not self.offline:
                    self.fetch(self.branch)
        if asked is not None:  # not needed after all (a clone, or a fetch that asked itself)
            asked.communicate()
        return self.git

    def catch_up(self) -> bool:
        """After `ensure(check_later=True)`: True if the mirror had the remote's refs; else fetch
        them now and return False (what was read from the mirror is out of date)."""
        if self._check is None or self.settle():
            return True
        with self.lock():
            self._fetch(self.branch)
        return False

    def push(self, refspecs: list[str]) -> dict[str, str]:
        """Push refspecs (never forced); returns ref -> git's porcelain flag for each.

        Flags: ' ' pushed, '=' already there (identical), '!' rejected, '-' deleted, '*' new.
        A transport failure (network, permissions, hook) raises RemoteError.
        """
        return push_porcelain(self.git, "origin", refspecs, self.display)


def push_porcelain(git: Git, remote: str, refspecs: list[str], display: str | None = None) -> dict[str, str]:
    """`git push --porcelain`; returns ref -> flag; raises RemoteError when nothing could be pushed
    or a push was refused for another reason than a race (a hook, permissions)."""
    proc = git.run("push", "--porcelain", "--", remote, *refspecs, check=False,
                   env={"GIT_TERMINAL_PROMPT": "0"})
    url = git.run("remote", "get-url", "--", remote, check=False).stdout.decode().strip() or None
    said = [line[len("remote:"):].strip() for line in proc.stderr.decode("utf-8", "replace").splitlines()
            if line.startswith("remote:") and line[len("remote:"):].strip()]
    flags: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and len(parts[0]) == 1:
            ref = parts[1].rpartition(":")[2] or parts[1].partition(":")[0]
            flags[ref] = parts[0]
            reasons[ref] = parts[2] if len(parts) > 2 else ""
    if proc.returncode != 0 and not any(f == "!" for f in flags.values()):
        detail = reason(proc.stderr or b"") or "git push failed"
        password = _has_password(git) or ":" in url_userinfo(url or "")[0]
        detail = explain(detail, password)
        raise RemoteError(redact(f"push to {display or remote} failed: {detail}", url))
    for ref, flag in flags.items():
        if flag == "!" and not any(word in reasons[ref] for word in _RACE_REASONS):
            why = f" (the remote said: {clip(said[0])})" if said else ""
            raise RemoteError(redact(f"{display or remote} refused {ref}: {reasons[ref]}{why}", url))
    return flags


def explain(detail: str, password: bool) -> str:
    """git's last word on a failed network call, said plainly when it is about credentials."""
    if not any(word in detail for word in ("could not read Username", "could not read Password",
                                           "Authentication failed")):
        return detail
    if password:
        return "the server refused the user name and password in the URL (authentication failed)"
    return ("the server asks for credentials (authentication failed): put USER:PASSWORD@ before the host "
            "in the URL, or use a git credential helper")


def _has_password(git: Git) -> bool:
    """Whether git runs with a password tagreg took from a URL (see `git.credential_env`)."""
    return git.env is not None and "GIT_ASKPASS" in git.env


# Rejections that mean "someone else was faster", as opposed to hooks or permissions: worth a retry.
_RACE_REASONS = ("already exists", "fetch first", "non-fast-forward", "stale info", "failed to update ref",
                 "cannot lock ref", "failed to lock")


def list_mirrors() -> list[dict]:
    """Every cached mirror: url (without credentials), folder, size in bytes, last fetch time."""
    base = cache.root() / "repos"
    out: list[dict] = []
    if not base.is_dir():
        return out
    for path in sorted(base.iterdir()):
        if not path.is_dir() or not (path / "HEAD").exists():
            continue
        url = Git(path).run("config", "tagreg.url", check=False).stdout.decode().strip()
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        stamp = path / "tagreg-fetched"
        fetched = int(stamp.read_text() or 0) if stamp.exists() else None
        out.append({"url": url, "path": str(path), "size": size, "fetched": fetched})
    return out


def clear_mirrors(url: str | None = None) -> list[str]:
    """Delete cached mirrors (all, or url's); returns the folders removed."""

    base = cache.root() / "repos"
    targets = [mirror_dir(url)] if url else ([p for p in base.iterdir() if p.is_dir()] if base.is_dir() else [])
    removed = []
    for path in targets:
        if path.exists():
            with file_lock(path, str(path)):
                shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


__all__ = [
    "GitError",
    "Mirror",
    "RemoteError",
    "clear_mirrors",
    "is_url",
    "list_mirrors",
    "mirror_dir",
    "push_porcelain",
    "redact",
]
