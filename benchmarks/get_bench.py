"""Benchmark `tagreg get` of one big file: wall-clock time and peak memory.

    python benchmarks/get_bench.py [--size-mb 500] [--src src] [--compare /path/to/other/src]

Builds a registry (in a temporary folder, or --workdir) whose artifact is one file of --size-mb
MiB, registered with tagreg, then runs `python -m tagreg get` on it with each tagreg source tree on
PYTHONPATH (--src, default this checkout's; --compare, e.g. an older worktree's src). For each run
it prints the time, the peak resident memory of the tagreg process itself (VmHWM, read as it
exits) and that of the largest process of the run (git included: `wait4`'s ru_maxrss). The
content repeats a 16 KiB random block, so git stores it in a few MiB and the run measures tagreg,
not the disk. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.com", "GIT_CONFIG_NOSYSTEM": "1"}

# Runs tagreg in this process; prints its own peak RSS (KiB) as it exits.
PEAK = """\
import runpy, sys

def peak():
    status = open("/proc/self/status").read()
    sys.stderr.write("VmHWM " + next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")) + "\\n")
    sys.stderr.flush()

sys.argv = ["tagreg", *sys.argv[1:]]
try:
    runpy.run_module("tagreg", run_name="__main__", alter_sys=True)
finally:
    peak()
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, check=True, text=True).stdout


def build(root: Path, size_mb: int, src: Path) -> Path:
    """A registry with models/big.bin (size_mb MiB), registered as big@v0.0.1."""
    repo = root / "registry"
    git(root, "init", "-q", str(repo))
    (repo / "models").mkdir()
    block = os.urandom(16 << 10)
    with open(repo / "models" / "big.bin", "wb") as out:
        out.writelines(block for _ in range(size_mb * 64))
    (repo / "artifacts.yaml").write_text("big:\n  type: model\n  path: models/big.bin\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a big model")
    (repo / "models" / "big.bin").unlink()  # keep the disk for the outputs: git has it
    env = {**ENV, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-m", "tagreg", "register", "big", "--version", "v0.0.1"], cwd=repo, env=env,
                   check=True, capture_output=True)
    return repo


def measure(repo: Path, src: Path, out: Path) -> tuple[float, int, int]:
    """(seconds, tagreg's peak KiB, the largest process's peak KiB) of one `get`."""
    env = {**ENV, "PYTHONPATH": str(src)}
    args = [sys.executable, "-c", PEAK, "get", "big", "-r", str(repo), "-o", str(out), "--force"]
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"get failed with {src}: {stderr}")
    own = int(next(line.split()[1] for line in stderr.splitlines() if line.startswith("VmHWM ")))
    return elapsed, own, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parent.parent / "src")
    parser.add_argument("--compare", type=Path, action="append", default=[], help="another tagreg src to time")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep the registry here (default: a temporary folder)")
    options = parser.parse_args()
    root = options.workdir or Path(tempfile.mkdtemp(prefix="tagreg-get-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        print(f"building a registry with a {options.size_mb} MiB file in {root} ...", file=sys.stderr)
        repo = build(root, options.size_mb, options.src)
        print("| tagreg src | time (s) | tagreg peak RSS (MiB) | largest process peak RSS (MiB) |")
        print("|---|---|---|---|")
        for src in [options.src, *options.compare]:
            for _ in range(options.repeat):
                out = root / "big.bin"
                elapsed, own, largest = measure(repo, src.resolve(), out)
                if out.stat().st_size != options.size_mb << 20:
                    sys.exit(f"{src} wrote {out.stat().st_size} bytes")
                out.unlink()
                print(f"| {src} | {elapsed:.2f} | {own / 1024:.0f} | {largest / 1024:.0f} |", flush=True)
    finally:
        if options.workdir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
