"""The start-up budget: tagreg's everyday commands measured against their floors, in one run.

    python benchmarks/budget.py [--sizes 10000,200000] [--repeat 10] [--tagreg EXE] [--markdown]

Each command is timed as `run.py` times it (a subprocess in a generated registry, median of
`--repeat` runs after a warm-up) next to its floor, measured in the same run:

- the per-artifact commands (`show NAME`, `history NAME`, `check-ref TAG`, `which NAME STAGE`,
  `register NAME`, `assign NAME`) within `python -c pass` + 100 ms;
- `--help` within `python -c pass` + 150 ms;
- `show` (cached) within the floor (`git for-each-ref` of every tag with its contents) plus
  `python -c pass`;
- `show` with no cache within 1.5x that;
- `show` right after one new tag within 1.2x (`git for-each-ref` of tag names and ids, tagreg's
  cache key, plus `python -c pass`).

The table says how far under (or over) its budget each command is; the exit code is 1 if one is
over. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from run import (
    FLOOR_FORMAT,
    ROOT,
    Result,
    compile_venv,
    interpreter_of,
    log,
    prepare,
    size_label,
    time_command,
    time_show_after_a_new_tag,
)

LISTING = ["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/tags"]


def per_artifact(target: dict) -> list[tuple[str, list[str], bool]]:
    """(label, arguments, creates a tag) of the commands about one artifact."""
    name, tag = target["name"], target["check_ref"]
    stage = tag.split("#")[1]
    return [
        ("show NAME", ["show", name], False),
        ("history NAME", ["history", name], False),
        ("check-ref TAG", ["check-ref", tag], False),
        ("which NAME STAGE", ["which", name, stage], False),
        ("register NAME", ["register", name], True),
        ("assign NAME", ["assign", name, "--version", target["latest"], "--stage", "dev", "--force"], True),
    ]


def measure(size: int, args) -> list[tuple[str, Result, float | None, str]]:
    """(label, result, budget in seconds, how the budget is made) of every command at SIZE tags."""
    repo, manifest = prepare(size, args)

    def timed(cmd: list[str], creates: bool = False) -> Result:
        return time_command(cmd, repo, args.repeat, args.warmup, creates, args.timeout)

    python = timed([args.python, "-c", "pass"])
    floor = timed(["git", "for-each-ref", f"--format={FLOOR_FORMAT}", "refs/tags"])
    listing = timed(LISTING)
    start = python.median or 0.0
    rows: list[tuple[str, Result, float | None, str]] = [
        ("python -c pass", python, None, "floor"),
        ("git for-each-ref (every tag)", floor, None, "floor"),
        ("git for-each-ref (names, ids)", listing, None, "floor"),
        ("--help", timed([args.tagreg, "--help"]), start + 0.150, "python + 150 ms"),
    ]
    for label, argv, creates in per_artifact(manifest["target"]):
        rows.append((label, timed([args.tagreg, *argv], creates), start + 0.100, "python + 100 ms"))
    show_floor = (floor.median or 0.0) + start
    rows.append(("show", timed([args.tagreg, "show"]), show_floor, "every tag + python"))
    rows.append(("show (no cache)", timed(["env", "TAGREG_NO_CACHE=1", args.tagreg, "show"]), 1.5 * show_floor,
                 "1.5 x (every tag + python)"))
    after = time_show_after_a_new_tag(args.tagreg, repo, manifest["target"]["name"], args.repeat, args.timeout)
    rows.append(("show (after a new tag)", after, 1.2 * ((listing.median or 0.0) + start),
                 "1.2 x (names, ids + python)"))
    return rows


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render(measured: dict[int, list], markdown: bool) -> tuple[str, bool]:
    """The table, and whether every command is within its budget."""
    header = ["command", "tags", "median", "budget", "verdict"]
    table, within = [], True
    for size, rows in measured.items():
        for label, result, budget, how in rows:
            if result.failure:
                verdict, within = f"FAILED: {result.failure}", False
            elif budget is None:
                verdict = ""
            else:
                over = result.median - budget
                verdict = f"{ms(-over)} under" if over <= 0 else f"OVER by {ms(over)}"
                within = within and over <= 0
            median = "" if result.failure else ms(result.median)
            table.append([label, size_label(size), median, "" if budget is None else f"{ms(budget)} ({how})",
                          verdict])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---|"]
        lines += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(row)) + " |" for row in table]
    else:
        widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *table]]
    return "\n".join(lines), within


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,200000", help="tag counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--tagreg", help="tagreg executable (default: on PATH or .venv)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per command run")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "repos"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--annotated", type=int, default=20, help="artifacts declared in artifacts.yaml")
    parser.add_argument("--artifacts", type=int, help="artifacts in the registry (default: tags/20)")
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile the venv")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    local = ROOT / ".venv" / "bin" / "tagreg"
    args.tagreg = shutil.which(args.tagreg or "tagreg") or (str(local) if local.exists() else None)
    if not args.tagreg:
        parser.error("tagreg not found on PATH nor in .venv (use --tagreg)")
    args.python = interpreter_of(args.tagreg) or sys.executable
    if not args.no_compile:
        compile_venv(args.python, "tagreg")
    measured = {}
    for size in sizes:
        log(f"measuring at {size_label(size)}")
        measured[size] = measure(size, args)
    text, within = render(measured, args.markdown)
    print(text)
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
