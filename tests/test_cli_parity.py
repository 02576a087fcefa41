"""Where GTO 1.10.1's answer is the right one (issue 13): a repository before its first commit,
field printers of an empty answer, GTO's wording of a bad `--sort`/`--simple` value, and
`parse-tag --key`. Each expectation is GTO's output on the same repository (see
tests/differential/test_cli_parity.py, which runs gto itself)."""

from __future__ import annotations

import json

import pytest
from conftest import Repo, git, run_tagreg

NOTHING = "Nothing found in the current workspace\n"


def ok(path, *args) -> str:
    result = run_tagreg(path, *args)
    assert result.returncode == 0, f"tagreg {args} failed: {result.stderr}"
    assert result.stderr == "", result.stderr
    return result.stdout


def error(path, *args) -> str:
    result = run_tagreg(path, *args)
    assert result.returncode == 1, f"tagreg {args} should fail: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr and result.stdout == ""
    [line] = result.stderr.splitlines()
    return line


EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC


@pytest.fixture
def tag(monkeypatch):
    """Make an annotated tag, a minute after the one before (events in one second would tie)."""
    made = []

    def tag(repo: Repo, name: str, message: str) -> None:
        made.append(name)
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH + 60 * len(made)} +0000")
        repo.git("tag", "-a", name, "-m", message)

    return tag


@pytest.fixture
def empty(tmp_path) -> Repo:
    """`git init` and nothing else."""
    path = tmp_path / "empty"
    path.mkdir()
    git(path, "init", "-q")
    return Repo(path)


# -- a repository without commits --------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["show"], NOTHING),
    (["show", "--plain"], NOTHING),
    (["show", "--json"], "{}\n"),
    (["show", "--name"], ""),
    (["show", "--ref"], ""),
    (["show", "--version"], ""),
    (["show", "--stage"], ""),
    (["history"], NOTHING),
])
def test_reads_of_an_empty_repository_give_gtos_empty_answer(empty, args, expected):
    assert ok(empty.path, *args) == expected


@pytest.mark.parametrize("args", [["show", "m"], ["show", "m@latest"], ["show", "m", "--json"],
                                  ["show", "m@v0.0.1"], ["latest", "m"], ["which", "m", "prod"]])
def test_an_artifact_of_an_empty_repository_is_not_found(empty, args):
    assert error(empty.path, *args) == "❌ Cannot find artifact 'm'"


def test_writes_to_an_empty_repository_still_say_why_they_cannot(empty):
    assert "no commits" in error(empty.path, "register", "m")
    assert empty.tags() == []


def test_an_orphan_branch_reads_the_tags_with_no_annotation_at_head(repo, tag):
    """HEAD on a branch with no commit yet (`git checkout --orphan`): the tags are still there."""
    repo.commit("c1", {"artifacts.yaml": "m:\n  type: model\n"})
    tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1")
    tag(repo, "m#prod#1", "Assigning stage prod to artifact m version v0.0.1")
    repo.git("checkout", "-q", "--orphan", "fresh")
    assert json.loads(ok(repo.path, "show", "--json")) == {
        "m": {"version": "v0.0.1", "stage": {"prod": "v0.0.1"}, "registered": True, "active": True}}
    [version] = json.loads(ok(repo.path, "show", "m", "--json"))
    assert (version["version"], version["ref"]) == ("v0.0.1", "m@v0.0.1")
    assert ok(repo.path, "show", "m@latest", "--version") == "v0.0.1\n"
    assert ok(repo.path, "which", "m", "prod") == "v0.0.1\n"


def test_doctor_finds_nothing_wrong_with_an_empty_repository(empty):
    """GTO: `✅  No issues found`, exit 0. Nothing is wrong with a new repository, --strict or not."""
    for args in (["doctor"], ["doctor", "--strict"]):
        out = ok(empty.path, *args)
        assert out.splitlines()[-1] == "✅  No issues found" and "no commits" not in out
    report = json.loads(ok(empty.path, "doctor", "--json"))
    assert [c["level"] for c in report["checks"]] == ["ok"] and "no commits yet" in report["checks"][0]["message"]


def test_doctor_on_an_orphan_branch_checks_the_tags(repo, tag):
    """HEAD on a branch with no commit yet: no annotations at HEAD to check, but the tags are there."""
    repo.commit("c1", {"artifacts.yaml": "m:\n  path: missing.pkl\n"})
    tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1")
    repo.git("tag", "m@v0.0.2")  # lightweight
    repo.git("checkout", "-q", "--orphan", "fresh")
    result = run_tagreg(repo.path, "doctor", "--strict")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "tag 'm@v0.0.2' is lightweight" in result.stdout
    assert "m@v0.0.1: path 'missing.pkl' does not exist" in result.stdout
    assert "no commits" not in result.stdout + result.stderr


# -- field printers of an empty answer ---------------------------------------------------------


@pytest.mark.parametrize("field", ["--ref", "--version", "--stage", "--name"])
def test_a_field_of_a_registry_with_no_artifact_prints_nothing(repo, tag, field):
    assert ok(repo.path, "show", field) == ""
    tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1")
    tag(repo, "m@deprecated", "Deprecating artifact 'm'")
    assert ok(repo.path, "show", field) == ""  # no artifact shown: deprecated ones are hidden


@pytest.mark.parametrize("field", ["--ref", "--version", "--stage"])
def test_a_field_of_the_registry_table_that_it_has_not_is_still_refused(repo, tag, field):
    tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1")
    assert error(repo.path, "show", field).startswith(f"❌ Cannot apply {field}")


def test_the_name_of_no_version_prints_nothing(repo, tag):
    tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1")
    assert ok(repo.path, "show", "m@v9.9.9", "--name") == ""
    assert error(repo.path, "show", "m", "--name").startswith("❌ Cannot apply --name")
    tag(repo, "m@deprecated", "Deprecating artifact 'm'")
    assert ok(repo.path, "show", "m", "--name") == ""
    assert error(repo.path, "show", "m", "-d", "--name").startswith("❌ Cannot apply --name")
    assert error(repo.path, "show", "nosuch", "--name") == "❌ Cannot find artifact 'nosuch'"


# -- bad option values: GTO's words --------------------------------------------------------------

SIMPLE = "Error: Invalid value for '--simple': Only one of ['auto', 'true', 'false'] is allowed"
SORT = "Error: Invalid value for '--sort': Only one of ['timestamp', 'semver'] is allowed"


@pytest.mark.parametrize("args, usage, expected", [
    (["show", "--sort", "bogus"], "show [OPTIONS] [NAME]", SORT),
    (["show", "m", "--sort=Semver"], "show [OPTIONS] [NAME]", SORT),
    (["register", "m", "--simple", "bogus"], "register [OPTIONS] NAME [REF]", SIMPLE),
    (["register", "m", "--simple", "TRUE"], "register [OPTIONS] NAME [REF]", SIMPLE),
    (["assign", "m", "--stage", "prod", "--simple", "bogus"], "assign [OPTIONS] NAME [REF]", SIMPLE),
    (["promote", "m", "--stage", "prod", "--simple", "bogus"], "promote [OPTIONS] NAME [REF]", SIMPLE),
    (["rollback", "m", "prod", "--simple", "bogus"], "rollback [OPTIONS] NAME STAGE", SIMPLE),
    (["deprecate", "m", "--simple", "bogus"], "deprecate [OPTIONS] NAME [VERSION] [STAGE]", SIMPLE),
    (["deprecate", "m", "v0.0.1", "prod", "--simple", "bogus"], "deprecate [OPTIONS] NAME [VERSION] [STAGE]",
     SIMPLE),
])
def test_a_bad_choice_is_refused_in_gtos_words(repo, tag, args, usage, expected):
    tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1")
    result = run_tagreg(repo.path, *args)
    assert result.returncode == 2
    assert result.stderr == (f"Usage: tagreg {usage}\nTry 'tagreg {args[0]} --help' for help.\n\n{expected}\n")
    assert repo.tags() == ["m@v0.0.1"]


@pytest.mark.parametrize("args", [["show", "--sort", "semver"], ["show", "m", "--sort", "timestamp"]])
def test_a_good_choice_is_taken(repo, tag, args):
    tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1")
    assert "v0.0.1" in ok(repo.path, *args)


# -- parse-tag --key ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag_name, key, expected", [
    ("m@v0.0.1", "version", '"v0.0.1"\n'),
    ("m@v0.0.1", "name", '"m"\n'),
    ("m@v0.0.1", "action", '"register"\n'),
    ("m@v0.0.1!", "action", '"deregister"\n'),
    ("dir/sub=clf#prod!#3", "name", '"dir/sub:clf"\n'),
    ("dir/sub=clf#prod!#3", "stage", '"prod"\n'),
    ("dir/sub=clf#prod!#3", "counter", "3\n"),
    ("m@deprecated", "action", '"deprecate"\n'),
    ("m@v0.0.1", "", '{\n    "name": "m",\n    "version": "v0.0.1",\n    "action": "register"\n}\n'),
])
def test_parse_tag_key_prints_that_part_as_json(tmp_path, tag_name, key, expected):
    assert ok(tmp_path, "parse-tag", tag_name, f"--key={key}") == expected


def test_parse_tag_of_a_created_tag_is_its_name(tmp_path):
    assert json.loads(ok(tmp_path, "parse-tag", "m@created")) == {"name": "m"}


@pytest.mark.parametrize("tag_name, key, has", [
    ("m@v0.0.1", "stage", "name, version, action"),
    ("m@v0.0.1", "counter", "name, version, action"),
    ("m@created", "action", "name"),
    ("m#prod#2", "Name", "name, stage, action, counter"),
])
def test_parse_tag_key_the_tag_has_not_is_one_clear_line(tmp_path, tag_name, key, has):
    assert error(tmp_path, "parse-tag", tag_name, "--key", key) == f"❌ Tag '{tag_name}' has no '{key}' (it has: {has})"


def test_parse_tag_key_of_a_tag_that_does_not_parse(tmp_path):
    assert error(tmp_path, "parse-tag", "nope", "--key", "name") == "❌ Cannot parse tag name 'nope'"
