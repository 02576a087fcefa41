"""The installed `tagreg` command as a process: what the in-process CLI tests do not see (the entry
point, `python -m tagreg`, exit codes, closed pipes and descriptors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import TAGREG, Result, run_installed

import tagreg


@pytest.fixture
def registry(repo):
    repo.commit("model", {"artifacts.yaml": "churn:\n  type: model\n  path: models/churn.pkl\n"})
    assert repo.run("register", "churn").returncode == 0
    assert repo.run("assign", "churn", "--version", "v0.0.1", "--stage", "prod").returncode == 0
    return repo


def test_the_entry_point_and_python_m_tagreg(tmp_path):
    expected = Result(0, f"tagreg {tagreg.__version__} (GTO-compatible tags)\n", "")
    assert run_installed(tmp_path, "--version") == expected
    module = subprocess.run([sys.executable, "-m", "tagreg", "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert Result(module.returncode, module.stdout, module.stderr) == expected


def test_a_command_reads_the_registry(registry):
    result = run_installed(registry.path, "show", "churn", "--json")
    assert result.returncode == 0 and result.stderr == ""
    assert [(v["version"], [s["stage"] for s in v["stages"]]) for v in json.loads(result.stdout)] == [
        ("v0.0.1", ["prod"])]


def test_a_user_error_is_one_line_and_exit_code_1(registry):
    assert run_installed(registry.path, "show", "nomodel") == Result(1, "", "❌ Cannot find artifact 'nomodel'\n")


@pytest.mark.parametrize("args", [["show"], ["history", "churn"], ["--help"]])
def test_a_reader_that_went_away_is_a_quiet_exit_1(registry, args):
    """`tagreg show | head`, where head has already exited: no traceback, no message."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([str(TAGREG), *args], cwd=registry.path, stdout=write, stderr=subprocess.PIPE,
                              text=True)
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (1, "")


def run_with_closed(fd: int, cwd, *args: str) -> subprocess.CompletedProcess:
    """The installed command started with descriptor fd (1: stdout, 2: stderr) closed."""
    script = f'exec "$@" {fd}>&-'
    return subprocess.run(["sh", "-c", script, "sh", str(TAGREG), *args], cwd=cwd, text=True,
                          stdout=None if fd == 1 else subprocess.PIPE, stderr=None if fd == 2 else subprocess.PIPE)


def test_closed_stderr_is_no_failure(registry):
    proc = run_with_closed(2, registry.path, "show", "churn", "--json")
    assert proc.returncode == 0 and '"version": "v0.0.1"' in proc.stdout


def test_closed_stdout_is_one_clear_line(registry):
    proc = run_with_closed(1, registry.path, "history", "churn")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["❌ cannot print the output: standard output is closed"]
