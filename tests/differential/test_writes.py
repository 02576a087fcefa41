"""Writes that once did something other than asked (issue 11), against GTO 1.10.1: both tools refuse
the same commands with the same message (tagreg's rewordings compared in GTO's words), a rollback
written by tagreg reads the same in GTO, and `deprecate NAME` tags the commit GTO tags."""

from __future__ import annotations

import shutil

import pytest

from .harness import (
    TAG_BASE,
    Read,
    assert_same,
    build,
    clean_env,
    cli,
    commit,
    git,
    make_home,
    normalized_write_output,
    tagreg_tool,
)
from .scenario import read_params

pytestmark = pytest.mark.differential

REFUSALS = [
    commit("c1", {"m.txt": "1\n"}),
    cli("register", "m"),  # v0.0.1 at c1
    commit("c2", {"m.txt": "2\n"}),
    cli("register", "m"),  # v0.0.2 at c2
    cli("assign", "m", "HEAD", "--version", "v0.0.1", "--stage", "s2", rc=1),  # HEAD is v0.0.2
    cli("assign", "m", "HEAD", "--version", "v0.0.9", "--stage", "s2", rc=1),
    cli("assign", "m", "HEAD", "--sr", "--version", "v0.0.1", "--stage", "s2", rc=1),
    cli("assign", "m", "HEAD~1", "--sr", "--version", "v0.0.3", "--stage", "s2", rc=1),
    cli("register", "m", "HEAD", "--force", "--version", "v0.0.7", rc=1),  # c2 can only be v0.0.2
    cli("assign", "m", "--version", "v0.0.2", "--stage", "prod"),
    cli("assign", "m", "--version", "v0.0.2", "--stage", "prod", rc=1),  # the current one: a no-op
]
REFUSAL_READS = [Read(["show", "--json"]), Read(["show", "m", "--json"])]

ROLLBACK = [
    commit("c1", {"churn.pkl": "1\n"}),
    cli("register", "churn"),
    commit("c2", {"churn.pkl": "2\n"}),
    cli("register", "churn"),
    cli("assign", "churn", "--version", "v0.0.1", "--stage", "prod"),
    cli("assign", "churn", "--version", "v0.0.2", "--stage", "prod"),
    cli("assign", "churn", "--version", "v0.0.1", "--stage", "prod"),  # a rollback (GTO wants --force)
    commit("c3", {"churn.pkl": "3\n"}),
    cli("register", "churn"),
    cli("assign", "churn", "--version", "v0.0.3", "--stage", "prod"),
    cli("rollback", "churn", "prod"),  # back to v0.0.1, the newest other assignment still standing
]
ROLLBACK_READS = [
    Read(["show", "--json"]), Read(["show", "--json", "--vs", "-1"]), Read(["show", "churn", "--json"]),
    Read(["show", "churn#prod", "--json"]), Read(["show", "churn#prod", "--version"], "text"),
    Read(["history", "churn", "--json"]),
]

SCENARIOS = {
    "refusals-tagreg": lambda root, tools: build("tagreg", REFUSALS, REFUSAL_READS, root, tools),
    "refusals-gto": lambda root, tools: build("gto", REFUSALS, REFUSAL_READS, root, tools),
    "rollback": lambda root, tools: build("tagreg", ROLLBACK, ROLLBACK_READS, root, tools),
}


@pytest.fixture(scope="module")
def refusals(builds):
    return {"tagreg": builds.get("refusals-tagreg"), "gto": builds.get("refusals-gto")}


@pytest.fixture(scope="module")
def rollback(builds):
    return builds.get("rollback")


@pytest.mark.parametrize("index", [pytest.param(i, id=f"{i:02d} {s.label}") for i, s in enumerate(REFUSALS)
                                   if s.kind == "cli"])
def test_writes_answer_as_gto_does(refusals, index):
    step, _, by_tagreg = refusals["tagreg"].steps[index]
    _, _, by_gto = refusals["gto"].steps[index]
    assert by_tagreg is not None and by_gto is not None
    assert by_tagreg.rc == step.rc, by_tagreg.err
    assert normalized_write_output(by_tagreg) == normalized_write_output(by_gto)


def test_refused_writes_leave_the_same_tags(refusals):
    def names_and_commits(built):
        return {tag: commit for tag, (_, commit, _, _) in built.tags.items()}

    assert names_and_commits(refusals["tagreg"]) == names_and_commits(refusals["gto"])
    assert sorted(refusals["tagreg"].tags) == ["m#prod#1", "m@v0.0.1", "m@v0.0.2"]


@pytest.mark.parametrize("read", read_params(ROLLBACK_READS))
def test_a_rollback_reads_the_same_in_gto(rollback, read):
    gto, tagreg = rollback.reads[read.id]
    assert_same(read.args, read.kind, gto, tagreg)


def test_gto_reads_the_rolled_back_version_as_current(rollback):
    assert all(r is not None and r.rc == 0 for r in rollback.cli_results())
    gto, _ = rollback.reads["show churn#prod --version"]
    assert gto.out == "v0.0.1\n"
    assert "churn#prod#5" in rollback.tags  # `rollback` wrote #5 (the assign rollback #3, v0.0.3 #4)


# -- where `deprecate NAME` puts its tag -------------------------------------------------------
# Commits are dated after the tags here (the scenarios' commits are older than every tag): GTO
# counts an annotated HEAD commit as the artifact's newest event when it is newer than its tags.

ANNOTATION = "m:\n  path: m.txt\n"


def _commit_at(path, env, message, files, when):
    for name, content in files.items():
        (path / name).write_text(content)
        git(path, "add", name, env=env)
    dated = {**env, "GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    git(path, "commit", "-q", "--allow-empty", "-m", message, env=dated)
    return git(path, "rev-parse", "HEAD", env=env).strip()


@pytest.mark.parametrize("head_files, tag_after, expected", [
    ({"artifacts.yaml": ANNOTATION}, False, "c2"),  # HEAD annotates m and is newer than its tags
    ({"other.txt": "x\n"}, False, "c1"),  # HEAD does not annotate m: m's newest tag
    ({"artifacts.yaml": ANNOTATION}, True, "c1"),  # an assignment after the annotated HEAD
], ids=["annotated-head", "unannotated-head", "tag-after-annotated-head"])
def test_deprecate_tags_the_commit_gto_tags(gto_tool, tmp_path, head_files, tag_after, expected):
    tagreg = tagreg_tool()
    env = clean_env(make_home(tmp_path / "home"))
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", env=env)
    commits = {"c1": _commit_at(path, env, "c1", {"m.txt": "1\n"}, TAG_BASE)}
    assert tagreg.run(path, ["register", "m"], {**env, "GIT_COMMITTER_DATE": f"{TAG_BASE + 60} +0000"}).rc == 0
    commits["c2"] = _commit_at(path, env, "c2", head_files, TAG_BASE + 120)
    if tag_after:
        result = tagreg.run(path, ["assign", "m", "--version", "v0.0.1", "--stage", "dev"],
                            {**env, "GIT_COMMITTER_DATE": f"{TAG_BASE + 180} +0000"})
        assert result.rc == 0, result.err
    where = {}
    for tool in (gto_tool, tagreg):
        copy = tmp_path / tool.name
        shutil.copytree(path, copy, symlinks=True)
        result = tool.run(copy, ["deprecate", "m"], env)
        assert result.rc == 0, result.err
        where[tool.name] = git(copy, "rev-parse", "refs/tags/m@deprecated^{commit}", env=env).strip()
    assert where == {"gto": commits[expected], "tagreg": commits[expected]}
