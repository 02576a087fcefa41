"""Time the tag grammar alone: parse every tag name of a generated registry.

    python benchmarks/parse_bench.py [--tags 50000] [--repeat 7] [--src src] [--compare OTHER_SRC]

Lists the tag names of a registry of --tags tags (generated under --workdir as run.py does, or
reused), then in a fresh interpreter per run with each source tree on PYTHONPATH (--src, default
this checkout's; --compare, e.g. an older worktree's src, interleaved run by run) times:
`import tagreg.tags` (compiling its patterns included), a first pass of `tags.tag_fields` over
every name (cold: nothing cached yet) and a second pass (warm). Prints the median and the fastest
run of each, in milliseconds of wall-clock and of CPU time (the latter varies less on a busy
machine). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from run import ROOT, prepare

# Runs in the fresh interpreter: prints the wall-clock and CPU milliseconds of each step.
TIMER = """\
import json, sys, time
names = open(sys.argv[1]).read().split()
clocks = [(time.perf_counter(), time.process_time())]
from tagreg import tags
clocks.append((time.perf_counter(), time.process_time()))
parse = tags.tag_fields
parsed = [parse(name) for name in names]
clocks.append((time.perf_counter(), time.process_time()))
parsed = [parse(name) for name in names]
clocks.append((time.perf_counter(), time.process_time()))
assert sum(p is not None for p in parsed) > 0
steps = ("import", "cold", "warm")
print(json.dumps({clock: {step: (after[c] - before[c]) * 1e3 for step, before, after in zip(steps, clocks, clocks[1:])}
                  for c, clock in enumerate(("wall", "cpu"))}))
"""


def time_once(src: Path, names: Path) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", TIMER, str(names)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=50000, help="registry size in tags (default: 50000)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per source tree (default: 7)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="tagreg source tree to time")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another source tree to time in the same runs (repeatable)")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "repos"),
                        help="where registries are generated (default: benchmarks/repos)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    args = parser.parse_args(argv)
    args.annotated = None  # prepare()'s registry options, as run.py's defaults

    repo, _ = prepare(args.tags, args)
    listing = subprocess.run(["git", "for-each-ref", "--format=%(refname:strip=2)", "refs/tags"], cwd=repo,
                             check=True, capture_output=True, text=True).stdout
    trees = [args.src.resolve(), *(path.resolve() for path in args.compare)]
    for tree in trees:  # as run.py: machines here set PYTHONDONTWRITEBYTECODE=1
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "tagreg")], capture_output=True)

    with tempfile.NamedTemporaryFile("w", suffix=".txt") as names:
        names.write(listing)
        names.flush()
        results: dict[Path, list[dict[str, dict[str, float]]]] = {tree: [] for tree in trees}
        time_once(trees[0], Path(names.name))  # warm the disk cache, untimed
        for _ in range(args.repeat):
            for tree in trees:
                results[tree].append(time_once(tree, Path(names.name)))

    print(f"{len(listing.split())} tag names, {args.repeat} runs each; median (fastest) in ms")
    print(f"{'source tree':<40} {'clock':<5} {'import':>14} {'first pass':>14} {'second pass':>14}")
    for tree, runs in results.items():
        for clock in ("wall", "cpu"):
            cells = [f"{statistics.median(r[clock][k] for r in runs):.1f} ({min(r[clock][k] for r in runs):.1f})"
                     for k in ("import", "cold", "warm")]
            print(f"{str(tree)[-40:]:<40} {clock:<5} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
