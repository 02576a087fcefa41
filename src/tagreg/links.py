"""Links from repository content: which repositories an annotation's `repo:` may point to.

A link is data someone else wrote, read by whoever runs `get` or `doctor`. So a link may name only
the transports a reader expects: https, ssh (`ssh://` or scp's `[user@]host:path`) and git, and a
local path or `file://` only when the registry itself is a local folder (a remote registry must
not read the reader's disk). git's remote helpers (`ext::`, `fd::`, any `NAME::`) and values that
git would take for an option are refused. Credentials in a link are dropped, never used nor stored.
Every git command run on a linked repository gets `git_config` and `GIT_ENV` on top, so git itself
refuses any other transport (a redirect, a lazy fetch of a partial clone).

A link is pinned when its `rev:` names one commit for good: a commit id (full or abbreviated) or a
tag, as the source repository has them. A branch, HEAD or any other ref moves, and `get` then
delivers whatever it names at the time; `link` warns and `doctor` flags such a rev.
"""

from __future__ import annotations

import re

from .errors import UserError
from .git import HOST_CHARS, Git


class LinkError(UserError):
    """A link (`repo:`/`rev:` of an annotation) that tagreg refuses to follow."""


# URL scheme -> the git transport it uses (what `protocol.<name>.allow` names).
SCHEMES = {"https": "https", "ssh": "ssh", "git+ssh": "ssh", "ssh+git": "ssh", "git": "git"}
TRANSPORTS = ("https", "ssh", "git")  # always allowed; "file" too from a local registry
MAX_LENGTH = 2048

# For git commands on a linked repository: no transport that is not allowed explicitly, even one
# git would allow "from the user"; never a password prompt.
GIT_ENV = {"GIT_PROTOCOL_FROM_USER": "0", "GIT_TERMINAL_PROMPT": "0"}


def git_config(local: bool) -> list[tuple[str, str]]:
    """The `protocol.*.allow` settings for git on a link of a local (or remote) registry."""
    allowed = [*TRANSPORTS, "file"] if local else TRANSPORTS
    return [("protocol.allow", "never")] + [(f"protocol.{name}.allow", "always") for name in allowed]


def allowed(local: bool) -> str:
    """The transports a link may use, as the error messages list them."""
    remote = "https://, ssh:// or [user@]host:path, git://"
    if local:
        return f"{remote}, file:// or a local path"
    return f"{remote} (a local path or file:// only in a local registry)"


def check(value: object, name: str, *, local: bool) -> tuple[str, str]:
    """(what to open, its transport: "https", "ssh", "git", "file" or "path") for the `repo:` value
    of name's link; LinkError if a link must not go there. local: whether the registry is a local
    folder. Credentials in the value are dropped (a user name for ssh stays: it is not a secret)."""
    if not isinstance(value, str):
        raise LinkError(f"refusing the link of '{name}' to {value!r}: `repo:` must be a URL or a path "
                        f"(allowed: {allowed(local)})")

    def refuse(why: str) -> LinkError:
        from .remote import redact  # a refused value's credentials are not shown either

        return LinkError(f"refusing the link of '{name}' to '{redact(value)}': {why} (allowed: {allowed(local)})")

    if not value or not value.strip():
        raise refuse("it is empty")
    if len(value) > MAX_LENGTH:
        raise refuse(f"it is longer than {MAX_LENGTH} characters")
    if not value.isprintable():
        raise refuse("it contains control characters")
    if value.startswith("-"):
        raise refuse("it starts with '-'")
    # A scheme as git reads one: a letter, then letters, digits, `+`, `.`, `-`.
    end = 0
    while end < len(value) and ((value[end].isascii() and value[end].isalpha())
                                or (end > 0 and (value[end].isdigit() or value[end] in "+.-"))):
        end += 1
    scheme = value[:end].lower()
    if end and value.startswith("::", end):
        raise refuse(f"'{value[:end]}::' runs a git remote helper")
    if end and value.startswith("://", end):
        if scheme == "file":
            if not local:
                raise refuse("a remote registry cannot link to a file:// URL")
            netloc, separator, path = value[end + 3:].partition("/")
            return f"{value[:end + 3]}{netloc.rpartition('@')[2]}{separator}{path}", "file"
        if scheme not in SCHEMES:
            raise refuse(f"the {scheme}:// transport is not allowed")
        return _network_url(value, scheme, end + 3, refuse), SCHEMES[scheme]
    colon, slash = value.find(":"), value.find("/")
    if colon >= 0 and (slash < 0 or colon < slash):  # git's rule: scp-like `[user@]host:path`
        user, at, host = value[:colon].rpartition("@")
        user_ok = not at or (bool(user) and HOST_CHARS.issuperset(user) and not user.startswith("-"))
        if not (host and HOST_CHARS.issuperset(host) and not host.startswith("-") and user_ok):
            raise refuse("it is not a URL, a path or [user@]host:path")
        if not value[colon + 1:]:
            raise refuse("it names no repository on the host")
        return value, "ssh"
    if not local:
        raise refuse("a remote registry cannot link to a local path")
    return value, "path"


def _network_url(value: str, scheme: str, start: int, refuse) -> str:
    """value (`SCHEME://[user[:password]@]host[:port]/path`) without credentials, once its host
    is checked (git passes it to ssh as an argument: never one that starts with `-`)."""
    netloc, slash, path = value[start:].partition("/")
    userinfo, _, hostport = netloc.rpartition("@")
    host = hostport
    if host.startswith("["):  # an IPv6 address, perhaps with a port
        inside, bracket, port = host[1:].partition("]")
        valid = bool(bracket) and bool(inside) and all(c in "0123456789abcdefABCDEF:." for c in inside) and (
            not port or (port[0] == ":" and port[1:].isdigit()))
    else:
        host, colon, port = host.partition(":")
        valid = bool(host) and HOST_CHARS.issuperset(host) and not host.startswith("-") and (
            not colon or port.isdigit())
    if not valid:
        raise refuse(f"'{hostport}' is not a host name")
    user = userinfo.partition(":")[0] if SCHEMES[scheme] == "ssh" else ""
    if user.startswith("-"):
        raise refuse("its user name starts with '-'")
    return f"{value[:start]}{user + '@' if user else ''}{hostport}{slash}{path}"


def check_rev(value: object, name: str) -> str:
    """The revision of name's link to read (`rev:`, HEAD if unset); LinkError if it is not one."""
    if value is None or value == "":
        return "HEAD"
    if not isinstance(value, str) or not value.isprintable() or value.startswith("-") or len(value) > 256:
        raise LinkError(f"refusing the link of '{name}': {value!r} is not a revision (a tag, branch or commit)")
    return value


COMMIT_ID = re.compile(r"[0-9a-fA-F]{4,64}")  # SHA-1 or SHA-256, abbreviated as git allows


def moving_rev(git: Git, rev: str, commit: str) -> str | None:
    """Why rev, which the source repository git resolves to commit, can name another commit later
    ("is a branch", ...), or None if it is pinned: a tag, or a commit id that git reads as one."""
    if rev in ("HEAD", "@"):
        return "names the checked-out commit"
    ref = git.ref_name(rev)  # what git reads: a ref of that name wins over a commit id it spells
    if ref.startswith("refs/tags/"):
        return None
    if ref.startswith("refs/heads/"):
        return "is a branch"
    if ref:
        return f"is the ref {ref} (not a tag)"
    if COMMIT_ID.fullmatch(rev) and commit.startswith(rev.lower()):
        return None
    return "is neither a tag nor a commit id"
