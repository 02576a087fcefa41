"""The policy enforced on write: a refused write is one line naming the rule, and writes nothing."""

from __future__ import annotations

import subprocess

import pytest
from conftest import git, need, run_tagreg

from tagreg import api
from tagreg.api import RegistryError

POLICY = """\
stages:
  staging:
    branches: [main]
  prod:
    promotes_from: staging
    no_downgrade: true
    who: [alice@example.com]
"""


@pytest.fixture
def clone(tmp_path, repo):
    """A clone whose origin's main holds POLICY and two models, registered as churn v0.0.1 and v0.0.2."""
    repo.commit("policy", {".tagreg/policy.yaml": POLICY})
    models = [repo.commit(f"model {n}") for n in (1, 2)]
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(path))
    for commit in models:
        assert run_tagreg(path, "register", "churn", commit).returncode == 0
    return path


def as_(path, who: str, *args: str):
    return run_tagreg(path, *args, env={"GIT_COMMITTER_EMAIL": f"{who}@example.com",
                                        "GIT_AUTHOR_EMAIL": f"{who}@example.com"})


def tags(path) -> list[str]:
    return sorted(git(path, "tag").split())


def test_a_refused_write_names_the_rule_and_writes_nothing(clone):
    before = tags(clone)
    result = as_(clone, "bob", "assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("❌ refused 'churn#prod#1': policy rule 'who' of stage 'prod': 'bob@example.com' "
                                     "may not change prod; ask one of 'alice@example.com' (and 1 more: "
                                     "promotes_from)")
    assert tags(clone) == before


def test_the_way_the_policy_allows(clone):
    assert as_(clone, "bob", "assign", "churn", "--version", "v0.0.2", "--stage", "staging").returncode == 0
    result = as_(clone, "alice", "assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    assert result.returncode == 0, result.stderr
    assert run_tagreg(clone, "which", "churn", "prod").stdout.strip() == "v0.0.2"


def test_a_commit_off_the_branches_is_refused(clone):
    git(clone, "checkout", "-q", "-b", "experiment")
    git(clone, "commit", "-q", "--allow-empty", "-m", "not on main")
    result = as_(clone, "bob", "assign", "churn", "--stage", "staging")  # registers HEAD first, then assigns
    assert result.returncode == 1
    assert "policy rule 'branches' of stage 'staging': commit " in result.stderr
    assert "is on none of the branches 'main'; merge it into one of them first" in result.stderr
    assert "churn@v0.0.3" in tags(clone)  # the registration is not governed ...
    assert not any("staging" in t for t in tags(clone))  # ... the assignment is, and was taken back


def test_a_downgrade_needs_force_and_is_recorded_as_a_rollback(clone):
    for version in ("v0.0.1", "v0.0.2"):
        assert as_(clone, "alice", "assign", "churn", "--version", version, "--stage", "staging").returncode == 0
    assert as_(clone, "alice", "assign", "churn", "--version", "v0.0.2", "--stage", "prod").returncode == 0
    refused = as_(clone, "alice", "assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    assert refused.returncode == 1
    assert "policy rule 'no_downgrade' of stage 'prod': v0.0.1 is lower than v0.0.2, in prod now; pass --force" in (
        refused.stderr)
    forced = as_(clone, "alice", "assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--force")
    assert forced.returncode == 0, forced.stderr
    newest = max((t for t in tags(clone) if "#prod#" in t), key=lambda t: int(t.rpartition("#")[2]))
    assert git(clone, "tag", "-l", "--format=%(contents)", newest).strip().endswith("Tagreg-Rollback: v0.0.2")
    assert run_tagreg(clone, "which", "churn", "prod").stdout.strip() == "v0.0.1"
    # `rollback` is a rollback by definition
    assert as_(clone, "alice", "assign", "churn", "--version", "v0.0.2", "--stage", "prod").returncode == 0
    rolled = as_(clone, "alice", "rollback", "churn", "prod")
    assert rolled.returncode == 0, rolled.stderr


def test_unassigning_deregistering_and_deleting_a_governed_stage(clone):
    as_(clone, "alice", "assign", "churn", "--version", "v0.0.2", "--stage", "staging")
    as_(clone, "alice", "assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    before = tags(clone)
    unassign = as_(clone, "bob", "deprecate", "churn", "v0.0.2", "prod")
    assert unassign.returncode == 1 and "policy rule 'who' of stage 'prod'" in unassign.stderr
    deregister = as_(clone, "bob", "deprecate", "churn", "v0.0.2")
    assert deregister.returncode == 1 and "policy rule 'who' of stage 'prod'" in deregister.stderr
    delete = as_(clone, "bob", "deprecate", "churn", "v0.0.2", "prod", "--delete")
    assert delete.returncode == 1
    assert delete.stderr.strip() == ("❌ refused to delete tags of 'churn': policy rule 'who' of stage 'prod': "
                                     "'bob@example.com' may not change prod; ask one of alice@example.com")
    assert tags(clone) == before
    assert as_(clone, "bob", "deprecate", "churn", "v0.0.1").returncode == 0  # not in a governed stage
    assert as_(clone, "alice", "deprecate", "churn", "v0.0.2", "prod").returncode == 0


def test_the_api_refuses_the_same_way(clone, monkeypatch):
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    with pytest.raises(RegistryError, match=r"^refused 'churn#prod#1': policy rule 'who'"):
        api.assign(clone, "churn", "prod", version="v0.0.2")


def test_signed_stages_need_signed_tags_by_an_allowed_key(tmp_path, repo):
    need("ssh-keygen")
    keys = tmp_path / "keys"
    keys.mkdir()
    for who in ("alice", "mallory"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / who)], check=True)
    repo.commit("policy", {
        ".tagreg/policy.yaml": "stages:\n  prod:\n    signed: true\nsigners:\n  ssh: .tagreg/allowed_signers\n",
        ".tagreg/allowed_signers": f"alice@example.com {(keys / 'alice.pub').read_text()}"})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    git(clone, "config", "gpg.format", "ssh")
    assert run_tagreg(clone, "register", "churn").returncode == 0
    unsigned = run_tagreg(clone, "assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    assert unsigned.returncode == 1
    assert "policy rule 'signed' of stage 'prod': the tag is not signed; sign it (--sign)" in unsigned.stderr
    git(clone, "config", "user.signingKey", str(keys / "mallory.pub"))
    unknown = run_tagreg(clone, "assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--sign")
    assert unknown.returncode == 1 and "it is signed by a key the policy does not list" in unknown.stderr
    assert tags(clone) == ["churn@v0.0.1"]
    git(clone, "config", "user.signingKey", str(keys / "alice.pub"))
    signed = run_tagreg(clone, "assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--sign")
    assert signed.returncode == 0, signed.stderr
    git(clone, "config", "tag.gpgSign", "true")  # git's own setting signs without --sign
    assert run_tagreg(clone, "assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--force").returncode == 0
    assert json_verified(clone) == {"churn#prod#1": "good", "churn#prod#2": "good"}


def json_verified(path) -> dict[str, str]:
    import json

    found = json.loads(run_tagreg(path, "verify", "--json").stdout)
    return {e["tag"]: e["signature"]["state"] for e in found["events"] if e["stage"]}


def test_no_policy_changes_nothing(repo):
    assert run_tagreg(repo.path, "register", "churn").returncode == 0
    assert run_tagreg(repo.path, "assign", "churn", "--version", "v0.0.1", "--stage", "prod").returncode == 0
