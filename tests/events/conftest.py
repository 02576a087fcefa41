"""Fixtures of the events tests (helpers in support.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .support import Daemon, Receiver, Registry, Repo, Watcher


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Every test gets its own mirror cache and data folder."""
    monkeypatch.setenv("TAGREG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def reg(repo, monkeypatch) -> Registry:
    """The `repo` fixture with a clock."""
    return Registry(repo, monkeypatch)


@pytest.fixture
def ci(tmp_path):
    """A CI job's environment whose `tagreg` is the one under test (test_ci_docs.py, test_ci_policy.py)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tagreg").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tagreg "$@"\n')
    (bindir / "tagreg").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 recording every request."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def daemon(tmp_path):
    """`git daemon` on 127.0.0.1 (pushes enabled) serving tmp_path/daemon."""
    base = tmp_path / "daemon"
    base.mkdir()
    d = Daemon(base)
    yield d
    d.stop()


@pytest.fixture
def remote_reg(reg, tmp_path, daemon, monkeypatch):
    """A registry whose origin is a `git daemon` URL (a clone of an empty bare repository).

    reg.url is that URL; tags made here reach the remote with reg.git("push", ...)."""
    url = daemon.create("reg.git")
    path = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", url, str(path)], check=True, capture_output=True)
    r = Registry(Repo(path), monkeypatch, reg.now)
    r.commit("initial")
    r.git("push", "-q", "origin", "HEAD:refs/heads/main")
    r.url = url
    return r


@pytest.fixture
def watchers():
    """start(cwd, config, *args) runs `tagreg watch`; every watcher is killed at the end of the test."""
    started: list[Watcher] = []

    def start(cwd, config, *args, **kwargs) -> Watcher:
        w = Watcher(Path(cwd), Path(config), *args, **kwargs)
        started.append(w)
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()
        w.out.close()
        w.err.close()
