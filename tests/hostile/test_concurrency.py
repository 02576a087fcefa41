"""Concurrent writers: many real `tagreg` processes writing one registry at the same moment all
land, each with its own `#N` counter (or version), whether they share one local repository (a lock
in its git folder, and a recount under it) or push to one remote from caches of their own (retries
that back off with jitter). And a push killed half-way leaves a tag only the local clone has, which
`doctor` lists."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT = 180  # the whole race; a writer that waits forever fails the test instead of hanging it

# Pays for its imports, says so on stderr, then waits for the start signal on stdin (no sleeps):
# every racer reaches the registry in the same few milliseconds.
RACER = r"""
import sys
import tagreg.api, tagreg.cli, tagreg.remote
sys.stderr.write("ready\n")
sys.stderr.flush()
sys.stdin.read(1)
sys.argv = ["tagreg", *sys.argv[1:]]
tagreg.cli.main(prog_name="tagreg")
"""


def git(cwd, *args: str) -> str:
    proc = subprocess.run(["git", *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


def race(cwd: Path, jobs: list[tuple[list[str], dict]]) -> list[tuple[int, str, str]]:
    """Start `tagreg ARGS` with ENV for each job, release them all at once, wait for all:
    (exit status, stdout, stderr) of each."""
    procs = [subprocess.Popen([sys.executable, "-c", RACER, *args], cwd=cwd, env={**os.environ, **env},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for args, env in jobs]
    try:
        for p in procs:
            assert p.stderr.readline() == b"ready\n", p.communicate(timeout=TIMEOUT)
        for p in procs:
            p.stdin.write(b"go")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT)
            results.append((p.returncode, out.decode(), err.decode()))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def all_succeeded(results) -> None:
    failed = [(code, err) for code, _, err in results if code != 0]
    assert not failed, f"{len(failed)} of {len(results)} writers failed: {failed[:3]}"


def tags(git_dir: Path) -> set[str]:
    return set(git(git_dir, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags").split())


def person(i: int) -> dict:
    return {"GIT_COMMITTER_NAME": f"User {i}", "GIT_COMMITTER_EMAIL": f"user{i}@example.com"}


@pytest.fixture
def local(tmp_path) -> Path:
    """A registry with m@v0.0.1 at its first commit, and more commits after it."""
    path = tmp_path / "local"
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    (path / "artifacts.yaml").write_text("m:\n  type: model\n  path: m.bin\n")
    (path / "m.bin").write_text("v1\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "model")
    git(path, "tag", "-a", "-m", "Registering artifact m version v0.0.1", "m@v0.0.1")
    return path


@pytest.mark.parametrize("n", [16])
def test_concurrent_assignments_in_one_local_repository_get_distinct_counters(local, n):
    args = ["assign", "m", "--version", "v0.0.1", "--stage", "prod", "--force"]
    results = race(local, [(args, person(i)) for i in range(n)])
    all_succeeded(results)
    new = tags(local) - {"m@v0.0.1"}
    assert len(new) == n and all(re.fullmatch(r"m#prod#\d+", t) for t in new), sorted(new)
    assert sorted(int(t.rpartition("#")[2]) for t in new) == list(range(1, n + 1))
    assert not (Path(local) / ".git" / "tagreg.lock").exists() or True  # a lock file may stay: it is not a tag
    reported = [re.findall(r"Created git tag '([^']+)'", out) for _, out, _ in results]
    assert sorted(t for found in reported for t in found) == sorted(new), "each writer reports its own tag"


def test_concurrent_registrations_of_different_commits_get_distinct_versions(local):
    commits = []
    for i in range(14):
        git(local, "commit", "-q", "--allow-empty", "-m", f"retrained {i}")
        commits.append(git(local, "rev-parse", "HEAD").strip())
    results = race(local, [(["register", "m", sha], person(i)) for i, sha in enumerate(commits)])
    all_succeeded(results)
    versions = {t for t in tags(local) if t.startswith("m@")}
    assert versions == {f"m@v0.0.{k}" for k in range(1, 16)}
    assert {git(local, "rev-parse", f"{t}^{{commit}}").strip() for t in versions - {"m@v0.0.1"}} == set(commits)


@pytest.fixture
def remote(local, tmp_path) -> Path:
    """A bare copy of the local registry: the shared remote."""
    path = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(local), str(path))
    return path


def test_twenty_remote_writers_with_caches_of_their_own_all_land(remote, tmp_path, work_dir):
    n = 20
    args = ["assign", "m", "--version", "v0.0.1", "--stage", "prod", "--force", "-r", f"file://{remote}"]
    jobs = [(args, {**person(i), "TAGREG_CACHE_DIR": str(tmp_path / f"cache-{i}")}) for i in range(n)]
    results = race(work_dir, jobs)
    all_succeeded(results)
    new = tags(remote) - {"m@v0.0.1"}
    assert sorted(int(t.rpartition("#")[2]) for t in new) == list(range(1, n + 1)), sorted(new)
    pushed = [re.findall(r"Successfully pushed git tag (\S+) on remote\.", out) for _, out, _ in results]
    assert sorted(t for found in pushed for t in found) == sorted(new)


@pytest.fixture
def work_dir(tmp_path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def tagreg(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tagreg", *args], check=False, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def clone(remote, tmp_path) -> Path:
    """A clone of the remote, whose origin is the remote."""
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(path))
    return path


def kill_during_push(clone: Path, remote: Path, tmp_path: Path, *args: str) -> None:
    """Run `tagreg ARGS --push` in clone and kill -9 it (and its git) while the remote's pre-receive
    hook runs: the remote never gets the tag."""
    started = tmp_path / "hook-started"
    os.mkfifo(started)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f'#!/bin/sh\necho started > "{started}"\nread never < "{tmp_path / "never"}"\n')
    hook.chmod(0o755)
    os.mkfifo(tmp_path / "never")  # nobody writes it: the hook waits until it is killed
    proc = subprocess.Popen([sys.executable, "-m", "tagreg", *args, "--push"], cwd=clone, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fd = os.open(started, os.O_RDONLY | os.O_NONBLOCK)
    try:
        import select

        poller = select.poll()
        poller.register(fd, select.POLLIN)
        assert poller.poll(60_000), "the push never reached the remote's hook"
    finally:
        os.close(fd)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    hook.unlink()


def test_doctor_lists_the_tags_a_killed_push_left_only_in_the_local_clone(clone, remote, tmp_path):
    kill_during_push(clone, remote, tmp_path, "assign", "m", "--version", "v0.0.1", "--stage", "prod")
    assert "m#prod#1" in tags(clone) and "m#prod#1" not in tags(remote)
    assert tagreg(clone, "which", "m", "prod").stdout.strip() == "v0.0.1"  # what CI never saw

    result = tagreg(clone, "doctor")
    assert result.returncode == 0, result.stderr  # a warning, as doctor's others: exit 1 with --strict
    assert "m#prod#1" in result.stdout and "origin" in result.stdout, result.stdout
    assert tagreg(clone, "doctor", "--strict").returncode == 1
    import json

    report = json.loads(ok_out(tagreg(clone, "doctor", "--json")))
    assert report["remote"]["name"] == "origin" and report["remote"]["checked"] is True
    assert report["remote"]["missing"] == ["m#prod#1"]
    offline = tagreg(clone, "doctor", "--offline", "--json")
    assert json.loads(ok_out(offline))["remote"]["checked"] is False
    assert json.loads(ok_out(offline))["remote"]["missing"] == []
    assert "m#prod#1" not in ok_out(tagreg(clone, "doctor", "--offline"))

    # The lock a killed writer held is free again; once the tag is pushed, doctor is content.
    ok_out(tagreg(clone, "assign", "m", "--version", "v0.0.1", "--stage", "dev"))
    git(clone, "push", "-q", "origin", "m#prod#1", "m#dev#2")
    assert json.loads(ok_out(tagreg(clone, "doctor", "--json")))["remote"]["missing"] == []
    assert "m#prod#1" not in ok_out(tagreg(clone, "doctor"))


def test_doctor_without_a_reachable_remote_says_it_skipped_the_comparison(local, tmp_path):
    import json

    report = json.loads(ok_out(tagreg(local, "doctor", "--json")))
    assert report["remote"] == {"name": "origin", "url": None, "checked": False, "missing": [], "different": [],
                                "note": "no such remote"}
    git(local, "remote", "add", "origin", str(tmp_path / "gone.git"))
    result = tagreg(local, "doctor")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "not compared" in result.stdout, result.stdout


def ok_out(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def test_a_writer_that_cannot_get_the_lock_says_so_and_leaves_nothing(local):
    import fcntl

    with open(local / ".git" / "tagreg.lock", "w") as held:  # another writer, stuck
        fcntl.flock(held, fcntl.LOCK_EX)
        result = subprocess.run([sys.executable, "-m", "tagreg", "assign", "m", "--version", "v0.0.1", "--stage",
                                 "prod"], cwd=local, capture_output=True, text=True, timeout=60, check=False,
                                env={**os.environ, "TAGREG_WRITE_TIMEOUT": "1"})
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "another tagreg is writing" in result.stderr
    assert tags(local) == {"m@v0.0.1"}
