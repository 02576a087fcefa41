"""Generate a synthetic GTO/tagreg registry: a git repository with many annotated tags.

    python benchmarks/generate.py DEST --tags N [--artifacts K] [--seed S] [--annotated A]
                                  [--force]

Only plain git is used (see gitwrite.py), never tagreg or gto, so the repository is an
independent fixture for both. The tags follow GTO 1.10.1 exactly (names, messages, counters),
and avoid the states that make GTO crash: two registered versions of one artifact on one commit,
`NAME@created` tags, re-registering a version.

The output is deterministic for a given (N, K, seed): fixed start time, one second per tag, so
object ids are identical from run to run. A small JSON manifest is written to
`DEST/.git/tagreg-bench.json` (git ignores unknown files there) so `run.py` can reuse the repo
and knows which artifact, version and tag to benchmark.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

from gitwrite import Stream, fast_import, git, refs_fingerprint, write_tags

# Bump when the generated content changes, so run.py regenerates cached repositories.
GENERATOR_VERSION = 1
MANIFEST = "tagreg-bench.json"
START = 1_700_000_000  # 2023-11-14 22:13:20 UTC; every tag gets START + its index, in seconds
STAGES = ("dev", "staging", "prod")
WORDS = ("churn", "fraud", "ranker", "forecast", "segment", "embed", "detect", "score")
TEAMS = ("team-a", "team-b", "team-c")


def artifact_names(k: int) -> list[str]:
    """K distinct artifact names; every 10th has a `/` (valid in GTO names) to exercise it."""
    width = len(str(k))
    names = []
    for i in range(k):
        name = f"{WORDS[i % len(WORDS)]}-{i:0{width}d}"
        names.append(f"nlp/{name}" if i % 10 == 9 else name)
    return names


def model_paths(names: list[str]) -> list[str]:
    """One small file per artifact, in about sqrt(K) folders of about sqrt(K) files each.

    A flat folder of thousands of files would make every commit write a huge tree object
    (fast-import then spends most of its time hashing trees), and is not what real repos do.
    """
    group = max(1, round(len(names) ** 0.5))
    return [f"models/g{i // group:02d}/{name}.txt" for i, name in enumerate(names)]


def split_counts(n: int, k: int, rng: random.Random) -> list[int]:
    """Split N tags over K artifacts unevenly (busy and quiet artifacts), each getting >= 1."""
    weights = [rng.uniform(0.3, 1.7) for _ in range(k)]
    total = sum(weights)
    counts = [max(1, int(n * w / total)) for w in weights]
    i = 0
    while sum(counts) != n:  # fix rounding drift one tag at a time
        if sum(counts) < n:
            counts[i % k] += 1
        elif counts[i % k] > 1:
            counts[i % k] -= 1
        i += 1
    return counts


def artifact_events(name: str, count: int, rng: random.Random) -> list[tuple]:
    """The event list of one artifact, valid for GTO when applied in order.

    Events: ("register", version), ("assign"|"unassign", version, stage, counter),
    ("deregister", version), ("deprecate",). Versions only increase, so the newest registered
    version is always the greatest; only older versions are ever deregistered.
    """
    major, minor, patch, rc = 0, 1, -1, 0  # the first version is v0.1.0
    active: list[str] = []  # registered, not deregistered, oldest first
    assigned: dict[str, set[str]] = {}  # version -> stages ever assigned (GTO allows unassign)
    counter = 0  # the per-artifact #N: we only write counters on (un)assign tags
    deprecate = count >= 4 and rng.random() < 0.04  # a few deprecated artifacts, as last event
    events: list[tuple] = []

    def next_version() -> str:
        nonlocal major, minor, patch, rc
        if rc:  # a release candidate is followed by its release
            rc = 0
        elif patch < 0:
            patch = 0
        else:
            roll = rng.random()
            if roll < 0.05:
                major, minor, patch = major + 1, 0, 0
            elif roll < 0.30:
                minor, patch = minor + 1, 0
            else:
                patch += 1
            if rng.random() < 0.05:
                rc = 1
        return f"v{major}.{minor}.{patch}" + (f"-rc.{rc}" if rc else "")

    for i in range(count - (1 if deprecate else 0)):
        roll = rng.random()
        pairs = [(v, s) for v in active for s in sorted(assigned.get(v, ()))]
        if i == 0 or roll < 0.35:
            version = next_version()
            active.append(version)
            events.append(("register", version))
        elif roll < 0.42 and pairs:
            counter += 1
            version, stage = rng.choice(pairs)
            events.append(("unassign", version, stage, counter))
        elif roll < 0.45 and len(active) >= 2:
            version = active.pop(rng.randrange(len(active) - 1))  # never the newest
            events.append(("deregister", version))
        else:
            # Mostly the newest version, sometimes an older one (a rollback).
            version = active[-1] if rng.random() < 0.8 else rng.choice(active)
            stage = rng.choice(STAGES)
            counter += 1
            assigned.setdefault(version, set()).add(stage)
            events.append(("assign", version, stage, counter))
    if deprecate:
        events.append(("deprecate",))
    return events


DEEP = "deep-model"  # the artifact with a long history of its own (`--deep`)


def deep_events(versions: int) -> list[tuple]:
    """The events of an artifact with VERSIONS versions, each assigned to dev when registered,
    every 10th to staging and every 50th to prod (so prod's winner is far from the newest tag)."""
    events: list[tuple] = []
    counter = 0
    for i in range(versions):
        version = f"v1.{i // 100}.{i % 100}"
        events.append(("register", version))
        for stage, every in (("dev", 1), ("staging", 10), ("prod", 50)):
            if i % every == 0:
                counter += 1
                events.append(("assign", version, stage, counter))
    return events


def tag_name_and_message(name: str, event: tuple) -> tuple[str, str]:
    """The tag name and annotation message GTO 1.10.1 writes for an event."""
    kind = event[0]
    if kind == "register":
        return f"{name}@{event[1]}", f"Registering artifact {name} version {event[1]}"
    if kind == "deregister":
        return f"{name}@{event[1]}!", f"Deregistering artifact {name} version {event[1]}"
    if kind == "assign":
        _, version, stage, n = event
        return (f"{name}#{stage}#{n}",
                f"Assigning stage {stage} to artifact {name} version {version}")
    if kind == "unassign":
        _, version, stage, n = event
        return (f"{name}#{stage}!#{n}",
                f"Unassigning stage '{stage}' to artifact '{name}' version '{version}'")
    return f"{name}@deprecated", f"Deprecating artifact '{name}'"


def artifacts_yaml(names: list[str], paths: list[str], declared: list[int],
                   revision: int) -> bytes:
    """The annotation file; `revision` changes descriptions so versions see different blobs."""
    lines = [] if declared else ["{}"]
    for i in declared:
        name = names[i]
        lines += [
            f"{name}:",
            "  type: model",
            f"  path: {paths[i]}",
            f"  description: {WORDS[i % len(WORDS)]} model number {i} (revision {revision})",
            "  labels:",
            f"  - {WORDS[i % len(WORDS)]}",
            f"  - {TEAMS[i % len(TEAMS)]}",
        ]
    return ("\n".join(lines) + "\n").encode()


def plan(tags: int, k: int, rng: random.Random, deep: int = 0) -> tuple[list[str], list[list[tuple]], list[int]]:
    """Artifact names, each artifact's events, and the global order (artifact index per tag).
    With deep, the last artifact is DEEP with deep versions (`deep_events`), within the tags."""
    names = artifact_names(k)
    long = deep_events(deep) if deep else []
    per_artifact = [artifact_events(n, c, rng) for n, c in zip(names, split_counts(max(k, tags - len(long)), k, rng))]
    if deep:
        names.append(DEEP)
        per_artifact.append(long)
    # A uniform random interleaving of the artifacts' event lists keeps each list's order.
    order = [a for a, events in enumerate(per_artifact) for _ in events]
    rng.shuffle(order)
    return names, per_artifact, order


def generate(dest: Path, tags: int, artifacts: int | None = None, seed: int = 0,
             annotated: int | None = None, deep: int = 0) -> dict:
    """Create the registry at DEST (which must not exist or be empty); return its manifest.

    `annotated` artifacts (default: all), evenly spread over the names, are declared in
    `artifacts.yaml`. GTO parses that file once per registered version, so declaring thousands
    of artifacts makes GTO's cost grow with versions x artifacts. `deep` versions of one more
    artifact, DEEP, are part of the tags (see `plan`); the manifest's `deep` says which to time.
    """
    k = max(1, min(tags, artifacts or round(tags / 20)))
    n_declared = k if annotated is None else max(0, min(annotated, k))
    declared = [i * k // n_declared for i in range(n_declared)]
    names, per_artifact, order = plan(tags, k, random.Random(seed), deep)
    if deep:
        declared.append(k)  # DEEP, declared like the others
    k = len(names)
    paths = model_paths(names)
    registrations = sum(e[0] == "register" for events in per_artifact for e in events)
    yaml_every = max(1, registrations // 20)  # ~20 revisions of artifacts.yaml over the history
    tag_list: list[tuple[str, int, int, str]] = []  # (tag, commit mark, time, message)
    head_artifact = head = 0  # whose version is registered at HEAD; HEAD's commit mark

    def write(s: Stream) -> None:
        nonlocal head_artifact, head
        head = s.commit(START - 1, "Declare artifacts", {
            "artifacts.yaml": s.blob(artifacts_yaml(names, paths, declared, 0)),
            "README.md": b"Synthetic registry for benchmarks.\n"})
        when = START
        commit_of: list[dict[str, int]] = [{} for _ in names]  # version -> commit mark
        last_commit = [0] * k  # commit mark of each artifact's newest event
        position = [0] * k
        foreign = {len(order) // 3: "v1.0.0", 2 * len(order) // 3: "release-3"}
        commits = 0
        for i, a in enumerate(order):
            if i in foreign:  # tags of someone else: ignored by GTO, never an error
                tag_list.append((foreign[i], head, when, f"Release {foreign[i]}"))
                when += 1
            name, event = names[a], per_artifact[a][position[a]]
            position[a] += 1
            if event[0] == "register":  # each version on a commit of its own
                commits += 1
                files = {paths[a]: f"{name} {event[1]} seed {seed}\n".encode()}
                if commits % yaml_every == 0:
                    files["artifacts.yaml"] = s.blob(
                        artifacts_yaml(names, paths, declared, commits))
                head = s.commit(when, f"Train {name} {event[1]}", files)
                head_artifact = a
                commit_of[a][event[1]] = head
            # A deprecation points at the commit of the artifact's newest event, as in GTO.
            target = commit_of[a][event[1]] if len(event) > 1 else last_commit[a]
            last_commit[a] = target
            tag, message = tag_name_and_message(name, event)
            tag_list.append((tag, target, when, message))
            when += 1

    dest.mkdir(parents=True, exist_ok=True)
    git(dest, "init", "-q")
    git(dest, "symbolic-ref", "HEAD", "refs/heads/main")
    marks = fast_import(dest, write)
    write_tags(dest, [(tag, marks[mark], when, message) for tag, mark, when, message in tag_list],
               {"ci-latest": marks[head]})  # and one lightweight tag, ignored by GTO

    # A checked-out worktree because GTO reads `.gto` from it; an identity so `register` and
    # `assign` can create tags; no auto-gc during a benchmark.
    git(dest, "reset", "-q", "--hard")
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com"),
                       ("gc.auto", "0")):
        git(dest, "config", key, value)
    manifest = {
        "generator": GENERATOR_VERSION, "tags": tags, "artifacts": k, "seed": seed,
        "annotated": n_declared, "commits": registrations + 1,
        "target": pick_target(names, per_artifact, head_artifact),
        "fingerprint": refs_fingerprint(dest),
    }
    if deep:
        events = per_artifact[-1]
        manifest["deep"] = {"name": DEEP, "versions": deep, "tags": len(events),
                            "latest": [e[1] for e in events if e[0] == "register"][-1],
                            "check_ref": tag_name_and_message(DEEP, [e for e in events if e[0] == "assign"][-1])[0]}
    (dest / ".git" / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def pick_target(names: list[str], per_artifact: list[list[tuple]], head_artifact: int) -> dict:
    """The artifact to benchmark `show NAME`, `register NAME` etc. with, and its TAG.

    Preferably: not the artifact registered at HEAD (`register NAME` at HEAD would fail), not
    deprecated (GTO would show nothing), with an assignment tag for `check-ref`, with at least
    the mean number of tags (typical, not quiet), and in the middle of the sorted names.
    """
    mean = sum(map(len, per_artifact)) / len(per_artifact)
    rank = {a: r for r, a in enumerate(sorted(range(len(names)), key=lambda a: names[a]))}

    def flaws(a: int) -> tuple:
        events = per_artifact[a]
        return (a == head_artifact, events[-1][0] == "deprecate",
                not any(e[0] == "assign" for e in events), len(events) < mean,
                abs(rank[a] - len(names) // 2))

    a = min(range(len(names)), key=flaws)
    events = per_artifact[a]
    latest = [e[1] for e in events if e[0] == "register"][-1]
    tagged = [e for e in events if e[0] == "assign"] or events
    return {"name": names[a], "latest": latest, "tags": len(events),
            "check_ref": tag_name_and_message(names[a], tagged[-1])[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="directory to create the repository in")
    parser.add_argument("--tags", type=int, required=True, help="number of GTO tags")
    parser.add_argument("--artifacts", type=int, help="number of artifacts (default: tags/20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--annotated", type=int,
                        help="artifacts declared in artifacts.yaml (default: all)")
    parser.add_argument("--force", action="store_true", help="replace DEST if it exists")
    args = parser.parse_args(argv)
    if args.tags < 1:
        parser.error("--tags must be at least 1")
    if args.dest.exists() and any(args.dest.iterdir()):
        if not args.force:
            parser.error(f"{args.dest} exists and is not empty (use --force to replace it)")
        shutil.rmtree(args.dest)
    started = time.perf_counter()
    manifest = generate(args.dest, args.tags, args.artifacts, args.seed, args.annotated)
    print(f"{args.dest}: {manifest['tags']} tags, {manifest['artifacts']} artifacts "
          f"({manifest['annotated']} in artifacts.yaml), {manifest['commits']} commits "
          f"in {time.perf_counter() - started:.2f} s; target {manifest['target']['name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
