"""The policy enforced on read: an event that breaks it (pushed by hand, by GTO, by an old client)
is not in effect for any reader, which says so; `--no-policy` shows the raw registry."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import git, run_tagreg

from tagreg import api

POLICY = "stages:\n  prod:\n    who: [alice@example.com]\n"


def tag_by(path, name: str, who: str, at: int) -> None:
    """A tag made with plain git, as anyone with push rights can."""
    subprocess.run(["git", "tag", "-a", "-m", name, name, "HEAD"], cwd=path, check=True, capture_output=True,
                   env={**os.environ, "GIT_COMMITTER_DATE": f"@{at} +0000",
                        "GIT_COMMITTER_EMAIL": f"{who}@example.com"})


@pytest.fixture
def clone(tmp_path, repo):
    """origin's main holds the policy (prod: alice only); alice put v0.0.1 in prod, then mallory
    pushed an assignment of v0.0.2 to prod by hand."""
    repo.commit("policy", {".tagreg/policy.yaml": POLICY, "artifacts.yaml": "churn:\n  path: model.txt\n",
                           "model.txt": "weights 1\n"})
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(path))
    tag_by(path, "churn@v0.0.1", "alice", 1_700_000_000)
    tag_by(path, "churn#prod#1", "alice", 1_700_000_010)
    (path / "model.txt").write_text("weights 2\n")
    git(path, "commit", "-q", "-am", "model 2")
    tag_by(path, "churn@v0.0.2", "mallory", 1_700_000_020)
    tag_by(path, "churn#prod#2", "mallory", 1_700_000_030)
    return path


NOTICE = ("⚠️ 'churn#prod#2' is not in effect: policy rule 'who' of stage 'prod': 'mallory@example.com' may not "
          "change prod; ask one of 'alice@example.com' (--no-policy shows it)")


def test_readers_see_the_registry_the_policy_allows_and_say_why(clone):
    which = run_tagreg(clone, "which", "churn", "prod")
    assert (which.returncode, which.stdout.strip()) == (0, "v0.0.1")
    assert which.stderr.strip() == NOTICE
    shown = json.loads(run_tagreg(clone, "show", "--json").stdout)
    assert shown["churn"]["stage"]["prod"] == "v0.0.1"
    table = run_tagreg(clone, "show")
    assert "v0.0.1" in table.stdout.splitlines()[3] and NOTICE in table.stderr
    versions = {v["version"]: v["stages"] for v in json.loads(run_tagreg(clone, "show", "churn", "--json").stdout)}
    assert [s["stage"] for s in versions["v0.0.1"]] == ["prod"] and versions["v0.0.2"] == []
    history = json.loads(run_tagreg(clone, "history", "churn", "--json").stdout)
    assert "churn#prod#2" not in [h["ref"] for h in history]
    got = run_tagreg(clone, "get", "churn#prod", "-o", str(clone.parent / "out"))
    assert got.returncode == 0, got.stderr
    assert (clone.parent / "out").read_text() == "weights 1\n"  # never what the bypass put there


def test_a_pushed_tag_the_policy_refuses_is_no_event_in_ci(clone):
    result = run_tagreg(clone, "check-ref", "churn#prod#2", "--format", "shell")
    assert result.returncode == 0 and "TAGREG_EVENT=''" in result.stdout
    assert NOTICE in result.stderr
    assert run_tagreg(clone, "check-ref", "churn#prod#2", "--strict").returncode == 1
    assert run_tagreg(clone, "check-ref", "churn#prod#2", "--policy").returncode == 1


def test_no_policy_shows_the_raw_registry(clone, monkeypatch):
    raw = run_tagreg(clone, "which", "churn", "prod", "--no-policy")
    assert (raw.stdout.strip(), raw.stderr) == ("v0.0.2", "")
    assert run_tagreg(clone, "which", "churn", "prod", env={"TAGREG_NO_POLICY": "1"}).stdout.strip() == "v0.0.2"
    assert api.which(clone, "churn", "prod").version == "v0.0.1"
    assert api.which(api.Repository(clone, policy=False), "churn", "prod").version == "v0.0.2"
    monkeypatch.setenv("TAGREG_NO_POLICY", "1")
    assert api.which(clone, "churn", "prod").version == "v0.0.2"


def test_answers_cached_before_the_policy_are_not_served_after_it(tmp_path, repo):
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(path))
    tag_by(path, "churn@v0.0.1", "alice", 1_700_000_000)
    tag_by(path, "churn#prod#1", "alice", 1_700_000_010)
    tag_by(path, "churn#prod#2", "mallory", 1_700_000_030)  # the same version again, by mallory
    git(path, "commit", "-q", "--allow-empty", "-m", "model 2")
    tag_by(path, "churn@v0.0.2", "alice", 1_700_000_040)
    tag_by(path, "churn#prod#3", "mallory", 1_700_000_050)
    for _ in range(2):  # read twice: the second answer comes from the cache
        assert run_tagreg(path, "which", "churn", "prod").stdout.strip() == "v0.0.2"
        assert json.loads(run_tagreg(path, "show", "--json").stdout)["churn"]["stage"]["prod"] == "v0.0.2"
    repo.commit("policy", {".tagreg/policy.yaml": POLICY})
    git(path, "fetch", "-q", "origin")
    assert run_tagreg(path, "which", "churn", "prod").stdout.strip() == "v0.0.1"
    assert json.loads(run_tagreg(path, "show", "--json").stdout)["churn"]["stage"]["prod"] == "v0.0.1"


def test_a_write_counts_every_tag_also_those_not_in_effect(clone):
    result = run_tagreg(clone, "assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--force",
                        env={"GIT_COMMITTER_EMAIL": "alice@example.com"})
    assert result.returncode == 0, result.stderr
    assert "churn#prod#3" in git(clone, "tag").split()  # #2 is taken, though not in effect
    assert run_tagreg(clone, "which", "churn", "prod").stdout.strip() == "v0.0.1"


WHY = {"rule": "who", "stage": "prod", "reason": "'mallory@example.com' may not change prod",
       "remedy": "ask one of 'alice@example.com'"}
WITHHELD = {"tag": "churn#prod#2", "event": "assignment", "version": "v0.0.2", "stage": "prod",
            "author_email": "mallory@example.com", "breaches": [WHY]}


def test_show_json_carries_why_an_event_is_not_in_effect(clone):
    shown = json.loads(run_tagreg(clone, "show", "--json").stdout)
    assert shown["churn"]["not_in_effect"] == [WITHHELD]
    assert list(shown["churn"]) == ["version", "stage", "registered", "active", "not_in_effect"]
    versions = {v["version"]: v for v in json.loads(run_tagreg(clone, "show", "churn", "--json").stdout)}
    assert versions["v0.0.2"]["not_in_effect"] == [WITHHELD]
    assert versions["v0.0.1"]["not_in_effect"] == []  # governed: the key is there, with nothing left out
    assert api.show_registry(clone).withheld[0].breaches[0].remedy == WHY["remedy"]
    assert api.show(clone, "churn")[0].not_in_effect[0].tag == "churn#prod#2"


def test_without_a_governing_policy_the_json_is_gtos(clone, tmp_path):
    for args in (("show", "--json"), ("show", "churn", "--json")):
        assert "not_in_effect" not in run_tagreg(clone, *args, "--no-policy").stdout
    plain = tmp_path / "plain"  # the same tags, and a policy file that governs nothing
    git(tmp_path, "clone", "-q", str(clone), str(plain))
    git(plain, "fetch", "-q", "--tags", str(clone))
    (plain / ".tagreg" / "policy.yaml").write_text("stages: {}\n")
    git(plain, "commit", "-qam", "no rules")
    git(plain, "update-ref", "refs/remotes/origin/main", "HEAD")
    for args in (("show", "--json"), ("show", "churn", "--json")):
        result = run_tagreg(plain, *args)
        assert "not_in_effect" not in result.stdout and result.stderr == ""
        assert result.stdout == run_tagreg(plain, *args, "--no-policy").stdout


def test_the_tables_mark_what_a_left_out_event_would_change(clone):
    table = run_tagreg(clone, "show", "--plain")
    assert table.stdout.splitlines()[1].split() == ["churn", "v0.0.2", "v0.0.1", "(!)"]
    assert table.stderr.splitlines()[0].startswith("(!): an event the policy does not allow would change this")
    assert NOTICE in table.stderr
    rows = {line.split()[1]: line.split()[2] for line in run_tagreg(clone, "show", "churn", "--plain").stdout
            .splitlines()[1:]}
    assert rows == {"v0.0.2": "(!)", "v0.0.1": "prod"}  # v0.0.2 is not in prod, and that is why
    raw = run_tagreg(clone, "show", "--plain", "--no-policy")
    assert "(!)" not in raw.stdout and raw.stderr == ""


def test_a_refused_unassignment_marks_the_version_still_in_the_stage(clone):
    subprocess.run(["git", "tag", "-a", "-m", "out", "churn#prod!#3", "churn@v0.0.1^{}"], cwd=clone, check=True,
                   env={**os.environ, "GIT_COMMITTER_DATE": "@1700000040 +0000",
                        "GIT_COMMITTER_EMAIL": "mallory@example.com"})
    shown = json.loads(run_tagreg(clone, "show", "--json").stdout)
    assert shown["churn"]["stage"]["prod"] == "v0.0.1"
    assert [w["tag"] for w in shown["churn"]["not_in_effect"]] == ["churn#prod#2", "churn#prod!#3"]
    versions = {v["version"]: [w["tag"] for w in v["not_in_effect"]]
                for v in json.loads(run_tagreg(clone, "show", "churn", "--json").stdout)}
    assert versions == {"v0.0.2": ["churn#prod#2"], "v0.0.1": ["churn#prod!#3"]}


def test_every_reader_says_the_same_and_no_list_of_events_has_the_refused_one(clone):
    for args in (("which", "churn", "prod"), ("show",), ("show", "churn"), ("history", "churn"), ("history",),
                 ("describe", "churn#prod"), ("events",), ("check-ref", "churn#prod#2"), ("show", "--json"),
                 ("history", "--json"), ("events", "--json"), ("describe", "churn#prod", "--json")):
        result = run_tagreg(clone, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert [line for line in result.stderr.splitlines() if not line.startswith("(!)")] == [NOTICE], args
    history = json.loads(run_tagreg(clone, "history", "--json").stdout)
    events = json.loads(run_tagreg(clone, "events", "--json").stdout)
    assert "churn#prod#2" not in [h["ref"] for h in history] + [e["tag"] for e in events]
    assert "churn#prod#2" in [e["tag"] for e in json.loads(run_tagreg(clone, "events", "--json", "--no-policy")
                                                          .stdout)]
