"""Who signed a tag: git's own verification against the keys a policy allows, and nothing else.

The allowed keys come from the policy's ref (`signers.ssh`: git's allowed-signers format;
`signers.gpg`: an armored keyring), copied into a private temporary folder for git (and its gpg or
ssh-keygen) to read: the user's own keyring is never consulted, since it trusts whatever was
imported into it. A verdict depends only on the tag object and those keys, so it is kept by both.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field

from .git import Git
from .policy import UNSIGNED, Signature
from .state import Event

MAX_KEYS_BYTES = 1 << 20

_SSH_GOOD = re.compile(r'^Good "git" signature for (.+?) with (\S+) key (\S+)$', re.MULTILINE)
_SSH_UNLISTED = re.compile(r'^Good "git" signature with (\S+) key (\S+)$', re.MULTILINE)
_GPG_STATUS = re.compile(r"^\[GNUPG:\] (\w+)(?: (.*))?$", re.MULTILINE)
_EMAIL = re.compile(r"<([^<>\s]+)>")


def parse(code: int, said: str) -> Signature:
    """The verdict from what `git verify-tag --raw` printed, and its exit code."""
    status = {word: (rest or "") for word, rest in _GPG_STATUS.findall(said)}
    if status:
        return _gpg(code, status)
    good = _SSH_GOOD.search(said)
    if good and code == 0:
        return Signature("good", good.group(1), good.group(3))
    unlisted = _SSH_UNLISTED.search(said)
    if unlisted:
        return Signature("unknown", None, unlisted.group(2), "no allowed signer has this key")
    if "no signature found" in said:
        return Signature("none")
    if "verification failed" in said or "incorrect signature" in said:
        return Signature("bad", detail="the tag was changed after it was signed")
    last = [line for line in said.splitlines() if line.strip()]
    return Signature("bad", detail=last[-1][:200] if last else "git could not verify it")


def _gpg(code: int, status: dict[str, str]) -> Signature:
    fingerprint = status.get("VALIDSIG", "").split(" ")[0] or None
    for word, state in (("BADSIG", "bad"), ("EXPKEYSIG", "expired"), ("EXPSIG", "expired"), ("REVKEYSIG", "bad")):
        if word in status:
            detail = {"BADSIG": "the tag was changed after it was signed", "REVKEYSIG": "the key is revoked"}.get(
                word, "the key or signature had expired when it was made")
            return Signature(state, _principal(status[word]), fingerprint, detail)
    if "GOODSIG" in status and code == 0:
        return Signature("good", _principal(status["GOODSIG"]) or fingerprint, fingerprint)
    if "ERRSIG" in status or "NO_PUBKEY" in status:
        return Signature("unknown", None, None, "signed by a key the policy's keyring does not hold")
    return Signature("bad", detail="gpg could not verify it")


def _principal(rest: str) -> str | None:
    """The e-mail of a `KEYID User <mail>` status line, else its user id."""
    email = _EMAIL.search(rest)
    if email:
        return email.group(1)
    user = rest.partition(" ")[2].strip()
    return user or None


@dataclass
class Verifier:
    """Verifies tags of one repository against one set of allowed keys (the policy's)."""

    git: Git
    allowed_signers: bytes | None = None  # git's allowed-signers file
    gpg_keys: bytes | None = None  # an armored keyring
    # tag object id -> whether it carries a signature, listed once (None: all of refs/tags, on first
    # use): an unsigned tag needs no `verify-tag`; a tag object not listed (made since) is verified.
    signed: dict[str, bool] | None = None
    _folder: str | None = None
    _paths: tuple[str | None, str | None] = (None, None)
    _known: dict[str, Signature] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """What the verdicts depend on besides the tag: the keys."""
        hashed = hashlib.sha256()
        for part in (self.allowed_signers, self.gpg_keys):
            hashed.update(b"-" if part is None else b"%d:" % len(part) + part)
        return hashed.hexdigest()[:16]

    def signature(self, event: Event) -> Signature:
        """The signature of event's tag (a verdict kept by the tag object's id)."""
        if self.signed is None:
            self.signed = self.git.signed_tags()
        if event.object_id and self.signed.get(event.object_id) is False:
            return UNSIGNED
        key = event.object_id or event.tag
        found = self._known.get(key)
        if found is None:
            allowed, home = self._prepare()
            found = self._known[key] = parse(*self.git.verify_tag(event.tag, allowed, home))
        return found

    def _prepare(self) -> tuple[str | None, str | None]:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="tagreg-keys-")  # mode 0700: ours alone
            allowed = home = None
            if self.allowed_signers is not None:
                allowed = os.path.join(self._folder, "allowed_signers")
                with open(allowed, "wb") as handle:
                    handle.write(self.allowed_signers)
            if self.gpg_keys is not None:
                home = os.path.join(self._folder, "gnupg")
                os.mkdir(home, 0o700)
                self.git.import_gpg_keys(home, self.gpg_keys)
            self._paths = (allowed, home)
        return self._paths

    def close(self) -> None:
        """Remove the keys' temporary folder (and gpg's agent state with it)."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
