"""Helpers of the server tests: real registries built through tagreg.api in temporary folders, a live
`tagreg serve` started as a user starts it on a free 127.0.0.1 port, and HTTP requests to it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tagreg import api

TOKEN = "s3cret-token-for-tests-0123456789"
START = 1_767_225_600  # 2026-01-01 00:00:00 UTC
XSS_DESCRIPTION = "Detects <script>window.__xss = 'description'</script> & other <b>markup</b>"
XSS_MESSAGE = "Ship it <script>window.__xss = 'message'</script><img src=x onerror=\"window.__xss='img'\">"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def base_env(home: Path) -> dict[str, str]:
    """An environment with no user git config and a fixed identity."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "GTO_", "TAGREG_")) or k == "TAGREG_GTO_BIN"}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_AUTHOR_NAME": "Tester", "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "Tester", "GIT_COMMITTER_EMAIL": "t@example.com"})
    return env


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


class Author:
    """Makes registry changes through tagreg.api as a given person at given times."""

    def __init__(self, home: Path):
        self.home = home
        self.now = START

    @contextmanager
    def as_(self, name: str, days: float = 1):
        self.now += int(days * 86400)
        saved = dict(os.environ)
        os.environ.update(base_env(self.home))
        os.environ.update({"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": f"{name.lower()}@example.com",
                           "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": f"{name.lower()}@example.com",
                           "GIT_COMMITTER_DATE": f"{self.now} +0000", "GIT_AUTHOR_DATE": f"{self.now} +0000"})
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def commit(self, repo: Path, files: dict[str, str], message: str, who: str = "Alice") -> str:
        with self.as_(who, 0.1):
            for name, text in files.items():
                (repo / name).parent.mkdir(parents=True, exist_ok=True)
                (repo / name).write_text(text)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", message)
            return git(repo, "rev-parse", "HEAD").strip()


def init_repo(path: Path, home: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main", env=base_env(home))
    return path


@dataclass
class Registries:
    """The repositories of a test, and the config listing them."""

    root: Path
    home: Path
    config: Path
    paths: dict[str, Path] = field(default_factory=dict)
    origin: Path | None = None  # the bare repository behind the remote one


VISION_YAML = """\
resnet:
  type: model
  path: models/resnet.pt
  description: Image classifier for product photos
  labels: [cv, production]
yolo:
  type: model
  path: models/yolo.pt
  description: Object detector
  labels: [cv]
coco:
  type: dataset
  path: data/coco
  description: Training images
old-net:
  type: model
  path: models/old.pt
  description: The first classifier, replaced by resnet
"""

NLP_YAML = f"""\
bert:
  type: model
  path: models/bert
  description: Sentiment of reviews
  labels: [nlp, production]
tokenizer:
  type: model
  path: models/tok.json
  labels: [nlp]
guard:
  type: model
  path: models/guard.onnx
  description: "{XSS_DESCRIPTION}"
  labels: [nlp, safety]
shared-embed:
  type: model
  path: https://example.com/weights/embed-v3.bin
  repo: https://github.com/acme/embeddings.git
  rev: v3.0.0
  description: Embeddings linked from another repository
"""

FRAUD_YAML = """\
resnet:
  type: model
  path: models/resnet-fraud.pt
  description: Fraud detector on card images (same name as in vision)
  labels: [cv, fraud]
fraud-score:
  type: model
  path: models/score.pkl
  description: Transaction risk score
  labels: [tabular, fraud]
"""


def build_registries(root: Path) -> Registries:
    """Two local repositories and a remote one (a bare repository read through a file:// URL)."""
    home = root / "home"
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    a = Author(home)

    vision = init_repo(root / "vision", home)
    a.commit(vision, {"artifacts.yaml": VISION_YAML, ".gto": "stages: [dev, staging, prod]\n",
                      "models/resnet.pt": "1", "models/yolo.pt": "1", "models/old.pt": "1"}, "First models")
    git(vision, "remote", "add", "origin", "https://github.com/acme/vision.git")
    with a.as_("Alice"):
        api.register(vision, "old-net", version="v1.0.0")
    with a.as_("Alice"):
        api.register(vision, "resnet", version="v1.0.0")
    with a.as_("Bob"):
        api.assign(vision, "resnet", "prod", version="v1.0.0")
    with a.as_("Alice"):
        api.register(vision, "yolo", version="v0.1.0")
    with a.as_("Carol"):
        api.assign(vision, "yolo", "dev", version="v0.1.0")
    with a.as_("Alice"):
        api.register(vision, "coco", version="v2024.1.0")
    a.commit(vision, {"models/resnet.pt": "2"}, "Retrain resnet")
    with a.as_("Alice"):
        api.register(vision, "resnet", version="v1.1.0")
    with a.as_("Bob"):
        api.assign(vision, "resnet", "staging", version="v1.1.0")
    with a.as_("Dave"):
        api.deprecate(vision, "old-net", message="Replaced by resnet")

    nlp = init_repo(root / "nlp", home)
    a.commit(nlp, {"artifacts.yaml": NLP_YAML, "models/tok.json": "{}"}, "NLP models", who="Erin")
    git(nlp, "remote", "add", "origin", "git@github.com:acme/nlp-models.git")
    with a.as_("Erin"):
        api.register(nlp, "bert", version="v2.0.0")
    with a.as_("Erin"):
        api.assign(nlp, "bert", "prod", version="v2.0.0")
    with a.as_("Erin"):
        api.register(nlp, "tokenizer", version="v0.0.1")
    with a.as_("Mallory"):
        api.register(nlp, "guard", version="v0.1.0", message=XSS_MESSAGE)
    with a.as_("Erin"):
        api.register(nlp, "shared-embed", version="v3.0.0")

    # The remote: a bare repository, filled from a work clone, served as file://.
    origin = root / "fraud.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin), env=base_env(home))
    work = root / "fraud-work"
    git(root, "clone", "-q", str(origin), str(work), env=base_env(home))
    a.commit(work, {"artifacts.yaml": FRAUD_YAML, ".gto": "stages: [dev, staging, prod]\n"}, "Fraud models",
             who="Frank")
    with a.as_("Frank"):
        api.register(work, "fraud-score", version="v0.3.0")
    with a.as_("Frank"):
        api.assign(work, "fraud-score", "staging", version="v0.3.0")
    with a.as_("Frank"):
        api.register(work, "resnet", version="v0.1.0")
    with a.as_("Frank"):
        git(work, "push", "-q", "origin", "main", "--tags")

    config = root / "registries.yaml"
    config.write_text(
        "# repositories served by the tests\n"
        "refresh: 2\n"
        "repos:\n"
        "  - vision\n"
        "  - path: nlp\n"
        f"  - url: file://{origin}\n"
        "    id: fraud\n"
        "    web: https://gitlab.com/acme/fraud\n"
    )
    return Registries(root, home, config, {"vision": vision, "nlp": nlp, "work": work}, origin)


ORDERED_YAML = """\
alpha:
  type: model
  path: models/alpha.pkl
beta:
  type: model
  path: models/beta.pkl
delta:
  type: model
  path: models/delta.pkl
"""


def build_ordered_registries(root: Path) -> Registries:
    """Stages assigned in an order other than the configured one, and writes that push.

    ordered: `.gto` stages [dev, staging, prod]; alpha v1.0.0 got dev then prod, beta v1.0.0 got
    staging, dev, prod, then a hand-made `beta#qa#4` (a stage the config does not list); delta v1.0.0
    is in prod. Its server config names a push remote: `origin`, a bare repository (paths["origin"]).
    plain: no `.gto`, no push remote; gamma v0.1.0 got prod then staging; epsilon v0.1.0 is in staging.
    Tests that write change only delta and epsilon (and tests that read stages look at the others),
    so they pass in any order.
    """
    home = root / "home"
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    a = Author(home)
    origin = root / "ordered.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin), env=base_env(home))
    ordered = init_repo(root / "ordered", home)
    a.commit(ordered, {"artifacts.yaml": ORDERED_YAML, ".gto": "stages: [dev, staging, prod]\n",
                       "models/alpha.pkl": "1", "models/beta.pkl": "1", "models/delta.pkl": "1"}, "Models")
    git(ordered, "remote", "add", "origin", str(origin))
    for name, stages in (("alpha", ["dev", "prod"]), ("beta", ["staging", "dev", "prod"]), ("delta", ["prod"])):
        with a.as_("Alice"):
            api.register(ordered, name, version="v1.0.0")
        for stage in stages:
            with a.as_("Bob"):
                api.assign(ordered, name, stage, version="v1.0.0")
    with a.as_("Bob"):
        git(ordered, "tag", "-a", "beta#qa#4", "-m", "Assigning stage qa to artifact beta version v1.0.0",
            "beta@v1.0.0^{commit}")
    git(ordered, "push", "-q", "origin", "main", "--tags", env=base_env(home))

    plain = init_repo(root / "plain", home)
    a.commit(plain, {"artifacts.yaml": "gamma:\n  type: model\n  path: gamma.pkl\n"
                                       "epsilon:\n  type: model\n  path: epsilon.pkl\n",
                     "gamma.pkl": "1", "epsilon.pkl": "1"}, "Gamma and epsilon")
    for name, stages in (("gamma", ["prod", "staging"]), ("epsilon", ["staging"])):
        with a.as_("Carol"):
            api.register(plain, name, version="v0.1.0")
        for stage in stages:
            with a.as_("Carol"):
                api.assign(plain, name, stage, version="v0.1.0")

    config = root / "registries.yaml"
    config.write_text("repos:\n  - path: ordered\n    push: origin\n  - plain\n")
    return Registries(root, home, config, {"ordered": ordered, "plain": plain, "origin": origin}, origin)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A `tagreg serve` process."""

    url: str
    proc: subprocess.Popen
    log: Path
    env: dict[str, str]

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return request(self.url + path, headers=headers)

    def post(self, path: str, body: Any = None, headers: dict | None = None, raw: bytes | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return request(self.url + path, data=data, headers=hdrs, method="POST")

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(url: str, data: bytes | None = None, headers: dict | None = None,
            method: str | None = None) -> Reply:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def start_server(regs: Registries, *args: str, token: str | None = None, cwd: Path | None = None,
                 wait_for: int = 0, open_files: int | None = None) -> Server:
    """Start `python -m tagreg serve ARGS` and wait until it answers (and indexed wait_for repos).

    open_files: the server's limit of open files (`ulimit -n`), to show what happens when it runs out.
    """
    port = free_port()
    env = base_env(regs.home)
    env.update({"TAGREG_CACHE_DIR": str(regs.root / "cache"), "GIT_COMMITTER_NAME": "Web User",
                "GIT_COMMITTER_EMAIL": "web@example.com"})
    if token:
        env["TAGREG_TOKEN"] = token
    log = regs.root / f"server-{port}.log"
    handle = open(log, "wb")  # noqa: SIM115 - the server's output, for as long as it runs
    command = [sys.executable, "-m", "tagreg"]
    if open_files:  # `ulimit -n N; python -m tagreg`
        code = ("import resource, runpy, sys\n"
                "n = int(sys.argv.pop(1))\nresource.setrlimit(resource.RLIMIT_NOFILE, (n, n))\n"
                "runpy.run_module('tagreg', run_name='__main__', alter_sys=True)")
        command = [sys.executable, "-c", code, str(open_files)]
    proc = subprocess.Popen([*command, "serve", "--port", str(port), *args],
                            cwd=cwd or regs.root, env=env, stdout=handle, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", proc, log, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}:\n{server.logs()}")
        try:
            reply = server.get("/api/repos")
            if reply.status == 200 and sum(r["status"] == "ok" for r in reply.json["repos"]) >= wait_for:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise AssertionError(f"the server did not get ready:\n{server.logs()}")


@contextmanager
def app_server(regs: Registries, wait_for: int = 0, token: str | None = None, write: bool = False,
               config: Path | None = None):
    """The app of `tagreg serve --config regs.config` (or config), called in-process through
    Starlette's TestClient (its lifespan runs: the background indexer and fetchers too), with the same
    get/post as a Server: for tests of the answers, where the socket is not the point. Read-only
    unless write (as `--write`, with token as TAGREG_TOKEN)."""
    from starlette.testclient import TestClient

    from tagreg.server import settings as S
    from tagreg.server.app import create_app

    with pytest.MonkeyPatch.context() as env:
        for key, value in base_env(regs.home).items():
            env.setenv(key, value)
        env.setenv("TAGREG_CACHE_DIR", str(regs.root / "cache"))
        env.setenv("GIT_COMMITTER_NAME", "Web User")
        env.setenv("GIT_COMMITTER_EMAIL", "web@example.com")
        settings = S.load(str(config or regs.config))
        settings.write, settings.token = write, token
        app = create_app(settings)
        with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
            server = InProcess("http://127.0.0.1", client)
            deadline = time.monotonic() + 60
            while sum(r["status"] == "ok" for r in server.get("/api/repos").json["repos"]) < wait_for:
                if time.monotonic() > deadline:
                    raise AssertionError("the app did not index the repositories in time")
                time.sleep(0.05)
            yield server


@dataclass
class InProcess:
    """The app called in-process: the requests of a Server, without a socket."""

    url: str
    client: Any

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return self._reply(self.client.get(path, headers=headers))

    def post(self, path: str, body: Any = None, headers: dict | None = None, raw: bytes | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return self._reply(self.client.post(path, content=data,
                                            headers={"Content-Type": "application/json", **(headers or {})}))

    @staticmethod
    def _reply(response) -> Reply:
        return Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def find_chromium() -> str | None:
    for candidate in (os.environ.get("TAGREG_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


SCREENSHOT_NOW = "2026-03-01T12:00:00Z"  # the browser's clock: "2 months ago" stays the same from run to run


def freeze_clock(pg) -> None:
    """Fix the page's idea of now, so relative times (and so the screenshots) do not drift."""
    pg.clock.set_fixed_time(SCREENSHOT_NOW)


def screenshot(pg, name: str, full_page: bool = True) -> None:
    """Save a screenshot for the README (docs/screenshots/NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
