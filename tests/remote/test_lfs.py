"""Git LFS through a remote registry, with the real git-lfs and no LFS server: the registry's bare
repository keeps the LFS objects in its own store (`lfs/objects`, as `git lfs push` to a folder
writes them), which git-lfs reads directly for a `file://` remote; over `git://` there is no LFS
server at all, unless the registry's `.lfsconfig` names one.

- a folder of 100 LFS files comes in one `git lfs fetch` (one batch), not one `git lfs smudge` per file;
- no LFS server, and an object never uploaded, each fail in one line that says so and what to do;
- `doctor` lists the objects of active versions that the LFS server does not have.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from .helpers import EPOCH, error_line, files_under, git, ok, tagreg

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None and not os.environ.get("CI"),
                                reason="git-lfs is not installed")

BUNDLE = {f"part-{i:03}.bin": hashlib.sha256(b"%d" % i).digest() * (1 + i % 7) for i in range(100)}
SINGLE = b"\x00single weights\xff" * 50
LATE = b"weights committed, never uploaded\n"
ODD = {"w.bin": b"odd one\n", "x.bin": b"odd two\n"}
ARTIFACTS = """\
bundle:
  type: model
  path: models/bundle
single:
  path: models/single.bin
odd:
  path: models/a,b
"""


def _tag(work: Path, env: dict, tag: str) -> None:
    git(work, "tag", "-a", "-m", f"Registering {tag}", tag, env={**env, "GIT_COMMITTER_DATE": f"{EPOCH} +0000"})


@pytest.fixture(scope="module")
def lfs_registry(tmp_path_factory, daemon, session_env):
    """A bare registry served by the daemon (its LFS objects in its own store): bundle (100 LFS
    files), single (one), odd (a folder whose name git-lfs's --include cannot take literally)
    registered at the first commit, all uploaded; late@v0.0.1 at a second commit whose object was
    never uploaded (pushed with --no-verify, as without git-lfs's pre-push hook)."""
    root = tmp_path_factory.mktemp("lfs-registry")
    work = root / "work"
    env = session_env
    git(root, "init", "-q", "-b", "main", str(work), env=env)
    git(work, "lfs", "install", "--local", env=env)
    git(work, "lfs", "track", "*.bin", env=env)
    for folder, files in (("models/bundle", BUNDLE), ("models/a,b", ODD)):
        (work / folder).mkdir(parents=True)
        for name, data in files.items():
            (work / folder / name).write_bytes(data)
    (work / "models" / "single.bin").write_bytes(SINGLE)
    (work / "artifacts.yaml").write_text(ARTIFACTS)
    git(work, "add", ".", env=env)
    git(work, "commit", "-q", "-m", "models in LFS", env=env)
    for name in ("bundle", "single", "odd"):
        _tag(work, env, f"{name}@v0.0.1")
    bare = daemon.base / "lfs-registry.git"
    git(daemon.base, "init", "-q", "--bare", str(bare), env=env)
    git(work, "remote", "add", "origin", str(bare), env=env)
    git(work, "push", "-q", "origin", "main", "--tags", env=env)  # its pre-push hook uploads the objects
    (work / "models" / "late.bin").write_bytes(LATE)
    (work / "artifacts.yaml").write_text(ARTIFACTS + "late:\n  path: models/late.bin\n")
    git(work, "add", ".", env=env)
    git(work, "commit", "-q", "-m", "a model whose object stays here", env=env)
    _tag(work, env, "late@v0.0.1")
    git(work, "push", "-q", "--no-verify", "origin", "main", "--tags", env=env)
    assert len(list((bare / "lfs" / "objects").rglob("*"))) > 100, "the objects were uploaded to the bare store"
    return {"bare": bare, "file": f"file://{bare}", "git": daemon.url(bare.name), "work": work}


@pytest.fixture
def lfs_calls(tmp_path, monkeypatch):
    """A `git-lfs` first on PATH that logs each command it is asked for (then runs the real one):
    git finds `git lfs` on PATH. Returns a function giving the logged subcommands."""
    real = shutil.which("git-lfs")
    bindir = tmp_path / "lfs-log-bin"
    bindir.mkdir()
    log = tmp_path / "git-lfs.log"
    (bindir / "git-lfs").write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real}" "$@"\n')
    (bindir / "git-lfs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")

    def calls() -> list[str]:
        found = log.read_text().split() if log.exists() else []
        log.write_text("")
        return found

    return calls


def test_a_folder_of_lfs_files_comes_in_one_batch(lfs_registry, work, lfs_calls):
    out = ok(tagreg(work, "get", "bundle", "-r", lfs_registry["file"], "-o", "bundle"))
    assert "(lfs, commit" in out and "100 files" in out, out
    assert files_under(work / "bundle") == BUNDLE
    calls = lfs_calls()
    assert calls.count("fetch") == 1 and "smudge" not in calls, calls
    ok(tagreg(work, "get", "bundle", "-r", lfs_registry["file"], "-o", "again"))
    assert files_under(work / "again") == BUNDLE
    assert "fetch" not in lfs_calls(), "the objects are in the mirror's LFS store now"


def test_a_single_lfs_file_and_open(lfs_registry, work, lfs_calls):
    from tagreg import api

    ok(tagreg(work, "get", "single", "-r", lfs_registry["file"], "-o", "single.bin"))
    assert (work / "single.bin").read_bytes() == SINGLE
    with api.open("single", repo=lfs_registry["file"]) as f:
        assert f.read() == SINGLE
    assert "smudge" not in lfs_calls()


def test_a_path_git_lfs_would_read_as_a_pattern_is_fetched_file_by_file(lfs_registry, work, lfs_calls):
    """`models/a,b` is two patterns to --include: its files are smudged one by one, correctly."""
    ok(tagreg(work, "get", "odd", "-r", lfs_registry["file"], "-o", "odd"))
    assert files_under(work / "odd") == ODD
    calls = lfs_calls()
    assert "fetch" not in calls and calls.count("smudge") == len(ODD), calls


def test_an_object_never_uploaded_says_so(lfs_registry, work):
    from tagreg import api
    from tagreg.errors import UserError

    line = error_line(tagreg(work, "get", "late", "-r", lfs_registry["file"], "-o", "late.bin"))
    assert "git-lfs could not fetch 'models/late.bin'" in line, line
    assert f"the LFS server at {lfs_registry['file']} does not have it" in line, line
    assert "git lfs push" in line and "Downloading" not in line, line
    assert files_under(work) == {}
    with pytest.raises(UserError, match="does not have it"):
        api.open("late", repo=lfs_registry["file"])


def test_no_lfs_server_over_git_protocol_says_what_to_configure(lfs_registry, work):
    """git-lfs guesses https://HOST/PATH/info/lfs for a git:// remote; nothing answers there."""
    for name in ("bundle", "single"):  # the batch, and the path of one file
        line = error_line(tagreg(work, "get", name, "-r", lfs_registry["git"], "-o", name))
        assert line.startswith(f"❌ git-lfs could not fetch 'models/{'bundle/part-' if name == 'bundle' else 'single'}")
        assert "no LFS server answers at https://127.0.0.1:" in line, line
        assert ".lfsconfig" in line and "lfs.url" in line and "Downloading" not in line, line
    assert files_under(work) == {}


def test_an_lfs_url_in_the_registrys_lfsconfig_is_the_fix(lfs_registry, tmp_path, work, session_env):
    """What the message says to do: the registry's .lfsconfig names its LFS server (here the folder
    that holds the objects); then the git:// registry delivers."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(lfs_registry["bare"]), str(clone), env={**session_env, "GIT_LFS_SKIP_SMUDGE": "1"})
    (clone / ".lfsconfig").write_text(f"[lfs]\n\turl = {lfs_registry['file']}\n")
    git(clone, "add", ".lfsconfig", env=session_env)
    git(clone, "commit", "-q", "-m", "the LFS server", env=session_env)
    served = lfs_registry["bare"].parent / "lfs-with-config.git"
    git(tmp_path, "clone", "-q", "--bare", str(clone), str(served), env=session_env)
    url = lfs_registry["git"].replace("lfs-registry.git", served.name)
    ok(tagreg(work, "get", "bundle", "-r", url, "-o", "bundle"))
    assert files_under(work / "bundle") == BUNDLE
