"""The policy on a remote registry (`-r URL`), served by git daemon: read from the remote's default
branch (the mirror's HEAD), enforced on read and on write, a signed write pushed and verified, the
CI verdict and the pinned show options, as for a local clone. Real SSH keys."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import need

from .helpers import error_line, ok, only_mirror, tag_objects, tagreg

POLICY = """\
stages:
  prod:
    signed: true
    who: [alice@example.com]
signers:
  ssh: .tagreg/allowed_signers
show:
  sort: semver
"""


@pytest.fixture
def governed(server, tmp_path):
    """The served registry (m v0.0.1 in prod by an unsigned tag, m v0.0.2 registered) with a policy
    pushed to main: prod only by alice, signed with her SSH key. (server, alice's key)"""
    need("ssh-keygen")
    key = tmp_path / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key)], check=True)
    server.commit_file("main", {".tagreg/policy.yaml": POLICY,
                                ".tagreg/allowed_signers": f"alice@example.com {key.with_suffix('.pub').read_text()}"},
                       "policy", tmp_path)
    return server, key


def as_(who: str, key=None) -> dict[str, str]:
    """The environment of a person (signing with key, as git's own config would)."""
    env = {"GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": f"{who}@example.com",
           "GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": f"{who}@example.com"}
    if key is not None:
        env.update({"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "gpg.format", "GIT_CONFIG_VALUE_0": "ssh",
                    "GIT_CONFIG_KEY_1": "user.signingKey", "GIT_CONFIG_VALUE_1": f"{key}.pub"})
    return env


def test_a_remote_is_read_as_its_default_branchs_policy_says(governed, work):
    server, _ = governed
    which = tagreg(work, "which", "m", "prod", "-r", server.url)
    assert (which.returncode, which.stdout) == (0, "")
    assert "⚠️ 'm#prod#1' is not in effect: policy rule 'signed' of stage 'prod': the tag is not signed" in which.stderr
    assert ok(tagreg(work, "which", "m", "prod", "-r", server.url, "--no-policy")) == "v0.0.1\n"
    verdict = json.loads(ok(tagreg(work, "check-ref", "m#prod#1", "-r", server.url, "--format", "json")))
    assert (verdict["policy"], verdict["event"]) == ("refused", "")
    assert error_line(tagreg(work, "check-ref", "m#prod#1", "-r", server.url, "--policy")).startswith(
        "❌ 'm#prod#1' is not in effect: policy rule 'signed' of stage 'prod'")


def test_a_refused_write_to_a_remote_pushes_nothing_and_a_signed_one_is_in_effect(governed, work):
    server, key = governed
    before = server.tag_objects()
    line = error_line(tagreg(work, "assign", "m", "--version", "v0.0.2", "--stage", "prod", "-r", server.url,
                             env=as_("mallory")))
    assert line.startswith("❌ refused 'm#prod#2': policy rule 'signed' of stage 'prod': the tag is not signed")
    assert line.endswith("(and 1 more: who)")
    assert server.tag_objects() == before
    assert tag_objects(only_mirror(work.parent / "cache")) == before, "the mirror took the refused tag back"
    ok(tagreg(work, "assign", "m", "--version", "v0.0.2", "--stage", "prod", "--sign", "-r", server.url,
              env=as_("alice", key)))
    assert "m#prod#2" in server.tags()
    assert ok(tagreg(work, "which", "m", "prod", "-r", server.url)) == "v0.0.2\n"
    verdict = json.loads(ok(tagreg(work, "check-ref", "m#prod#2", "-r", server.url, "--policy", "--format", "json")))
    assert (verdict["policy"], verdict["signature"], verdict["signed_by"]) == ("allowed", "good", "alice@example.com")
    audit = json.loads(ok(tagreg(work, "verify", "m", "-r", server.url, "--json")))
    by_tag = {e["tag"]: e for e in audit["events"]}
    assert by_tag["m#prod#2"]["allowed"] and by_tag["m#prod#2"]["signature"]["principal"] == "alice@example.com"
    assert not by_tag["m#prod#1"]["allowed"]


def test_the_pinned_show_options_hold_for_a_remote(governed, work, tmp_path):
    server, key = governed
    ok(tagreg(work, "assign", "m", "--version", "v0.0.2", "--stage", "prod", "--sign", "-r", server.url,
              env=as_("alice", key)))
    ok(tagreg(work, "assign", "m", "--version", "v0.0.1", "--stage", "prod", "--sign", "--force", "-r", server.url,
              env=as_("alice", key)))  # the newest assignment: v0.0.1; by SemVer (pinned): v0.0.2
    assert ok(tagreg(work, "which", "m", "prod", "-r", server.url)) == "v0.0.2\n"
    shown = json.loads(ok(tagreg(work, "show", "--json", "-r", server.url, "--sort", "timestamp")))
    assert shown["m"]["stage"]["prod"] == "v0.0.1", "an explicit option wins"
