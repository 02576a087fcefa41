"""Helpers of the events tests: registries with a clock, a real HTTP receiver on 127.0.0.1, a
`git daemon` remote, and `tagreg watch` run as a subprocess the way a user runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import run_tagreg as in_process

EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC


def git(cwd, *args: str, check: bool = True) -> str:
    """Run git in cwd and return stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_tagreg(cwd, *args: str, env: dict | None = None) -> Result:
    """`tagreg ARGS` in cwd, in this process (click's CliRunner); the watch loop itself in a
    `python -m tagreg` of its own, since it takes over SIGINT and SIGTERM of its process."""
    if args[:1] == ("watch",) and not {"status", "recover"} & set(args):
        proc = subprocess.run([sys.executable, "-m", "tagreg", *args], cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL, check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)
    result = in_process(cwd, *args, env=env)
    return Result(result.returncode, result.stdout, result.stderr)


def run_many(cwd, calls: list) -> list[Result]:
    """run_tagreg(cwd, *args, env=env) for every (args, env) in calls; results in the order of calls."""
    return [run_tagreg(cwd, *args, env=env) for args, env in calls]


@contextmanager
def isolated_env(home: Path):
    """What tests/conftest.py does for each test, for a fixture shared by a whole module: its own
    HOME and git identity, no user or system git config. Yields the MonkeyPatch."""
    mp = pytest.MonkeyPatch()
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Tester\n\temail = t@example.com\n"
                                    "[init]\n\tdefaultBranch = main\n")
    for key, value in {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
                       "GIT_AUTHOR_NAME": "Tester", "GIT_AUTHOR_EMAIL": "t@example.com",
                       "GIT_COMMITTER_NAME": "Tester", "GIT_COMMITTER_EMAIL": "t@example.com",
                       "TAGREG_CACHE_DIR": str(home / "cache")}.items():
        mp.setenv(key, value)
    try:
        yield mp
    finally:
        mp.undo()


class Repo:
    """A real git repository (like the `repo` fixture's), usable outside a test's own fixtures."""

    def __init__(self, path: Path):
        self.path = path

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def commit(self, message: str = "commit", files: dict | None = None) -> str:
        for name, content in (files or {}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", name)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def run(self, *args: str, env: dict | None = None) -> Result:
        return run_tagreg(self.path, *args, env=env)


# The documented event schema, key for key.
EVENT_KEYS = ["id", "repo", "tag", "event", "name", "version", "stage", "commit", "author", "author_email",
              "created_at", "message", "annotation", "deleted"]


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition", step: float = 0.05):
    """Poll predicate until it is truthy; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)


def wait_polls(cwd, config: Path, count: int = 2, timeout: float = 20.0) -> None:
    """Wait until the watcher of config has polled every repository count more times (the outbox's
    polled_at, which `watch status` shows). The watcher delivers between two polls, so after two
    everything it would send for what it saw before the first has been sent."""

    def polled() -> list:
        result = run_tagreg(cwd, "watch", "--config", str(config), "status", "--json")
        assert result.returncode == 0, result.stderr
        return [r["polled_at"] for r in json.loads(result.stdout)["repos"]]

    for _ in range(count):
        before = polled()
        wait_for(lambda before=before: all(a != b for a, b in zip(polled(), before)), timeout,
                 "the watcher's next poll")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- registries -----------------------------------------------------------------------------------


class Registry:
    """A git repository with a clock: every commit and tag is a minute after the last one."""

    def __init__(self, repo, monkeypatch, start: int = EPOCH):
        self.repo = repo
        self.path = repo.path
        self.monkeypatch = monkeypatch
        self.now = start
        self.tick()

    def tick(self, seconds: int = 60) -> None:
        self.now += seconds
        self.monkeypatch.setenv("GIT_COMMITTER_DATE", f"{self.now} +0000")
        self.monkeypatch.setenv("GIT_AUTHOR_DATE", f"{self.now} +0000")

    def git(self, *args: str, check: bool = True) -> str:
        return self.repo.git(*args, check=check)

    def run(self, *args, **kwargs):
        return self.repo.run(*args, **kwargs)

    def ok(self, *args, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, f"tagreg {args} failed: {result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout

    def commit(self, message: str = "commit", files: dict | None = None) -> str:
        self.tick()
        return self.repo.commit(message, files)

    def annotate(self, artifacts: dict, extra: dict | None = None, message: str = "annotations") -> str:
        """Commit artifacts.yaml (and extra files)."""
        files = {"artifacts.yaml": yaml.safe_dump(artifacts, sort_keys=False, allow_unicode=True)}
        files.update(extra or {})
        return self.commit(message, files)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def tag(self, name: str, ref: str = "HEAD", message: str = "hand-made tag") -> str:
        self.tick()
        self.git("tag", "-a", name, "-m", message, ref)
        return name

    def registered(self, name, version, ref="HEAD"):
        return self.tag(f"{name}@{version}", ref, f"Registering artifact {name} version {version}")

    def deregistered(self, name, version, ref="HEAD"):
        return self.tag(f"{name}@{version}!", ref, f"Deregistering artifact {name} version {version}")

    def assigned(self, name, stage, counter, version, ref="HEAD"):
        return self.tag(f"{name}#{stage}#{counter}", ref,
                        f"Assigning stage {stage} to artifact {name} version {version}")

    def unassigned(self, name, stage, counter, version, ref="HEAD"):
        return self.tag(f"{name}#{stage}!#{counter}", ref,
                        f"Unassigning stage '{stage}' to artifact '{name}' version '{version}'")

    def deprecated(self, name, ref="HEAD"):
        return self.tag(f"{name}@deprecated", ref, f"Deprecating artifact '{name}'")

    def every_kind(self, name: str = "churn") -> dict[str, str]:
        """One tag of each event kind (on top of what is there); event word -> tag."""
        first = self.head()
        reg = self.registered(name, "v0.0.1")
        self.commit(f"{name} second")
        self.registered(name, "v0.0.2")
        asg = self.assigned(name, "prod", 1, "v0.0.1", first)
        una = self.unassigned(name, "prod", 2, "v0.0.1", first)
        dereg = self.deregistered(name, "v0.0.2")
        dep = self.deprecated(name)
        return {"registration": reg, "assignment": asg, "unassignment": una, "deregistration": dereg,
                "deprecation": dep}

    def events(self, *args: str) -> list[dict]:
        return json.loads(self.ok("events", "--json", *args))


def make_registry(path: Path, monkeypatch, start: int = EPOCH) -> Registry:
    """A registry: a new repository at path with one commit."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    r = Repo(path)
    r.commit("initial")
    return Registry(r, monkeypatch, start)


# -- the HTTP receiver --------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request (path, headers, body).

    fail_next: answer the next N requests with 500; fail_always: answer 500 until recovered;
    delay: seconds to sleep before answering (to catch a watcher in the middle of a delivery), from
    the request number delay_from on (0: every request).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.fail_next = 0
        self.fail_always = False
        self.delay = 0.0
        self.delay_from = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    entry = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": body, "received": time.monotonic(), "status": None, "answered": None}
                    receiver.requests.append(entry)
                    delay = receiver.delay if len(receiver.requests) > receiver.delay_from else 0.0
                    if receiver.fail_always:
                        status = 500
                    elif receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        status = 500
                    else:
                        status = 200
                    entry["status"] = status
                if delay:
                    time.sleep(delay)
                try:
                    payload = b'{"ok": true}' if status == 200 else b'{"error": "try later"}'
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                    entry["answered"] = time.monotonic()
                except OSError:  # the watcher is gone (kill -9)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def snapshot(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.requests if path is None or r["path"] == path]

    def events(self, path: str | None = None, acknowledged: bool = True) -> list[dict]:
        """Events of every request (only those answered 2xx if acknowledged), in arrival order."""
        out = []
        for r in self.snapshot(path):
            if acknowledged and r["status"] != 200:
                continue
            out += json.loads(r["body"])["events"]
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- a git daemon remote ------------------------------------------------------------------------


class Daemon:
    """`git daemon` on 127.0.0.1 serving bare repositories under base, pushes allowed."""

    def __init__(self, base: Path):
        self.base = base
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["git", "daemon", "--export-all", f"--base-path={base}", f"--port={self.port}", "--reuseaddr",
             "--enable=receive-pack", "--listen=127.0.0.1", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def create(self, name: str) -> str:
        """A new empty bare repository; returns its URL once the daemon serves it."""
        git(self.base, "init", "-q", "--bare", name)
        url = self.url(name)
        wait_for(lambda: subprocess.run(["git", "ls-remote", url], capture_output=True, check=False).returncode == 0,
                 10, f"git daemon to serve {url}")
        return url

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- tagreg watch -------------------------------------------------------------------------------


def write_config(path: Path, repos: list, targets: list, state: Path | None = None, interval: float = 0.3,
                 delivery: dict | None = None, listen: dict | None = None) -> Path:
    """Write watch.yaml."""
    data: dict = {"interval": interval, "state": str(state or path.parent / "watch.sqlite"),
                  "repos": repos, "targets": targets}
    if delivery:
        data["delivery"] = delivery
    if listen:
        data["listen"] = listen
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Watcher:
    """`python -m tagreg watch ARGS` in the background; output goes to files."""

    def __init__(self, cwd: Path, config: Path, *args: str, env: dict | None = None, tag: str = "w"):
        self.out_path = cwd / f"{tag}.{time.monotonic_ns()}.out"
        self.err_path = cwd / f"{tag}.{time.monotonic_ns()}.err"
        self.out = open(self.out_path, "wb")  # noqa: SIM115 - open while the watcher runs, closed by stop()
        self.err = open(self.err_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "tagreg", "watch", "--config", str(config), *args],
                                     cwd=cwd, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})})

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_output(self, text: str, timeout: float = 20.0) -> None:
        wait_for(lambda: text in self.stderr or self.proc.poll() is not None, timeout, f"'{text}' from the watcher")
        assert text in self.stderr, f"watcher exited ({self.proc.returncode}) without '{text}':\n{self.stderr}"

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.out.close()
            self.err.close()
        return code

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.out.close()
        self.err.close()
