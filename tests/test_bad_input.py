"""Bad input: one clear line on stderr, exit code 1, no traceback, and the repository left as it was.

Also the other side of the rule: tags that belong to someone else (foreign names, lightweight tags,
names that merely contain '@' or '#') and tag patterns that crash GTO are read without an error.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import run_tagreg

EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC
INVALID = ("Invalid value '{}'. Only letters, numbers, '_', '-', '/' are allowed. "
           "Value must be of len >= 2 and must start and end with a letter or a number.")



def tagreg(cwd, *args, env=None):
    """`tagreg ARGS` in cwd, with env changes (a value of None removes the variable)."""
    return run_tagreg(cwd, *args, env=env)


def state(path):
    """What a failed command must not change: tags, HEAD, branches and the work tree."""

    def git(*args):
        return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True).stdout

    return (
        git("for-each-ref", "--format=%(refname) %(objectname)"),
        git("rev-parse", "HEAD"),
        git("status", "--porcelain", "--untracked-files=all"),
    )


def refused(path, *args, env=None, emoji=True) -> str:
    """Run a command that must be refused; check the rules and return its one stderr line."""
    before = state(path)
    result = tagreg(path, *args, env=env)
    assert result.returncode == 1, f"tagreg {args} should fail:\n{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"tagreg {args}: expected one line on stderr, got:\n{result.stderr}"
    if emoji:
        assert lines[0].startswith("❌ "), lines[0]
    else:
        assert not lines[0].startswith("❌") and lines[0] == lines[0].strip(), lines[0]
    assert "Unexpected error" not in lines[0]  # a user mistake, not a bug
    assert "Created git tag" not in result.stdout
    assert state(path) == before, f"tagreg {args} changed the repository"
    return lines[0]


@pytest.fixture
def reg(repo, monkeypatch):
    """model@v0.0.1 in prod at the first commit, a second unregistered commit on top."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH} +0000")
    repo.tag("model@v0.0.1", "HEAD", "Registering artifact model version v0.0.1")
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH + 60} +0000")
    repo.tag("model#prod#1", "HEAD", "Assigning stage prod to artifact model version v0.0.1")
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH + 120} +0000")
    repo.commit("second")
    return repo


# -- invalid names, versions, stages ---------------------------------------------------------


@pytest.mark.parametrize(
    "args, value",
    [
        (["register", "bad name"], "bad name"),
        (["register", "a.b"], "a.b"),
        (["assign", "model", "--stage", "bad#stage"], "bad#stage"),
        (["deprecate", "bad@name"], "bad@name"),
        (["show", "model@v1.0"], "model@v1.0"),
        (["describe", "bad name"], "bad name"),
        (["annotate", "model", "--type", "bad type"], "bad type"),
        (["which", "model", "bad#stage"], "bad#stage"),
    ],
)
def test_invalid_name_or_stage(reg, args, value):
    assert refused(reg.path, *args) == "❌ " + INVALID.format(value)


@pytest.mark.parametrize("version", ["v1.0", "V1.0.0"])
def test_invalid_version_in_register(reg, version):
    assert refused(reg.path, "register", "model", "--version", version) == (
        f"❌ Supplied version '{version}' cannot be parsed"
    )


@pytest.mark.parametrize(
    "args, version",
    [
        (["assign", "model", "--version", "v1.0", "--stage", "dev"], "v1.0"),
        (["deprecate", "model", "HEAD~1", "prod"], "HEAD~1"),
    ],
)
def test_invalid_version_elsewhere(reg, args, version):
    assert refused(reg.path, *args) == f"❌ Version '{version}' is not valid. Example of valid version: 'v1.0.0'"


def test_stage_not_allowed(reg):
    (reg.path / ".gto").write_text("stages: [dev, prod]\n")
    reg.git("add", ".gto")
    reg.git("commit", "-q", "-m", "config")
    assert refused(reg.path, "assign", "model", "--stage", "qa") == \
        "❌ Stage 'qa' is not allowed; allowed stages are: dev, prod"


def test_type_not_allowed(reg):
    (reg.path / ".gto").write_text("types: [model, dataset]\n")
    reg.git("add", ".gto")
    reg.git("commit", "-q", "-m", "config")
    assert refused(reg.path, "annotate", "model", "--type", "notebook") == \
        "❌ Type 'notebook' is not allowed; allowed types are: model, dataset"


# -- unknown versions, stages, artifacts, refs -----------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["assign", "model", "--version", "v9.9.9", "--stage", "prod"], "❌ Version 'v9.9.9' is not registered"),
        (["deprecate", "model", "v0.0.1", "dev"], "❌ Stage 'dev' is not assigned to a version 'v0.0.1'"),
        (["show", "nomodel"], "❌ Cannot find artifact 'nomodel'; did you mean 'model'?"),
        (["deprecate", "nomodel", "v0.0.1"], "❌ No versions found for 'nomodel'; did you mean 'model'?"),
        (["latest", "nomodel"], "❌ Cannot find artifact 'nomodel'; did you mean 'model'?"),
    ],
)
def test_unknown_things(reg, args, message):
    assert refused(reg.path, *args) == message


def test_unknown_version_in_deprecate(reg):
    line = refused(reg.path, "deprecate", "model", "v9.9.9")
    assert "'v9.9.9'" in line or line == "❌ No versions found for 'model'"  # GTO's words


@pytest.mark.parametrize(
    "args, ref",
    [
        (["register", "model", "nosuchref"], "nosuchref"),
        (["assign", "model", "nosuchref", "--stage", "dev"], "nosuchref"),
        (["deprecate", "model", "--ref", "nosuchref"], "nosuchref"),
        (["describe", "model", "--rev", "nosuchref"], "nosuchref"),
    ],
)
def test_ref_that_does_not_exist(reg, args, ref):
    assert f"'{ref}'" in refused(reg.path, *args)


# -- not a repository, no commits, missing paths ---------------------------------------------


@pytest.mark.parametrize("args", [["show"], ["register", "model"]])
def test_not_a_git_repository(tmp_path, args):
    plain = tmp_path / "plain"
    plain.mkdir()
    line = refused(plain, *args)
    assert "not a git repository" in line
    assert list(plain.iterdir()) == []


@pytest.mark.parametrize("args", [["register", "model"]])
def test_repo_option_to_a_missing_path(reg, tmp_path, args):
    missing = str(tmp_path / "missing")
    line = refused(reg.path, *args, "--repo", missing)
    assert missing in line
    assert not (tmp_path / "missing").exists()


def test_repo_option_to_a_plain_folder(reg, tmp_path):
    line = refused(reg.path, "show", "-r", str(tmp_path))
    assert "not a git repository" in line


@pytest.mark.parametrize("args", [["register", "model"], ["assign", "model", "--stage", "dev"]])
def test_repository_without_commits(tmp_path, args):  # reads give GTO's empty answer: test_cli_parity.py
    path = tmp_path / "empty"
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    line = refused(path, *args)
    assert "no commits" in line
    assert subprocess.run(["git", "tag"], cwd=path, capture_output=True, text=True).stdout == ""


# -- malformed files -------------------------------------------------------------------------


def commit_file(repo, name, content):
    target = repo.path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    repo.git("add", name)
    repo.git("commit", "-q", "-m", f"add {name}")


@pytest.mark.parametrize(
    "file, content",
    [
        ("artifacts.yaml", "model: [unclosed\n"),
        ("artifacts.yaml", "- a list\n- not a mapping\n"),
        ("artifacts.yaml", "a:b:\n  path: x\n"),
        ("dvc.yaml", "artifacts:\n  model: [1, 2]\n"),
        ("sub/dvc.yaml", "artifacts: {\n"),
    ],
)
def test_malformed_annotation_file(reg, file, content):
    """One bad file costs only its commit: `show` goes on, with a warning naming the file."""
    commit_file(reg, file, content)
    result = tagreg(reg.path, "show")
    assert result.returncode == 0 and "model" in result.stdout, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("⚠️ ") and file in line and "read as no annotation" in line


@pytest.mark.parametrize(
    "file, name",
    [("artifacts.yaml", "model"), ("sub/dvc.yaml", "sub:model")],
)
def test_malformed_annotation_file_for_one_artifact(reg, file, name):
    commit_file(reg, file, "model: [unclosed\n" if file == "artifacts.yaml" else "artifacts: {model: [\n")
    shown = tagreg(reg.path, "show", name)
    assert "Traceback" not in shown.stderr
    assert file in shown.stderr.splitlines()[0] and "read as no annotation" in shown.stderr.splitlines()[0]
    assert file in refused(reg.path, "describe", name)  # the work tree, being edited: an error


@pytest.mark.parametrize(
    "content",
    ["stages: [dev\n", "stages: [bad#stage]\n", "- just\n- a list\n"],
)
def test_malformed_config(reg, content):
    commit_file(reg, ".gto", content)
    assert refused(reg.path, "show") == f"❌ Wrong config file '{(reg.path / '.gto').resolve()}'"


@pytest.mark.parametrize("command", [["register", "model"], ["history"]])
def test_malformed_config_refuses_every_command(reg, command):
    commit_file(reg, ".gto", "stages: [dev\n")
    assert refused(reg.path, *command) == f"❌ Wrong config file '{(reg.path / '.gto').resolve()}'"


@pytest.mark.parametrize("value", ['["dev", "bad#stage"]'])
def test_malformed_config_in_environment(reg, value):
    line = refused(reg.path, "assign", "model", "--stage", "dev", env={"GTO_STAGES": value})
    assert "GTO_" in line or "config" in line


@pytest.mark.parametrize("env", [{"GTO_ENRICHMENTS": "5"}, {"GTO_ENRICHMENTS": "{not json"}, {"GTO_DEBUG": "maybe"}])
def test_a_wrong_value_in_the_environment_is_refused(reg, env):
    assert refused(reg.path, "show", env=env) == "❌ Wrong GTO_* environment variable"


@pytest.mark.parametrize("index, reason", [
    ('"/etc/passwd"', "('/etc/passwd': an absolute path; annotation files are inside the repository)"),
    ('"a\\nb"', "('a\\nb': not a usable path inside the repository)"),  # one line, the newline shown escaped
    ("[a, b]", "must be a file name, not list"),
])
def test_a_wrong_index_says_why_on_one_line(reg, index, reason):
    commit_file(reg, ".gto", f"index: {index}\n")
    line = refused(reg.path, "show")
    assert line.startswith(f"❌ Wrong config file '{(reg.path / '.gto').resolve()}': 'index' ")
    assert line.endswith(reason)


# -- git identity ----------------------------------------------------------------------------


NO_IDENTITY = {
    "GIT_AUTHOR_NAME": None, "GIT_AUTHOR_EMAIL": None, "GIT_COMMITTER_NAME": None, "GIT_COMMITTER_EMAIL": None,
    "EMAIL": None, "GIT_CONFIG_GLOBAL": "/dev/null",
}


@pytest.mark.parametrize(
    "args",
    [["register", "model"], ["deprecate", "model", "v0.0.1", "prod"],
     ["annotate", "model", "--path", "m.pkl", "--commit"]],
)
def test_missing_git_identity(reg, tmp_path, args):
    home = tmp_path / "bare-home"
    home.mkdir()
    # Do not let git guess an identity from the host name either.
    reg.git("config", "user.useConfigOnly", "true")
    env = dict(NO_IDENTITY, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    line = refused(reg.path, *args, env=env)
    assert "identity" in line or "user.name" in line or "user.email" in line
    assert not (reg.path / "artifacts.yaml").exists()


# -- work tree states ------------------------------------------------------------------------


def test_commit_refused_when_the_annotation_file_has_uncommitted_changes(reg):
    commit_file(reg, "artifacts.yaml", "model:\n  path: m.pkl\n")
    (reg.path / "artifacts.yaml").write_text("model:\n  path: changed-by-hand.pkl\n")
    refused(reg.path, "annotate", "model", "--type", "model", "--commit")
    assert (reg.path / "artifacts.yaml").read_text() == "model:\n  path: changed-by-hand.pkl\n"


# -- emoji, traceback ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["show", "nomodel"]])
def test_no_emoji_when_turned_off(reg, args):
    line = refused(reg.path, *args, env={"GTO_EMOJIS": "false"}, emoji=False)
    assert "❌" not in line
    assert line.startswith(("Invalid value", "Cannot find artifact"))


@pytest.mark.parametrize("flag, env", [(["--traceback"], None), (["--tb"], None), ([], {"TAGREG_TRACEBACK": "1"})])
def test_traceback_flag_shows_the_traceback(reg, flag, env):
    before = state(reg.path)
    result = tagreg(reg.path, *flag, "register", "bad name", env=env)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert INVALID.format("bad name") in result.stderr
    assert state(reg.path) == before


def test_usage_errors_are_clicks(reg):
    result = tagreg(reg.path, "register", "model", "--simple", "maybe")
    assert result.returncode == 2
    assert "Invalid value for '--simple'" in result.stderr
    assert "Traceback" not in result.stderr


# -- tags that belong to someone else --------------------------------------------------------


FOREIGN = ["v1.0.0", "release-2025", "x@v1.0", "foo#bar#baz", "a@b@c", "user@example.com", "hotfix#12#done",
           "model@latest", "model#prod#x", "@v1.0.0", "#prod", "model@v1.0.0@v2", "model=v1@x"]


def test_foreign_and_lightweight_tags_are_ignored(reg):
    for name in FOREIGN:
        reg.tag(name, "HEAD", "someone else's tag")
    for name in ["lw@v1.0.0", "lw#prod#1", "model@v0.0.9", "model#dev#7", "light"]:
        reg.tag(name, "HEAD")  # lightweight
    result = tagreg(reg.path, "show", "--json")
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "model": {"version": "v0.0.1", "stage": {"prod": "v0.0.1"}, "registered": True, "active": True}
    }
    history = tagreg(reg.path, "history", "--json")
    assert history.returncode == 0 and history.stderr == ""
    assert [e["ref"] for e in json.loads(history.stdout)] == ["model#prod#1", "model@v0.0.1"]
    versions = tagreg(reg.path, "show", "model", "--version")
    assert (versions.returncode, versions.stdout, versions.stderr) == (0, "v0.0.1\n", "")
    assert tagreg(reg.path, "show", "lw").returncode == 1  # a lightweight tag does not make an artifact
    checked = tagreg(reg.path, "check-ref", "model#dev#7")
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_writing_next_to_foreign_tags(reg):
    for name in FOREIGN:
        reg.tag(name, "HEAD", "someone else's tag")
    result = tagreg(reg.path, "register", "model")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Created git tag 'model@v0.0.2' ")


def test_created_tag_is_read_without_a_crash(reg):
    reg.tag("model@created", "HEAD", "made by an old tool")
    for args in (["show", "model", "--json"], ["history", "--json"]):
        result = tagreg(reg.path, *args)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        assert result.stderr == ""
    shown = json.loads(tagreg(reg.path, "show", "--json").stdout)
    assert shown["model"]["version"] == "v0.0.1"
    assert tagreg(reg.path, "check-ref", "model@created").stdout == ""


def test_two_versions_on_one_commit_are_read_without_a_crash(reg):
    reg.tag("model@v0.0.2", "HEAD~1", "Registering artifact model version v0.0.2")  # same commit as v0.0.1
    for args in (["show"], ["show", "model", "--json"], ["history"], ["check-ref", "model@v0.0.2"]):
        result = tagreg(reg.path, *args)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        assert result.stderr == ""
    assert tagreg(reg.path, "latest", "model").stdout == "v0.0.2\n"
    versions = tagreg(reg.path, "show", "model", "--version").stdout.split()
    assert "v0.0.2" in versions and "v0.0.1" in versions
