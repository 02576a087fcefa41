"""The suite itself: what a newcomer's environment must not change in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


def test_the_suite_run_in_a_git_hook_or_a_ci_job_leaves_their_files_alone(repo, tmp_path):
    """A hook that runs pytest (pre-push, pre-commit) has GIT_DIR and GIT_INDEX_FILE set; a user's
    shell may set COLUMNS and XDG_CACHE_HOME; a GitHub job sets GITHUB_OUTPUT. The tests still pass,
    and write nothing into that repository, cache or output file."""
    repo.commit("the hook's repository")
    before = repo.git("for-each-ref"), repo.git("rev-parse", "HEAD")
    cache, output = tmp_path / "users-cache", tmp_path / "github-output"
    cache.mkdir()
    output.touch()
    env = {**os.environ, "GIT_DIR": str(repo.path / ".git"), "GIT_INDEX_FILE": str(repo.path / ".git" / "index"),
           "COLUMNS": "50", "XDG_CACHE_HOME": str(cache), "GITHUB_OUTPUT": str(output)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--basetemp", str(tmp_path / "inner"), f"{TESTS / 'test_cli_read.py'}::test_show_table",
         f"{TESTS / 'test_help_text.py'}::test_no_command_is_the_help_on_stderr_as_click_gives_it"],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo.git("for-each-ref"), repo.git("rev-parse", "HEAD")) == before
    assert list(cache.iterdir()) == [] and output.read_text() == ""


def test_property_tests_draw_the_same_examples_on_every_run():
    """As on CI: a newcomer's run tries what CI tried (`--hypothesis-profile=explore` draws anew)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    if not settings.default.derandomize:
        pytest.skip("--hypothesis-profile=explore: new examples each run")
    drawn: list[str] = []

    @given(st.text())
    def draw(text):
        drawn.append(text)

    draw()
    first = drawn[:]
    drawn.clear()
    draw()
    assert drawn == first and len(set(first)) > 10
