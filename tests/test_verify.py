"""`tagreg verify`: every event's signature and the policy over the whole history."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import git, need, run_tagreg

POLICY = """\
stages:
  prod:
    branches: [main]
    promotes_from: staging
    signed: true
    who: [alice@example.com]
signers:
  ssh: .tagreg/allowed_signers
"""


@pytest.fixture
def registry(tmp_path, repo):
    """origin (repo) with a policy and alice's key on main, and a clone with a history in which
    some events break the policy: (clone, alice's signing config)."""
    need("ssh-keygen")
    keys = tmp_path / "keys"
    keys.mkdir()
    for who in ("alice", "mallory"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / who)], check=True)
    repo.commit("policy", {".tagreg/policy.yaml": POLICY,
                           ".tagreg/allowed_signers": f"alice@example.com {(keys / 'alice.pub').read_text()}"})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    git(clone, "config", "gpg.format", "ssh")

    # tags made by hand with git (as GTO or an old client would), so each second is its own
    stamp = iter(range(1_700_000_000, 1_700_000_100, 10))

    def tag(name: str, who: str, sign: bool):
        git(clone, "config", "user.signingKey", str(keys / f"{who}.pub"))
        date = f"@{next(stamp)} +0000"
        subprocess.run(["git", "tag", "-s" if sign else "-a", "-m", name, name],
                       cwd=clone, check=True, capture_output=True,
                       env={**os.environ, "GIT_COMMITTER_DATE": date,
                            "GIT_COMMITTER_EMAIL": f"{who}@example.com"})

    tag("churn@v1.0.0", "alice", sign=False)
    tag("churn#prod#1", "alice", sign=True)  # not in staging first
    tag("churn#staging#2", "mallory", sign=False)
    tag("churn#prod#3", "alice", sign=True)  # fine
    tag("churn#prod#4", "mallory", sign=True)  # a key not allowed
    return clone


def test_the_table_says_who_signed_and_what_breaks(registry):
    result = run_tagreg(registry, "verify", "churn")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "churn" in line]
    assert len(rows) == 5
    assert "alice@example.com" in rows[1] and "breaks promotes_from" in rows[1]
    assert "unsigned" in rows[2] and rows[2].rstrip(" │").endswith("ok")
    assert rows[3].rstrip(" │").endswith("ok")
    assert "unknown key" in rows[4] and "breaks signed, who" in rows[4]
    assert ("churn#prod#1: policy rule 'promotes_from' of stage 'prod': version v1.0.0 has not been in 'staging'; "
            "assign it to staging first") in result.stderr
    assert result.stderr.rstrip().endswith(
        "5 events checked against origin/main:.tagreg/policy.yaml: 2 break the policy, 1 with a signature that does "
        "not verify")


def test_strict_fails_and_json_carries_the_reasons(registry):
    assert run_tagreg(registry, "verify", "--strict").returncode == 1
    found = json.loads(run_tagreg(registry, "verify", "--json").stdout)
    assert found["policy"] == "origin/main:.tagreg/policy.yaml" and (found["broken"], found["badly_signed"]) == (2, 1)
    by_tag = {e["tag"]: e for e in found["events"]}
    assert by_tag["churn#prod#3"]["allowed"] and by_tag["churn#prod#3"]["signature"]["state"] == "good"
    assert by_tag["churn#prod#3"]["signature"]["principal"] == "alice@example.com"
    assert [b["rule"] for b in by_tag["churn#prod#4"]["breaches"]] == ["signed", "who"]
    assert by_tag["churn#prod#4"]["signature"]["state"] == "unknown"


def test_a_clean_history_passes_strict(registry):
    for name in ("churn#prod#1", "churn#prod#4"):
        git(registry, "tag", "-d", name)
    result = run_tagreg(registry, "verify", "--strict")  # staging has no rules: its unsigned event is fine
    assert result.returncode == 0, result.stderr
    found = json.loads(run_tagreg(registry, "verify", "--json").stdout)
    assert (found["broken"], found["badly_signed"]) == (0, 0)


def test_no_policy_is_one_line(repo):
    result = run_tagreg(repo.path, "verify")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.strip().endswith("there is no policy to verify against: no .tagreg/policy.yaml at main")
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_ref_with_the_policy_refuses_what_is_not_in_effect(registry):
    refused = run_tagreg(registry, "check-ref", "churn#prod#4", "--policy", "--format", "shell")
    assert refused.returncode == 1  # after the outputs, which say so and give no event to act on
    assert "TAGREG_POLICY=refused\n" in refused.stdout and "TAGREG_EVENT=''\n" in refused.stdout
    assert refused.stderr.strip().splitlines()[-1] == (
        "❌ 'churn#prod#4' is not in effect: policy rule 'signed' of stage 'prod': it is signed by a key the policy "
        "does not list (no allowed signer has this key); sign it (--sign) with a key listed in the policy's signers; "
        "policy rule 'who' of stage 'prod': 'mallory@example.com' may not change prod; ask one of 'alice@example.com'")
    allowed = run_tagreg(registry, "check-ref", "churn#prod#3", "--policy", "--json")
    assert allowed.returncode == 0 and json.loads(allowed.stdout)["stage"] == "prod"
    assert run_tagreg(registry, "check-ref", "v1.0.0", "--policy").returncode == 0  # not a registry event
    assert run_tagreg(registry, "check-ref", "churn#prod#4").returncode == 0  # without --policy: what it says


def test_doctor_reports_the_history_the_policy_would_not_have_allowed(registry):
    result = run_tagreg(registry, "doctor", "--strict", "--offline")
    assert result.returncode == 1
    out = result.stdout
    assert "tag 'churn#prod#1' is not in effect: policy rule 'promotes_from' of stage 'prod'" in out
    assert "tag 'churn#prod#4': signature unknown (no allowed signer has this key)" in out
    (registry / ".tagreg" / "policy.yaml").write_text("stages: {}\n")
    edited = run_tagreg(registry, "doctor", "--offline").stdout
    assert (".tagreg/policy.yaml in the worktree is not the policy in effect (origin/main:.tagreg/policy.yaml): it "
            "takes effect once merged there") in edited


def test_the_api_audits_as_the_cli_does(registry):
    from tagreg import api

    audit = api.verify(registry, "churn")
    assert audit.policy.source == "origin/main:.tagreg/policy.yaml"
    assert [v.event.tag for v in audit.broken] == ["churn#prod#1", "churn#prod#4"]
    assert [v.event.tag for v in audit.badly_signed] == ["churn#prod#4"]
    assert audit.to_dict() == json.loads(run_tagreg(registry, "verify", "churn", "--json").stdout)
    assert api.judge_tag(registry, "churn#prod#3") == [] and [b.rule for b in api.judge_tag(registry, "churn#prod#4")] \
        == ["signed", "who"]
