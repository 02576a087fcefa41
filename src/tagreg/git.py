"""The one place that runs git: tags, objects, refs, commits and pushes.

Every call is an argument list (never a shell string), with `--` or `--end-of-options` before
anything a user typed. Reading is batched: all tags in one `git for-each-ref`, all files and
commits in one `git cat-file --batch`.
"""

from __future__ import annotations

import binascii
import contextlib
import io
import os
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from .errors import UserError
from .state import CommitInfo, TagInfo

if TYPE_CHECKING:
    from pathlib import Path


class GitError(UserError):
    """A git command failed in a way the user can act on. When git itself failed: command is what
    ran, stderr all it said (the message is the line of it worth showing, see `reason`)."""

    def __init__(self, message: str, command: Sequence[str] = (), stderr: bytes = b""):
        super().__init__(message)
        self.command = list(command)
        self.stderr = stderr


def failure(command: Sequence[str], stderr: bytes | None) -> GitError:
    """The GitError of a git command that failed: git's reason, else `git SUBCOMMAND failed`."""
    return GitError(reason(stderr or b"") or f"git {subcommand(command)} failed", command, stderr or b"")


def subcommand(command: Sequence[str]) -> str:
    """The git subcommand `git -C FOLDER [-c SETTING]... SUBCOMMAND ...` runs."""
    at = 3
    while command[at] == "-c":
        at += 2
    return command[at]


URL_SCHEMES = ("http://", "https://", "ssh://", "git://", "file://", "git+ssh://", "ssh+git://")
HOST_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")  # [A-Za-z0-9._-]


def is_url(location: str) -> bool:
    """Whether location names a remote repository rather than a local folder: a URL, or scp's
    `[user@]host:path` (not `host://`)."""
    if os.path.exists(location):
        return False
    if location.startswith(URL_SCHEMES):
        return True
    head, colon, rest = location.partition(":")
    if not colon or rest.startswith("//"):
        return False
    user, at, host = head.rpartition("@")
    return bool(host) and HOST_CHARS.issuperset(host) and (not at or (bool(user) and HOST_CHARS.issuperset(user)))


def ask_remote(url: str) -> Process:
    """Start `git ls-remote --refs URL` in the background: a remote's refs, asked for as early as
    possible (before the modules that read the answer are even imported)."""
    plain, secrets = credential_env(url)
    return Process(["git", *LIST_REFS, "--", plain], env=_environment({"GIT_TERMINAL_PROMPT": "0", **secrets}),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# -- credentials in URLs -------------------------------------------------------------------------
# A URL's user name and password are never given to git in the URL: git would keep them in the
# mirror's config (where every later call, with or without them, would use them) and feed them to
# the user's credential helpers, and a command line shows in `ps`. Each git process gets them in
# its environment instead, which only the user (and root) can read, and which dies with it.

def url_userinfo(url: str) -> tuple[str, str]:
    """(url's `user:password` as written: what lies between `://` and the last `@` before the
    first `/`, so a `#`, `?` or `@` in a password stays in it; url without it and its `@`), or
    ("", url) when it has none."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", url
    info, at, _ = rest.partition("/")[0].rpartition("@")
    if not at:
        return "", url
    return info, f"{scheme}://{rest[len(info) + 1:]}"


_SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")


def credential_env(url: str) -> tuple[str, dict[str, str]]:
    """(the URL to give git for url, without its password; the environment variables that hand
    git url's credentials for one process). Nothing is stored and nothing is on a command line.

    http(s) with a password: an `Authorization: Basic` header for that URL only (config through
    GIT_CONFIG_COUNT/KEY/VALUE); the user's credential helpers and askpass are off, so none is fed
    the password, and a wrong one fails instead of falling back on theirs; redirects are not
    followed, so the header goes to no other host. http(s) with a user name only: the user's own
    helpers are asked for that user. ssh keeps its user name (it logs in with it) and drops a
    password (ssh asks for its own); other schemes drop both.
    """
    info, plain = url_userinfo(url)
    if not info:
        return url, {}
    scheme = url.partition("://")[0].lower()
    user, colon, password = info.partition(":")
    if scheme in _SSH_SCHEMES:
        return f"{url.partition('://')[0]}://{user}@{plain.partition('://')[2]}" if user else plain, {}
    if scheme not in ("http", "https"):
        return plain, {}
    user, password = _unquote(user), _unquote(password)
    if not colon:
        return plain, _config_env([("credential.username", user)]) if user else {}

    token = binascii.b2a_base64(f"{user}:{password}".encode(), newline=False).decode("ascii")
    settings = [(f"http.{plain}.extraHeader", f"Authorization: Basic {token}"), ("credential.helper", ""),
                ("http.followRedirects", "false")]
    return plain, {**_config_env(settings), "GIT_ASKPASS": "", "GIT_TERMINAL_PROMPT": "0"}


def _unquote(text: str) -> str:
    """text with its %XX escapes decoded (as UTF-8), as git decodes a URL's user and password."""
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return unquote(text)


def _config_env(settings: list[tuple[str, str]]) -> dict[str, str]:
    """GIT_CONFIG_COUNT/KEY_n/VALUE_n giving git settings, after any the environment gives already."""
    return with_config({"GIT_CONFIG_COUNT": os.environ.get("GIT_CONFIG_COUNT") or "0"}, settings)


# What git sets in a hook's environment (and a user may have exported) to point git at one
# repository's folders (`git rev-parse --local-env-vars` without the config ones): tagreg names its
# repository itself, so run from a hook of another repository it must not read or write that one.
_REPOSITORY_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE", "GIT_PREFIX", "GIT_INTERNAL_SUPER_PREFIX",
)


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment git runs in: messages in English (they are parsed), whatever the user's
    locale, and nothing pointing it at another repository's folders; then extra."""
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    for name in _REPOSITORY_VARIABLES:
        env.pop(name, None)
    if extra:
        env.update(extra)
    return env


def with_config(env: dict[str, str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """env with the config pairs added as `-c` would add them, through `GIT_CONFIG_COUNT` (after any
    pairs env has already): never in argv, never in a file, and they reach every git subprocess."""
    out = dict(env)
    try:
        count = max(0, int(out.get("GIT_CONFIG_COUNT", "0")))
    except ValueError:
        count = 0
    for key, value in pairs:
        out[f"GIT_CONFIG_KEY_{count}"] = key
        out[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out


# -- processes ---------------------------------------------------------------------------------
# subprocess's defaults are what git needs: SIGPIPE back to its default in the child (Python ignores
# it, and ignored signals survive exec), no descriptor of ours leaked into it, and a child whose
# Popen was dropped reaped on a later start.


class Process(subprocess.Popen[bytes]):
    """A started git command: a Popen that, dropped unfinished (a read started, then an error),
    closes its pipes, so git sees them closed and ends: a long-running server must not gather
    open pipes and stuck processes. subprocess reaps it then or on a later start."""

    args: list[str]

    def __del__(self) -> None:
        if self.returncode is None:
            for pipe in (self.stdin, self.stdout, self.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):  # a broken pipe's unwritten input: git has ended
                        pipe.close()
        super().__del__()


# Every ref of a remote: protocol v0 sends them all in its first answer, where v2 takes one more
# round trip (and, over git://, 30 ms more for 10k refs); the listing is the same.
LIST_REFS = ("-c", "protocol.version=0", "ls-remote", "--refs")


LISTING_FORMAT = "%(objectname)%09%(refname)"  # ls-remote's lines

# One record per tag; fields separated by NUL, which git messages cannot contain.
_TAG_FIELDS = [
    "%(refname)",
    "%(objecttype)",
    "%(objectname)",
    "%(*objecttype)",
    "%(*objectname)",
    "%(taggername)",
    "%(taggeremail)",
    "%(taggerdate:raw)",
    "%(contents)",
    "%(contents:signature)",
]
_TAG_FORMAT = "%00".join(_TAG_FIELDS) + "%00"
_LEAN_FORMAT = "%00".join([*_TAG_FIELDS[:5], "%(taggerdate:raw)"]) + "%00"


def tagger_env(name: str, email: str) -> dict[str, str]:
    """The environment that makes git tag as name <email> (whatever the user's identity is)."""
    for value in (name, email):
        if any(c in "<>\n\0" for c in value):
            raise GitError(f"refusing a tagger identity with '<', '>', a newline or NUL: {value[:60]!r}")
    return {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


@dataclass(frozen=True)
class SigningKey:
    """A key git signs tags with in place of the user's own (`gpg.format`, `user.signingKey`):
    for ssh a private key file, for openpgp the key's fingerprint in the GnuPG home gnupg_home."""

    format: str  # "ssh" or "openpgp"
    key: str
    gnupg_home: str | None = None

    def env(self) -> dict[str, str]:
        """The environment git signs with this key in."""
        env = _config_env([("gpg.format", self.format), ("user.signingKey", self.key)])
        if self.gnupg_home is not None:
            env["GNUPGHOME"] = self.gnupg_home
        return env


def ssh_public_key(private_key: str) -> str:
    """The public key of an SSH private key file (`ssh-keygen -y`); GitError if ssh-keygen cannot
    read it without a passphrase (a server cannot type one), or finds it readable by others."""
    proc = _run_program(["ssh-keygen", "-y", "-P", "", "-f", private_key], b"")
    if proc.returncode != 0:
        raise GitError(f"cannot sign with {private_key}: {reason(proc.stderr) or 'ssh-keygen cannot read it'}")
    return proc.stdout.decode("utf-8", "replace").strip()


def import_gpg_secret_key(home: str, armored: bytes) -> str:
    """Import the one secret key of armored into the GnuPG home home and check that it signs
    without a passphrase; its fingerprint. GitError if it cannot be used."""
    imported = _run_program(["gpg", "--batch", "--quiet", "--no-tty", "--homedir", home, "--import"], armored)
    if imported.returncode != 0:
        raise GitError(f"cannot read the signing key: {reason(imported.stderr) or 'gpg refused it'}")
    listed = _run_program(["gpg", "--batch", "--no-tty", "--homedir", home, "--with-colons", "--list-secret-keys"], b"")
    fingerprints, primary = [], False
    for line in listed.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] == "fpr" and primary and len(fields) > 9:
            fingerprints.append(fields[9])  # the `fpr` line right after a `sec` line is the key's own
        primary = fields[0] == "sec"
    if len(fingerprints) != 1:
        raise GitError(f"the signing key file must hold one secret key, not {len(fingerprints)}")
    signed = _run_program(["gpg", "--batch", "--no-tty", "--homedir", home, "--pinentry-mode", "loopback",
                           "--passphrase", "", "--local-user", fingerprints[0], "--detach-sign", "--output", "-"],
                          b"tagreg")
    if signed.returncode != 0:
        raise GitError(f"cannot sign with the key {fingerprints[0]} (a key with a passphrase cannot sign for a "
                       f"server): {reason(signed.stderr) or 'gpg refused'}")
    return fingerprints[0]


def stop_gpg_agent(home: str) -> None:
    """End the gpg-agent gpg started for the GnuPG home home (if any)."""
    with contextlib.suppress(GitError):
        _run_program(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], b"")


def _run_program(command: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run one of git's helper programs (ssh-keygen, gpg) with data on its stdin."""
    try:
        return subprocess.run(command, input=data, capture_output=True, env=_environment(), check=False, timeout=60)
    except FileNotFoundError as exc:
        raise GitError(f"{command[0]} is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"{command[0]} did not finish in 60 s") from exc


class Git:
    """A git repository (work tree or bare), driven through the git command line."""

    def __init__(self, path: str | os.PathLike = ".", *, config: Sequence[tuple[str, str]] = (),
                 env: dict[str, str] | None = None):
        """config and env: settings and variables for every git command on this repository, on top
        of the usual ones (e.g. the transports allowed for a repository a link named, see links.py)."""
        self.where = os.fspath(path)
        self.config = tuple(config)
        self.env = dict(env or {})  # also a remote's credentials (`credential_env`)

    @property
    def path(self) -> Path:
        """The repository's folder."""
        from pathlib import Path

        return Path(self.where)

    # -- running ---------------------------------------------------------------------------

    def run(
        self, *args: str, check: bool = True, input: bytes | None = None, env: dict[str, str] | None = None,
        show_progress: bool = False,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run `git ARGS` in the repository and return the finished process (bytes `stdout`,
        `stderr`, `returncode`).

        With show_progress, git's stderr goes to the terminal: in a partial clone, the objects git
        downloads on demand then show git's progress bar.
        """
        proc = self._popen(args, env, stdin=None if input is None else subprocess.PIPE,
                           stderr=None if show_progress else subprocess.PIPE)
        out, err = proc.communicate(input)
        if proc.returncode != 0:
            self._check_folder()
            if check:
                raise failure(proc.args, err)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def run_network(self, *args: str, progress: bool = False) -> None:
        """Run a git command that talks to a remote: git draws its progress on a terminal if
        progress, else stays quiet; a failure raises GitError with git's last line."""
        quiet = [] if progress else ["-q"]
        self.run(args[0], *quiet, *args[1:], env={"GIT_TERMINAL_PROMPT": "0"},  # never hang on a password prompt
                 show_progress=progress)

    def _popen(self, args: Sequence[str], env: dict[str, str] | None = None, stdin: int | None = None,
               stderr: int | None = subprocess.PIPE) -> Process:
        """Start `git ARGS` as if in the repository's folder (`git -C FOLDER`), stdout piped."""
        full = _environment(env)
        if self.config or self.env:
            full = with_config({**full, **self.env}, self.config)
        for arg in args:
            if "\0" in arg:  # no program can take it: the OS would refuse the whole command line
                raise GitError(f"refusing '{arg.partition(chr(0))[0]}\\0…': a name, ref or path with a NUL character")
        try:
            return Process(["git", "-C", self.where, *args], env=full, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=stderr, bufsize=1 << 16)
        except FileNotFoundError as exc:
            raise GitError("git is not installed or not on PATH") from exc

    def _check_folder(self) -> None:
        """After git failed: GitError if the repository's folder itself is missing."""
        if not os.path.isdir(self.where):
            raise GitError(f"{self.where} does not exist")

    def out(self, *args: str) -> str:
        """Run git and return its stdout as text, without the trailing newline."""
        return self.run(*args).stdout.decode("utf-8", "replace").rstrip("\n")

    # -- the repository --------------------------------------------------------------------

    def locate(self) -> tuple[str | bool | None, str | None]:
        """(the work tree's root, or True for a bare repository, or None outside a repository;
        HEAD's commit where one call can tell it, else None), in one git process."""
        if not os.path.isdir(self.where):
            return None, None
        proc = self.run("rev-parse", "--is-bare-repository", "--show-toplevel", "HEAD^{commit}", check=False)
        lines = proc.stdout.decode("utf-8", "replace").splitlines()
        if lines[:1] == ["true"]:
            return True, None
        if len(lines) < 2 or lines[0] != "false":
            return None, None
        head = lines[2] if len(lines) > 2 and len(lines[2]) >= 40 and proc.returncode == 0 else None
        return lines[1], head

    def resolve(self, ref: str) -> str | None:
        """The commit sha ref names, or None if it names no commit."""
        proc = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip() or None

    def ref_name(self, rev: str) -> str:
        """The full name of the ref git reads for rev (`refs/heads/main`, `refs/tags/v1.0`, `HEAD`
        when detached), or "" when rev names no ref (a commit id, `v1.0~1`, nothing at all)."""
        proc = self.run("rev-parse", "--symbolic-full-name", "--verify", "--quiet", "--end-of-options", rev,
                        check=False)
        return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""

    def head(self) -> str | None:
        """The commit HEAD points at, or None in a repository without commits."""
        return self.resolve("HEAD")

    def common_dir(self) -> str | None:
        """The repository's git folder shared by all its work trees, or None outside a repository."""
        proc = self.run("rev-parse", "--git-common-dir", check=False)
        found = (proc.stdout or b"").decode("utf-8", "replace").strip()
        if proc.returncode != 0 or not found:
            return None
        return os.path.join(self.where, found)  # relative to the folder, if it is not absolute

    def tag_ref_counts(self) -> tuple[int, int]:
        """(loose, packed): tags stored as a file each under refs/tags, and as lines of packed-refs."""
        common = self.common_dir()
        if common is None:
            return 0, 0
        loose = sum(len(files) for _, _, files in os.walk(os.path.join(common, "refs", "tags")))
        packed = 0
        try:
            with open(os.path.join(common, "packed-refs"), "rb") as handle:
                packed = sum(1 for line in handle if line.partition(b" ")[2].startswith(b"refs/tags/"))
        except OSError:  # none yet (or another ref storage)
            pass
        return loose, packed

    def current_branch(self) -> str | None:
        """The checked-out branch, or None when HEAD is detached."""
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def symbolic_target(self, ref: str) -> str | None:
        """The ref a symbolic ref points at (`refs/remotes/origin/HEAD` -> `refs/remotes/origin/main`)."""
        proc = self.run("symbolic-ref", "--quiet", "--end-of-options", ref, check=False)
        return proc.stdout.decode("utf-8", "replace").strip() or None if proc.returncode == 0 else None

    def config_value(self, key: str) -> str | None:
        """A git config value (the repository's, the user's, the system's), or None if unset."""
        proc = self.run("config", "--get", "--end-of-options", key, check=False)
        return proc.stdout.decode("utf-8", "replace").rstrip("\n") if proc.returncode == 0 else None

    def refs_containing(self, commit: str, prefixes: Sequence[str]) -> list[str]:
        """The refs under prefixes (`refs/remotes/origin/`) whose history holds commit."""
        proc = self.run("for-each-ref", "--format=%(refname)", f"--contains={commit}", "--", *prefixes,
                        check=False)
        if proc.returncode != 0:  # an object this clone lacks contains nothing here
            return []
        return proc.stdout.decode("utf-8", "replace").splitlines()

    def verify_tag(self, name: str, allowed_signers: str | None, gnupg_home: str | None) -> tuple[int, str]:
        """`git verify-tag --raw` of the tag name: (exit code, what git and its gpg/ssh-keygen said).
        allowed_signers: a file in git's gpg.ssh.allowedSignersFile format; gnupg_home: a GnuPG home
        holding the keys allowed (never the user's own keyring, which trusts whatever they imported)."""
        env = {**_config_env([("gpg.ssh.allowedSignersFile", allowed_signers or os.devnull)]),
               "GNUPGHOME": gnupg_home or os.devnull}
        proc = self.run("verify-tag", "--raw", "--", name, check=False, env=env)
        return proc.returncode, (proc.stderr + proc.stdout).decode("utf-8", "replace")

    def signed_tags(self, patterns: Iterable[str] = ("refs/tags",)) -> dict[str, bool]:
        """Whether each tag object of the tags matching patterns carries a signature, by its id (one
        for-each-ref: which tags are worth a `verify-tag`; lightweight tags are left out)."""
        raw = self.run("for-each-ref", "--format=%(objecttype) %(objectname)%00%(contents:signature)%00",
                       *patterns).stdout
        fields = raw.decode("utf-8", "replace").split("\0")
        out = {}
        for i in range(0, len(fields) - 1, 2):
            kind, _, oid = fields[i].lstrip("\n").partition(" ")
            if kind == "tag":
                out[oid] = bool(fields[i + 1].strip())
        return out

    def import_gpg_keys(self, home: str, armored: bytes) -> None:
        """Import an armored keyring into the GnuPG home folder home (gpg is git's signing program:
        it is run from here, the one module that runs programs)."""
        proc = _run_program(["gpg", "--batch", "--quiet", "--no-tty", "--homedir", home, "--import"], armored)
        if proc.returncode != 0:
            raise GitError(f"cannot read the policy's GPG keys: {reason(proc.stderr) or 'gpg refused them'}")

    def is_dirty(self, paths: Sequence[str] = ()) -> bool:
        """Whether tracked files (or the given paths) have changes not yet committed."""
        args = ["status", "--porcelain", "--untracked-files=no"]
        if paths:
            args += ["--", *paths]
        return bool(self.out(*args))

    def uncommitted(self, paths: Sequence[str]) -> list[str]:
        """Those of paths (from the repository's root; a folder covers its files) that have staged,
        unstaged or untracked changes in the work tree."""
        if not paths:
            return []
        listed = self.out("status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--",
                          *[f":(top,literal){p}" for p in paths]).split("\0")
        changed = [entry[3:] for entry in listed if len(entry) > 3]
        return [p for p in paths if any(c == p or c.startswith(p.rstrip("/") + "/") for c in changed)]

    def staged_files(self) -> list[str]:
        """Files with changes in the index."""
        return [p for p in self.out("diff", "--cached", "--name-only").splitlines() if p]

    def identity(self) -> tuple[str, str]:
        """The committer/tagger name and e-mail git would use; GitError if none is set."""
        proc = self.run("var", "GIT_COMMITTER_IDENT", check=False)
        if proc.returncode != 0:
            raise GitError(
                "git has no identity: set it with `git config user.name NAME` and `git config user.email EMAIL`"
            )
        ident = proc.stdout.decode("utf-8", "replace").strip()
        name, _, rest = ident.partition(" <")
        return name, rest.partition(">")[0]

    # -- tags ------------------------------------------------------------------------------

    def tags(self, patterns: Iterable[str] = ("refs/tags",)) -> list[TagInfo]:
        """Every tag matching patterns, with tagger, date, message and peeled commit, in one call."""
        return self.finish_tags(self.start_tags(patterns))

    def tags_lean(self, patterns: Iterable[str] = ("refs/tags",)) -> list[TagInfo]:
        """`tags` without tagger names and messages (empty): all the registry table needs, and a
        fifth less work for git, less text for Python, on every tag of a big registry."""
        return self.finish_tags_lean(self.start_tags_lean(patterns))

    def start_tags_lean(self, patterns: Iterable[str] = ("refs/tags",)) -> Process:
        """Start `tags_lean` in the background; `finish_tags_lean` collects it."""
        return self.start(["for-each-ref", f"--format={_LEAN_FORMAT}", *patterns])

    def finish_tags_lean(self, proc: Process) -> list[TagInfo]:
        """The tags a `start_tags_lean` process read."""

        fields = self.finish(proc).decode("utf-8", "replace").split("\0")
        out: list[TagInfo] = []
        append = out.append
        for i in range(0, len(fields) - 5, 6):
            ref, otype, oid, ptype, poid, date = fields[i : i + 6]
            name = ref.lstrip("\n")[10:]  # strip "refs/tags/"
            if otype == "tag":
                timestamp, _, tz = date.partition(" ")
                append(TagInfo(name, True, poid if ptype == "commit" else None, oid, "", "", int(timestamp or 0),
                               tz or "+0000", ""))
            else:
                append(TagInfo(name, False, oid if otype == "commit" else None, oid))
        return out

    def start(self, args: Sequence[str], env: dict[str, str] | None = None) -> Process:
        """Start `git ARGS` in the background; `finish` collects its output."""
        return self._popen(args, env)

    def finish(self, proc: Process) -> bytes:
        """The stdout of a `start`ed command (GitError if it failed)."""
        out, err = proc.communicate()
        if proc.returncode != 0:
            self._check_folder()
            raise failure(proc.args, err)
        return out

    def start_tags(self, patterns: Iterable[str] = ("refs/tags",)) -> Process:
        """Start reading tags in the background (git works while Python does something else)."""
        return self.start(["for-each-ref", f"--format={_TAG_FORMAT}", *patterns])

    def finish_tags(self, proc: Process) -> list[TagInfo]:
        """The tags a `start_tags` process read."""
        return parse_tag_records(self.finish(proc))

    def list_tags(self) -> bytes:
        """`OID<TAB>REFNAME` per tag (as ls-remote prints refs), without reading any tag object: one
        cheap call, even for 50k tags."""
        return self.finish(self.start_listing())

    def start_listing(self, patterns: Iterable[str] = ("refs/tags",)) -> Process:
        """`list_tags` (of the tags matching patterns) in the background; `finish` collects it."""
        return self.start(["for-each-ref", f"--format={LISTING_FORMAT}", *patterns])

    def tag_names(self, patterns: Iterable[str] = ("refs/tags",)) -> list[str]:
        """Names of tags matching patterns."""
        listed = self.out("for-each-ref", "--format=%(refname:strip=2)", *patterns)
        return [line for line in listed.splitlines() if line]

    def create_tag(self, name: str, commit: str, message: str, after: int | None = None, sign: bool = False,
                   tagger: tuple[str, str] | None = None, signing: SigningKey | None = None) -> None:
        """Create the annotated tag name at commit; GitError if it exists or git has no identity.

        The message is stored verbatim, without the newline `git tag -m` would add: byte for byte
        the tag object GTO writes for the same event, tagger and second. With after (a Unix time),
        the tagger date is later than it (see `date_after`). With sign, the tag is signed (`git tag
        -s`: git's `gpg.format` and `user.signingKey`); git's `tag.gpgSign` signs it without.
        tagger: (name, e-mail) in place of git's own identity; signing: the key to sign with, in
        place of the user's (the tag is then always signed).
        """
        if "\0" in message:  # git would store it, and every reader of the tag stops at it
            raise GitError("refusing a tag message with a NUL character")
        env: dict[str, str] = {}
        if tagger is not None:
            env.update(tagger_env(*tagger))
        if signing is not None:
            env.update(signing.env())
            sign = True
        sign = sign or self.config_value("tag.gpgSign") in ("true", "yes", "on", "1")
        if sign and not message.endswith("\n"):
            message += "\n"  # git appends the signature: on a line of its own, or no reader finds it
        if after is not None:
            env.update(self.date_after(after, env) or {})
        proc = self.run("tag", "-s" if sign else "-a", "--cleanup=verbatim", "-F", "-", "--", name, commit, check=False,
                        input=message.encode("utf-8"), env=env or None)
        if proc.returncode != 0:
            if b"identity unknown" in proc.stderr or b"tell me who you are" in proc.stderr:
                self.identity()  # raises the clear message
            raise GitError(reason(proc.stderr) or f"git tag {name} failed", proc.args, proc.stderr)

    def date_after(self, after: int, env: dict[str, str] | None = None) -> dict[str, str] | None:
        """The environment giving a new tag a tagger date strictly after the Unix time after: None
        when git's own date already is (now, or the user's GIT_COMMITTER_DATE), else after + 1 s in
        the offset git would use. Git dates have one-second resolution: two events in one second
        tie, and GTO breaks ties its own way. env: what the tag is made with (its tagger)."""

        if "GIT_COMMITTER_DATE" not in os.environ and "GIT_COMMITTER_DATE" not in self.env and time.time() >= after + 1:
            return None  # the usual case, without asking git: now is a later second
        proc = self.run("var", "GIT_COMMITTER_IDENT", check=False, env=env)
        stamp, _, tz = (proc.stdout or b"").decode("utf-8", "replace").strip().rpartition("> ")[2].partition(" ")
        if proc.returncode != 0 or not stamp.isdigit():
            return None  # no identity or a date git cannot read: `git tag` says so
        if int(stamp) > after:
            return None
        if not (len(tz) == 5 and tz[0] in "+-" and tz[1:].isdigit()):
            tz = "+0000"
        return {"GIT_COMMITTER_DATE": f"@{after + 1} {tz}"}

    def remote_url(self, remote: str) -> str | None:
        """The URL of the configured remote, or None if there is no such remote."""
        proc = self.run("remote", "get-url", "--", remote, check=False)
        url = (proc.stdout or b"").decode("utf-8", "replace").strip()
        return url if proc.returncode == 0 and url else None

    def list_remote_tags(self, remote: str, patterns: Sequence[str] = ()) -> bytes:
        """`OID<TAB>refs/tags/NAME` per tag of remote (a name or URL; only those matching patterns,
        if given), as the remote lists them now; GitError if it cannot be reached."""
        proc = self.run(*LIST_REFS, "--tags", "--", remote, *patterns, check=False, env={"GIT_TERMINAL_PROMPT": "0"})
        if proc.returncode != 0:
            raise failure(proc.args, proc.stderr)
        return proc.stdout

    def delete_tag(self, name: str) -> None:
        """Delete the local tag name."""
        self.run("tag", "-d", "--", name)

    def push(self, remote: str, refspecs: Sequence[str]) -> None:
        """Push refspecs to remote (never forced)."""
        self.run("push", "--", remote, *refspecs)

    # -- objects ---------------------------------------------------------------------------

    def stream(self, *args: str, stdin: bool = False, show_progress: bool = False) -> Stream:
        """Start `git ARGS` with its stdout to be read in pieces (`Stream`); with stdin, a pipe to
        write its input to. With show_progress, git's stderr goes to the terminal."""
        proc = self._popen(args, stdin=subprocess.PIPE if stdin else None,
                           stderr=None if show_progress else subprocess.PIPE)
        return Stream(proc, self.where)

    def object_sizes(self, oids: Sequence[str], show_progress: bool = False) -> dict[str, int | None]:
        """The size of each object (None: missing, or not a blob), from one `cat-file --batch-check`."""
        unique = list(dict.fromkeys(oids))
        if not unique:
            return {}
        if not all(oid.isalnum() for oid in unique):
            raise GitError("object ids are hexadecimal")
        proc = self.run("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                        input=("\n".join(unique) + "\n").encode(), show_progress=show_progress)
        out: dict[str, int | None] = {}
        for oid, line in zip(unique, proc.stdout.decode("utf-8", "replace").splitlines(), strict=False):
            parts = line.split(" ")
            out[oid] = int(parts[2]) if len(parts) == 3 and parts[1] == "blob" else None
        return out

    def read_objects_within(
        self, names: Sequence[str], max_size: int, oids: dict[str, str] | None = None, show_progress: bool = False,
    ) -> dict[str, bytes | int | None]:
        """Contents of many objects (`REV:PATH`, shas) in one `git cat-file --batch`: a blob's or a
        commit's bytes, None if missing or of another kind, and for one bigger than max_size bytes
        its size (an int), never held in memory: a repository may be hostile (a 1 GB
        `artifacts.yaml` in history). If oids is given, it receives each found name's object id; with
        show_progress, git's stderr (a partial clone fetching objects) goes to the terminal."""
        if not names:
            return {}
        unique = list(dict.fromkeys(names))
        if any("\n" in n for n in unique):
            raise GitError("object names cannot contain newlines")
        out: dict[str, bytes | int | None] = {}
        with BlobReader(self, show_progress=show_progress) as reader:
            for start, end in _windows(unique):
                reader.ask(unique[start:end])
                for name in unique[start:end]:
                    out[name] = reader.answer(name, max_size, oids)
            reader.finish()
        return out

    def path_exists(self, rev: str, path: str) -> bool:
        """Whether path (file or folder) exists in the tree of rev."""
        proc = self.run("cat-file", "-e", f"{rev}:{path.strip('/')}", check=False)
        return proc.returncode == 0

    # -- commits ---------------------------------------------------------------------------

    def commit_on_branch(self, branch: str, files: dict[str, bytes | None], message: str) -> str:
        """Commit new contents of files (None: delete) on branch without touching any work tree.

        Uses a temporary index and moves the branch only if nobody moved it meanwhile.
        """

        import tempfile

        ref = f"refs/heads/{branch}"
        parent = self.resolve(ref)
        if parent is None:
            raise GitError(f"branch '{branch}' does not exist")
        with tempfile.TemporaryDirectory(prefix="tagreg-index-") as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            self.run("read-tree", parent, env=env)
            for path, data in files.items():
                if data is None:
                    self.run("update-index", "--force-remove", "--", path, env=env)
                    continue
                oid = self.run("hash-object", "-w", "--stdin", input=data).stdout.decode().strip()
                self.run("update-index", "--add", "--cacheinfo", f"100644,{oid},{path}", env=env)
            tree = self.run("write-tree", env=env).stdout.decode().strip()
        commit = self.run("commit-tree", tree, "-p", parent, "-m", message).stdout.decode().strip()
        self.run("update-ref", "-m", message, ref, commit, parent)
        return commit

    def commit_paths(self, paths: Sequence[str], message: str) -> str:
        """Stage paths and commit only them; returns the new commit's sha."""
        self.run("add", "--", *paths)
        self.run("commit", "-q", "-m", message, "--", *paths)
        return self.out("rev-parse", "HEAD")


class Stream:
    """A running git command whose output is read piece by piece, never held whole: a 500 MB blob
    goes to disk in chunks, a tree listing of a million entries is read only up to a limit. What
    git says on stderr meanwhile is kept (its last 64 KiB) for the error message."""

    CHUNK = 1 << 20

    def __init__(self, proc: Process, where: str):
        self._proc = proc
        self._where = where
        self._out = cast(io.BufferedReader, proc.stdout)
        self._stderr = bytearray()
        self._listener: threading.Thread | None = None
        if proc.stderr is not None:
            # git may say more on stderr than its pipe holds (a partial clone fetching objects,
            # git-lfs's progress) while we wait on its stdout: a thread reads it meanwhile. The
            # thread owns the pipe, so a Stream dropped unfinished closes the others without it.
            err, proc.stderr = cast(io.BufferedReader, proc.stderr), None
            self._listener = threading.Thread(target=_keep_tail, args=(err, self._stderr), daemon=True)
            self._listener.start()

    def write(self, data: bytes) -> None:
        """Send data to git's stdin (a request line of `cat-file --batch`)."""
        stdin = self._proc.stdin
        if stdin is None or stdin.closed:
            raise GitError(f"git {subcommand(self._proc.args)} takes no more input")
        try:
            stdin.write(data)
            stdin.flush()
        except BrokenPipeError:  # it stopped reading: what it says (`finish`, `error`) tells why
            pass

    def end_input(self) -> None:
        """Close git's stdin: it has all its input."""
        stdin = self._proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(BrokenPipeError):  # input it did not read: the pipe closes all the same
                stdin.close()

    def read(self, size: int) -> bytes:
        """Up to size bytes of stdout (at least one, unless at its end: b"")."""
        return self._out.read1(size)

    def read_exactly(self, size: int) -> bytes:
        """size bytes of stdout; GitError if it ends before."""
        data = self._out.read(size)
        if len(data) < size:
            raise GitError(f"git {subcommand(self._proc.args)} ended early")
        return data

    def read_until(self, separator: bytes, limit: int) -> bytes:
        """stdout up to separator (one byte, not included); b"" at the end; GitError past limit bytes."""
        record = bytearray()
        while chunk := self._out.peek(1):  # what is buffered, reading more only if nothing is
            found = chunk.find(separator)
            if found >= 0:
                record += self._out.read(found + 1)
                return bytes(record[:-1])
            if len(record) + len(chunk) > limit:
                raise GitError(f"git {subcommand(self._proc.args)} printed a record longer than {limit} bytes")
            record += self._out.read(len(chunk))
        if record:
            raise GitError(f"git {subcommand(self._proc.args)} ended in the middle of a record")
        return b""

    def close(self) -> int:
        """Stop git if it is still running (it sees its pipes closed), wait for it; its exit code."""
        if self._proc.returncode is None:
            self.end_input()
            self._out.close()
            self._proc.wait()
        if self._listener is not None:
            self._listener.join()
        return self._proc.returncode

    def finish(self) -> None:
        """Wait for git to end (read to the end first); GitError with its message if it failed."""
        if self.close() != 0:
            if not os.path.isdir(self._where):
                raise GitError(f"{self._where} does not exist")
            raise failure(self._proc.args, bytes(self._stderr))

    @property
    def error(self) -> str:
        """The line of git's stderr worth showing (after `close`)."""
        return reason(bytes(self._stderr))

    @property
    def said(self) -> str:
        """All git said on stderr (its last 64 KiB; after `close`)."""
        return bytes(self._stderr).decode("utf-8", "replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _keep_tail(pipe: io.BufferedReader, tail: bytearray, most: int = 1 << 16) -> None:
    """Read pipe to its end (then close it), keeping its last most bytes in tail."""
    with pipe:
        while said := pipe.read1(most):
            tail += said
            del tail[:-most]


class BlobReader:
    """Objects read one after another from one `git cat-file --batch`, each handed on in chunks of
    at most 1 MiB: memory stays bounded whatever their size."""

    def __init__(self, git: Git, show_progress: bool = False):
        self._stream = git.stream("cat-file", "--batch", stdin=True, show_progress=show_progress)

    def copy(self, oid: str, write: Callable[[bytes], object]) -> int | None:
        """Pass blob oid's contents to write, chunk by chunk; its size, or None if it is no blob git
        has (anything else it names is read past, not passed on)."""
        if not oid or not oid.isalnum():
            raise GitError(f"'{oid}' is not an object id")
        self.ask([oid])
        header = self._header(oid)
        if header is None:
            return None
        _, kind, size = header
        self._contents(size, write if kind == "blob" else None)
        return size if kind == "blob" else None

    def ask(self, names: Sequence[str]) -> None:
        """Request names (`REV:PATH`, object ids; no newlines), to be read with `answer` in order."""
        self._stream.write("".join(f"{name}\n" for name in names).encode())

    def answer(self, name: str, max_size: int, oids: dict[str, str] | None = None) -> bytes | int | None:
        """The contents of name, the next one asked for, if a blob or commit of at most max_size
        bytes, else its size (read past, not held); None if it is missing or of another kind. If
        oids is given, oids[name] gets its object id."""
        header = self._header(name)
        if header is None:
            return None
        oid, kind, size = header
        if oids is not None:
            oids[name] = oid
        wanted = kind in ("blob", "commit")
        parts: list[bytes] = []
        self._contents(size, parts.append if wanted and size <= max_size else None)
        return None if not wanted else b"".join(parts) if size <= max_size else size

    def _header(self, name: str) -> tuple[str, str, int] | None:
        """(oid, kind, size) of the answer for name; None if it is missing (git repeats the name)."""
        header = self._stream.read_until(b"\n", 1024 + len(name.encode())).decode("utf-8", "replace")
        if not header or header.endswith((" missing", " ambiguous")):
            return None
        oid, kind, size = header.split(" ")
        return oid, kind, int(size)

    def _contents(self, size: int, write: Callable[[bytes], object] | None) -> None:
        """Read the next size bytes of contents (and git's newline after them), passing them to
        write if given."""
        left = size
        while left:
            chunk = self._stream.read(min(left, Stream.CHUNK))
            if not chunk:
                raise GitError("git cat-file ended early")
            if write is not None:
                write(chunk)
            left -= len(chunk)
        self._stream.read_exactly(1)

    def finish(self) -> None:
        """End the cat-file process; GitError with its message if it failed."""
        self._stream.end_input()
        self._stream.finish()

    def close(self) -> None:
        """End the cat-file process."""
        self._stream.end_input()
        self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _windows(names: list[str], most: int = 4096) -> Iterator[tuple[int, int]]:
    """(start, end) of runs of names whose request lines fit in most bytes (or of a single longer
    one). `cat-file --batch` answers while it reads: a run is written whole, then its answers read,
    so its lines must fit in the pipe (4 KiB at the least) or both sides could wait on a full pipe."""
    start, size = 0, 0
    for end, name in enumerate(names):
        line = len(name.encode()) + 1
        if end > start and size + line > most:
            yield start, end
            start, size = end, 0
        size += line
    if start < len(names):
        yield start, len(names)


def split_tag_patterns(listing: bytes, parts: int) -> list[list[str]]:
    """`for-each-ref` patterns that split the tags of a `list_tags` listing into about `parts`
    equal groups, each group's tags sorting before the next group's (so their listings, one after
    the other, are git's one listing). One group, `refs/tags`, when the names do not allow it.

    `for-each-ref` reads every tag object before it prints, on one core; on a big registry, one
    process per group reads them on all cores. Groups are sets of name prefixes: the first
    characters, or the first two or three when most names share their first.
    """
    if parts < 2:
        return [["refs/tags"]]

    names = re.findall(_LISTED_NAME, listing)
    plain = re.compile(_PLAIN_PREFIX)
    counts: Counter = Counter()
    for size in (1, 2, 3):
        longer = Counter(name[:size] for name in names)
        if any(len(p) < size or not plain.fullmatch(p) for p in longer):
            break  # a name too short, or a character the patterns cannot say plainly
        counts = longer
        if len(counts) >= min(2 * parts, len(names)):
            break
    if len(counts) < 2:
        return [["refs/tags"]]
    groups: list[list[str]] = [[]]
    seen = 0
    for prefix in sorted(counts):  # bytes order, as git sorts
        if seen >= len(names) * len(groups) / parts and len(groups) < parts:
            groups.append([])
        groups[-1].append(prefix.decode())
        seen += counts[prefix]
    # `*` does not cross `/` in these patterns: `/**` takes the names with one.
    return [[p for c in group for p in (f"refs/tags/{c}*", f"refs/tags/{c}*/**")] for group in groups]


_LISTED_NAME = rb"\trefs/tags/([^\n]*)"
_PLAIN_PREFIX = rb"[A-Za-z0-9][A-Za-z0-9_.=@#!-]*"


def parse_tag_records(raw: bytes) -> list[TagInfo]:
    """`git for-each-ref --format=_TAG_FORMAT` output as TagInfo records."""
    fields = raw.decode("utf-8", "replace").split("\0")
    return _records(fields[: len(fields) - len(fields) % len(_TAG_FIELDS)])


def _records(fields: list[str]) -> list[TagInfo]:
    """TagInfo records from for-each-ref's fields, len(_TAG_FIELDS) per tag (a hot loop: 10k+ tags)."""

    size = len(_TAG_FIELDS)
    out: list[TagInfo] = []
    append = out.append
    for i in range(0, len(fields), size):
        ref, otype, oid, ptype, poid, tagger, email, date, contents, signature = fields[i : i + size]
        name = ref.lstrip("\n")[10:]  # strip "refs/tags/"
        if otype == "tag":
            timestamp, _, tz = date.partition(" ")
            if signature and contents.endswith(signature):
                contents = contents[: -len(signature)]
            append(TagInfo(name, True, poid if ptype == "commit" else None, oid, tagger, email.strip("<>"),
                           int(timestamp or 0), tz or "+0000", contents))
        else:
            append(TagInfo(name, False, oid if otype == "commit" else None, oid))
    return out


def parse_commit(sha: str, raw: bytes) -> CommitInfo:
    """Parse a raw commit object."""

    text = raw.decode("utf-8", "replace")
    headers, _, message = text.partition("\n\n")
    author = committer = ("", "", 0, "+0000")
    for line in headers.split("\n"):
        if line.startswith("author "):
            author = _parse_ident(line[len("author "):])
        elif line.startswith("committer "):
            committer = _parse_ident(line[len("committer "):])
    return CommitInfo(
        sha=sha,
        author=author[0],
        author_email=author[1],
        committer=committer[0],
        committer_email=committer[1],
        timestamp=committer[2],  # GTO dates a commit by its committer
        tz=committer[3],
        message=message,
    )


def _parse_ident(value: str) -> tuple[str, str, int, str]:
    name, _, rest = value.partition(" <")
    email, _, when = rest.partition("> ")
    stamp, _, tz = when.partition(" ")
    # A date that is no number (a hand-made commit object) is the epoch, as git shows it.
    return name, email, int(stamp) if stamp.isascii() and stamp.isdigit() else 0, tz or "+0000"


# Lines that are not the reason a git (or git-lfs) command failed: its progress, and the advice it
# prints after the reason ("Please make sure you have the correct access rights / and the
# repository exists.", git-lfs's "Errors logged to ...").
_PROGRESS = ("Downloading ", "Uploading ", "Enumerating objects", "Counting objects", "Compressing objects",
             "Writing objects", "Receiving objects", "Resolving deltas", "Total ")
_ADVICE = ("Could not read from remote repository", "Please make sure you have the correct access rights",
           "and the repository exists", "Errors logged to ", "Use `git lfs logs last`", "hint:")


REASON_MOST = 300  # characters of a reason line shown: a remote (its hooks) says what it likes


def clip(line: str, most: int = REASON_MOST) -> str:
    """line, cut to most characters (with '...') if longer: a message quoting a remote stays short."""
    return line if len(line) <= most else line[:most] + "..."


def reason(stderr: bytes) -> str:
    """Why git (or git-lfs) failed, from its stderr, in one line of at most REASON_MOST characters:
    its first `fatal:`/`error:` line (else the first other line), progress and advice skipped; a
    reason that ends in ':' is joined with the line that completes it (`unable to connect to HOST:`
    + `HOST[0: ...]: errno=Connection refused` is `unable to connect to HOST: Connection refused`)."""
    lines = []
    for raw in stderr.decode("utf-8", "replace").splitlines():
        line = raw.rpartition("\r")[2].strip()  # a progress counter redrawn in place: its last state
        if line and not line.removeprefix("remote:").strip().startswith(_PROGRESS + _ADVICE):
            lines.append(line)
    if not lines:
        return ""
    at = next((i for i, line in enumerate(lines) if line.lower().startswith(("fatal:", "error"))), 0)
    line = lines[at].removeprefix("fatal: ").removeprefix("error: ")
    if line.endswith(":") and at + 1 < len(lines):
        rest = lines[at + 1]
        line += " " + (rest.rpartition("errno=")[2] if "errno=" in rest else rest.removeprefix("fatal: "))
    return clip(line)
