"""Signed tags verified with real keys (ssh-keygen, gpg) against the keys a policy allows."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from conftest import need

from tagreg import signatures as G
from tagreg.api import governance
from tagreg.api.repository import Repository
from tagreg.api.results import RegistryError
from tagreg.git import Git
from tagreg.state import Event


@pytest.fixture
def keys(tmp_path):
    """SSH keys of alice (allowed) and mallory (not), and an allowed-signers file naming alice."""
    need("ssh-keygen")
    folder = tmp_path / "keys"
    folder.mkdir()
    for who in ("alice", "mallory"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(folder / who)], check=True)
    allowed = f"alice@example.com {(folder / 'alice.pub').read_text().strip()}\n"
    return folder, allowed.encode()


def tag(repo, name: str, *config: str) -> Event:
    repo.git(*config, "tag", "-s" if config else "-a", "-m", f"event {name}", name)
    object_id = repo.git("rev-parse", f"refs/tags/{name}").strip()
    return Event("registration", "churn", "", name, 0, "+0000", "", "", "", object_id=object_id)


def ssh_sign(folder, who: str) -> tuple[str, ...]:
    return ("-c", "gpg.format=ssh", "-c", f"user.signingKey={folder / (who + '.pub')}")


def test_ssh_signatures_good_unlisted_unsigned_and_tampered(repo, keys):
    folder, allowed = keys
    good = tag(repo, "good", *ssh_sign(folder, "alice"))
    unlisted = tag(repo, "unlisted", *ssh_sign(folder, "mallory"))
    plain = tag(repo, "plain")
    # retag: the same signed tag object with its message changed, under another name
    changed = repo.git("cat-file", "tag", "good").replace("event good", "event evil")
    forged = subprocess.run(["git", "hash-object", "-t", "tag", "-w", "--stdin"], cwd=repo.path, input=changed,
                            capture_output=True, text=True, check=True).stdout.strip()
    repo.git("update-ref", "refs/tags/forged", forged)
    forged_event = Event("registration", "churn", "", "forged", 0, "+0000", "", "", "", object_id=forged)
    with G.Verifier(Git(repo.path), allowed_signers=allowed) as verifier:
        found = {e.tag: verifier.signature(e) for e in (good, unlisted, plain, forged_event)}
        folder_made = verifier._folder
        assert folder_made is not None and stat.S_IMODE(os.stat(folder_made).st_mode) == 0o700
    assert not os.path.exists(folder_made)
    assert found["good"].state == "good" and found["good"].principal == "alice@example.com"
    assert found["good"].key.startswith("SHA256:")
    assert found["unlisted"].state == "unknown" and found["unlisted"].principal is None
    assert found["plain"].state == "none"
    assert found["forged"].state == "bad"


def test_an_ssh_key_no_longer_valid_does_not_verify(repo, keys):
    folder, _ = keys
    expired = f'alice@example.com valid-before="20200101" {(folder / "alice.pub").read_text().strip()}\n'
    event = tag(repo, "late", *ssh_sign(folder, "alice"))
    with G.Verifier(Git(repo.path), allowed_signers=expired.encode()) as verifier:
        assert verifier.signature(event).state == "unknown"


@pytest.fixture
def gpg_home(tmp_path, monkeypatch):
    """The signer's own GnuPG home (GNUPGHOME) with bob's key, and a key that expired in 2020."""
    need("gpg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    def gen(uid, *extra):
        subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", *extra, "--quick-gen-key", uid, "ed25519",
                        "sign", "1d" if extra else "1y"], check=True, capture_output=True)
    gen("Bob <bob@example.com>")
    gen("Old <old@example.com>", "--faked-system-time", "20200101T000000")
    yield home
    subprocess.run(["gpgconf", "--kill", "all"], check=False, capture_output=True)


def export(*who: str) -> bytes:
    return subprocess.run(["gpg", "--batch", "--armor", "--export", *who], capture_output=True, check=True).stdout


def test_gpg_signatures_against_the_policys_keyring_not_the_users(repo, gpg_home, tmp_path):
    good = tag(repo, "bob", "-c", "user.signingKey=bob@example.com")
    wrapper = tmp_path / "gpg-in-2020"
    wrapper.write_text('#!/bin/sh\nexec gpg --faked-system-time 20200101T120000 "$@"\n')
    wrapper.chmod(0o755)
    old = tag(repo, "old", "-c", "user.signingKey=old@example.com", "-c", f"gpg.program={wrapper}")
    git = Git(repo.path)
    with G.Verifier(git, gpg_keys=export("bob@example.com", "old@example.com")) as verifier:
        bob, expired = verifier.signature(good), verifier.signature(old)
    assert bob.state == "good" and bob.principal == "bob@example.com" and len(bob.key or "") == 40
    assert expired.state == "expired" and expired.principal == "old@example.com"
    # bob's key is in the user's own keyring, but not in the policy's: not allowed
    with G.Verifier(git, gpg_keys=export("old@example.com")) as verifier:
        assert verifier.signature(good).state == "unknown"
    with G.Verifier(git) as verifier:  # a policy with no keys at all
        assert verifier.signature(good).state == "unknown"


def test_the_keys_come_from_the_policys_commit(repo, keys):
    folder, allowed = keys
    repo.commit("policy", {".tagreg/policy.yaml": "stages:\n  prod:\n    signed: true\n"
                           "signers:\n  ssh: .tagreg/allowed_signers\n",
                           ".tagreg/allowed_signers": allowed.decode()})
    event = tag(repo, "signed", *ssh_sign(folder, "alice"))
    (repo.path / ".tagreg" / "allowed_signers").write_text("")  # the worktree's copy is not read
    opened = Repository(repo.path)
    policy = governance.load(opened)
    facts = governance.facts(opened, policy)
    try:
        assert facts.signature(event).principal == "alice@example.com"
    finally:
        facts.signatures.close()
    repo.commit("keys gone", {".tagreg/policy.yaml": "signers:\n  gpg: .tagreg/keys.asc\n"})
    with pytest.raises(RegistryError, match=r"'signers.gpg' names main:.tagreg/keys.asc, which does not exist"):
        governance.facts(opened, governance.load(opened), every_signature=True)


@pytest.mark.parametrize(("code", "said", "state"), [
    (1, "error: no signature found\n", "none"),
    (1, "Could not verify signature.\nSignature verification failed: incorrect signature\n", "bad"),
    (1, "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 0123 Eve <eve@example.com>\n", "bad"),
    (1, "[GNUPG:] ERRSIG 0123 22 8 00 1796195083 9 -\n[GNUPG:] NO_PUBKEY 0123\n", "unknown"),
    (0, 'Good "git" signature for release-bot with ED25519 key SHA256:x\n', "good"),
    (1, 'Good "git" signature for release-bot with ED25519 key SHA256:x\n', "bad"),  # git said no
    (1, "x" * 10_000, "bad"),
])
def test_what_git_says_is_read_strictly(code, said, state):
    found = G.parse(code, said)
    assert found.state == state and len(found.detail) <= 200
