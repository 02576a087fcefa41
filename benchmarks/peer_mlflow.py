"""tagreg side by side with MLflow's model registry, on the same registries (issue #12).

    python benchmarks/peer_mlflow.py --mlflow-python /tmp/mlflow/bin/python [--versions 20,1000]
                                     [--models 100 --model-versions 100] [--repeat 7]
                                     [--tagreg EXE] [--workdir DIR] [--max-seconds 1800] [--markdown]

MLflow is never a dependency of tagreg: install it into a venv of its own first,

    python3 -m venv /tmp/mlflow && /tmp/mlflow/bin/pip install mlflow

For each shape the script builds a tagreg registry with plain git (gitwrite.py, the tags
generate.py writes) and an MLflow registry with the same models, versions and stages (MLflow's
client on a SQLite file), starts `mlflow server` on 127.0.0.1 at a free port over that file, and
times the two side by side, run by run in turn so that load on the machine hits both alike:

- one model (`deep-model`) with each of --versions versions, each assigned to dev when
  registered, every 10th to staging, every 50th to prod (MLflow: the aliases dev, staging and
  prod on the versions tagreg's stages end at): `tagreg which deep-model prod` against a `curl` of
  MLflow's alias endpoint and a `python -c` MLflow client call (the start-up of each shown
  apart), in process (`api.which` / `get_model_version_by_alias`), and registering a version
  (`tagreg register` / `create_model_version`), as a command and in process;
- --models models with --model-versions versions each, staged alike: the whole registry in
  process, warm (`tagreg.api.show(repo)`, the cached view / `search_registered_models()`, every
  page), and as a new process (`tagreg show` / a `curl` of the search endpoint).

Versions made by a run are deleted after it (a tag with `git tag -d`, an MLflow version with
`delete_model_version`), untimed. Nothing goes beyond 127.0.0.1 (MLflow's telemetry is turned off).
Registries go to a temporary folder removed at the end, or are kept under --workdir and reused.
Progress goes to stderr, the table to stdout. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generate import MANIFEST, START, artifacts_yaml, deep_events, model_paths, tag_name_and_message
from gitwrite import fast_import, git, refs_fingerprint, write_tags
from run import compile_venv, interpreter_of, log

ROOT = Path(__file__).resolve().parent.parent
INSTALL = "python3 -m venv /tmp/mlflow && /tmp/mlflow/bin/pip install mlflow"
SHAPE_VERSION = 1  # bump when what build_registry or populate write changes, to rebuild kept registries
DEEP = "deep-model"
ALIAS = "prod"

# Only 127.0.0.1 is ever talked to: no telemetry, no proxy, no job runner beside the server.
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
             "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "NO_PROXY": "*", "no_proxy": "*"}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                   "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


# --- the registries ---------------------------------------------------------------------------

@dataclass
class Shape:
    """Models with `versions` versions each, staged as generate.deep_events stages them."""

    key: str  # folder and file names
    label: str  # in the table
    names: list[str]
    versions: int

    def winners(self) -> dict[str, int]:
        """Each stage's version (index from 0) after every event: what `which` answers."""
        found: dict[str, int] = {}
        for event in deep_events(self.versions):
            if event[0] == "assign":
                found[event[2]] = version_index(event[1])
        return found


def version_index(version: str) -> int:
    """deep_events' v1.X.Y is version number X * 100 + Y (from 0)."""
    _, minor, patch = version[1:].split(".")
    return int(minor) * 100 + int(patch)


def version_name(index: int) -> str:
    return f"v1.{index // 100}.{index % 100}"


def source_of(name: str, index: int) -> str:
    """An MLflow version's source: ends with tagreg's version name, so answers can be compared."""
    return f"s3://bench/{name}/{version_name(index)}"


def build_registry(dest: Path, shape: Shape) -> None:
    """The tagreg registry of shape at dest: a commit per version, GTO's tags, an unregistered HEAD."""
    paths = model_paths(shape.names)
    events = deep_events(shape.versions)
    tags: list[tuple[str, int, int, str]] = []  # (tag, commit mark, time, message)

    def write(stream) -> None:
        stream.commit(START - 1, "Declare artifacts", {
            "artifacts.yaml": stream.blob(artifacts_yaml(shape.names, paths, list(range(len(shape.names))), 0)),
            "README.md": b"Registry for benchmarks/peer_mlflow.py.\n"})
        when = START
        commits: dict[tuple[int, str], int] = {}
        # Round by round (a version of each model, then the next), as teams train side by side.
        rounds: list[list[tuple]] = [[] for _ in range(shape.versions)]
        for event in events:
            rounds[version_index(event[1])].append(event)
        for round_events in rounds:
            for m, name in enumerate(shape.names):
                for event in round_events:
                    if event[0] == "register":
                        files = {paths[m]: f"{name} {event[1]}\n".encode()}
                        commits[(m, event[1])] = stream.commit(when, f"Train {name} {event[1]}", files)
                    tag, message = tag_name_and_message(name, event)
                    tags.append((tag, commits[(m, event[1])], when, message))
                    when += 1
        stream.commit(when, "Work after the last version", {"README.md": b"Not registered yet.\n"})

    dest.mkdir(parents=True)
    git(dest, "init", "-q")
    git(dest, "symbolic-ref", "HEAD", "refs/heads/main")
    marks = fast_import(dest, write)
    write_tags(dest, [(tag, marks[mark], when, message) for tag, mark, when, message in tags], {})
    git(dest, "reset", "-q", "--hard")
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com"), ("gc.auto", "0")):
        git(dest, "config", key, value)


def mlflow_spec(shape: Shape) -> dict:
    """What populate creates in MLflow: the same models, versions and current stages (as aliases)."""
    paths = model_paths(shape.names)
    return {"models": [{"name": name, "description": f"model {name} at {paths[m]}",
                        "sources": [source_of(name, i) for i in range(shape.versions)],
                        "aliases": {stage: i + 1 for stage, i in shape.winners().items()}}
                       for m, name in enumerate(shape.names)]}


POPULATE = r"""
import json, sys, time
from mlflow import MlflowClient
uri, spec = sys.argv[1], json.load(open(sys.argv[2]))
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
started = time.perf_counter()
for n, model in enumerate(spec["models"]):
    client.create_registered_model(model["name"], description=model["description"])
    for source in model["sources"]:
        client.create_model_version(model["name"], source)
    for alias, version in model["aliases"].items():
        client.set_registered_model_alias(model["name"], alias, str(version))
    print(f"  MLflow: {n + 1} of {len(spec['models'])} models in {time.perf_counter() - started:.0f} s",
          file=sys.stderr, flush=True)
"""


def prepare(shape: Shape, folder: Path, mlflow_python: str, env: dict, deadline: Deadline) -> tuple[Path, Path]:
    """The tagreg repository and MLflow database of shape under folder, reused when built alike."""
    repo, db = folder / f"{shape.key}-tagreg", folder / f"{shape.key}-mlflow.db"
    stamp = {"shape": SHAPE_VERSION, "names": shape.names, "versions": shape.versions,
             "mlflow": mlflow_version(mlflow_python, env)}
    kept = folder / f"{shape.key}.json"
    with contextlib.suppress(OSError, ValueError, subprocess.CalledProcessError):
        manifest = json.loads(kept.read_text())
        if manifest["stamp"] == stamp and manifest["fingerprint"] == refs_fingerprint(repo) and db.exists():
            log(f"{shape.label}: reusing {repo} and {db}")
            return repo, db
    shutil.rmtree(repo, ignore_errors=True)
    db.unlink(missing_ok=True)
    kept.unlink(missing_ok=True)
    started = time.perf_counter()
    build_registry(repo, shape)
    log(f"{shape.label}: tagreg registry built in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    spec = folder / f"{shape.key}-spec.json"
    spec.write_text(json.dumps(mlflow_spec(shape)))
    try:
        subprocess.run([mlflow_python, "-c", POPULATE, f"sqlite:///{db}", str(spec)], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=deadline.left())
    except subprocess.TimeoutExpired:
        db.unlink(missing_ok=True)
        raise
    spec.unlink()
    log(f"{shape.label}: MLflow registry populated in {time.perf_counter() - started:.1f} s")
    kept.write_text(json.dumps({"stamp": stamp, "fingerprint": refs_fingerprint(repo)}, indent=2) + "\n")
    (repo / ".git" / MANIFEST).write_text(json.dumps({"peer_mlflow": stamp}) + "\n")
    return repo, db


def mlflow_version(mlflow_python: str, env: dict) -> str:
    out = subprocess.run([mlflow_python, "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


# --- the processes ----------------------------------------------------------------------------

class Deadline:
    """The run's time limit (--max-seconds)."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def passed(self) -> bool:
        return self.left() <= 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> bytes:
    """GET from 127.0.0.1, never through a proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return response.read()


@contextlib.contextmanager
def mlflow_server(mlflow_python: str, db: Path, scratch: Path, env: dict, deadline: Deadline) -> Iterator[str]:
    """`mlflow server` over db on 127.0.0.1 at a free port; yields its URL; stops it (and its workers)."""
    port = free_port()
    artifacts = scratch / "mlflow-artifacts"
    artifacts.mkdir(exist_ok=True)
    argv = [mlflow_python, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}",
            "--default-artifact-root", artifacts.as_uri(), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]
    with open(scratch / "mlflow-server.log", "ab") as server_log:
        proc = subprocess.Popen(argv, env=env, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        limit = time.monotonic() + min(300.0, deadline.left())
        while True:  # poll until it answers (imports and a schema check take seconds)
            with contextlib.suppress(OSError):
                if get(f"{url}/health", timeout=2).strip() == b"OK":
                    break
            if proc.poll() is not None or time.monotonic() > limit:
                tail = (scratch / "mlflow-server.log").read_text(errors="replace").strip().splitlines()[-1:]
                raise RuntimeError(f"mlflow server did not start: {' '.join(tail) or 'no output'}")
            time.sleep(0.2)
        log(f"mlflow server on {url} (pid {proc.pid})")
        yield url
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """End a process started in a session of its own, and whatever it started (uvicorn's workers)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError):  # workers left behind by a leader that exited first
        os.killpg(proc.pid, signal.SIGKILL)


# A worker answers one JSON request a line: times one call in process, warm, and undoes what it made.
# Its stdout is the protocol alone: whatever the libraries print goes to stderr.
WORKER_PRELUDE = r"""
import json, os, subprocess, sys, time
protocol = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

def serve(calls, undo):
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            start = time.perf_counter()
            answer = calls[op](**request)
            seconds = time.perf_counter() - start
            if op in undo:
                undo[op](answer, **request)
            reply = {"seconds": seconds, "answer": str(answer)}
        except Exception as error:
            reply = {"error": f"{type(error).__name__}: {error}"}
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()
"""

TAGREG_WORKER = WORKER_PRELUDE + r"""
from tagreg import api

def which(name, stage):
    found = api.which(".", name, stage)
    return found.version if found else ""

def delete_tag(tag, name):
    subprocess.run(["git", "tag", "-d", tag], check=True, capture_output=True)

serve({"which": which, "register": lambda name: api.register(".", name).tag,
       "show": lambda: len(api.show(".").artifacts)}, {"register": delete_tag})
"""

MLFLOW_WORKER = WORKER_PRELUDE + r"""
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])

def search():
    models, token = 0, None
    while True:
        page = client.search_registered_models(page_token=token)
        models += len(page)
        token = page.token
        if not token:
            return models

serve({"alias": lambda name, alias: client.get_model_version_by_alias(name, alias).source.rsplit("/", 1)[-1],
       "create": lambda name, source: client.create_model_version(name, source).version,
       "delete": lambda name, version: client.delete_model_version(name, version),
       "search": search},
      {"create": lambda version, name, source: client.delete_model_version(name, version)})
"""

MLFLOW_ALIAS = ("import sys; from mlflow import MlflowClient; "
                "print(MlflowClient(sys.argv[1]).get_model_version_by_alias(sys.argv[2], sys.argv[3]).source)")
MLFLOW_CREATE = ("import sys; from mlflow import MlflowClient; "
                 "print(MlflowClient(sys.argv[1]).create_model_version(sys.argv[2], sys.argv[3]).version)")
MLFLOW_IMPORT = "from mlflow import MlflowClient"


class Worker:
    """A long-lived Python process that times calls in process (TAGREG_WORKER, MLFLOW_WORKER)."""

    def __init__(self, python: str, code: str, args: list[str], cwd: Path, env: dict, log_file: Path):
        with open(log_file, "a") as stderr:  # what the libraries print, and a traceback if it dies
            self.proc = subprocess.Popen([python, "-c", code, *args], cwd=cwd, env=env, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        self.log_file = log_file

    def call(self, op: str, **request) -> tuple[float, str]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, **request}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"the worker exited with code {self.proc.wait()}: {' '.join(tail)}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{op}: {reply['error']}")
        return reply["seconds"], reply["answer"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def timed(argv: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    """Seconds one command takes, and its stdout; a failure is an error with its first stderr line."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        raise RuntimeError(f"{Path(argv[0]).name} {' '.join(argv[1:3])}: {lines[-1]}")
    return elapsed, proc.stdout.strip()


# --- the measurements -------------------------------------------------------------------------

Measure = Callable[[], tuple[float, str]]  # seconds, and the answer (to compare tagreg's and MLflow's)


@dataclass
class Row:
    """A line of the table: one thing done by tagreg and by MLflow, with the runs' seconds."""

    shape: str
    tagreg: str
    mlflow: str
    tagreg_times: list[float] = field(default_factory=list)
    mlflow_times: list[float] = field(default_factory=list)
    note: str = ""


def interleave(pairs: list[tuple[Row, Measure, Measure]], repeat: int, warmup: int, deadline: Deadline) -> None:
    """Run each pair's two sides in turn, round after round (so load hits both alike), until repeat
    rounds after warmup ones, or the deadline; a side that fails is noted and not run again."""
    failed: set[int] = set()
    answers: dict[int, list[str]] = {}
    for round_ in range(warmup + repeat):
        for i, (row, tagreg, mlflow) in enumerate(pairs):
            if i in failed or deadline.passed():
                continue
            try:
                (t, t_answer), (m, m_answer) = tagreg(), mlflow()
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                failed.add(i)
                row.note = f"FAILED: {error}"
                log(f"{row.shape}: {row.tagreg} / {row.mlflow}: {row.note}")
                continue
            answers.setdefault(i, [t_answer, m_answer])
            if round_ >= warmup:
                row.tagreg_times.append(t)
                row.mlflow_times.append(m)
    for i, (row, _, _) in enumerate(pairs):
        if i in answers and not row.note and answers[i][0] and answers[i][1]:
            row.note = f"answers: {answers[i][0]} / {answers[i][1]}"
        if row.tagreg_times:
            log(f"{row.shape}: {row.tagreg} {ms(statistics.median(row.tagreg_times))}, "
                f"{row.mlflow} {ms(statistics.median(row.mlflow_times))}")
    if deadline.passed():
        log("--max-seconds reached: the rest is not measured")


@dataclass
class Setup:
    """What every measurement needs: the executables, environments and run counts."""

    tagreg: str
    tagreg_python: str
    mlflow_python: str
    tagreg_env: dict
    mlflow_env: dict
    curl: str
    repeat: int
    warmup: int
    scratch: Path  # logs of the workers and the server


def workers(s: Setup, repo: Path, url: str) -> tuple[Worker, Worker]:
    """tagreg's and MLflow's in-process workers, for one registry and one MLflow server."""
    return (Worker(s.tagreg_python, TAGREG_WORKER, [], repo, s.tagreg_env, s.scratch / "tagreg-worker.log"),
            Worker(s.mlflow_python, MLFLOW_WORKER, [url], repo, s.mlflow_env, s.scratch / "mlflow-worker.log"))


def interleave_then_close(pairs: list[tuple[Row, Measure, Measure]], s: Setup, deadline: Deadline,
                          *used: Worker) -> None:
    """Time the pairs in turns (`interleave`), then stop the workers, also after a failure."""
    try:
        interleave(pairs, s.repeat, s.warmup, deadline)
    finally:
        for worker in used:
            worker.close()


def deep_rows(shape: Shape, repo: Path, url: str, s: Setup, deadline: Deadline, first: bool) -> list[Row]:
    """`which`, and registering a version, on one model with shape.versions versions."""
    tagreg, mlflow = workers(s, repo, url)
    alias_url = f"{url}/api/2.0/mlflow/registered-models/alias?name={DEEP}&alias={ALIAS}"
    new_source = f"s3://bench/{DEEP}/new"

    def which_cli() -> tuple[float, str]:
        return timed([s.tagreg, "which", DEEP, ALIAS], repo, s.tagreg_env)

    def curl_alias() -> tuple[float, str]:
        seconds, out = timed([s.curl, "-s", "-f", "--noproxy", "*", alias_url], repo, s.mlflow_env)
        return seconds, json.loads(out)["model_version"]["source"].rsplit("/", 1)[-1]

    def python_alias() -> tuple[float, str]:
        seconds, out = timed([s.mlflow_python, "-c", MLFLOW_ALIAS, url, DEEP, ALIAS], repo, s.mlflow_env)
        return seconds, out.rsplit("/", 1)[-1]

    def register_cli() -> tuple[float, str]:
        before = tag_names(repo)
        try:
            return timed([s.tagreg, "register", DEEP], repo, s.tagreg_env)
        finally:
            if new := sorted(tag_names(repo) - before):
                git(repo, "tag", "-d", *new)

    def create_python() -> tuple[float, str]:
        seconds, version = timed([s.mlflow_python, "-c", MLFLOW_CREATE, url, DEEP, new_source], repo, s.mlflow_env)
        mlflow.call("delete", name=DEEP, version=version)
        return seconds, version

    shape_label = shape.label
    rows = [
        Row(shape_label, f"tagreg which {DEEP} {ALIAS}", "curl -s (alias endpoint)"),
        Row(shape_label, f"tagreg which {DEEP} {ALIAS}", "python -c: MlflowClient().get_model_version_by_alias"),
        Row(shape_label, "api.which(repo, ...), in process", "get_model_version_by_alias, in process"),
        Row(shape_label, f"tagreg register {DEEP}", "python -c: MlflowClient().create_model_version"),
        Row(shape_label, "api.register(repo, ...), in process", "create_model_version, in process"),
    ]
    # The CLI side of the first two rows is one measurement, timed once a round.
    cli_which: list[tuple[float, str]] = []

    def which_once() -> tuple[float, str]:
        cli_which.append(which_cli())
        return cli_which[-1]

    def which_again() -> tuple[float, str]:
        return cli_which[-1] if cli_which else which_cli()

    pairs: list[tuple[Row, Measure, Measure]] = [
        (rows[0], which_once, curl_alias),
        (rows[1], which_again, python_alias),
        (rows[2], lambda: tagreg.call("which", name=DEEP, stage=ALIAS),
         lambda: mlflow.call("alias", name=DEEP, alias=ALIAS)),
        (rows[3], register_cli, create_python),
        (rows[4], lambda: tagreg.call("register", name=DEEP),
         lambda: mlflow.call("create", name=DEEP, source=new_source)),
    ]
    if first:  # start-up alone, once
        row = Row(shape_label, "python -c pass (tagreg's Python)", "python -c 'from mlflow import MlflowClient'")
        rows.append(row)
        pairs.append((row, lambda: timed([s.tagreg_python, "-c", "pass"], repo, s.tagreg_env),
                      lambda: timed([s.mlflow_python, "-c", MLFLOW_IMPORT], repo, s.mlflow_env)))
    interleave_then_close(pairs, s, deadline, tagreg, mlflow)
    return rows


def wide_rows(shape: Shape, repo: Path, url: str, s: Setup, deadline: Deadline) -> list[Row]:
    """The whole registry of many models: in process, warm, and as a new process."""
    tagreg, mlflow = workers(s, repo, url)
    search_url = f"{url}/api/2.0/mlflow/registered-models/search?max_results=1000"

    def show_cli() -> tuple[float, str]:
        seconds, out = timed([s.tagreg, "show", "--json"], repo, s.tagreg_env)
        return seconds, str(len(json.loads(out)))

    def curl_search() -> tuple[float, str]:
        seconds, out = timed([s.curl, "-s", "-f", "--noproxy", "*", search_url], repo, s.mlflow_env)
        return seconds, str(len(json.loads(out).get("registered_models", [])))

    rows = [
        Row(shape.label, "tagreg.api.show(repo), in process", "search_registered_models(), every page, in process"),
        Row(shape.label, "tagreg show --json", "curl -s (search endpoint, max_results=1000)"),
    ]
    pairs: list[tuple[Row, Measure, Measure]] = [
        (rows[0], lambda: tagreg.call("show"), lambda: mlflow.call("search")),
        (rows[1], show_cli, curl_search),
    ]
    interleave_then_close(pairs, s, deadline, tagreg, mlflow)
    return rows


def tag_names(repo: Path) -> set[str]:
    return set(git(repo, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags").split())


# --- the table --------------------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def cell(times: list[float], repeat: int) -> str:
    """Median (fastest) of the runs, and how many when fewer than asked (--max-seconds)."""
    if not times:
        return "not measured"
    text = f"{ms(statistics.median(times))} ({ms(min(times))})"
    return text + (f", {len(times)} of {repeat} runs" if len(times) < repeat else "")


def ratio(row: Row) -> str:
    if not row.tagreg_times or not row.mlflow_times:
        return ""
    r = statistics.median(row.tagreg_times) / statistics.median(row.mlflow_times)
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def render(rows: list[Row], repeat: int, markdown: bool) -> str:
    """The table: a line per row, tagreg's and MLflow's medians and their ratio, then the notes."""
    header = ["shape", "tagreg", "median (fastest)", "MLflow", "median (fastest)", "tagreg ÷ MLflow"]
    table = [[row.shape, row.tagreg, cell(row.tagreg_times, repeat), row.mlflow, cell(row.mlflow_times, repeat),
              ratio(row)] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---|---:|---|---:|---:|"]
        lines += ["| " + " | ".join(f"`{c}`" if i in (1, 3) else c for i, c in enumerate(line)) + " |"
                  for line in table]
    else:
        widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header))]
        lines = ["  ".join(c.rjust(w) if i in (2, 4, 5) else c.ljust(w)
                           for i, (c, w) in enumerate(zip(line, widths))).rstrip()
                 for line in [header, *table]]
    notes = [f"{row.shape}, {row.tagreg} / {row.mlflow}: {row.note}" for row in rows
             if row.note.startswith("FAILED")]
    if notes:
        lines += ["", "Failures:", *(f"- {note}" for note in notes)]
    return "\n".join(lines)


# --- the run ----------------------------------------------------------------------------------

def environment(s: Setup) -> str:
    def first_line(argv: list[str], env: dict) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
            out = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        return "?"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return "; ".join([f"{os.cpu_count()} CPUs, load average {load}", first_line(["git", "--version"], s.tagreg_env),
                      first_line([s.tagreg, "--version"], s.tagreg_env),
                      "mlflow " + first_line([s.mlflow_python, "-c", "import importlib.metadata as m; "
                                              "print(m.version('mlflow'))"], s.mlflow_env),
                      first_line([s.tagreg_python, "--version"], s.tagreg_env)])


def clean_env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    return {**env, **QUIET_ENV, **extra}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"MLflow is not a dependency of tagreg; install it into a venv of its own: {INSTALL}")
    parser.add_argument("--mlflow-python", required=True, metavar="PATH",
                        help="the Python of a venv with mlflow installed (e.g. /tmp/mlflow/bin/python)")
    parser.add_argument("--tagreg", help="tagreg executable (default: on PATH, else .venv/bin/tagreg)")
    parser.add_argument("--versions", default="20,1000", help="versions of the one model, comma-separated")
    parser.add_argument("--models", type=int, default=100, help="models of the whole-registry shape (0: skip it)")
    parser.add_argument("--model-versions", type=int, default=100, help="versions of each of those models")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each side")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--workdir", type=Path, help="keep the registries here and reuse them (default: a "
                        "temporary folder, removed at the end)")
    parser.add_argument("--max-seconds", type=float, default=1800, help="stop measuring after this long")
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile the venvs")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    options = parser.parse_args(argv)
    python = shutil.which(options.mlflow_python)
    if not python or subprocess.run([python, "-c", "import mlflow"], capture_output=True,
                                    env=clean_env({})).returncode != 0:
        parser.error(f"no mlflow for {options.mlflow_python}: install it into a venv of its own: {INSTALL}")
    options.mlflow_python = python
    local = ROOT / ".venv" / "bin" / "tagreg"
    options.tagreg = shutil.which(options.tagreg or "tagreg") or (str(local) if local.exists() else None)
    if not options.tagreg:
        parser.error("tagreg not found on PATH nor in .venv (use --tagreg)")
    options.curl = shutil.which("curl")
    if not options.curl:
        parser.error("curl not found on PATH")
    try:
        options.versions = [int(v) for v in options.versions.split(",")]
    except ValueError:
        parser.error("--versions: numbers separated by commas, e.g. 20,1000")
    if any(v < 1 for v in [*options.versions, options.model_versions]) or options.repeat < 1:
        parser.error("--versions, --model-versions and --repeat must be at least 1")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    deadline = Deadline(options.max_seconds)
    scratch = Path(tempfile.mkdtemp(prefix="tagreg-peer-mlflow-"))
    folder = options.workdir.resolve() if options.workdir else scratch / "registries"
    folder.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the server is stopped and scratch removed
    tagreg_python = interpreter_of(options.tagreg) or sys.executable
    s = Setup(options.tagreg, tagreg_python, options.mlflow_python,
              clean_env({"TAGREG_CACHE_DIR": str(scratch / "tagreg-cache")}), clean_env({}),
              options.curl, options.repeat, options.warmup, scratch)
    shapes = [Shape(f"deep-{v}", f"1 model × {v:,} versions", [DEEP], v) for v in options.versions]
    if options.models:
        shapes.append(Shape(f"models-{options.models}x{options.model_versions}",
                            f"{options.models} models × {options.model_versions:,} versions",
                            [f"model-{i:03d}" for i in range(options.models)], options.model_versions))
    rows: list[Row] = []
    try:
        if not options.no_compile:  # PYTHONDONTWRITEBYTECODE=1 would have every start-up compile everything
            log("byte-compiling both venvs")
            compile_venv(tagreg_python, "tagreg")
            compile_venv(options.mlflow_python, "mlflow")
        for n, shape in enumerate(shapes):
            if deadline.passed():
                log(f"{shape.label}: skipped (--max-seconds)")
                continue
            try:
                repo, db = prepare(shape, folder, options.mlflow_python, s.mlflow_env, deadline)
            except subprocess.TimeoutExpired:
                log(f"{shape.label}: --max-seconds reached while populating MLflow")
                continue
            try:
                with mlflow_server(options.mlflow_python, db, scratch, s.mlflow_env, deadline) as url:
                    if shape.names == [DEEP]:
                        rows += deep_rows(shape, repo, url, s, deadline, first=n == 0)
                    else:
                        rows += wide_rows(shape, repo, url, s, deadline)
            except RuntimeError as error:  # the server did not start: the other shapes may still run
                log(f"{shape.label}: {error}")
                rows.append(Row(shape.label, "(every command)", "(every call)", note=f"FAILED: {error}"))
        print(environment(s))
        print(f"Cells: median (fastest) wall-clock time of {options.repeat} runs after {options.warmup} "
              "untimed, tagreg and MLflow in turn; MLflow server on 127.0.0.1, SQLite, 1 worker.\n")
        print(render(rows, options.repeat, options.markdown))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
