"""Benchmark `show --repo URL`: the first call (clone into the cache), later calls (the remote's refs
checked while the cached mirror is read; a fetch only when they changed), the
local `show` on the same registry, and GTO's `show --repo URL` (a fresh clone every call).

    python benchmarks/remote_show.py [--tags 10000] [--repeat 5] [--tagreg PATH] [--gto PATH]

The registry is served by `git daemon` on 127.0.0.1 (the git:// protocol, as a real remote), made
with benchmarks/generate.py. Only the standard library and git are needed (plus the tools timed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(command: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.decode()[:300]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=int, default=10000)
    parser.add_argument("--annotated", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tagreg", default=shutil.which("tagreg") or "tagreg")
    parser.add_argument("--gto", help="gto executable (optional; one run, it clones every time)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tagreg-remote-bench-"))
    daemon = None
    try:
        local = work / "registry"
        generate(local, tags=args.tags, seed=0, annotated=args.annotated)
        served = work / "served"
        served.mkdir()
        subprocess.run(["git", "clone", "-q", "--bare", str(local), str(served / "registry.git")], check=True)
        subprocess.run(["git", "-C", str(served / "registry.git"), "config", "uploadpack.allowFilter", "true"],
                       check=True)
        port = free_port()
        daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={served}",
                                   "--listen=127.0.0.1", f"--port={port}", str(served)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"git://127.0.0.1:{port}/registry.git"
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        env = {**os.environ, "TAGREG_CACHE_DIR": str(work / "cache")}
        elsewhere = work / "elsewhere"
        elsewhere.mkdir()

        local_times = [timed([args.tagreg, "show"], local, env) for _ in range(args.repeat)]
        first = timed([args.tagreg, "show", "--repo", url], elsewhere, env)
        again = [timed([args.tagreg, "show", "--repo", url], elsewhere, env) for _ in range(args.repeat)]
        offline = [timed([args.tagreg, "show", "--repo", url, "--offline"], elsewhere, env)
                   for _ in range(args.repeat)]
        rows = [
            ("tagreg show (local clone)", statistics.median(local_times)),
            ("tagreg show --repo URL, first call (clone)", first),
            ("tagreg show --repo URL, later calls (refs checked; fetch if changed)", statistics.median(again)),
            ("tagreg show --repo URL --offline", statistics.median(offline)),
        ]
        if args.gto:
            rows.append(("gto show --repo URL (clones every call)",
                         timed([args.gto, "show", "--repo", url], elsewhere, env)))
        print(f"{args.tags} tags served by git daemon on 127.0.0.1; median of {args.repeat} runs "
              f"(first call and gto: one run)\n")
        print("| command | time |\n|---|---:|")
        for label, seconds in rows:
            print(f"| {label} | {seconds * 1000:.0f} ms |" if seconds < 10 else f"| {label} | {seconds:.1f} s |")
        ratio = statistics.median(again) / statistics.median(local_times)
        print(f"\nlater --repo calls / local show: {ratio:.2f}x")
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
