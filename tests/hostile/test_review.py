"""Holes found by an attacker's review of the issue-10 work: each test is a hostile repository (or
output folder) that broke the merged code, with real git and real commands."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .test_delivery import (
    PEAK,
    _peak_kib,
    bomb,
    git,
    mktree,
    refused,
    registry,
    run,
    tree_of,
)

# -- a git bomb anywhere in a registry's tree ------------------------------------------------------

def bombed_registry(tmp_path: Path, width: int, depth: int) -> Path:
    """A registry whose tagged commit holds a bomb of width**depth files beside (not in) the
    artifact, in a folder that sorts before artifacts.yaml, with a dvc.yaml at its root too."""
    repo = tmp_path / "registry"
    git(tmp_path, "init", "-q", str(repo))
    spec = {"aaa": bomb(repo, width, depth), "m.bin": b"x\n",
            "artifacts.yaml": b"m:\n  type: model\n  path: m.bin\n",
            "dvc.yaml": b"artifacts:\n  d:\n    type: data\n    path: m.bin\n",
            "sub": {"dvc.yaml": b"artifacts:\n  s:\n    type: model\n    path: x\n"}}
    commit = git(repo, "commit-tree", mktree(repo, spec), "-m", "bomb").strip()
    git(repo, "update-ref", "refs/heads/main", commit)
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    for name in ("m", "d"):
        git(repo, "tag", "-a", f"{name}@v0.0.1", "-m", "r")
    return repo


@pytest.mark.parametrize("command", [["show"], ["doctor"]])
def test_a_git_bomb_beside_the_artifacts_does_not_hang_reads(tmp_path, command):
    # 10**8 files in a few KB: listing the whole tree of each commit to find dvc.yaml files took
    # ~300 s (~30 s at 10**7) and held the listing in memory.
    repo = bombed_registry(tmp_path, 10, 8)
    try:
        result = run(repo, *command, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tagreg {' '.join(command)} did not finish within 20 s on a git bomb")
    assert "Traceback" not in result.stderr, result.stderr
    if command == ["show"]:
        assert result.returncode == 0, result.stderr
        for name in ("m", "d"):
            assert name in result.stdout
        assert "more than 200000 files (a git bomb?)" in result.stderr


def linked_bomb(tmp_path: Path, width: int, depth: int) -> Path:
    """A local registry whose artifact links (pinned rev) to a folder of width**depth files in
    another repository."""
    linked = tmp_path / "linked"
    git(tmp_path, "init", "-q", str(linked))
    commit = git(linked, "commit-tree", mktree(linked, {"art": bomb(linked, width, depth)}), "-m", "bomb").strip()
    git(linked, "update-ref", "refs/heads/main", commit)
    repo = tmp_path / "registry"
    git(tmp_path, "init", "-q", str(repo))
    (repo / "artifacts.yaml").write_text(f"m:\n  type: model\n  path: art\n  repo: {linked}\n  rev: {commit}\n")
    git(repo, "add", "artifacts.yaml")
    git(repo, "commit", "-q", "-m", "link")
    git(repo, "tag", "-a", "m@v0.0.1", "-m", "r")
    return repo


@pytest.mark.parametrize("strict", [[], ["--strict"]])
def test_doctor_on_a_link_to_a_git_bomb_does_not_list_it_whole(tmp_path, strict):
    # doctor asked whether the linked path exists by listing every file below it into memory:
    # 10**7 files took over 60 s and 3 GB.
    repo = linked_bomb(tmp_path, 10, 7)
    try:
        result = run(repo, "doctor", *strict, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("doctor did not finish within 20 s on a link to a git bomb")
    assert "Traceback" not in result.stderr, result.stderr
    assert "does not exist" not in result.stdout, result.stdout


# -- symlinks resolved through what is already in the output folder -------------------------------

def test_a_symlink_through_one_already_in_the_output_folder_cannot_point_out(tmp_path):
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    repo = registry(tmp_path, {"x": ("link", "data/.."), "f": b"1\n"})
    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    os.symlink(outside / "sub", out / "data")  # the user's own link, into their data folder
    result = run(out.parent, "get", "art", "--repo", str(repo), "-o", "out")
    if result.returncode == 0:
        assert os.path.realpath(out / "x").startswith(str(out) + os.sep), "get made a symlink out of the folder"
    else:
        refused(result)
        assert tree_of(out) == {"data": "link"}


# -- a huge tag message ------------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="git.py reads every tag's whole message (%(contents) of for-each-ref) "
                   "into memory, several copies of it: a 64 MiB message costs ~200 MiB in `which`/`history`")
def test_a_huge_tag_message_does_not_cost_its_size_in_memory(tmp_path):
    repo = registry(tmp_path, b"x\n", path="m.bin", name="m")
    message = tmp_path / "message"
    message.write_bytes(b"A" * (64 << 20))
    git(repo, "tag", "-a", "m#prod#1", "-F", str(message), "m@v0.0.1^{}")
    (tmp_path / "small").mkdir()
    baseline_repo = registry(tmp_path / "small", b"x\n", path="m.bin", name="m")
    git(baseline_repo, "tag", "-a", "m#prod#1", "-m", "x", "m@v0.0.1^{}")
    baseline = _peak_kib(baseline_repo, PEAK, "which", "m", "prod")
    peak = _peak_kib(repo, PEAK, "which", "m", "prod")
    assert peak - baseline < 32 * 1024, f"a 64 MiB tag message took {(peak - baseline) >> 10} MiB more memory"


# -- tag objects with dates no clock has ----------------------------------------------------------

def raw_tag(repo: Path, name: str, tagger: bytes, message: bytes = b"hostile\n") -> None:
    """An annotated tag written as raw bytes (what `git mktag` would refuse, a remote may serve)."""
    head = git(repo, "rev-parse", "HEAD^{commit}").strip()
    body = (f"object {head}\ntype commit\ntag {name}\n".encode() + b"tagger " + tagger + b"\n\n" + message)
    oid = subprocess.run(["git", "hash-object", "-t", "tag", "--literally", "-w", "--stdin"], cwd=repo, input=body,
                         capture_output=True, check=True).stdout.decode().strip()
    git(repo, "update-ref", f"refs/tags/{name}", oid)


@pytest.mark.parametrize("tagger", [
    b"T <t@e> 1700000000 +9999",  # a 99-hour offset
    b"T <t@e> 1700000000 -2460",
    b"T <t@e> 253402300800 +0000",  # year 10000
    b"T <t@e> 99999999999999999999 +0000",
    b"T <t@e> 1700000000 +12ab",
])
@pytest.mark.parametrize("command", [["show", "m"], ["history", "m"], ["which", "m", "prod"], ["events"],
                                     ["check-ref", "m#prod#1"], ["history", "m", "--json"]])
def test_a_tag_dated_outside_any_calendar_is_no_unexpected_error(tmp_path, tagger, command):
    repo = registry(tmp_path, b"x\n", path="m.bin", name="m")
    raw_tag(repo, "m#prod#1", tagger)
    result = run(repo, *command)
    assert result.returncode == 0, result.stderr
    assert "Unexpected error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("tagger", [b"T <t@e> abc +0000", b"T <t@e>", b"T"])
def test_a_tag_with_a_garbled_tagger_line_is_no_unexpected_error(tmp_path, tagger):
    repo = registry(tmp_path, b"x\n", path="m.bin", name="m")
    raw_tag(repo, "m#prod#1", tagger)
    for command in (["show", "m"], ["history", "m"], ["which", "m", "prod"], ["events"]):
        result = run(repo, *command)
        assert result.returncode == 0, result.stderr
        assert "Unexpected error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_commit_with_a_garbled_date_is_no_unexpected_error(tmp_path):
    repo = registry(tmp_path, b"x\n", path="m.bin", name="m")
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    body = f"tree {tree}\nauthor A <a> 1 +0000\ncommitter C <c> abc +0000\n\nhostile\n".encode()
    oid = subprocess.run(["git", "hash-object", "-t", "commit", "--literally", "-w", "--stdin"], cwd=repo, input=body,
                         capture_output=True, check=True).stdout.decode().strip()
    git(repo, "tag", "-a", "m@v0.0.2", "-m", "r", oid)
    for command in (["show", "m"], ["show", "m@v0.0.2"], ["get", "m", "-o", str(tmp_path / "out.bin")]):
        result = run(repo, *command)
        assert "Unexpected error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


# -- `get` run inside a checkout of the hostile registry ------------------------------------------

@pytest.mark.parametrize("name, path", [("art", "models/art"), ("m", "models/m.bin")])
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_get_in_a_hostile_checkout_does_not_write_through_its_committed_symlink(tmp_path, name, path, force):
    # The default output is the artifact's name in the current folder: in a clone of the registry,
    # the registry chose both that name and what is there. A committed symlink `art -> ~/.ssh` made
    # `tagreg get art` write art's files (authorized_keys) into ~/.ssh.
    victim = tmp_path / "victim"
    victim.mkdir()
    clone = tmp_path / "clone"
    git(tmp_path, "init", "-q", str(clone))
    (clone / "models" / "art").mkdir(parents=True)
    (clone / "models" / "art" / "authorized_keys").write_text("ssh-rsa EVIL\n")
    (clone / "models" / "m.bin").write_text("evil\n")
    (clone / "artifacts.yaml").write_text(f"{name}:\n  type: model\n  path: {path}\n")
    os.symlink(victim, clone / path.rpartition("/")[2])
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "hostile")
    git(clone, "tag", "-a", f"{name}@v0.0.1", "-m", "r")
    result = run(clone, "get", name, *force)
    assert os.listdir(victim) == [], "get wrote through a symlink of the checkout"
    assert "symlink" in refused(result)


# -- YAML scalars that PyYAML's constructors cannot build -----------------------------------------

@pytest.mark.parametrize("value", [
    "9" * 5000,  # over Python's int-string conversion limit (4300 digits)
    "0000-01-01",  # a timestamp of year 0
    "2020-02-30",
    "2020-01-01 25:61:61",
])
def test_a_scalar_the_yaml_constructor_cannot_build_costs_only_its_commit(tmp_path, value):
    repo = registry(tmp_path, b"x\n", path="m.bin", name="m")
    (tmp_path / "work").mkdir()
    git(repo, "checkout", "-q", "-f", "main")
    (repo / "artifacts.yaml").write_text(f"m:\n  type: model\n  path: m.bin\n  custom: {value}\n")
    git(repo, "add", "artifacts.yaml")
    git(repo, "commit", "-q", "-m", "bad scalar")
    git(repo, "tag", "-a", "m@v0.0.2", "-m", "r")
    for command in (["show"], ["show", "m"], ["describe", "m@v0.0.1"], ["check-ref", "m@v0.0.2"], ["doctor"],
                    ["annotate", "m", "--type", "model"]):
        result = run(repo, *command)
        assert "Unexpected error" not in result.stderr and "Traceback" not in result.stderr, (command, result.stderr)
        assert result.returncode in (0, 1), (command, result.stderr)
    assert "m" in run(repo, "show").stdout


# -- symlink checking that costs quadratic time ----------------------------------------------------

def test_checking_many_symlinks_through_a_long_chain_takes_little_time(tmp_path):
    dots = "/." * 2000  # a 4 KiB target that stays where it is
    spec: dict = {f"l{k:02d}": ("link", f"l{k + 1:02d}{dots}") for k in range(39)}
    spec["l39"] = ("link", "f")
    spec["f"] = b"x\n"
    spec.update({f"x{i:04d}": ("link", "l00" + dots) for i in range(200)})
    repo = registry(tmp_path, spec)
    work = tmp_path / "work"
    work.mkdir()
    try:
        result = run(work, "get", "art", "--repo", str(repo), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("checking 240 symlinks took more than 20 s")
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr


# -- a local link into the registry's own files ----------------------------------------------------

def registry_with_a_committed_repository(tmp_path: Path, missing_tree: bool = False) -> tuple[Path, Path]:
    """(a clone of a registry whose artifact links to `evil`, a bare repository committed as plain
    files in it; the file its remote helper would create)."""
    # A registry can commit a folder laid out as a bare repository (HEAD, config, objects, refs: no
    # `.git` name anywhere). In a clone, `repo: evil` is a local link from a local registry; git run
    # there reads evil/config: a promisor remote `ext::sh -c …` ran when `get` asked for a missing blob.
    pwned = tmp_path / "PWNED"
    evil = tmp_path / "evil"
    git(tmp_path, "init", "-q", "--bare", str(evil))
    data = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=evil, input=b"model\n", capture_output=True,
                          check=True).stdout.decode().strip()
    tree = subprocess.run(["git", "mktree"], cwd=evil, input=f"100644 blob {data}\tm.bin\n".encode(),
                          capture_output=True, check=True).stdout.decode().strip()
    commit = git(evil, "commit-tree", tree, "-m", "x").strip()
    git(evil, "update-ref", "refs/heads/main", commit)
    os.remove(evil / "objects" / data[:2] / data[2:])
    if missing_tree:  # then even listing the linked path fetches
        os.remove(evil / "objects" / tree[:2] / tree[2:])
    (evil / "config").write_text(
        "[core]\n\trepositoryformatversion = 1\n\tbare = true\n[extensions]\n\tpartialClone = origin\n"
        f'[remote "origin"]\n\turl = "ext::sh -c touch% {pwned}"\n\tpromisor = true\n'
        '[protocol "ext"]\n\tallow = always\n')
    for folder in ("refs/tags", "info"):
        (evil / folder).mkdir(parents=True, exist_ok=True)
        (evil / folder / ".keep").write_text("")
    registry_dir = tmp_path / "registry"
    git(tmp_path, "init", "-q", str(registry_dir))
    shutil.copytree(evil, registry_dir / "evil")
    (registry_dir / "artifacts.yaml").write_text(f"m:\n  type: model\n  path: m.bin\n  repo: evil\n  rev: {commit}\n")
    git(registry_dir, "add", "-f", ".")
    git(registry_dir, "commit", "-q", "-m", "hostile")
    git(registry_dir, "tag", "-a", "m@v0.0.1", "-m", "r")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry_dir), str(clone))
    return clone, pwned


def test_a_link_into_a_repository_committed_in_the_registry_runs_nothing(tmp_path):
    clone, pwned = registry_with_a_committed_repository(tmp_path)
    assert "inside the registry" in refused(run(clone, "get", "m", "-o", str(tmp_path / "out.bin")))
    assert not pwned.exists(), "tagreg get ran the linked repository's remote helper"


def test_doctor_on_a_link_into_a_repository_committed_in_the_registry_runs_nothing(tmp_path):
    clone, pwned = registry_with_a_committed_repository(tmp_path, missing_tree=True)
    result = run(clone, "doctor", "--strict")
    assert not pwned.exists(), "tagreg doctor ran the linked repository's remote helper"
    assert result.returncode == 1 and "inside the registry" in result.stdout, result.stdout + result.stderr


def test_a_config_file_symlinked_out_of_the_repository_is_not_read(tmp_path):
    repo = registry(tmp_path, b"x\n", path="m.bin", name="m")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("stages: [from-outside]\n")
    (repo / ".gto").symlink_to(outside)
    result = run(repo, "show")
    assert result.returncode == 1 and "symlink leads it out of the repository" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1


# -- issue 11: a tag dated far in the future -------------------------------------------------------

def _tagger_dates(repo: Path) -> dict[str, int]:
    listing = git(repo, "for-each-ref", "--format=%(refname:strip=2) %(taggerdate:unix)", "refs/tags")
    return {tag: int(stamp) for tag, _, stamp in (line.rpartition(" ") for line in listing.splitlines())}


@pytest.mark.parametrize("stamp", [253402300799, 99999999999999])  # the last second of 9999; far beyond
def test_a_tag_dated_in_the_far_future_does_not_drag_new_events_after_it(tmp_path, stamp):
    # Each new event is dated after the artifact's newest one (so none tie): one hostile tag dated in
    # 9999 made every later event of the artifact be dated after 9999 too, a date GTO cannot read
    # ("year 10000 is out of range") and one that makes the registry's history nonsense.
    import time

    repo = tmp_path / "registry"
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "commit", "-q", "--allow-empty", "-m", "i")
    subprocess.run(["git", "tag", "-a", "m@v0.0.1", "-m", "Registering artifact m version v0.0.1"], cwd=repo,
                   env={**os.environ, "GIT_COMMITTER_DATE": f"@{stamp} +0000"}, check=True)
    proc = run(repo, "assign", "m", "--version", "v0.0.1", "--stage", "prod")
    assert proc.returncode == 0, proc.stderr
    assert "m@v0.0.1" in proc.stderr and "in the future" in proc.stderr  # says why the order may surprise
    assert "\n" not in proc.stderr.strip()
    dated = _tagger_dates(repo)
    assert dated["m@v0.0.1"] == stamp
    assert dated["m#prod#1"] <= time.time() + 5


# -- issue 11: what a hostile remote says ------------------------------------------------------------

HOOK = """#!/bin/sh
printf 'error: \\033]0;pwned\\007\\033[2J%s\\n' "$(head -c 100000 /dev/zero | tr '\\0' x)" >&2
exit 1
"""


def test_a_remote_hook_s_huge_escaped_line_is_one_short_escaped_error_line(tmp_path):
    # The remote's `remote:` line is the error's cause: it was printed whole (100 KB on one line).
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    git(work, "commit", "-q", "--allow-empty", "-m", "i")
    line = refused(run(work, "register", "m", "--push"))
    assert "\x1b" not in line and "\x07" not in line
    assert "pre-receive hook declined" in line and "\\x1b]0;pwned" in line
    assert len(line) < 1000, len(line)
    assert git(work, "tag", "--list") == ""  # nothing left half-done


def test_git_s_reason_line_is_bounded():
    from tagreg.git import reason

    said = reason(b"Enumerating objects: 3\nfatal: " + b"y" * 100_000 + b"\n")
    assert said.startswith("yyy") and len(said) < 1000


# -- issue 11: the unknown-stage line ------------------------------------------------------------------

def test_the_unknown_stage_line_stays_short_with_huge_stage_names(tmp_path):
    # The line lists the registry's stages (the first 10): a hostile registry's 5,000-character stage
    # names made it 50 KB. Lightweight tags are enough to make a stage known.
    repo = tmp_path / "registry"
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "commit", "-q", "--allow-empty", "-m", "i")
    git(repo, "tag", "-a", "m@v0.0.1", "-m", "Registering artifact m version v0.0.1")
    head = git(repo, "rev-parse", "HEAD").strip()
    with open(repo / ".git" / "packed-refs", "a") as packed:  # too long a name for a file: packed
        packed.writelines(f"{head} refs/tags/m#a{'s' * 5000}{i}#{i + 1}\n" for i in range(10))
    line = refused(run(repo, "which", "m", "prdo"))
    assert line.startswith("❌ Unknown stage 'prdo' (the registry's stages: ass"), line[:200]
    assert len(line) < 2000, len(line)


def test_a_suggested_name_is_cut_short():
    from tagreg.names import did_you_mean

    assert len(did_you_mean(["s" * 5000, "t" * 5000])) < 300
