"""Shared fixtures: real git repositories in temporary folders, and tagreg run on them as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from tagreg.cli import main

# The property tests draw the same examples on every machine: those of CI, where hypothesis loads its
# "ci" profile (derandomized, no deadline) by itself. Elsewhere each run drew new ones, so a
# newcomer's first run could fail where CI passed. To look for new failures:
# `pytest --hypothesis-profile=explore [--hypothesis-seed=N]`.
settings.register_profile("explore", settings.get_profile("default"), deadline=None)  # speed: benchmarks/
settings.load_profile("ci")

IDENTITY = {
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}

# `git rev-parse --local-env-vars`: the variables that point git at a repository, its index or objects
REPOSITORY_ENV = ("GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
                  "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE",
                  "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
                  "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR")


def pytest_configure(config):
    """Run in a git hook (GIT_DIR, GIT_INDEX_FILE... set), every git of the tests, fixtures of any
    scope included, would read and write the hook's repository instead of their own."""
    for key in REPOSITORY_ENV:
        os.environ.pop(key, None)


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory, monkeypatch):
    """Every test gets its own git identity and no user/system git config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))  # not the user's: no cache shared between tests
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for key in ("COLUMNS", "LINES", "GITHUB_OUTPUT"):  # the user's terminal width; a CI job's output file
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    for key in list(os.environ):
        kept = ("TAGREG_GTO_BIN", "TAGREG_REQUIRE_GTO")
        if key.startswith("GTO_") or (key.startswith("TAGREG_") and key not in kept):
            monkeypatch.delenv(key, raising=False)
    # tagreg runs as a subprocess in some tests: let it cache its bytecode (outside src/), as an
    # installed package does, instead of recompiling itself on every start.
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path_factory.getbasetemp() / "pycache"))
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Tester\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n"
    )


def need(program: str) -> None:
    """Skip the test if program is not installed; in CI (CI=true, where .ci/run installs it), fail."""
    if shutil.which(program) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is not installed (.ci/run installs it)")
        pytest.skip(f"{program} is not installed")


def git(cwd, *args: str, check: bool = True) -> str:
    """Run git in cwd and return stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_tagreg(cwd, *args: str, env: dict | None = None, input: str | None = None) -> Result:
    """Run `tagreg ARGS` in cwd, in this process (click's CliRunner): its exit code, stdout and stderr
    as a user at a terminal sees them. env: variables set for the call (None: unset), then restored."""
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), input=input, env=env, prog_name="tagreg")
    finally:
        os.chdir(previous)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))  # what the interpreter prints (--traceback)
    return Result(result.exit_code, result.stdout, stderr)


TAGREG = Path(sys.executable).parent / "tagreg"  # the command `pip install` made in this environment


def run_installed(cwd, *args: str, env: dict | None = None) -> Result:
    """Run the installed `tagreg` command in cwd as a subprocess (for the few tests about the process)."""
    proc = subprocess.run([str(TAGREG), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    return Result(proc.returncode, proc.stdout, proc.stderr)


class Repo:
    """A real git repository in a temporary folder, with helpers to commit and tag."""

    def __init__(self, path: Path):
        self.path = path

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def commit(self, message: str = "commit", files: dict[str, str] | None = None) -> str:
        for name, content in (files or {}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", name)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def tag(self, name: str, ref: str = "HEAD", message: str | None = None) -> None:
        if message is None:
            self.git("tag", name, ref)
        else:
            self.git("tag", "-a", name, "-m", message, ref)

    def tags(self) -> list[str]:
        return sorted(self.git("tag", "--list").split())

    def run(self, *args: str, **kwargs) -> Result:
        return run_tagreg(self.path, *args, **kwargs)


@pytest.fixture
def repo(tmp_path) -> Repo:
    """An empty git repository with one commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    r = Repo(path)
    r.commit("initial")
    return r
