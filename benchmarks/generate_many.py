"""Generate many registries for the server benchmark: REPOS repositories of MODELS models each.

    python benchmarks/generate_many.py DEST [--repos 50] [--models 100] [--tags-per-model 6] [--force]

Each repository is made by generate.py (plain git plumbing, GTO's exact tag format), with its own
seed so the repositories differ. DEST/registries.yaml lists them for `tagreg serve --config`.
An existing DEST made with the same parameters is reused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from generate import GENERATOR_VERSION, generate

MANIFEST = "many.json"


def build(dest: Path, repos: int, models: int, tags_per_model: int, force: bool = False) -> dict:
    """Make (or reuse) the repositories and the config; return the manifest."""
    wanted = {"generator": GENERATOR_VERSION, "repos": repos, "models": models, "tags_per_model": tags_per_model}
    manifest_file = dest / MANIFEST
    if not force and manifest_file.exists():
        found = json.loads(manifest_file.read_text())
        if {k: found.get(k) for k in wanted} == wanted:
            return found
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    started = time.perf_counter()
    lines = ["# tagreg serve --config registries.yaml (made by benchmarks/generate_many.py)", "repos:"]
    total_tags = 0
    for n in range(repos):
        name = f"team-{n:02d}"
        made = generate(dest / name, tags=models * tags_per_model, artifacts=models, seed=n)
        total_tags += made["tags"]
        lines.append(f"  - {name}")
    (dest / "registries.yaml").write_text("\n".join(lines) + "\n")
    manifest = {**wanted, "tags": total_tags, "seconds": round(time.perf_counter() - started, 1)}
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder to create the repositories in")
    parser.add_argument("--repos", type=int, default=50, help="number of repositories (default 50)")
    parser.add_argument("--models", type=int, default=100, help="models per repository (default 100)")
    parser.add_argument("--tags-per-model", type=int, default=6, help="average tags per model (default 6)")
    parser.add_argument("--force", action="store_true", help="regenerate even if DEST matches")
    args = parser.parse_args(argv)
    manifest = build(args.dest, args.repos, args.models, args.tags_per_model, args.force)
    print(f"{args.dest}: {manifest['repos']} repositories x {manifest['models']} models, {manifest['tags']} tags"
          f" (made in {manifest['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
