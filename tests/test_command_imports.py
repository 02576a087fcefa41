"""The installed `tagreg` command, and what it imports: a command about one artifact loads no
module it does not use (`re`, `subprocess`, `json`, click, YAML, ...), so it starts in a few
milliseconds more than Python itself. Checked by module, not by time (times are in benchmarks/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "tagreg"
# What the everyday commands may not import: each costs milliseconds (re ~10, subprocess ~10,
# json, datetime, click ~60, yaml ~25, pathlib ~8, typing ~5, dataclasses+inspect ~15).
HEAVY = {"re", "subprocess", "json", "click", "yaml", "ruamel", "pathlib", "typing", "dataclasses", "inspect",
         "threading", "enum", "shlex", "pickle", "urllib", "tempfile"}


def imported(cwd, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run the installed command under `-X importtime`; (the process, top-level modules imported)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT), *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "TAGREG_CACHE_DIR": str(Path(cwd) / ".cache-dir")})
    modules = {line.rpartition("|")[2].strip().split(".")[0] for line in proc.stderr.splitlines()
               if line.startswith("import time:")}
    return proc, modules


@pytest.fixture
def registry(repo):
    repo.commit("model", {"artifacts.yaml": "churn:\n  type: model\n  path: models/churn.pkl\n"})
    assert repo.run("register", "churn").returncode == 0
    assert repo.run("assign", "churn", "--version", "v0.0.1", "--stage", "prod").returncode == 0
    repo.commit("retrained", {"models/churn.txt": "2"})  # a commit to register
    return repo


def test_the_command_is_a_plain_script_that_runs():
    assert SCRIPT.is_file() and os.access(SCRIPT, os.X_OK)
    first = SCRIPT.read_text().splitlines()[0]
    assert first.startswith("#!") and "python" in first
    proc = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("tagreg")


@pytest.mark.parametrize("args", [
    ["show", "churn"], ["show", "churn@latest"], ["history", "churn"], ["check-ref", "churn#prod#1"],
    ["which", "churn", "prod"], ["latest", "churn"], ["register", "churn", "--bump-minor"],
    ["assign", "churn", "--version", "v0.0.1", "--stage", "dev"], ["show"], ["--version"],
])
def test_everyday_commands_import_nothing_heavy(registry, args):
    imported(registry.path, *args)  # a first run fills the caches (parsed annotations)
    if args[0] in ("register", "assign"):
        registry.git("tag", "-d", *[t for t in registry.tags() if t not in ("churn@v0.0.1", "churn#prod#1")])
    proc, modules = imported(registry.path, *args)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert not modules & HEAVY, f"{' '.join(args)} imported {sorted(modules & HEAVY)}"


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["show", "--help"], ["register", "-h"], ["watch", "--help"], []])
def test_help_imports_no_click(args):
    proc, modules = imported(".", *args)
    assert proc.returncode == (0 if args else 2) and "Usage: tagreg" in (proc.stdout if args else proc.stderr)
    assert not modules & HEAVY, f"{' '.join(args)} imported {sorted(modules & HEAVY)}"


def test_help_on_a_narrow_terminal_is_clicks():
    proc = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT), "--help"], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "60"})
    assert proc.returncode == 0 and "click" in proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 60


def run_with_closed(fd: int, cwd, *args: str) -> subprocess.CompletedProcess:
    """The installed command started with descriptor fd (1: stdout, 2: stderr) closed."""
    script = f'exec "$@" {fd}>&-'
    return subprocess.run(["sh", "-c", script, "sh", str(SCRIPT), *args], cwd=cwd, text=True,
                          stdout=None if fd == 1 else subprocess.PIPE, stderr=None if fd == 2 else subprocess.PIPE)


def test_closed_stderr_is_no_failure(registry):
    proc = run_with_closed(2, registry.path, "show", "churn", "--json")
    assert proc.returncode == 0 and '"version": "v0.0.1"' in proc.stdout


def test_closed_stdout_is_one_clear_line(registry):
    proc = run_with_closed(1, registry.path, "history", "churn")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["❌ cannot print the output: standard output is closed"]


@pytest.mark.parametrize("args", [["show"], ["show", "churn"], ["history", "churn"], ["show", "--offline"]])
def test_remote_reads_import_nothing_heavy(registry, tmp_path, args):
    """A later read of a remote: the cached mirror, checked against the remote's refs."""
    url = f"file://{registry.path}"
    for _ in range(2):  # the clone, then a first read of the mirror (which fills the view cache)
        first, _ = imported(tmp_path, *[a for a in args if a != "--offline"], "--repo", url)
        assert first.returncode == 0, first.stderr[-500:]
    proc, modules = imported(tmp_path, *args, "--repo", url)
    assert proc.returncode == 0 and ("churn" in proc.stdout or "v0.0.1" in proc.stdout), proc.stderr[-500:]
    assert not modules & HEAVY, f"{' '.join(args)} --repo imported {sorted(modules & HEAVY)}"
