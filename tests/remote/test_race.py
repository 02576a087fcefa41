"""Concurrent writers on one remote registry: several processes assigning a stage at the same moment
all land, with distinct `#N` counters; two people registering one version: one wins, the other is
told who did."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import EPOCH, TIMEOUT, Result, mirrors, only_mirror, tag_objects

# Pays for its imports first, says it is ready, then waits at the start line so all racers
# reach the registry in the same few milliseconds.
RACER = r"""
import os, sys, time
ready, gate = sys.argv[1], sys.argv[2]
import tagreg.cli, tagreg.api, tagreg.remote
open(ready, "w").close()
while not os.path.exists(gate):
    time.sleep(0.002)
sys.argv = ["tagreg", *sys.argv[3:]]
tagreg.cli.main(prog_name="tagreg")
"""


def race(cwd: Path, tmp_path: Path, jobs: list[tuple[list[str], dict]]) -> list[Result]:
    """Run `tagreg ARGS` with ENV for each (ARGS, ENV) of jobs, all released at the same instant."""
    gate = tmp_path / "gate"
    procs, readies = [], []
    for i, (args, extra) in enumerate(jobs):
        ready = tmp_path / f"ready-{i}"
        readies.append(ready)
        procs.append(subprocess.Popen(
            [sys.executable, "-c", RACER, str(ready), str(gate), *args], cwd=cwd, env={**os.environ, **extra},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in readies):
            assert time.monotonic() < deadline, "racers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
            time.sleep(0.01)
        gate.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT)
            results.append(Result(p.returncode, out, err))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def person(i: int) -> dict:
    name = f"User {i}"
    email = f"user{i}@example.com"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}


# A bot: one identity, and every job in the same second, so the racing tags are byte-identical
# objects and a losing push looks "up to date" rather than rejected.
BOT = {"GIT_AUTHOR_NAME": "Deploy Bot", "GIT_AUTHOR_EMAIL": "bot@example.com", "GIT_COMMITTER_NAME": "Deploy Bot",
       "GIT_COMMITTER_EMAIL": "bot@example.com", "GIT_COMMITTER_DATE": f"{EPOCH + 86400} +0000",
       "GIT_AUTHOR_DATE": f"{EPOCH + 86400} +0000"}

N = 6
MODES = {
    "people, own caches": lambda i, tmp: {**person(i), "TAGREG_CACHE_DIR": str(tmp / f"cache-{i}")},
    "people, one shared cache": lambda i, tmp: {**person(i), "TAGREG_CACHE_DIR": str(tmp / "shared-cache")},
    "bot, one shared cache": lambda i, tmp: {**BOT, "TAGREG_CACHE_DIR": str(tmp / "shared-cache")},
    "bot, own caches": lambda i, tmp: {**BOT, "TAGREG_CACHE_DIR": str(tmp / f"cache-{i}")},
}


@pytest.mark.parametrize("mode", list(MODES))
def test_concurrent_assignments_all_land_with_distinct_counters(server, work, tmp_path, mode):
    envs = [MODES[mode](i, tmp_path) for i in range(N)]
    before = server.tags()
    v1 = server.rev("m@v0.0.1")

    args = ["assign", "m", "--stage", "prod", "--version", "v0.0.1", "--force", "-r", server.url]
    results = race(work, tmp_path, [(args, env) for env in envs])

    for r in results:
        assert r.returncode == 0, f"a racer failed:\nstdout: {r.stdout}\nstderr: {r.stderr}"
        assert "Traceback" not in r.stderr
    new = server.tags() - before
    assert len(new) == N, f"expected {N} new tags on the server, got {sorted(new)}"
    assert all(re.fullmatch(r"m#prod#\d+", t) for t in new), sorted(new)
    assert server.tags() >= before, "a racer deleted or moved a tag"
    assert {server.rev(t) for t in new} == {v1}
    reported = []
    for r in results:
        found = re.findall(r"Successfully pushed git tag (\S+) on remote\.", r.stdout)
        assert len(found) == 1, r.stdout
        reported += found
    assert sorted(reported) == sorted(new), "each racer must report the tag it actually pushed"
    # No cache holds a tag the server does not have.
    caches = {Path(e["TAGREG_CACHE_DIR"]) for e in envs}
    for cache in caches:
        mirror_tags = tag_objects(only_mirror(cache))
        server_tags = server.tag_objects()
        assert {t: o for t, o in mirror_tags.items() if server_tags.get(t) != o} == {}


@pytest.mark.parametrize("where", ["same commit", "different commits"])
def test_two_people_registering_one_version_at_once(server, work, tmp_path, where):
    head = server.commit_file("main", {"NOTES.md": "another commit\n"}, "another commit", tmp_path)
    alice = {"GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com",
             "TAGREG_CACHE_DIR": str(tmp_path / "cache-alice")}
    bob = {"GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": "bob@example.com",
           "TAGREG_CACHE_DIR": str(tmp_path / "cache-bob")}
    refs = ["main", "main"] if where == "same commit" else ["main", "main~1"]
    before = server.tags()

    results = race(work, tmp_path, [(["register", "m", refs[0], "--version", "v0.1.0", "-r", server.url], alice),
                                    (["register", "m", refs[1], "--version", "v0.1.0", "-r", server.url], bob)])
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 1], [(r.returncode, r.stdout, r.stderr) for r in results]
    winner, loser = (results[0], results[1]) if results[0].returncode == 0 else (results[1], results[0])
    winner_name = "Alice" if winner is results[0] else "Bob"

    assert server.tags() - before == {"m@v0.1.0"}
    assert server.tagger("m@v0.1.0") == f"{winner_name} <{winner_name.lower()}@example.com>"
    expected_commit = head if (where == "same commit" or winner_name == "Alice") else server.rev("main~1")
    assert server.rev("m@v0.1.0") == expected_commit

    lines = loser.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("❌ "), loser.stderr
    assert "Traceback" not in loser.stderr
    assert "v0.1.0" in lines[0]
    assert winner_name in lines[0], f"the error does not say who registered it: {lines[0]}"
    loser_cache = Path((bob if winner_name == "Alice" else alice)["TAGREG_CACHE_DIR"])
    for mirror in mirrors(loser_cache):
        server_tags = server.tag_objects()
        assert {t: o for t, o in tag_objects(mirror).items() if server_tags.get(t) != o} == {}



def counters(tags: set[str]) -> list[int]:
    return sorted(int(t.rpartition("#")[2]) for t in tags if re.search(r"#\d+$", t))


@pytest.mark.parametrize("caches", ["own caches", "one shared cache"])
def test_concurrent_assigns_and_unassigns_of_one_stage_never_share_a_counter(server, work, tmp_path, caches):
    """Different event kinds on one stage have different tag names (`m#prod#N`, `m#prod!#N`), so
    the remote does not refuse the second of two with one N: the writers must not compute it."""
    before = server.tags()
    assign = ["assign", "m", "--stage", "prod", "--version", "v0.0.1", "--force", "-r", server.url]
    unassign = ["deprecate", "m", "v0.0.1", "prod", "-r", server.url]
    cache = (lambda i: tmp_path / f"cache-{i}") if caches == "own caches" else (lambda i: tmp_path / "shared")
    jobs = [(assign if i % 2 else unassign, {**person(i), "TAGREG_CACHE_DIR": str(cache(i))}) for i in range(N)]
    results = race(work, tmp_path, jobs)

    for r in results:
        assert r.returncode == 0, f"a racer failed:\nstdout: {r.stdout}\nstderr: {r.stderr}"
    new = server.tags() - before
    assert len(new) == N, sorted(new)
    found = counters(server.tags())
    assert len(found) == N + 1 and len(set(found)) == N + 1, sorted(server.tags())  # m#prod#1 was there
    reported = [t for r in results for t in re.findall(r"Successfully pushed git tag (\S+) on remote\.", r.stdout)]
    assert sorted(reported) == sorted(new), "each racer reports the tag it left on the remote"


@pytest.mark.parametrize("where", ["local repository", "remote through the mirror"])
def test_threads_of_one_process_writing_one_stage_get_distinct_counters(server, tmp_path, where):
    """The API from several threads at once (as a service would call it), started by a barrier."""
    import threading

    from tagreg import api

    if where == "local repository":
        target = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", server.url, str(target)], check=True, capture_output=True)
        def tags_now() -> set[str]:
            return set(subprocess.run(["git", "tag", "--list"], cwd=target, capture_output=True, text=True,
                                      check=True).stdout.split())
    else:
        target, tags_now = server.url, server.tags
    before = tags_now()
    barrier = threading.Barrier(N)
    errors: list[Exception] = []

    def write(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            if i % 2:
                api.assign(str(target), "m", "prod", version="v0.0.1", force=True)
            else:
                api.deprecate(str(target), "m", version="v0.0.1", stage="prod")
        except Exception as exc:  # noqa: BLE001 -- reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT)
    assert not errors, errors
    new = tags_now() - before
    assert len(new) == N, sorted(new)
    found = counters(tags_now())
    assert len(set(found)) == len(found) == N + 1, sorted(tags_now())
