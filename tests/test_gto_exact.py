"""`--gto-exact` and TAGREG_GTO_EXACT=1: read only the annotation file GTO reads (artifacts.yaml).

The differential proof against gto itself is tests/differential/test_gto_exact.py; these tests
say what the switch does, where it can be given, and that it stays within the command it is
given to. Also: `--traceback` is accepted after the command, as the switch is.
"""

from __future__ import annotations

import json
import os

import pytest

from tagreg import api

ARTIFACTS = "model:\n  path: model.pkl\n"
DVC_YAML = "artifacts:\n  clf:\n    path: clf.pkl\n    desc: only in dvc.yaml\n"
SUB_DVC_YAML = "artifacts:\n  seg:\n    path: seg.pkl\n"


@pytest.fixture
def registry(repo):
    """model (artifacts.yaml), clf (dvc.yaml) and sub:seg (sub/dvc.yaml), each registered; HEAD
    annotated only."""
    repo.commit("annotations", {"artifacts.yaml": ARTIFACTS, "dvc.yaml": DVC_YAML, "sub/dvc.yaml": SUB_DVC_YAML})
    for name in ("model", "clf", "sub:seg"):
        assert repo.run("register", name).returncode == 0
    repo.commit("more", {"dvc.yaml": DVC_YAML + "  fresh:\n    path: fresh.pkl\n"})
    return repo


def shown(repo, *args: str, env: dict | None = None) -> dict:
    result = repo.run(*args, "show", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_the_switch_dvc_yaml_annotates(registry):
    assert set(shown(registry)) == {"model", "clf", "sub:seg", "fresh"}
    assert shown(registry)["fresh"]["registered"] is False


@pytest.mark.parametrize("where", ["before", "after", "environment"])
def test_the_switch_reads_only_artifacts_yaml(registry, where):
    """Registered artifacts stay (their tags say so); what only dvc.yaml says is not read."""
    env = {"TAGREG_GTO_EXACT": "1"} if where == "environment" else None
    before = ["--gto-exact"] if where == "before" else []
    after = ["--gto-exact"] if where == "after" else []
    result = registry.run(*before, "show", "--json", *after, env=env)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"model", "clf", "sub:seg"}
    versions = json.loads(registry.run(*before, "show", "clf", "--json", *after, env=env).stdout)
    assert [e["enrichments"] for v in versions for e in v["enrichments"]] == [[]]  # no `dvc` enrichment
    missing = registry.run(*before, "show", "fresh", *after, env=env)
    assert missing.returncode == 1 and "Cannot find artifact 'fresh'" in missing.stderr
    described = registry.run(*before, "describe", "clf", *after, env=env)
    assert described.returncode == 1 and "No annotation found for 'clf'" in described.stderr
    assert registry.run(*before, "describe", "model", "--path", *after, env=env).stdout == "model.pkl\n"


def test_views_read_with_and_without_the_switch_are_kept_apart(registry):
    """The cached registry table is one per way of reading: neither answers for the other."""
    assert "fresh" in shown(registry)
    assert "fresh" not in shown(registry, "--gto-exact")
    assert "fresh" in shown(registry)
    assert "fresh" not in shown(registry, env={"TAGREG_GTO_EXACT": "true"})


def test_the_switch_ends_with_its_command(registry):
    """A command run in this process (a script, a test) leaves the environment as it found it."""
    assert "TAGREG_GTO_EXACT" not in os.environ
    shown(registry, "--gto-exact")
    registry.run("show", "--gto-exact")
    assert "TAGREG_GTO_EXACT" not in os.environ
    assert "fresh" in shown(registry)


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_the_variable_off(registry, value):
    assert "fresh" in shown(registry, env={"TAGREG_GTO_EXACT": value})


def test_a_variable_that_is_no_flag_is_one_line(registry):
    result = registry.run("show", env={"TAGREG_GTO_EXACT": "maybe"})
    assert result.returncode == 1
    assert result.stderr == "❌ TAGREG_GTO_EXACT must be 1 or 0 (true or false), not 'maybe'\n"


def test_the_api_reads_the_variable(registry, monkeypatch):
    assert "fresh" in {a.name for a in api.show_registry(registry.path).artifacts}
    monkeypatch.setenv("TAGREG_GTO_EXACT", "1")
    assert "fresh" not in {a.name for a in api.show_registry(registry.path).artifacts}
    assert api.describe(registry.path, "clf") is None


@pytest.mark.parametrize("flag", ["--traceback", "--tb"])
def test_traceback_after_the_command(repo, flag):
    result = repo.run("register", "bad name", flag)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    plain = repo.run("register", "bad name")
    assert plain.returncode == 1 and "Traceback" not in plain.stderr  # the flag of one command is not the next's


def test_the_cli_names_the_variable_the_config_reads():
    from tagreg import config
    from tagreg.cli import group

    assert group.GTO_EXACT_ENV == config.GTO_EXACT_ENV
