"""Per-artifact commands against an artifact's own history: 20 versions and 1,000 versions.

    python benchmarks/history_bench.py [--tags 10000] [--versions 20,1000] [--repeat 7]
                                       [--src src] [--compare /path/to/other/src] [--markdown]

For each --versions V it generates (with generate.py, once; reused under --workdir) a registry of
--tags tags in which one more artifact, `deep-model`, has V versions, each assigned to dev, every
10th to staging and every 50th to prod. It then times `which`, `check-ref`, `register` and `assign`
of deep-model, as `python -m tagreg` with each source tree on PYTHONPATH (--src, default this
checkout's; --compare, e.g. an older worktree's src), interleaved run by run so that load on the
machine hits every tree alike, with `python -c pass` as the floor. Each tree has a cache folder
of its own. A Markdown table of medians goes to stdout. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import GENERATOR_VERSION, MANIFEST, generate
from gitwrite import git, refs_fingerprint

ROOT = Path(__file__).resolve().parent.parent
HEAD_TIME = 1_600_000_000  # the extra commit on top (so `register` has an unregistered HEAD)


def prepare(workdir: Path, tags: int, versions: int) -> tuple[Path, dict]:
    """The registry for versions, reused if generated alike and untouched since."""
    repo = workdir / f"history-{tags}-deep-{versions}"
    try:
        manifest = json.loads((repo / ".git" / MANIFEST).read_text())
        if (manifest["generator"], manifest["tags"], manifest["deep"]["versions"]) == (
                GENERATOR_VERSION, tags, versions) and manifest["fingerprint"] == refs_fingerprint(repo):
            return repo, manifest
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError):
        pass
    subprocess.run(["rm", "-rf", str(repo)], check=True)
    started = time.perf_counter()
    manifest = generate(repo, tags, deep=versions)
    env = {**os.environ, "GIT_COMMITTER_DATE": f"{HEAD_TIME} +0000", "GIT_AUTHOR_DATE": f"{HEAD_TIME} +0000"}
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "bench head"], cwd=repo, env=env, check=True)
    manifest["fingerprint"] = refs_fingerprint(repo)
    (repo / ".git" / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"generated {repo} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return repo, manifest


NEW_TAG = "deep-model#bench#999999"  # a tag made before a run of "(after a new tag)", deleted after it


def commands(deep: dict) -> list[tuple[str, list[str], bool]]:
    """(label, tagreg arguments, creates a tag)."""
    name = deep["name"]
    return [
        ("which NAME prod", ["which", name, "prod"], False),
        ("which NAME prod (after a new tag)", ["which", name, "prod"], False),
        ("check-ref TAG", ["check-ref", deep["check_ref"]], False),
        ("register NAME", ["register", name], True),
        ("assign NAME", ["assign", name, "--version", deep["latest"], "--stage", "dev", "--force"], True),
    ]


def tags_of(repo: Path) -> set[str]:
    return set(git(repo, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags").split())


def run_once(argv: list[str], repo: Path, env: dict, creates: bool, new_tag: bool = False) -> float:
    """Seconds one run takes; tags it creates are deleted after it. With new_tag, NEW_TAG is made
    first (as a fetch would bring it: the artifact's kept answers no longer hold) and deleted after."""
    before = tags_of(repo) if creates else set()
    if new_tag:
        git(repo, "tag", "-a", "-m", "bench", NEW_TAG, "HEAD")
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if new_tag:
        git(repo, "tag", "-d", NEW_TAG)
    if creates and (new := sorted(tags_of(repo) - before)):
        git(repo, "tag", "-d", *new)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed in {repo}: {proc.stderr.decode(errors='replace').strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=10000, help="tags in each registry")
    parser.add_argument("--versions", default="20,1000", help="deep-model's versions, comma-separated")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per command and tree")
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--compare", type=Path, action="append", default=[], help="another tagreg src to time")
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "repos")
    options = parser.parse_args()
    trees = [options.src.resolve(), *(src.resolve() for src in options.compare)]
    for src in trees:  # PYTHONDONTWRITEBYTECODE=1 would have every run compile every module
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], capture_output=True)
    caches = {src: tempfile.mkdtemp(prefix="tagreg-history-cache-") for src in trees}
    sizes = [int(v) for v in options.versions.split(",")]
    medians: dict[tuple[str, str, int], float] = {}
    for versions in sizes:
        repo, manifest = prepare(options.workdir, options.tags, versions)
        steady = [("python -c pass", [sys.executable, "-c", "pass"], False, None)]
        steady += [(label, [sys.executable, "-m", "tagreg", *argv], creates, src)
                   for label, argv, creates in commands(manifest["deep"]) for src in trees]
        # A run after a new tag leaves the caches kept for that tag: the steady runs go first.
        after = [item for item in steady if item[0].endswith("(after a new tag)")]
        steady = [item for item in steady if item not in after]
        times: dict[tuple[str, Path | None], list[float]] = {}
        for plan in (steady, after):
            for run in range(options.repeat + 1):  # the first round warms the caches and is not counted
                for label, argv, creates, src in plan:
                    env = dict(os.environ)
                    if src is not None:
                        env.update(PYTHONPATH=str(src), TAGREG_CACHE_DIR=caches[src])
                    elapsed = run_once(argv, repo, env, creates, new_tag=label.endswith("(after a new tag)"))
                    if run:
                        times.setdefault((label, src), []).append(elapsed)
        for (label, src), found in times.items():
            medians[(label, str(src) if src else "", versions)] = statistics.median(found)
            print(f"{versions} versions, {label}, {src or ''}: {statistics.median(found) * 1000:.0f} ms",
                  file=sys.stderr)
    header = "| command | tagreg src | " + " | ".join(f"{v} versions" for v in sizes) + f" | {sizes[-1]} - {sizes[0]} |"
    lines = [header, "|---|---|" + "---:|" * (len(sizes) + 1)]
    for label, src in dict.fromkeys((label, src) for label, src, _ in medians):
        cells = [medians[(label, src, v)] * 1000 for v in sizes]
        lines.append(f"| `{label}` | {src} | " + " | ".join(f"{c:.0f} ms" for c in cells)
                     + f" | {cells[-1] - cells[0]:+.0f} ms |")
    print(f"{options.tags} tags; medians of {options.repeat} runs, interleaved; Python {sys.version.split()[0]}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
