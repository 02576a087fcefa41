"""Hostile artifact trees for `get` and `open`: symlink chains, `.git` paths, git bombs, huge blobs
and LFS pointers handed back as content. Each tree is built with git plumbing (what `git add` would
refuse, `git mktree` takes), annotated and registered; then `get` must refuse it in one line, exit 1,
with nothing written inside or outside the output folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT = 60  # a hostile tree must not hang the suite on code that does not bound it


# -- building hostile registries ----------------------------------------------------------------

def git(cwd, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


def blob(repo: Path, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data, capture_output=True,
                          check=True).stdout.decode().strip()


def mktree(repo: Path, spec: dict) -> str:
    """A tree from spec: name -> bytes (a file), ("exec", bytes), ("link", target), a dict (a folder),
    ("tree", oid) (an existing tree); a list of (name, value) pairs allows duplicate names."""
    lines = []
    for name, value in (spec.items() if isinstance(spec, dict) else spec):
        if isinstance(value, bytes):
            lines.append(f"100644 blob {blob(repo, value)}\t{name}")
        elif isinstance(value, (dict, list)):
            lines.append(f"040000 tree {mktree(repo, value)}\t{name}")
        elif value[0] == "exec":
            lines.append(f"100755 blob {blob(repo, value[1])}\t{name}")
        elif value[0] == "link":
            lines.append(f"120000 blob {blob(repo, value[1].encode())}\t{name}")
        elif value[0] == "tree":
            lines.append(f"040000 tree {value[1]}\t{name}")
        elif value[0] == "blob":
            lines.append(f"100644 blob {value[1]}\t{name}")
    text = "".join(line + "\0" for line in lines)
    return subprocess.run(["git", "mktree", "-z"], cwd=repo, input=text.encode(), capture_output=True,
                          check=True).stdout.decode().strip()


def registry(tmp_path: Path, artifact, *, path: str = "models/art", name: str = "art") -> Path:
    """A registry whose one commit holds artifact (a tree spec, or bytes for a file) at path,
    annotated in artifacts.yaml and registered as NAME@v0.0.1 with `tagreg register`."""
    repo = tmp_path / "registry"
    git(tmp_path, "init", "-q", str(repo))
    *folders, leaf = path.split("/")
    spec: dict = {leaf: artifact}
    for folder in reversed(folders):
        spec = {folder: spec}
    spec["artifacts.yaml"] = f"{name}:\n  type: model\n  path: {path}\n".encode()
    commit = git(repo, "commit-tree", mktree(repo, spec), "-m", "hostile").strip()
    git(repo, "update-ref", "refs/heads/main", commit)
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    register = run(repo, "register", name, "--version", "v0.0.1")
    assert register.returncode == 0, register.stderr
    return repo


def run(cwd: Path, *args: str, env: dict | None = None, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "tagreg", *args], cwd=cwd, capture_output=True, text=True,
                          env=full, timeout=timeout, check=False)


def refused(proc: subprocess.CompletedProcess) -> str:
    """The one line of a refusal: exit 1, no traceback."""
    assert proc.returncode == 1, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def tree_of(folder: Path) -> dict[str, str]:
    """Everything under folder (links not followed): relative path -> kind."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            full = Path(root) / name
            out[str(full.relative_to(folder))] = "link" if full.is_symlink() else "dir" if full.is_dir() else "file"
    return out


@pytest.fixture
def work(tmp_path) -> Path:
    """The folder `get` runs in, with a canary file beside the output folder and one above it."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "canary.txt").write_text("canary\n")
    (tmp_path / "canary.txt").write_text("canary\n")
    return folder


def untouched(tmp_path: Path, work: Path, registry_files: dict | None = None) -> None:
    """Nothing was written: the canaries are as they were, the work folder holds only its canary."""
    assert (work / "canary.txt").read_text() == "canary\n"
    assert (tmp_path / "canary.txt").read_text() == "canary\n"
    assert tree_of(work) == {"canary.txt": "file"}, "get left something behind"
    assert oct((work / "canary.txt").stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- symlinks --------------------------------------------------------------------------------------

CHAIN = [("-01", ("link", ".")), ("-02", ("link", "-01/..")), ("-03", ("link", "-02/.."))]


@pytest.mark.parametrize("mode", ["file", "exec"])
def test_a_symlink_named_like_the_temp_file_behind_a_chain_cannot_overwrite_anything(tmp_path, work, mode):
    # -02 resolves to the output folder's parent (the work folder): each link looks harmless alone.
    artifact = CHAIN + [(".f.tagreg-tmp", ("link", "-02/canary.txt")),
                        ("f", b"pwned\n" if mode == "file" else ("exec", b"pwned\n"))]
    repo = registry(tmp_path, artifact)
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    assert "link" in line and "outside" in line, line
    untouched(tmp_path, work)


def test_the_chain_is_refused_from_a_remote_registry_too(tmp_path, work):
    artifact = CHAIN + [(".f.tagreg-tmp", ("link", "-02/canary.txt")), ("f", b"pwned\n"), ("ok", b"fine\n")]
    repo = registry(tmp_path, artifact)
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    refused(run(work, "get", "art", "-r", f"file://{repo}", "-o", "out", env=env))
    untouched(tmp_path, work)


def test_a_file_written_through_an_earlier_symlink_is_refused(tmp_path, work):
    # `-02` is both a symlink (to the work folder) and a folder holding canary.txt.
    artifact = CHAIN + [("-02", {"canary.txt": b"pwned\n"})]
    repo = registry(tmp_path, artifact)
    refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    untouched(tmp_path, work)


def test_a_file_below_an_in_tree_symlink_is_refused(tmp_path, work):
    # inner -> sub is inside the tree; inner/x would be written through it.
    artifact = [("inner", ("link", "sub")), ("inner", {"x": b"through\n"}), ("sub", {"y": b"fine\n"})]
    repo = registry(tmp_path, artifact)
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    assert "inner" in line, line
    untouched(tmp_path, work)


def test_a_chain_of_harmless_looking_symlinks_is_refused(tmp_path, work):
    repo = registry(tmp_path, CHAIN[:2] + [("ok", b"fine\n")])
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    assert "'-02' -> '-01/..'" in line and "outside" in line, line
    untouched(tmp_path, work)


@pytest.mark.parametrize("target", ["-01/..", "-01/-01/../x", "../canary.txt", "/etc/passwd", "a/../../x", "loop1",
                                    "sub/../../canary.txt", "sub/../-01/..", "", "sub/.git/config", "a\\b"])
def test_symlinks_resolving_outside_the_output_tree_are_refused(tmp_path, work, target):
    artifact = [("-01", ("link", ".")), ("evil", ("link", target)), ("sub", {"y": b"fine\n"})]
    if target == "loop1":
        artifact += [("loop1", ("link", "loop2")), ("loop2", ("link", "loop1"))]
    repo = registry(tmp_path, artifact)
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out", "--force"))
    assert "'evil'" in line or "loop1" in line, line
    untouched(tmp_path, work)


def test_in_tree_symlinks_are_kept_as_symlinks(tmp_path, work):
    artifact = {"weights": {"w.bin": b"\x00weights"}, "latest": ("link", "weights/w.bin"),
                "up": ("link", "weights/.."), "same": ("link", "./weights/../weights"),
                "run.sh": ("exec", b"#!/bin/sh\n")}
    repo = registry(tmp_path, artifact)
    proc = run(work, "get", "art", "-r", str(repo), "-o", "out")
    assert proc.returncode == 0, proc.stderr
    out = work / "out"
    assert os.readlink(out / "latest") == "weights/w.bin"
    assert (out / "latest").read_bytes() == b"\x00weights"
    assert os.readlink(out / "up") == "weights/.."
    assert os.access(out / "run.sh", os.X_OK)
    assert not any(".tagreg" in p for p in tree_of(work)), tree_of(work)


def test_an_existing_symlink_in_the_output_is_replaced_not_followed(tmp_path, work):
    repo = registry(tmp_path, {"f": b"new\n", "d": {"g": b"deep\n"}})
    out = work / "out"
    out.mkdir()
    os.symlink("../canary.txt", out / "f")
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    assert "--force" in line
    proc = run(work, "get", "art", "-r", str(repo), "-o", "out", "--force")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "f").is_symlink() and (out / "f").read_bytes() == b"new\n"
    assert (work / "canary.txt").read_text() == "canary\n"
    # a folder of the artifact that is a symlink in the output is never written through
    shutil.rmtree(out / "d")
    os.symlink("..", out / "d")
    refused(run(work, "get", "art", "-r", str(repo), "-o", "out", "--force"))
    assert not (work / "g").exists()


def test_a_single_file_artifact_that_is_a_symlink_out_is_refused(tmp_path, work):
    repo = registry(tmp_path, ("link", "../../../canary.txt"))
    refused(run(work, "get", "art", "-r", str(repo)))
    untouched(tmp_path, work)


# -- .git and other names git refuses ----------------------------------------------------------

FSMONITOR = b"[core]\n\tfsmonitor = touch pwned-by-fsmonitor\n"


@pytest.mark.parametrize("name", [".git", ".GIT", ".Git", ".git ", ".git.", ".git. . ", "git~1", "GIT~1",
                                  ".git::$INDEX_ALLOCATION", ".g\u200cit", "\ufeff.git", "..", ".", "a\\b"])
def test_names_git_refuses_are_never_written(tmp_path, work, name):
    artifact = {"ok.txt": b"fine\n", "nested": {name: {"config": FSMONITOR, "hooks": {"pre-commit": ("exec", b"x")}}}}
    repo = registry(tmp_path, artifact)
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    assert "refus" in line, line
    untouched(tmp_path, work)


def test_a_git_folder_at_the_top_of_the_artifact_is_refused(tmp_path, work):
    repo = registry(tmp_path, {".git": {"config": FSMONITOR}, "model.bin": b"m"})
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    assert ".git" in line, line
    untouched(tmp_path, work)


def test_an_artifact_named_dot_git_is_not_written_into_the_current_folder(tmp_path, work):
    repo = registry(tmp_path, {"config": FSMONITOR, "hooks": {"post-checkout": ("exec", b"#!/bin/sh\n")}},
                    path="models/.git")
    refused(run(work, "get", "art", "-r", str(repo)))
    untouched(tmp_path, work)


def test_an_empty_file_name_is_refused(tmp_path, work):
    repo = registry(tmp_path, [("", b"nameless\n"), ("ok", b"fine\n")])
    refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    untouched(tmp_path, work)


def test_duplicate_entries_are_refused(tmp_path, work):
    repo = registry(tmp_path, [("f", b"one\n"), ("f", b"two\n")])
    refused(run(work, "get", "art", "-r", str(repo), "-o", "out"))
    untouched(tmp_path, work)


# -- git bombs and size ------------------------------------------------------------------------

def bomb(repo_dir: Path, width: int, depth: int, data: bytes = b"x\n") -> dict:
    """A tree of width**depth files made of depth shared subtrees: a few hundred bytes in git."""
    tree = mktree(repo_dir, {f"f{i}": data for i in range(width)})
    for _ in range(depth - 2):
        tree = mktree(repo_dir, {f"d{i}": ("tree", tree) for i in range(width)})
    return {f"d{i}": ("tree", tree) for i in range(width)}


def bomb_registry(tmp_path: Path, width: int, depth: int, data: bytes = b"x\n") -> Path:
    scratch = tmp_path / "scratch"
    git(tmp_path, "init", "-q", str(scratch))
    spec = bomb(scratch, width, depth, data)
    repo = registry(tmp_path, {})
    # the shared trees move over as objects: copy scratch's objects into the registry, then rebuild
    shutil.copytree(scratch / ".git" / "objects", repo / ".git" / "objects", dirs_exist_ok=True)
    shutil.rmtree(repo)
    shutil.copytree(scratch, repo)
    spec_tree = mktree(repo, spec)
    root = mktree(repo, {"models": {"art": ("tree", spec_tree)},
                         "artifacts.yaml": b"art:\n  type: model\n  path: models/art\n"})
    commit = git(repo, "commit-tree", root, "-m", "bomb").strip()
    git(repo, "update-ref", "refs/heads/main", commit)
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    assert run(repo, "register", "art", "--version", "v0.0.1").returncode == 0
    return repo


def test_a_git_bomb_is_refused_before_anything_is_written(tmp_path, work):
    repo = bomb_registry(tmp_path, 10, 6)  # a million files
    proc = run(work, "get", "art", "-r", str(repo), "-o", "out", timeout=30)
    line = refused(proc)
    assert "--max-files" in line, line
    untouched(tmp_path, work)


def test_the_file_limit_can_be_raised(tmp_path, work):
    repo = bomb_registry(tmp_path, 5, 3)  # 125 files
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out", "--max-files", "124"))
    assert "125" in line or "more than 124" in line, line
    untouched(tmp_path, work)
    proc = run(work, "get", "art", "-r", str(repo), "-o", "out", "--max-files", "125")
    assert proc.returncode == 0, proc.stderr
    assert sum(kind == "file" for kind in tree_of(work / "out").values()) == 125
    proc = run(work, "get", "art", "-r", str(repo), "-o", "out2", env={"TAGREG_MAX_FILES": "10"})
    assert "--max-files" in refused(proc)


def test_the_byte_limit_counts_shared_blobs_each_time(tmp_path, work):
    repo = bomb_registry(tmp_path, 4, 2, data=b"\0" * (1 << 20))  # 16 files of 1 MiB, one blob
    line = refused(run(work, "get", "art", "-r", str(repo), "-o", "out", "--max-bytes", "10M"))
    assert "--max-bytes" in line, line
    untouched(tmp_path, work)
    refused(run(work, "get", "art", "-r", str(repo), "-o", "out", env={"TAGREG_MAX_BYTES": "15MiB"}))
    untouched(tmp_path, work)
    proc = run(work, "get", "art", "-r", str(repo), "-o", "out", "--max-bytes", "16M")
    assert proc.returncode == 0, proc.stderr
    assert (work / "out" / "d3" / "f3").stat().st_size == 1 << 20


def test_the_limits_are_keyword_arguments_of_the_api(tmp_path, work):
    from tagreg import api
    from tagreg.errors import UserError

    repo = bomb_registry(tmp_path, 4, 2, data=b"\0" * 1000)
    with pytest.raises(UserError, match="max_files"):
        api.get("art", repo=str(repo), out=work / "out", max_files=15)
    with pytest.raises(UserError, match="max_bytes"):
        api.get("art", repo=str(repo), out=work / "out", max_bytes=15_999)
    untouched(tmp_path, work)
    assert len(api.get("art", repo=str(repo), out=work / "out", max_files=16, max_bytes=16_000).written) == 16


def test_a_bad_limit_is_one_clear_line(tmp_path, work):
    repo = registry(tmp_path, b"m")
    assert "max-bytes" in refused(run(work, "get", "art", "-r", str(repo), "--max-bytes", "lots"))
    assert "TAGREG_MAX_FILES" in refused(run(work, "get", "art", "-r", str(repo), env={"TAGREG_MAX_FILES": "x"}))
    untouched(tmp_path, work)


# -- memory ------------------------------------------------------------------------------------

# Runs tagreg in this process, then prints its own peak RSS (KiB): git's children do not count.
PEAK = """\
import runpy, sys

def peak():
    status = open("/proc/self/status").read()
    sys.stdout.write(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")) + "\\n")
    sys.stdout.flush()

sys.argv = ["tagreg", *sys.argv[1:]]
try:
    runpy.run_module("tagreg", run_name="__main__", alter_sys=True)
finally:
    peak()
"""

OPEN_PEAK = """\
import sys
from tagreg import api
with api.open("art", repo=sys.argv[1]) as f:
    total = 0
    while chunk := f.read(1 << 20):
        total += len(chunk)
assert total == int(sys.argv[2]), total
status = open("/proc/self/status").read()
print(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")))
"""

BIG = 96 << 20


def _peak_kib(cwd: Path, script: str, *args: str) -> int:
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1])


@pytest.fixture
def big_and_small(tmp_path) -> tuple[Path, Path]:
    pattern = hashlib.sha256(b"seed").digest() * 32  # 1 KiB: compresses, so the repository stays small
    big = registry(tmp_path / "big", pattern * (BIG // len(pattern)))
    small = registry(tmp_path / "small", b"tiny")
    return big, small


@pytest.fixture
def _dirs(tmp_path):
    (tmp_path / "big").mkdir()
    (tmp_path / "small").mkdir()


@pytest.mark.usefixtures("_dirs")
def test_get_of_a_big_blob_stays_within_bounded_memory(tmp_path, work, big_and_small):
    big, small = big_and_small
    baseline = _peak_kib(work, PEAK, "get", "art", "-r", str(small), "-o", "small.bin")
    peak = _peak_kib(work, PEAK, "get", "art", "-r", str(big), "-o", "big.bin")
    assert (work / "big.bin").stat().st_size == BIG
    assert peak - baseline < 16 * 1024, f"get of {BIG >> 20} MiB took {(peak - baseline) >> 10} MiB more memory"


@pytest.mark.usefixtures("_dirs")
def test_open_of_a_big_blob_stays_within_bounded_memory(tmp_path, work, big_and_small):
    big, small = big_and_small
    baseline = _peak_kib(work, OPEN_PEAK, str(small), "4")
    peak = _peak_kib(work, OPEN_PEAK, str(big), str(BIG))
    assert peak - baseline < 16 * 1024, f"open of {BIG >> 20} MiB took {(peak - baseline) >> 10} MiB more memory"


# -- Git LFS -----------------------------------------------------------------------------------

needs_lfs = pytest.mark.skipif(shutil.which("git-lfs") is None and not os.environ.get("CI"),
                               reason="git-lfs is not installed")

LFS_CONTENT = b"\x89the real weights\x00" * 1000


@pytest.fixture
def lfs_repo(tmp_path) -> Path:
    """A registry with models/w.bin in Git LFS (the object in the repository's own LFS store)."""
    repo = tmp_path / "lfs"
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "lfs", "install", "--local")
    git(repo, "lfs", "track", "*.bin")
    (repo / "models").mkdir()
    (repo / "models" / "w.bin").write_bytes(LFS_CONTENT)
    (repo / "artifacts.yaml").write_text("w:\n  type: model\n  path: models/w.bin\nd:\n  path: models\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "lfs model")
    assert run(repo, "register", "w", "--version", "v0.0.1").returncode == 0
    assert run(repo, "register", "d", "--version", "v0.0.1").returncode == 0
    return repo


def lfs_object(repo: Path) -> Path:
    digest = hashlib.sha256(LFS_CONTENT).hexdigest()
    return repo / ".git" / "lfs" / "objects" / digest[:2] / digest[2:4] / digest


@needs_lfs
def test_lfs_content_is_delivered(tmp_path, work, lfs_repo):
    proc = run(work, "get", "w", "-r", str(lfs_repo), "-o", "w.bin")
    assert proc.returncode == 0, proc.stderr
    assert "(lfs," in proc.stdout
    assert (work / "w.bin").read_bytes() == LFS_CONTENT
    from tagreg import api

    with api.open("w", repo=str(lfs_repo)) as f:
        assert f.read() == LFS_CONTENT


@needs_lfs
@pytest.mark.parametrize("out", ["newdir/sub/", "here/", "here"])
def test_lfs_content_into_a_folder_keeps_its_name(work, lfs_repo, out):
    """`-o DIR/` (made if missing) and `-o EXISTING_DIR` put an LFS file in the folder under its own
    name, as for a file stored in git; a folder artifact's files go into the folder."""
    (work / "here").mkdir()
    folder = work / out.rstrip("/")
    proc = run(work, "get", "w", "-r", str(lfs_repo), "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert (folder / "w.bin").read_bytes() == LFS_CONTENT
    assert proc.stdout.endswith(f"(lfs, commit {git(lfs_repo, 'rev-parse', 'HEAD')[:7]}) to {out.rstrip('/')}/w.bin\n")
    proc = run(work, "get", "d", "-r", str(lfs_repo), "-o", out, "--force")
    assert proc.returncode == 0, proc.stderr
    assert (folder / "w.bin").read_bytes() == LFS_CONTENT  # the folder's one file, in the folder itself
    assert proc.stdout.endswith(f" to {out.rstrip('/')}/w.bin\n"), proc.stdout


@needs_lfs
def test_where_each_path_is_stored(lfs_repo):
    """What the dashboard's "Stored" says, read cheaply: one batch of small blobs, folders apart."""
    from tagreg.delivery import storages
    from tagreg.git import Git

    (lfs_repo / "plain.txt").write_text("plain\n")
    (lfs_repo / "data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data\n")
    git(lfs_repo, "add", ".")
    git(lfs_repo, "commit", "-q", "-m", "more")
    head = git(lfs_repo, "rev-parse", "HEAD").strip()
    assert storages(Git(lfs_repo), head, ["models/w.bin", "plain.txt", "models", "data", "gone.bin", "../x",
                                          "s3://bucket/m.pkl"]) == {
        "models/w.bin": "lfs", "plain.txt": "git", "models": "git", "data": "dvc", "gone.bin": "missing",
        "../x": "missing", "s3://bucket/m.pkl": "url"}


@needs_lfs
def test_a_pointer_handed_back_by_git_lfs_is_refused(tmp_path, work, lfs_repo):
    skip = {"GIT_LFS_SKIP_SMUDGE": "1"}
    line = refused(run(work, "get", "w", "-r", str(lfs_repo), "-o", "w.bin", env=skip))
    assert "pointer" in line and "GIT_LFS_SKIP_SMUDGE" in line, line
    refused(run(work, "get", "d", "-r", str(lfs_repo), "-o", "d", env=skip))
    untouched(tmp_path, work)


@needs_lfs
def test_open_refuses_a_pointer_too(tmp_path, lfs_repo, monkeypatch):
    from tagreg import api
    from tagreg.errors import UserError

    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")
    with pytest.raises(UserError, match="pointer"):
        api.open("w", repo=str(lfs_repo))


@needs_lfs
@pytest.mark.parametrize("damage", ["truncated", "changed"])
def test_lfs_content_that_does_not_match_its_pointer_is_refused(tmp_path, work, lfs_repo, damage):
    stored = lfs_object(lfs_repo)
    stored.chmod(0o644)
    data = LFS_CONTENT[:-10] if damage == "truncated" else LFS_CONTENT[:-1] + b"!"
    stored.write_bytes(data)
    line = refused(run(work, "get", "w", "-r", str(lfs_repo), "-o", "w.bin"))
    assert "'models/w.bin'" in line, line
    untouched(tmp_path, work)


@needs_lfs
def test_a_missing_lfs_object_is_refused(tmp_path, work, lfs_repo):
    lfs_object(lfs_repo).unlink()
    line = refused(run(work, "get", "w", "-r", str(lfs_repo), "-o", "w.bin"))
    assert "models/w.bin" in line, line
    untouched(tmp_path, work)


@needs_lfs
def test_a_missing_lfs_object_is_refused_with_git_lfs_reason(tmp_path, work, lfs_repo):
    """The cause git-lfs gives, in words, not its progress line (`Downloading models/w.bin (18 KB)`):
    here the object is in no LFS store and the repository has no LFS server, and what to set."""
    lfs_object(lfs_repo).unlink()
    line = refused(run(work, "get", "w", "-r", str(lfs_repo), "-o", "w.bin"))
    assert "git-lfs could not fetch 'models/w.bin'" in line, line
    assert "names no LFS server" in line and "lfs.url" in line and "Downloading models" not in line, line
    untouched(tmp_path, work)


def test_link_and_doctor_only_look_for_a_first_file_in_a_git_bomb(tmp_path, repo):
    """Whether a linked path exists is answered by its first file: `link` and `doctor` on a bomb of
    a million files neither list it whole (seconds and hundreds of MB) nor refuse it."""
    source = bomb_registry(tmp_path, 10, 6)
    sha = git(source, "rev-parse", "HEAD").strip()
    peaks = []
    for args in (("link", str(source), "models/art", "m", "--rev", sha, "--commit"), ("doctor", "--strict")):
        proc = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=repo.path, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
        assert proc.returncode == 0, proc.stderr
        peaks.append(int(proc.stdout.split()[-1]))
    assert max(peaks) < 150_000, peaks  # KiB: listing the bomb whole took over 500 MB


# -- DVC -------------------------------------------------------------------------------------------

def test_a_huge_dvc_lock_is_refused_not_read_whole(tmp_path, work):
    """An artifact path that is not in git is looked up in dvc.lock: a 1 MiB+ one is refused in one
    line, as other YAML from the repository is, instead of being held in memory."""
    repo = registry(tmp_path, b"model\n", path="models/art")
    lock = b"schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: models/gone\n" + b"#" * (1 << 20) + b"\n"
    root = mktree(repo, {"artifacts.yaml": b"gone:\n  type: model\n  path: models/gone\n", "dvc.lock": lock})
    commit = git(repo, "commit-tree", root, "-p", "HEAD", "-m", "dvc").strip()
    git(repo, "update-ref", "refs/heads/main", commit)
    assert run(repo, "register", "gone", "--version", "v0.0.1").returncode == 0
    line = refused(run(work, "get", "gone", "-r", str(repo), "-o", "out"))
    assert "dvc.lock" in line and f"larger than {1 << 20} bytes" in line and "TAGREG_YAML_MAX_BYTES" in line, line
    untouched(tmp_path, work)
