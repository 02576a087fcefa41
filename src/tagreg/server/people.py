"""Who writes through the server: people and bots with their own tokens, each limited to scopes.

A token is never stored: the config holds its SHA-256 (`sha256:<hex>`, what `tagreg serve
--hash-token` prints), and a token given to the server is hashed and compared with every stored
hash in constant time. An unsalted hash is enough for what it guards: a token is at least
MIN_TOKEN_LENGTH random characters, too many to guess from its hash. `TAGREG_TOKEN` stays the
admin token: every scope, and the server's own git identity.

Scopes limit what a person's token may change: `repos` (repository ids, or shell patterns such as
`nlp-*`), `actions` (ACTIONS) and `stages` (names or patterns); each is every one when left out.
A registration changes no stage; assigning, unassigning and rolling back change their stage;
deregistering a version and deprecating a model change the stages that hold what they remove.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

MIN_TOKEN_LENGTH = 32
MAX_TOKEN_LENGTH = 1024
ACTIONS = ("register", "assign", "unassign", "deregister", "deprecate", "rollback")
HASH_PREFIX = "sha256:"
_HASH = re.compile(r"sha256:[0-9a-f]{64}")


class TokenError(ValueError):
    """A token that cannot be used (too short, too long, with spaces or control characters)."""


def check_token(token: str, what: str = "the token", purpose: str = "") -> str:
    """token, if it is one a server can take; TokenError saying why not (never quoting it)."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(f"{what} is too short{purpose}: use at least {MIN_TOKEN_LENGTH} random characters, "
                         'e.g. from `python -c "import secrets; print(secrets.token_urlsafe(32))"`')
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError(f"{what} is too long: at most {MAX_TOKEN_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise TokenError(f"{what} may not contain spaces or control characters")
    return token


def digest(token: str) -> bytes:
    """The SHA-256 of a token, as the config stores it (in hex, after `sha256:`)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def hash_line(token: str) -> str:
    """What to paste as a token's `hash:` in the config."""
    return HASH_PREFIX + digest(check_token(token)).hex()


def parse_hash(text: str) -> bytes | None:
    """The digest of a `sha256:<64 hex digits>` text (any case of hex), or None if it is not one."""
    text = text.strip()
    lowered = text[: len(HASH_PREFIX)].lower() + text[len(HASH_PREFIX):].lower()
    return bytes.fromhex(lowered[len(HASH_PREFIX):]) if _HASH.fullmatch(lowered) else None


def _allows(patterns: tuple[str, ...] | None, value: str) -> bool:
    return patterns is None or any(fnmatchcase(value, pattern) for pattern in patterns)


@dataclass(frozen=True)
class Scopes:
    """What a token may change; None: every one."""

    repos: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    stages: tuple[str, ...] | None = None

    def refusal(self, action: str, repo: str, stages: Iterable[str] = ()) -> str | None:
        """Why these scopes do not allow action on repo, changing stages (None: they do)."""
        if not _allows(self.repos, repo):
            return f"repository '{repo}' is not in its scope (repos: {', '.join(self.repos or ())})"
        if not _allows(self.actions, action):
            return f"'{action}' is not in its scope (actions: {', '.join(self.actions or ())})"
        for stage in stages:
            if not _allows(self.stages, stage):
                return f"stage '{stage}' is not in its scope (stages: {', '.join(self.stages or ())})"
        return None

    def to_dict(self) -> dict[str, list[str] | None]:
        """The scopes as JSON shows them (null: every one)."""
        return {key: None if value is None else list(value)
                for key, value in (("repos", self.repos), ("actions", self.actions), ("stages", self.stages))}


ALL = Scopes()


@dataclass(frozen=True)
class Person:
    """Whom a token belongs to. The admin (TAGREG_TOKEN) has no name or e-mail of its own: its
    writes carry the server's git identity."""

    name: str | None
    email: str | None
    digest: bytes
    scopes: Scopes = ALL
    admin: bool = False

    @property
    def shown(self) -> str:
        """The person in words: `Alice <alice@example.com>`, or `the admin token`."""
        return "the admin token" if self.admin else f"{self.name} <{self.email}>"

    def refusal(self, action: str, repo: str, stages: Iterable[str] = ()) -> str | None:
        """Why this person's token may not do action on repo (None: it may)."""
        why = self.scopes.refusal(action, repo, stages)
        return None if why is None else f"the token of {self.shown} may not do this: {why}"

    def __repr__(self) -> str:  # never the digest in a log line
        return f"Person({self.shown!r})"


def find(people: Iterable[Person], token: str | None) -> Person | None:
    """The person whose token this is, or None. Every stored hash is compared (in constant time),
    so how long it takes does not say which one matched, or how much of one did."""
    if not token or not MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH:
        return None
    given = digest(token)
    found = None
    for person in people:
        if hmac.compare_digest(person.digest, given) and found is None:
            found = person
    return found
