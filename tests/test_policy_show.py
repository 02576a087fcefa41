"""The policy's `show:` pins GTO's show options (vs, av, sort: gto#428), so that every reader reads
the history one way: `show`, `which`, `get NAME#stage`, `describe`, the Python API (and the server:
tests/server/test_pinned_show.py). An explicit option still wins; `--no-policy` ignores the pin; no
policy reads as GTO does (the differential suite). Real repositories, the policy on origin's main."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import git, run_tagreg

from tagreg import api


def tag_at(path, name: str, at: int, ref: str = "HEAD") -> None:
    subprocess.run(["git", "tag", "-a", "-m", name, name, ref], cwd=path, check=True, capture_output=True,
                   env={**os.environ, "GIT_COMMITTER_DATE": f"@{at} +0000"})


@pytest.fixture
def clone(tmp_path, repo):
    """GTO's own example (gto-spec 3.2): prod got v0.1.0, then later v0.0.1. By the newest
    assignment (GTO's default) prod holds v0.0.1; by SemVer, v0.1.0. origin's main pins sort: semver."""
    repo.commit("policy", {".tagreg/policy.yaml": "show:\n  sort: semver\n",
                           "artifacts.yaml": "churn:\n  path: model.txt\n  description: the first\n",
                           "model.txt": "weights one\n"})
    first = repo.git("rev-parse", "HEAD").strip()
    repo.commit("model two", {"artifacts.yaml": "churn:\n  path: model.txt\n  description: the second\n",
                              "model.txt": "weights two\n"})
    tag_at(repo.path, "churn@v0.0.1", 1_700_000_000, first)
    tag_at(repo.path, "churn@v0.1.0", 1_700_000_010)
    tag_at(repo.path, "churn#prod#1", 1_700_000_020)  # v0.1.0
    tag_at(repo.path, "churn#prod#2", 1_700_000_030, first)  # v0.0.1, later
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(path))
    return path


def ok(path, *args: str) -> str:
    result = run_tagreg(path, *args)
    assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr)
    return result.stdout


def test_every_reader_reads_the_stage_as_pinned(clone, tmp_path):
    assert ok(clone, "which", "churn", "prod") == "v0.1.0\n"
    assert json.loads(ok(clone, "show", "--json"))["churn"]["stage"]["prod"] == "v0.1.0"
    table = ok(clone, "show", "churn", "--plain")
    assert [line.split()[1:3] for line in table.splitlines() if "prod" in line] == [["v0.1.0", "prod"]]
    ok(clone, "get", "churn#prod", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out").read_text() == "weights two\n"
    assert "the second" in ok(clone, "describe", "churn#prod")
    assert ok(clone, "which", "churn", "prod", "--ref") == "churn#prod#1\n"


def test_an_explicit_option_wins_and_no_policy_reads_as_gto(clone):
    assert json.loads(ok(clone, "show", "--json", "--sort", "timestamp"))["churn"]["stage"]["prod"] == "v0.0.1"
    shown = json.loads(ok(clone, "show", "--json", "--vs", "-1"))["churn"]["stage"]["prod"]
    assert shown == "v0.1.0, v0.0.1", "--vs given, sort still pinned: SemVer order (GTO joins them)"
    assert ok(clone, "which", "churn", "prod", "--no-policy") == "v0.0.1\n"
    assert json.loads(ok(clone, "show", "--json", "--no-policy"))["churn"]["stage"]["prod"] == "v0.0.1"
    assert ok(clone, "which", "churn", "prod") == "v0.1.0\n", "a cached answer of --no-policy is not the pinned one"


def test_the_api_reads_as_pinned_unless_told(clone):
    assert api.show_options(clone) == (1, -1, "semver")
    assert api.show_options(clone, sort="timestamp", vs=2) == (2, -1, "timestamp")
    assert api.which(clone, "churn", "prod").version == "v0.1.0"
    assert api.which(clone, "churn", "prod", sort="timestamp").version == "v0.0.1"
    assert api.locate("churn", stage="prod", repo=clone).commit == api.which(clone, "churn", "prod").commit
    raw = api.Repository(clone, policy=False)
    assert api.show_options(raw) == (1, -1, "timestamp") and api.which(raw, "churn", "prod").version == "v0.0.1"
    view = api.show_registry(clone, cached=False)
    assert [v for a in view.artifacts for v in a.stages["prod"]] == ["v0.1.0"]


def test_a_pin_merged_into_main_applies_from_the_next_fetch(clone, repo):
    assert ok(clone, "which", "churn", "prod") == "v0.1.0\n"
    repo.commit("pin av too", {".tagreg/policy.yaml": "show:\n  sort: timestamp\n  av: 0\n"})
    assert ok(clone, "which", "churn", "prod") == "v0.1.0\n", "read from origin/main as fetched"
    git(clone, "fetch", "-q", "origin")
    assert json.loads(ok(clone, "show", "--json"))["churn"]["stage"]["prod"] is None, "av 0: no stage kept"
    assert ok(clone, "which", "churn", "prod") == "", "which agrees with show"
    assert json.loads(ok(clone, "show", "--json", "--av", "-1"))["churn"]["stage"]["prod"] == "v0.0.1"


@pytest.mark.parametrize(("pin", "said"), [
    ("show:\n  sort: newest\n", "'show.sort' must be one of timestamp, semver, not 'newest'"),
    ("show:\n  versions: 2\n", "'show' has an unknown key 'versions' (known: av, sort, vs)"),
])
def test_a_bad_pin_is_one_line_for_every_reader(clone, repo, pin, said):
    repo.commit("bad pin", {".tagreg/policy.yaml": pin})
    git(clone, "fetch", "-q", "origin")
    for args in (("which", "churn", "prod"), ("show",), ("get", "churn#prod", "--print-path")):
        result = run_tagreg(clone, *args)
        assert result.returncode == 1 and result.stdout == "", args
        assert result.stderr.strip() == f"❌ origin/main:.tagreg/policy.yaml: {said}", args
    assert run_tagreg(clone, "which", "churn", "prod", "--no-policy").stdout == "v0.0.1\n"
