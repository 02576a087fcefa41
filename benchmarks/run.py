"""Time tagreg (and optionally gto) on generated registries of several sizes.

    python benchmarks/run.py [--sizes 1000,10000,50000] [--repeat 5] [--tagreg EXE] [--gto EXE]
                             [--gto-repeat 1] [--gto-max-size 10000] [--markdown]

See benchmarks/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from generate import GENERATOR_VERSION, MANIFEST, generate
from gitwrite import refs_fingerprint

ROOT = Path(__file__).resolve().parent.parent
FLOOR_FORMAT = ("%(refname) %(objectname) %(*objectname) %(taggername) %(taggeremail) "
                "%(taggerdate:raw) %(contents)")
# Peak RSS of a command, measured in a fresh process whose only child is that command.
RSS_HELPER = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:], "
              "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
              "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


@dataclass
class Result:
    """A cell of the table: timings in seconds, a peak RSS in MiB, or why there is none."""
    median: float | None = None
    best: float | None = None
    rss_mib: float | None = None
    failure: str | None = None  # first stderr line, "timeout after ...", "skipped ..."


def tool_commands(target: dict) -> list[tuple[str, list[str], bool]]:
    """(label, arguments, creates a tag) for each command timed for tagreg and gto."""
    name, tag = target["name"], target["check_ref"]
    return [
        ("--help", ["--help"], False),
        ("--version", ["--version"], False),
        ("show", ["show"], False),
        ("show NAME", ["show", name], False),
        ("history NAME", ["history", name], False),
        ("check-ref TAG", ["check-ref", tag], False),
        ("register NAME", ["register", name], True),
        ("assign NAME", ["assign", name, "--version", target["latest"], "--stage", "dev",
                         "--force"], True),
    ]


def tags_of(repo: Path) -> set[str]:
    out = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/tags"], cwd=repo,
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


def time_command(cmd: list[str], repo: Path, repeat: int, warmup: int, creates_tags: bool,
                 timeout: float) -> Result:
    """Wall-clock median and minimum of REPEAT runs; tags a run creates are deleted after it."""
    times = []
    for run in range(warmup + repeat):
        before = tags_of(repo) if creates_tags else set()
        try:
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=repo, capture_output=True, timeout=timeout)
            elapsed = time.perf_counter() - start
        except subprocess.TimeoutExpired:
            return Result(failure=f"timeout after {timeout:g} s")
        except OSError as error:
            return Result(failure=str(error))
        finally:
            # Put the repository back as generated, so every run (and size) sees the same state.
            new = sorted(tags_of(repo) - before) if creates_tags else []
            if new:
                subprocess.run(["git", "tag", "-d", *(t[len("refs/tags/"):] for t in new)],
                               cwd=repo, check=True, capture_output=True)
        if proc.returncode != 0:
            lines = proc.stderr.decode(errors="replace").strip().splitlines()
            return Result(failure=lines[0] if lines else f"exit code {proc.returncode}")
        if run >= warmup:
            times.append(elapsed)
    return Result(median=statistics.median(times), best=min(times))


def time_show_after_a_new_tag(exe: str, repo: Path, name: str, repeat: int, timeout: float) -> Result:
    """`show` right after someone else tagged NAME (a push, a fetch): the cached rows of the other
    artifacts are reused, NAME's tags are read again. Each run adds one assignment tag first and
    deletes it after, so the repository ends as generated."""
    subprocess.run([exe, "show"], cwd=repo, capture_output=True, timeout=timeout)  # the cache, as before
    times = []
    for run in range(repeat):
        tag = f"{name}#bench#{900000 + run}"
        subprocess.run(["git", "tag", "-a", "-m", "bench", tag, "HEAD"], cwd=repo, check=True, capture_output=True)
        try:
            start = time.perf_counter()
            proc = subprocess.run([exe, "show"], cwd=repo, capture_output=True, timeout=timeout)
            times.append(time.perf_counter() - start)
        except subprocess.TimeoutExpired:
            return Result(failure=f"timeout after {timeout:g} s")
        finally:
            subprocess.run(["git", "tag", "-d", tag], cwd=repo, check=True, capture_output=True)
        if proc.returncode != 0:
            return Result(failure=proc.stderr.decode(errors="replace").strip()[:200] or "failed")
    return Result(median=statistics.median(times), best=min(times))


API_SHOW = """
import statistics, sys, time
from tagreg import api
cached = sys.argv[1] == "cached"
api.show(".", cached=cached)  # the cache, as a script that called it before left it
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    api.show(".", cached=cached)
    times.append(time.perf_counter() - start)
print(statistics.median(times), min(times))
"""


def time_api_show(python: str, repo: Path, cached: bool, repeat: int, timeout: float) -> Result:
    """`tagreg.api.show(".")` called in one Python process, as a script calls it (no start-up)."""
    try:
        proc = subprocess.run([python, "-c", API_SHOW, "cached" if cached else "fresh", str(repeat)], cwd=repo,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Result(failure=f"timeout after {timeout:g} s")
    if proc.returncode != 0:
        return Result(failure=(proc.stderr.strip().splitlines() or ["failed"])[-1])
    median, best = map(float, proc.stdout.split())
    return Result(median=median, best=best)


def peak_rss(cmd: list[str], repo: Path, timeout: float) -> Result:
    try:
        out = subprocess.run([sys.executable, "-c", RSS_HELPER, *cmd], cwd=repo,
                             capture_output=True, text=True, timeout=timeout).stdout
        returncode, kib = map(int, out.split())
    except (subprocess.TimeoutExpired, ValueError) as error:
        return Result(failure=f"RSS not measured: {type(error).__name__}")
    if returncode != 0:
        return Result(failure=f"RSS not measured: exit code {returncode}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    return Result(rss_mib=kib / (1024 * 1024 if sys.platform == "darwin" else 1024))


def interpreter_of(executable: str) -> str | None:
    """The Python of a console script, read from its `#!` line (None if not found)."""
    try:
        first = Path(executable).read_bytes()[:1024].split(b"\n", 1)[0]
    except OSError:
        return None
    if first.startswith(b"#!"):
        parts = first[2:].decode(errors="replace").split()
        if parts and Path(parts[0]).name.startswith("python") and Path(parts[0]).exists():
            return parts[0]
    return None


def compile_venv(python: str, package: str | None) -> None:
    """Byte-compile PYTHON's site-packages (and PACKAGE if it lives elsewhere, e.g. editable).

    With PYTHONDONTWRITEBYTECODE=1 (set on these machines) nothing is ever cached, and every
    start-up would recompile every imported module. Errors are ignored: this is best effort.
    """
    script = ("import sysconfig; p = sysconfig.get_paths(); print(p['purelib']); "
              "print(p['platlib'])")
    if package:
        script += (f"\ntry:\n import os, {package}; print(os.path.dirname({package}.__file__))"
                   "\nexcept Exception: pass")
    out = subprocess.run([python, "-c", script], capture_output=True, text=True).stdout
    for folder in dict.fromkeys(out.split()):
        subprocess.run([python, "-m", "compileall", "-q", folder], capture_output=True)


def prepare(size: int, args) -> tuple[Path, dict]:
    """The registry of SIZE tags under --workdir: reused if generated alike and untouched."""
    label = f"tags-{size}-seed-{args.seed}" + (
        f"-annotated-{args.annotated}" if args.annotated is not None else "") + (
        f"-artifacts-{args.artifacts}" if args.artifacts is not None else "")
    repo = Path(args.workdir) / label
    try:
        manifest = json.loads((repo / ".git" / MANIFEST).read_text())
        if (manifest["generator"], manifest["tags"], manifest["seed"]) == (
                GENERATOR_VERSION, size, args.seed) and (
                args.annotated is None or manifest["annotated"] == args.annotated) and (
                args.artifacts is None or manifest["artifacts"] == args.artifacts) and (
                manifest["fingerprint"] == refs_fingerprint(repo)):
            return repo, manifest
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError):
        pass
    shutil.rmtree(repo, ignore_errors=True)
    started = time.perf_counter()
    manifest = generate(repo, size, artifacts=args.artifacts, seed=args.seed, annotated=args.annotated)
    log(f"generated {repo} in {time.perf_counter() - started:.1f} s")
    return repo, manifest


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_benchmarks(args) -> tuple[dict[str, dict[int, Result]], dict[int, dict]]:
    """Every measurement as {row label: {size: result}}, plus each size's manifest."""
    rows: dict[str, dict[int, Result]] = {}
    manifests = {}
    tools = [("tagreg", args.tagreg, args.repeat, args.warmup)] if args.tagreg else []
    if args.gto:
        tools.append(("gto", args.gto, args.gto_repeat, 0))  # no warm-up: gto is slow
    gto_gave_up = False  # after a gto timeout, bigger registries would only be slower
    for size in args.sizes:
        repo, manifest = prepare(size, args)
        manifests[size] = manifest

        def record(label: str, result: Result, size: int = size) -> None:
            rows.setdefault(label, {})[size] = result
            shown = result.failure or fmt(result)
            log(f"[{size} tags] {label}: {shown}")

        floor = [("git for-each-ref (floor)", ["git", "for-each-ref", f"--format={FLOOR_FORMAT}",
                                                 "refs/tags"]),
                 ("python -c pass", [args.python, "-c", "pass"])]
        for label, cmd in floor:
            record(label, time_command(cmd, repo, args.repeat, args.warmup, False, args.timeout))
        for tool, exe, repeat, warmup in tools:
            skip = tool == "gto" and (size > args.gto_max_size or gto_gave_up)
            for label, argv, creates in tool_commands(manifest["target"]):
                if skip:
                    record(f"{tool} {label}", Result(failure="skipped"))
                    continue
                result = time_command([exe, *argv], repo, repeat, warmup, creates, args.timeout)
                record(f"{tool} {label}", result)
                if tool == "tagreg" and argv == ["show"]:
                    record("tagreg show (after a new tag)", time_show_after_a_new_tag(
                        exe, repo, manifest["target"]["name"], repeat, args.timeout))
                    # Nothing cached at all: the first `show` in a fresh clone.
                    record("tagreg show (no cache)", time_command(
                        ["env", "TAGREG_NO_CACHE=1", exe, *argv], repo, repeat, warmup, False, args.timeout))
                    python = interpreter_of(exe)
                    if python:
                        record("tagreg api.show(repo), in process", time_api_show(
                            python, repo, True, repeat, args.timeout))
                        record("tagreg api.show(repo, cached=False), in process", time_api_show(
                            python, repo, False, repeat, args.timeout))
                if tool == "gto" and (result.failure or "").startswith("timeout"):
                    skip = gto_gave_up = True
            rss = Result(failure="skipped") if skip else peak_rss([exe, "show"], repo, args.timeout)
            record(f"peak RSS: {tool} show", rss)
    return rows, manifests


def fmt(result: Result) -> str:
    if result.failure:
        return "skipped" if result.failure == "skipped" else "FAILED"
    if result.rss_mib is not None:
        return f"{result.rss_mib:.0f} MiB"

    def seconds(t: float) -> str:
        return f"{t * 1000:.0f} ms" if t < 1 else f"{t:.2f} s"
    return f"{seconds(result.median)} ({seconds(result.best)})"


def size_label(size: int) -> str:
    return f"{size // 1000}k tags" if size % 1000 == 0 else f"{size} tags"


def render(rows, manifests, sizes, markdown: bool) -> str:
    """The results table (rows = commands, columns = sizes) and its notes."""
    header = ["command"] + [size_label(size) for size in sizes]
    table = [[label] + [fmt(rows[label][s]) if s in rows[label] else "" for s in sizes]
             for label in rows]
    failures = [f"{label} at {size_label(size)}: {result.failure}"
                for label, by_size in rows.items() for size, result in by_size.items()
                if result.failure and result.failure != "skipped"]
    notes = [f"{size_label(s)}: {m['artifacts']} artifacts ({m['annotated']} in artifacts.yaml),"
             f" {m['commits']} commits; NAME = {m['target']['name']},"
             f" TAG = {m['target']['check_ref']}" for s, m in manifests.items()]
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|---" + "|---:" * len(sizes) + "|"]
        lines += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(row)) + " |"
                  for row in table]
        bullet = "- "
    else:
        widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(row, widths)))
                 for row in [header, *table]]
        bullet = "  "
    lines += ["", "Cells: median (minimum) wall-clock time; peak RSS of one run."]
    lines += [bullet + note for note in notes]
    if failures:
        lines += ["", "Failures:"] + [bullet + failure for failure in failures]
    return "\n".join(lines)


def environment(args) -> str:
    def first_line(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "?"
    parts = [f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
             first_line(["git", "--version"]), first_line([args.python, "--version"]),
             first_line([args.tagreg, "--version"]) if args.tagreg else "no tagreg"]
    if args.gto:
        parts.append(first_line([args.gto, "--version"]))
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="tag counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (not gto)")
    parser.add_argument("--tagreg", help="tagreg executable (default: on PATH or .venv)")
    parser.add_argument("--gto", help="gto executable; without it gto is not timed")
    parser.add_argument("--gto-repeat", type=int, default=1, help="timed runs per gto command")
    parser.add_argument("--gto-max-size", type=int, default=10000, help="skip gto above this")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per command run")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "repos"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--annotated", type=int,
                        help="artifacts declared in artifacts.yaml (default: all)")
    parser.add_argument("--artifacts", type=int,
                        help="artifacts the tags are spread over (default: a twentieth of the tags)")
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile venvs")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",")]

    for tool in ("tagreg", "gto"):
        exe = getattr(args, tool)
        if exe and not shutil.which(exe):
            parser.error(f"{tool} executable not found: {exe}")
        setattr(args, tool, exe and shutil.which(exe))
    if not args.tagreg:  # look where a developer would have installed it
        local = ROOT / ".venv" / "bin" / "tagreg"
        args.tagreg = shutil.which("tagreg") or (str(local) if local.exists() else None)
        if not args.tagreg:
            log("tagreg not found on PATH nor in .venv (use --tagreg): not timing it")
    # `python -c pass` uses tagreg's interpreter: the start-up cost tagreg cannot go below.
    args.python = (args.tagreg and interpreter_of(args.tagreg)) or sys.executable
    if not args.no_compile:
        for exe, package in ((args.tagreg, "tagreg"), (args.gto, "gto")):
            if exe and interpreter_of(exe):
                log(f"byte-compiling the venv of {exe}")
                compile_venv(interpreter_of(exe), package)

    rows, manifests = run_benchmarks(args)
    print(environment(args) + "\n")
    print(render(rows, manifests, args.sizes, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
