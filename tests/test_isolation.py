"""The suite itself: what a newcomer's environment must not change in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def test_the_suite_run_in_a_git_hook_leaves_the_hooks_repository_alone(repo, tmp_path):
    """A hook that runs pytest (pre-push, pre-commit) has GIT_DIR and GIT_INDEX_FILE set: the
    tests still pass, and make their commits and tags in their own repositories, not in its."""
    repo.commit("the hook's repository")
    before = repo.git("for-each-ref"), repo.git("rev-parse", "HEAD")
    env = {**os.environ, "GIT_DIR": str(repo.path / ".git"), "GIT_INDEX_FILE": str(repo.path / ".git" / "index")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--basetemp", str(tmp_path / "inner"), f"{TESTS / 'test_cli_read.py'}::test_show_table"],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo.git("for-each-ref"), repo.git("rev-parse", "HEAD")) == before
