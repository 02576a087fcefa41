"""The machinery of the differential suite: finding gto, running both tools, building scenarios.

Imported by conftest.py at collection time, before the per-test HOME isolation of
tests/conftest.py kicks in, so the real home and the caller's environment are captured here.
"""

from __future__ import annotations

import difflib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

GTO_VERSION = "1.10.1"
REAL_HOME = Path.home()
IMPORT_ENV = dict(os.environ)  # tests/conftest.py removes TAGREG_* per test; read them now
GTO_BIN_ENV = IMPORT_ENV.get("TAGREG_GTO_BIN") or None
REQUIRE_GTO = IMPORT_ENV.get("TAGREG_REQUIRE_GTO") == "1"
# Run every command as its own process instead of batching read-only commands in one process.
SUBPROCESS_ONLY = IMPORT_ENV.get("TAGREG_DIFF_SUBPROCESS") == "1"
# A file to log build timings to, for tuning the suite's speed.
TIMING_LOG = IMPORT_ENV.get("TAGREG_DIFF_TIMING_LOG") or None
CACHE_DIR = REAL_HOME / ".cache" / "tagreg-tests" / f"gto-{GTO_VERSION}"
DRIVER = Path(__file__).with_name("_driver.py")

IDENTITY = {
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
# Commits get their own people (author Alice, committer Bob), so a mix-up shows in JSON; see commit().
COMMIT_BASE = 1735689600  # 2025-01-01T00:00:00Z
TAG_BASE = 1767225600  # 2026-01-01T00:00:00Z, tags written by tagreg with an explicit date


_T0 = time.time()


def log_timing(message: str) -> None:
    if TIMING_LOG:
        with open(TIMING_LOG, "a") as f:
            f.write(f"{time.time() - _T0:7.1f}s {threading.current_thread().name}: {message}\n")


class GtoUnavailable(Exception):
    """gto 1.10.1 could not be found or installed."""


# -- finding gto ---------------------------------------------------------------------------


def _locked_install(target: Path) -> None:
    """Create (once) a venv with gto==GTO_VERSION at target; safe against concurrent runs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    marker = target / ".tagreg-tests-complete"
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and (target / "bin" / "gto").exists():
            return
        shutil.rmtree(target, ignore_errors=True)
        env = {k: v for k, v in IMPORT_ENV.items() if not k.startswith("PYTHON")}
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        steps = [
            [sys.executable, "-m", "venv", str(target)],
            [str(target / "bin" / "python"), "-m", "pip", "install", "-q", f"gto=={GTO_VERSION}"],
        ]
        for argv in steps:
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as exc:
                shutil.rmtree(target, ignore_errors=True)
                raise GtoUnavailable(f"`{' '.join(argv)}` failed: {exc}") from exc
            if proc.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                raise GtoUnavailable(f"`{' '.join(argv)}` failed: {' / '.join(tail)}")
        marker.write_text(f"gto=={GTO_VERSION}\n")


def _interpreter_of(script: Path) -> str | None:
    """The Python a console script runs with (its shebang), if it is a Python script."""
    try:
        with open(script, "rb") as f:
            first = f.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if len(words) == 1 and "python" in Path(words[0]).name and Path(words[0]).exists():
        return words[0]
    return None


def find_gto() -> Tool:
    """The gto to compare with: $TAGREG_GTO_BIN, or a cached venv made on first use."""
    if GTO_BIN_ENV:
        binary = Path(GTO_BIN_ENV)
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise GtoUnavailable(f"TAGREG_GTO_BIN={GTO_BIN_ENV} is not an executable file")
    else:
        _locked_install(CACHE_DIR)
        binary = CACHE_DIR / "bin" / "gto"
    python = _interpreter_of(binary)
    env = clean_env(REAL_HOME)
    proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or GTO_VERSION not in proc.stdout:
        raise GtoUnavailable(
            f"{binary} --version printed {proc.stdout.strip()!r} (rc {proc.returncode}); need gto {GTO_VERSION}"
        )
    if python is not None:  # can the batch driver import gto with it?
        probe = subprocess.run([python, "-c", "import gto.cli"], capture_output=True, env=env)
        if probe.returncode != 0:
            python = None
    return Tool("gto", [str(binary)], python, "gto.cli:app")


def tagreg_tool() -> Tool:
    return Tool("tagreg", [sys.executable, "-m", "tagreg"], sys.executable, "tagreg.cli:main")


# -- running -------------------------------------------------------------------------------


def clean_env(home: Path, extra: dict | None = None) -> dict:
    """The environment both tools run with: isolated git config, fixed identity, UTC, no TTY width."""
    drop = ("GTO_", "TAGREG_", "GIT_")
    env = {k: v for k, v in IMPORT_ENV.items() if not k.startswith(drop)}
    for key in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "PYTHONPATH"):
        env.pop(key, None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        TZ="UTC",
        PYTHONIOENCODING="utf-8",
    )
    env.update(IDENTITY)
    env.update(extra or {})
    return env


def make_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / ".gitconfig").write_text(
        "[user]\n\tname = Tester\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    return path


@dataclass
class Result:
    rc: int
    out: str
    err: str


@dataclass
class Tool:
    """One of the two registries, run as a user would (or batched, for read-only commands)."""

    name: str
    argv: list[str]
    python: str | None  # interpreter for the batch driver; None: one process per command
    entry: str

    def run(self, cwd: Path, args: list[str], env: dict) -> Result:
        proc = subprocess.run([*self.argv, *args], cwd=cwd, capture_output=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=120)
        return Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))

    def run_many(self, cwd: Path, commands: list[list[str]], env: dict) -> list[Result]:
        """Read-only commands, in one process when possible."""
        if not commands:
            return []
        if SUBPROCESS_ONLY or self.python is None:
            return [self.run(cwd, args, env) for args in commands]
        proc = subprocess.run(
            [self.python, str(DRIVER), self.entry, self.name],
            cwd=cwd, input=json.dumps(commands).encode(), capture_output=True, env=env, timeout=600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"batch driver for {self.name} failed: {proc.stderr.decode()[-2000:]}")
        return [Result(*r) for r in json.loads(proc.stdout)]


    def server(self, cwd: Path, env: dict) -> Server:
        """A process that runs this tool's commands one at a time, when told to (for timed writes)."""
        return Server(self, cwd, env)


class Server:
    """One long-lived process of a tool: each command costs what it costs, not a Python start-up."""

    def __init__(self, tool: Tool, cwd: Path, env: dict):
        self.tool, self.cwd, self.env = tool, cwd, env
        self.proc: subprocess.Popen | None = None
        if tool.python is not None and not SUBPROCESS_ONLY:
            self.proc = subprocess.Popen(
                [tool.python, str(DRIVER), tool.entry, tool.name, "--serve"], cwd=cwd, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, encoding="utf-8",
            )

    def run(self, args: list[str]) -> Result:
        if self.proc is None:
            return self.tool.run(self.cwd, args, self.env)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.tool.name} server died running {args}")
        return Result(*json.loads(line))

    def close(self) -> None:
        if self.proc is not None:
            self.proc.communicate(timeout=60)
            self.proc = None


def git(cwd: Path, *args: str, env: dict, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


# -- comparing -----------------------------------------------------------------------------


def _report_lines(text: str) -> list[str]:
    """Error output without the tool-specific 'please report' hint, whitespace collapsed
    (GTO soft-wraps its messages at 80 columns, tagreg does not)."""
    lines = [ln for ln in text.splitlines()
             if not ln.startswith("Please report it here") and not ln.startswith("Run with '--traceback'")]
    return [" ".join(" ".join(lines).split())] if lines else []


def describe_results(args: list[str], gto: Result, tagreg: Result) -> str:
    return (
        f"command: {' '.join(args)}\n"
        f"--- gto (rc {gto.rc}) stdout:\n{gto.out}--- gto stderr:\n{gto.err}"
        f"--- tagreg (rc {tagreg.rc}) stdout:\n{tagreg.out}--- tagreg stderr:\n{tagreg.err}"
    )


def _json_or_text(text: str):
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return text


def _key_order(value) -> list:
    """Every object's keys in document order, depth first."""
    if isinstance(value, dict):
        return [[k, _key_order(v)] for k, v in value.items()]
    if isinstance(value, list):
        return [_key_order(v) for v in value]
    return []


# Deliberate: messages inherited from GTO that hid their cause name it in tagreg (issue 11). Each
# rule turns tagreg's wording back into GTO's, so the rest of the message must still agree.
_REWORDED = [
    (re.compile(r"Stage '[^']*' is not allowed; allowed stages are: (.*)$"),
     lambda m: f"Allowed stages are: '{[s for s in m.group(1).split(', ') if s and s != '(none)']!r}'"),
    (re.compile(r"(For this REF you can only register \S+): this commit .*$"), lambda m: m.group(1)),
    (re.compile(r"is already the current version in stage"), lambda m: "is already in stage"),
]


def _gto_wording(lines: list[str]) -> list[str]:
    """Error lines with tagreg's deliberate rewordings put back in GTO's words."""
    out = []
    for line in lines:
        for pattern, replace in _REWORDED:
            line = pattern.sub(replace, line)
        out.append(line)
    return out


def assert_same(args: list[str], kind: str, gto: Result, tagreg: Result) -> None:
    """tagreg printed what gto printed: parsed JSON for `json`, exact text for `text`, unwrapped text
    for `message`; for errors, the same exit code and message."""
    context = describe_results(args, gto, tagreg)
    assert tagreg.rc == gto.rc, f"exit codes differ\n{context}"
    if gto.rc != 0:
        assert _gto_wording(_report_lines(tagreg.err)) == _report_lines(gto.err), f"error messages differ\n{context}"
        return
    if kind == "json":
        expected, actual = _json_or_text(gto.out), _json_or_text(tagreg.out)
        if actual != expected:
            diff = "\n".join(difflib.unified_diff(
                json.dumps(expected, indent=2, sort_keys=True).splitlines(),
                json.dumps(actual, indent=2, sort_keys=True).splitlines(),
                "gto", "tagreg", lineterm="", n=4,
            ))
            raise AssertionError(f"JSON differs for `{' '.join(args)}`:\n{diff}")
        # same content: GTO's key order too (scripts and diffs of saved output see it)
        assert _key_order(actual) == _key_order(expected), f"same JSON, different key order\n{context}"
    elif kind == "message":  # rich-printed sentences: GTO soft-wraps them at 80 columns
        assert _report_lines(tagreg.out) == _report_lines(gto.out), f"message differs\n{context}"
    else:
        if tagreg.out != gto.out:
            diff = "\n".join(difflib.unified_diff(gto.out.splitlines(), tagreg.out.splitlines(),
                                                  "gto", "tagreg", lineterm=""))
            raise AssertionError(f"output differs for `{' '.join(args)}`:\n{diff}")


# Deliberate: tagreg's "already registered" errors also say who registered the version and where
# (issue 3: the second of two people registering a version learns who was first). GTO's text is the
# same once that detail is removed.
_WHO = re.compile(r" \(by [^()]*\)| at commit [0-9a-f]{7}")


def normalized_write_output(result: Result) -> tuple[int, list[str], list[str]]:
    """A write command's output, comparable across tools (GTO wraps long lines at 80 columns)."""
    err = [_WHO.sub("", line) for line in _gto_wording(_report_lines(result.err))]
    return result.rc, _report_lines(result.out), err


# -- scenarios -----------------------------------------------------------------------------


@dataclass
class Step:
    """One step of a scenario script."""

    kind: str  # "cli": a registry command; "commit"; "git": raw git (foreign/lightweight tags)
    args: tuple = ()
    files: dict = field(default_factory=dict)
    rc: int = 0  # the exit code both tools must give (cli steps)

    @property
    def label(self) -> str:
        if self.kind == "commit":
            return f"commit {self.args[0]}"
        return f"{'' if self.kind == 'cli' else 'git '}{' '.join(self.args)}"


def cli(*args: str, rc: int = 0) -> Step:
    return Step("cli", tuple(args), rc=rc)


def commit(message: str, files: dict | None = None, author_earlier: bool = False) -> Step:
    """A commit by Alice, committed by Bob; `author_earlier`: authored an hour before, in another zone."""
    return Step("commit", (message, author_earlier), files=files or {})


def raw_git(*args: str) -> Step:
    return Step("git", tuple(args))


@dataclass
class Read:
    """A read-only command to run with both tools and compare."""

    args: list[str]
    kind: str = "json"  # "json": parsed JSON; "text": stdout exactly; "message": stdout modulo line wrapping
    xfail: str | None = None  # reason, for a deliberate tagreg difference (strict xfail)

    @property
    def id(self) -> str:
        return " ".join(self.args)


@dataclass
class Built:
    """A scenario repository after its script ran, with both tools' answers to the reads."""

    writer: str
    path: Path
    env: dict
    steps: list[tuple[Step, str | None, Result | None]]  # step, tool that ran it, result
    tags: dict[str, tuple]  # tag -> (kind, commit, tagger, message)
    tag_times: dict[str, int]
    reads: dict[str, tuple[Result, Result]]  # read id -> (gto, tagreg)

    def cli_results(self) -> list[Result | None]:
        return [r for s, _, r in self.steps if s.kind == "cli"]


class Clock:
    """Keeps tag times of consecutive writes in distinct seconds (GTO's time resolution)."""

    def __init__(self) -> None:
        self.last_end: float | None = None

    def wait(self) -> None:
        if self.last_end is None:
            return
        target = int(self.last_end) + 1.02
        while (now := time.time()) < target:
            time.sleep(target - now)

    def done(self) -> None:
        self.last_end = time.time()


def _commit(path: Path, env: dict, index: int, message: str, files: dict, author_earlier: bool = False) -> None:
    for name, content in files.items():
        target = path / name
        if content is None:
            git(path, "rm", "-q", name, env=env)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        git(path, "add", name, env=env)
    committed = COMMIT_BASE + index * 86400
    commit_env = dict(env)
    commit_env.update(
        GIT_AUTHOR_NAME="Alice Author", GIT_AUTHOR_EMAIL="alice@example.com",
        GIT_AUTHOR_DATE=f"{committed - 3600} -0500" if author_earlier else f"{committed} +0100",
        GIT_COMMITTER_NAME="Bob Committer", GIT_COMMITTER_EMAIL="bob@example.com",
        GIT_COMMITTER_DATE=f"{committed} +0100",
    )
    git(path, "commit", "-q", "--allow-empty", "-m", message, env=commit_env)


def read_tags(path: Path, env: dict) -> tuple[dict[str, tuple], dict[str, int]]:
    """Every tag: (kind, peeled commit, tagger, message), and tagger times of annotated tags."""
    fmt = "%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objectname)%00%(taggername) %(taggeremail)" \
          "%00%(taggerdate:unix)%00%(contents)%01"
    out = git(path, "for-each-ref", f"--format={fmt}", "refs/tags", env=env)
    tags, times = {}, {}
    for record in out.split("\x01"):
        record = record.lstrip("\n")
        if not record:
            continue
        name, kind, obj, peeled, tagger, when, message = record.split("\x00")
        if kind == "tag":
            tags[name] = ("annotated", peeled, tagger, message)
            times[name] = int(when)
        else:
            tags[name] = ("lightweight", obj, "", "")
    return tags, times


def build(
    writer: str,
    script: list[Step],
    reads: list[Read],
    root: Path,
    tools: dict[str, Tool],
    extra_read_sets: list[tuple[Callable[[Built], None], list[Read], Callable[[Built], None], str]] | None = None,
    pinned_date: str | None = None,
) -> Built:
    """Run script with writer ('tagreg', 'gto' or 'alternate'), then run every read with both tools
    (and each extra read set between its before and after callbacks, ids prefixed). pinned_date:
    the GIT_COMMITTER_DATE of every tagreg command and hand-made tag (all in one second)."""
    home = make_home(root / "home")
    path = root / "repo"
    path.mkdir()
    env = clean_env(home)
    git(path, "init", "-q", env=env)
    commits = 0
    _commit(path, env, commits, "initial", {"README.md": "scenario\n"})
    clock = Clock()
    steps = []
    cli_index = 0
    # gto writes its tags at the time it runs (it ignores GIT_COMMITTER_DATE): a long-lived gto
    # process takes a fraction of a second per command, so the 1-second spacing costs little CPU.
    gto_server = tools["gto"].server(path, env) if writer in ("gto", "alternate") else None
    try:
        for step in script:
            if step.kind == "commit":
                commits += 1
                _commit(path, env, commits, step.args[0], step.files, step.args[1])
                steps.append((step, None, None))
                continue
            if step.kind == "git":  # fixed dates, so hand-made tags never share a second
                git(path, *step.args,
                    env={**env, "GIT_COMMITTER_DATE": pinned_date or f"{TAG_BASE - 86400 + 60 * len(steps)} +0000"})
                steps.append((step, None, None))
                continue
            if writer == "alternate":
                tool = tools["gto"] if cli_index % 2 == 0 else tools["tagreg"]
            else:
                tool = tools[writer]
            step_env = dict(env)
            if writer == "tagreg":
                step_env["GIT_COMMITTER_DATE"] = pinned_date or f"{TAG_BASE + 60 * cli_index} +0200"
            elif step.rc == 0:  # a failing command writes nothing, so its time does not matter
                clock.wait()
                if tool.name == "tagreg":
                    step_env["GIT_COMMITTER_DATE"] = f"{int(time.time())} +0000"
            if tool.name == "gto" and gto_server is not None:
                result = gto_server.run(list(step.args))
            else:
                result = tool.run(path, list(step.args), step_env)
            if step.rc == 0:
                clock.done()
            cli_index += 1
            steps.append((step, tool.name, result))
    finally:
        if gto_server is not None:
            gto_server.close()
    log_timing(f"{writer} {root.name}: script done")
    tags, times = read_tags(path, env)
    built = Built(writer, path, env, steps, tags, times, {})
    run_reads(built, reads, tools)
    for before, more, after, prefix in extra_read_sets or []:  # reads after changing the repository
        before(built)
        try:
            run_reads(built, more, tools, prefix)
        finally:
            after(built)
    log_timing(f"{writer} {root.name}: reads done")
    return built


def run_reads(built: Built, reads: list[Read], tools: dict[str, Tool], prefix: str = "") -> None:
    """Both tools answer every read; the two batches run side by side."""
    commands = [r.args for r in reads]
    half = (len(commands) + 1) // 2  # gto is ~10x slower than tagreg: two gto processes
    with ThreadPoolExecutor(max_workers=3) as pool:
        gto_parts = [pool.submit(tools["gto"].run_many, built.path, part, built.env)
                     for part in (commands[:half], commands[half:])]
        tagreg_f = pool.submit(tools["tagreg"].run_many, built.path, commands, built.env)
        gto_results = [r for part in gto_parts for r in part.result()]
        tagreg_results = tagreg_f.result()
    for read, g, t in zip(reads, gto_results, tagreg_results):
        built.reads[prefix + read.id] = (g, t)


class Builds:
    """Scenario builds shared by the session, started together so GTO's 1-second waits overlap."""

    def __init__(self, tools: dict[str, Tool], root_factory: Callable[[str], Path]):
        self.tools = tools
        self.root_factory = root_factory
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.futures: dict[str, object] = {}
        self.lock = threading.Lock()
        self.recipes: dict[str, Callable[[Path, dict[str, Tool]], Built]] = {}

    def register(self, key: str, recipe: Callable[[Path, dict[str, Tool]], Built]) -> None:
        self.recipes.setdefault(key, recipe)

    def start(self, keys: list[str]) -> None:
        with self.lock:
            for key in keys:
                if key not in self.futures and key in self.recipes:
                    root = self.root_factory(key)
                    log_timing(f"start {key}")
                    self.futures[key] = self.pool.submit(self.recipes[key], root, self.tools)

    def get(self, key: str) -> Built:
        self.start([key])
        return self.futures[key].result()  # type: ignore[union-attr]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
