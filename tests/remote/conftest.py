"""Real remotes for the remote tests: bare "server" repositories served by `git daemon` on 127.0.0.1.

One `git daemon` per test session serves every repository under one base folder (receive-pack
enabled, so pushes work); each test gets its own served copy of a populated registry, so tests
never see each other's pushes. The same repositories are reachable as `file://` URLs.

The populated registry (built once per session):

    commit A  artifacts.yaml (with comments) declaring m -> models/m.bin; models/m.bin = MODEL_V1
    commit B  models/m.bin = MODEL_V2; a folder artifact, an LFS pointer, a DVC-tracked path,
              an s3:// path, paths escaping the repository, a folder with a symlink pointing out
    commit C  README only (main's HEAD: no version of anything here)
    branch `other` at B

    tags: m@v0.0.1 (A), m#prod#1 (A), m@v0.0.2 (B), and X@v0.0.1 (B) for every other artifact.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .helpers import EPOCH, LFS_POINTER, MODEL_V1, MODEL_V2, git, tag_objects, tags_of

ARTIFACTS_A = """\
# Models of the churn team: keep this comment
m:
  type: model  # what kind of thing m is
  path: models/m.bin
"""

ARTIFACTS_B = ARTIFACTS_A + """\
bundle:
  type: model
  path: models/bundle
lfsm:
  path: models/big.bin
dvcm:
  path: model.pkl
ext:
  path: s3://bucket/models/ext.pkl
esc-rel:
  path: ../x
esc-abs:
  path: /etc/passwd
evil:
  path: models/evil
"""

BUNDLE = {
    "a.txt": b"alpha\n",
    "sub/b.txt": b"beta\n",
    "sub/deep/c.bin": b"\x00\xffgamma",
}

DVC_FILE = """\
outs:
- md5: 0123456789abcdef0123456789abcdef
  size: 12
  hash: md5
  path: model.pkl
"""

OTHER_ARTIFACTS = ["bundle", "lfsm", "dvcm", "ext", "esc-rel", "esc-abs", "evil"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def session_env(tmp_path_factory) -> dict:
    """Environment for git run by session fixtures (outside any test's isolated HOME)."""
    home = tmp_path_factory.mktemp("server-home")
    (home / ".gitconfig").write_text("[user]\n\tname = Server Admin\n\temail = admin@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "TAGREG_", "GTO_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    return env


def _commit(work: Path, env: dict, when: int, message: str, files: dict) -> str:
    for name, content in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        git(work, "add", "--", name, env=env)
    stamp = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    git(work, "commit", "-q", "-m", message, env={**env, **stamp})
    return git(work, "rev-parse", "HEAD", env=env).strip()


def _tag(work: Path, env: dict, when: int, tag: str, ref: str, message: str) -> None:
    stamp = {"GIT_COMMITTER_DATE": f"{when} +0000", "GIT_COMMITTER_NAME": "Release Bot",
             "GIT_COMMITTER_EMAIL": "bot@example.com"}
    git(work, "tag", "-a", "-m", message, "--", tag, ref, env={**env, **stamp})


@pytest.fixture(scope="session")
def template(tmp_path_factory, session_env) -> Path:
    """The populated registry as a bare repository, copied for each test's server."""
    root = tmp_path_factory.mktemp("template")
    work = root / "work"
    env = session_env
    git(root, "init", "-q", "-b", "main", str(work), env=env)
    t = itertools.count(EPOCH, 60)
    a = _commit(work, env, next(t), "first model", {"artifacts.yaml": ARTIFACTS_A, "models/m.bin": MODEL_V1})
    files: dict = {"artifacts.yaml": ARTIFACTS_B, "models/m.bin": MODEL_V2, "models/big.bin": LFS_POINTER,
                   "model.pkl.dvc": DVC_FILE, "models/evil/ok.txt": "fine\n"}
    files.update({f"models/bundle/{k}": v for k, v in BUNDLE.items()})
    os.makedirs(work / "models" / "evil", exist_ok=True)
    os.symlink("../../../../../../../../etc/passwd", work / "models" / "evil" / "link")
    git(work, "add", "--", "models/evil/link", env=env)
    b = _commit(work, env, next(t), "second model and friends", files)
    _commit(work, env, next(t), "docs", {"README.md": "# the churn registry\n"})
    git(work, "branch", "other", b, env=env)
    _tag(work, env, next(t), "m@v0.0.1", a, "Registering artifact m version v0.0.1")
    _tag(work, env, next(t), "m#prod#1", a, "Assigning stage prod to artifact m version v0.0.1")
    _tag(work, env, next(t), "m@v0.0.2", b, "Registering artifact m version v0.0.2")
    for name in OTHER_ARTIFACTS:
        _tag(work, env, next(t), f"{name}@v0.0.1", b, f"Registering artifact {name} version v0.0.1")
    bare = root / "template.git"
    git(root, "clone", "-q", "--bare", str(work), str(bare), env=env)
    return bare


class Daemon:
    """A running `git daemon` serving every repository under base."""

    def __init__(self, base: Path, port: int, process: subprocess.Popen, log: Path):
        self.base, self.port, self.process, self.log = base, port, process, log

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def daemon(tmp_path_factory, session_env) -> Daemon:
    """`git daemon` on 127.0.0.1 (a free port), pushes enabled; stopped at the end of the session."""
    base = tmp_path_factory.mktemp("served")
    log = base.parent / "git-daemon.log"
    for _ in range(5):  # the port may be taken between choosing and binding it
        port = _free_port()
        with open(log, "ab") as handle:
            process = subprocess.Popen(
                ["git", "daemon", "--listen=127.0.0.1", f"--port={port}", "--reuseaddr", "--export-all",
                 "--enable=receive-pack", "--informative-errors", f"--base-path={base}", str(base)],
                stdout=handle, stderr=handle, env=session_env,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        if process.poll() is None:
            break
    else:
        pytest.fail(f"git daemon did not start: {log.read_text(errors='replace')}")
    yield Daemon(base, port, process, log)
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Server:
    """A bare repository served by the daemon: the remote registry, as its owners see it."""

    def __init__(self, path: Path, url: str, env: dict):
        self.path = path
        self.name = path.name
        self.url = url  # git://127.0.0.1:PORT/NAME.git
        self.file_url = f"file://{path}"
        self._env = env

    def git(self, *args: str, **kwargs) -> str:
        return git(self.path, *args, env={**self._env, **kwargs.pop("env", {})}, **kwargs)

    def tags(self) -> set[str]:
        return tags_of(self.path)

    def tag_objects(self) -> dict[str, str]:
        return tag_objects(self.path)

    def rev(self, ref: str) -> str:
        """The commit ref names on the server."""
        return self.git("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def show(self, spec: str) -> bytes:
        return subprocess.run(["git", "cat-file", "blob", spec], cwd=self.path, capture_output=True,
                              check=True, env=self._env).stdout

    def tagger(self, tag: str) -> str:
        return self.git("for-each-ref", "--format=%(taggername) %(taggeremail)", f"refs/tags/{tag}").strip()

    def add_tag(self, tag: str, ref: str, message: str, who: str = "Someone Else") -> None:
        """A tag someone else pushed meanwhile."""
        self.git("tag", "-a", "-m", message, "--", tag, f"{ref}^{{commit}}",
                 env={"GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": "else@example.com"})

    def commit_file(self, branch: str, files: dict, message: str, tmp: Path) -> str:
        """A commit someone else pushed to branch (through a clone of their own)."""
        work = tmp / f"someone-{self.name}-{time.monotonic_ns()}"
        git(tmp, "clone", "-q", "--branch", branch, "--", str(self.path), str(work), env=self._env)
        for name, content in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(content)
            git(work, "add", "--", name, env=self._env)
        git(work, "commit", "-q", "-m", message, env=self._env)
        git(work, "push", "-q", "origin", branch, env=self._env)
        return git(work, "rev-parse", "HEAD", env=self._env).strip()

    def hook(self, name: str, script: str) -> None:
        """Install a server-side hook (e.g. a pre-receive that refuses)."""
        path = self.path / "hooks" / name
        path.write_text(script)
        path.chmod(0o755)


_names = itertools.count(1)


@pytest.fixture
def make_server(daemon, template, session_env, request):
    """make_server(source=None, name=None): a served bare copy of source (default: the populated registry)."""
    made: list[Path] = []

    def make(source: Path | None = None, name: str | None = None) -> Server:
        label = name or re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:40]
        path = daemon.base / f"{label}-{next(_names)}.git"
        git(daemon.base, "clone", "-q", "--bare", "--no-hardlinks", "--", str(source or template), str(path),
            env=session_env)
        git(path, "config", "uploadpack.allowFilter", "true", env=session_env)
        made.append(path)
        return Server(path, daemon.url(path.name), session_env)

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(make_server) -> Server:
    """This test's own copy of the populated registry, served by git daemon."""
    return make_server()


@pytest.fixture(autouse=True)
def cache_dir(_isolated_git, tmp_path, monkeypatch) -> Path:
    """Each test's own tagreg cache (TAGREG_CACHE_DIR), so mirrors never leak between tests."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TAGREG_CACHE_DIR", str(path))
    return path


@pytest.fixture
def work(tmp_path) -> Path:
    """An empty folder (not a git repository) to run commands in, as a script on a server would."""
    path = tmp_path / "work"
    path.mkdir()
    return path
