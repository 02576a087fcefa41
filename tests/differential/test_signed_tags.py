"""Signed tags (SSH and by tagreg's `--sign`) read the same in GTO and in tagreg: a signature is
part of the tag object, never of the message either of them shows."""

import subprocess
from pathlib import Path

import pytest
from conftest import need

from .harness import Read, assert_same, build, cli, commit, raw_git

pytestmark = pytest.mark.differential

READS = [Read(["show", "--json"]), Read(["show", "churn", "--json"]), Read(["history", "--json"]),
         Read(["history", "churn", "--plain"], "text"), Read(["check-ref", "churn#prod#2", "--json"]),
         Read(["show", "churn@v0.0.2", "--json"]), Read(["show"], "text")]


def _key(root):
    need("ssh-keygen")
    key = root / "signer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return f"{key}.pub"


def _by_hand(root, tools):
    signing = ("-c", "gpg.format=ssh", "-c", f"user.signingKey={_key(root)}")
    script = [
        commit("c1", {"model.pkl": "1\n"}),
        raw_git(*signing, "tag", "-s", "churn@v0.0.1", "-m", "Registering artifact churn version v0.0.1"),
        commit("c2", {"model.pkl": "2\n"}),
        raw_git(*signing, "tag", "-s", "churn@v0.0.2", "-m", "Registering artifact churn version v0.0.2"),
        raw_git(*signing, "tag", "-s", "churn#prod#1", "-m", "Assigning stage prod to artifact churn version v0.0.2"),
        raw_git("tag", "-a", "churn#prod#2", "-m", "Assigning stage prod to artifact churn version v0.0.2"),
    ]
    return build("tagreg", script, READS, root, tools)


def _by_tagreg(root, tools):
    key = _key(root)
    script = [
        raw_git("config", "gpg.format", "ssh"),
        raw_git("config", "user.signingKey", key),
        commit("c1", {"model.pkl": "1\n"}),
        cli("register", "churn", "--sign"),
        commit("c2", {"model.pkl": "2\n"}),
        cli("register", "churn", "--sign"),
        cli("assign", "churn", "--version", "v0.0.2", "--stage", "prod", "--sign"),
        cli("assign", "churn", "--version", "v0.0.2", "--stage", "prod", "--force", "--sign"),
    ]
    return build("tagreg", script, READS, root, tools)


SCENARIOS = {"signed-by-hand": _by_hand, "signed-by-tagreg": _by_tagreg}


@pytest.mark.parametrize("key", sorted(SCENARIOS))
@pytest.mark.parametrize("read", READS, ids=lambda r: r.id)
def test_signed_tags_read_the_same(builds, key, read):
    built = builds.get(key)
    gto, tagreg = built.reads[read.id]
    assert_same(read.args, read.kind, gto, tagreg)


def test_tagreg_signed_its_tags(builds):
    built = builds.get("signed-by-tagreg")
    key = subprocess.run(["git", "config", "user.signingKey"], cwd=built.path, env=built.env, capture_output=True,
                         text=True, check=True).stdout.strip()
    allowed = built.path.parent / "allowed_signers"
    allowed.write_text(f"signer {Path(key).read_text()}")
    for tag in ("churn@v0.0.1", "churn@v0.0.2", "churn#prod#1", "churn#prod#2"):
        proc = subprocess.run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag", tag],
                              cwd=built.path, env=built.env, capture_output=True, text=True)
        assert proc.returncode == 0 and 'Good "git" signature for signer' in proc.stderr, (tag, proc.stderr)
