"""`tagreg get` and `tagreg.api.open`: an artifact's bytes at a version's commit, from a remote
registry's git objects; LFS and DVC paths without their tools fail clearly; external paths are
named, not fetched; nothing escapes the output folder or overwrites a file unasked."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from .conftest import BUNDLE
from .helpers import MODEL_V1, MODEL_V2, error_line, files_under, git, ok, tagreg


def test_get_a_file_by_stage(server, work):
    out = ok(tagreg(work, "get", "m#prod", "-r", server.url))
    assert files_under(work) == {"m.bin": MODEL_V1}
    commit = server.rev("m@v0.0.1")
    assert out == f"Wrote m@v0.0.1 (git, commit {commit[:7]}) to m.bin\n"


def test_get_a_file_by_version_and_latest(server, work):
    ok(tagreg(work, "get", "m@v0.0.1", "-o", "old.bin", "-r", server.url))
    ok(tagreg(work, "get", "m@v0.0.2", "-o", "sub/new.bin", "-r", server.url))
    ok(tagreg(work, "get", "m", "-o", "latest.bin", "-r", server.file_url))
    assert files_under(work) == {"old.bin": MODEL_V1, "sub/new.bin": MODEL_V2, "latest.bin": MODEL_V2}


def test_get_into_an_existing_folder_keeps_the_file_name(server, work):
    (work / "models").mkdir()
    ok(tagreg(work, "get", "m#prod", "-o", "models", "-r", server.url))
    assert files_under(work) == {"models/m.bin": MODEL_V1}


@pytest.mark.parametrize("out", ["newdir/sub/", "models/", "models"])
def test_get_a_file_into_a_folder_keeps_its_name_and_says_where(server, work, out):
    """A trailing slash means a folder (made if missing), as `cp`/`curl -o dir/` users expect; an
    existing folder, with or without the slash, is the same: the file keeps its own name in it."""
    (work / "models").mkdir()
    said = ok(tagreg(work, "get", "m#prod", "-o", out, "-r", server.url))
    folder = out.rstrip("/")
    assert files_under(work) == {f"{folder}/m.bin": MODEL_V1}
    assert said.endswith(f" to {folder}/m.bin\n"), said


@pytest.mark.parametrize("out", ["into/", "into", "new/deeper/"])
def test_get_a_folder_into_a_folder_with_or_without_a_slash(server, work, out):
    (work / "into").mkdir()
    said = ok(tagreg(work, "get", "bundle", "-o", out, "-r", server.url))
    folder = out.rstrip("/")
    assert files_under(work) == {f"{folder}/{k}": v for k, v in BUNDLE.items()}
    assert said.endswith(f"3 files into {folder}\n"), said


def test_get_a_folder_with_nested_files(server, work):
    out = ok(tagreg(work, "get", "bundle@v0.0.1", "-r", server.url))
    assert files_under(work) == {f"bundle/{k}": v for k, v in BUNDLE.items()}
    assert "3 files into bundle" in out
    ok(tagreg(work, "get", "bundle", "-o", "elsewhere/b", "-r", server.url))
    assert {k: v for k, v in files_under(work).items() if k.startswith("elsewhere/")} == \
        {f"elsewhere/b/{k}": v for k, v in BUNDLE.items()}


def test_get_from_a_local_clone(server, tmp_path, work):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--", server.url, str(clone))
    ok(tagreg(clone, "get", "m#prod", "-o", str(work / "m.bin")))
    assert files_under(work) == {"m.bin": MODEL_V1}


def test_get_an_lfs_pointer_without_git_lfs(server, work, tmp_path):
    # git finds `git lfs` on PATH (it is not in git's exec path): a PATH with git alone hides it.
    bare_path = tmp_path / "bin-without-lfs"
    bare_path.mkdir()
    (bare_path / "git").symlink_to(os.path.realpath(shutil.which("git")))
    line = error_line(tagreg(work, "get", "lfsm", "-r", server.url, env={"PATH": str(bare_path)}))
    assert "git-lfs is not installed" in line, line
    assert "'models/big.bin'" in line, f"the error should name the file as it is in the repository: {line}"
    assert files_under(work) == {}


@pytest.mark.skipif(importlib.util.find_spec("dvc") is not None, reason="dvc is installed here")
def test_get_a_dvc_path_without_the_extra(server, work):
    line = error_line(tagreg(work, "get", "dvcm", "-r", server.url))
    assert "tagreg[dvc]" in line
    assert files_under(work) == {}


# DVC is not a test dependency: this stand-in for it does what `dvc.repo.Repo.get` does with its
# arguments (DVC's resolve_output: into an existing folder under the path's own name; an existing
# target refused unless forced), then writes a file, or a folder for a `.dir` output.
STAND_IN_DVC = """
import os

class Repo:
    @staticmethod
    def get(url, path, out=None, rev=None, force=False):
        name = os.path.basename(os.path.normpath(path))
        out = os.path.join(out, name) if os.path.isdir(out) else out
        if os.path.exists(out) and not force:
            raise FileExistsError(out)
        if path == "data":
            os.makedirs(out)
            with open(os.path.join(out, "part.csv"), "w") as handle:
                handle.write("from dvc\\n")
        else:
            with open(out, "w") as handle:
                handle.write("from dvc\\n")
"""


@pytest.fixture
def dvc_registry(tmp_path, monkeypatch):
    """A local registry with a DVC-tracked file (model.pkl) and folder (data), and the stand-in DVC."""
    package = tmp_path / "stand-in" / "dvc"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text("")
    (package / "repo.py").write_text(STAND_IN_DVC)
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    repo = tmp_path / "dvc-registry"
    git(tmp_path, "init", "-q", str(repo))
    (repo / "artifacts.yaml").write_text("model:\n  path: model.pkl\ndata:\n  path: data\n")
    (repo / "model.pkl.dvc").write_text(DVC_FILE_OUT.format(md5="0123456789abcdef0123456789abcdef", path="model.pkl"))
    (repo / "data.dvc").write_text(DVC_FILE_OUT.format(md5="0123456789abcdef0123456789abcdef.dir", path="data"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "dvc outputs")
    for name in ("model", "data"):
        ok(tagreg(repo, "register", name, "--version", "v0.0.1"))
    return repo


DVC_FILE_OUT = "outs:\n- md5: {md5}\n  size: 12\n  hash: md5\n  path: {path}\n"


@pytest.mark.parametrize("out", ["newdir/sub/", "here/", "here"])
def test_get_a_dvc_file_into_a_folder_keeps_its_name(dvc_registry, work, out):
    (work / "here").mkdir()
    said = ok(tagreg(work, "get", "model", "-r", str(dvc_registry), "-o", out))
    folder = out.rstrip("/")
    assert files_under(work) == {f"{folder}/model.pkl": b"from dvc\n"}
    assert said.endswith(f"(dvc, commit {git(dvc_registry, 'rev-parse', 'HEAD')[:7]}) to {folder}/model.pkl\n"), said


@pytest.mark.parametrize("out", ["newdir/sub/", "here/", "here"])
def test_get_a_dvc_folder_into_a_folder_writes_its_files_there(dvc_registry, work, out):
    """As a folder of git files: its files go into the folder named, new or empty."""
    (work / "here").mkdir()
    said = ok(tagreg(work, "get", "data", "-r", str(dvc_registry), "-o", out))
    folder = out.rstrip("/")
    assert files_under(work) == {f"{folder}/part.csv": b"from dvc\n"}
    assert said.endswith(f" to {folder}\n"), said
    line = error_line(tagreg(work, "get", "data", "-r", str(dvc_registry), "-o", out))
    assert f"'{folder}' exists; use --force" in line, line
    line = error_line(tagreg(work, "get", "data", "-r", str(dvc_registry), "-o", out, "--force"))
    assert f"'{folder}' is a folder with files in it" in line, line  # DVC would write it inside
    assert files_under(work) == {f"{folder}/part.csv": b"from dvc\n"}


def test_get_an_external_path_names_it(server, work):
    out = ok(tagreg(work, "get", "ext", "-r", server.url))
    assert "s3://bucket/models/ext.pkl" in out
    assert "outside Git" in out
    assert files_under(work) == {}


@pytest.mark.parametrize("name", ["esc-rel", "esc-abs", "evil"])
def test_get_refuses_paths_that_escape(server, tmp_path, work, name):
    def outside() -> list[str]:
        return sorted(p.name for p in tmp_path.iterdir() if p.name != "cache")

    before = outside()
    line = error_line(tagreg(work, "get", name, "-r", server.url))
    assert "refus" in line
    assert files_under(work) == {}, "a refused artifact was partly written"
    assert outside() == before


def test_get_refuses_a_symlink_pointing_out_even_with_force(server, work):
    line = error_line(tagreg(work, "get", "evil", "--force", "-o", "out", "-r", server.url))
    assert "link" in line
    assert files_under(work) == {}


def test_get_never_overwrites_without_force(server, work):
    (work / "m.bin").write_bytes(b"my own file")
    line = error_line(tagreg(work, "get", "m#prod", "-r", server.url))
    assert "--force" in line
    assert (work / "m.bin").read_bytes() == b"my own file"

    (work / "bundle" / "sub").mkdir(parents=True)
    (work / "bundle" / "sub" / "b.txt").write_bytes(b"mine too")
    error_line(tagreg(work, "get", "bundle", "-r", server.url))
    assert files_under(work) == {"m.bin": b"my own file", "bundle/sub/b.txt": b"mine too"}

    ok(tagreg(work, "get", "m#prod", "--force", "-r", server.url))
    ok(tagreg(work, "get", "bundle", "--force", "-r", server.url))
    assert files_under(work) == {"m.bin": MODEL_V1, **{f"bundle/{k}": v for k, v in BUNDLE.items()}}


def test_print_path_and_rev(server, work):
    assert ok(tagreg(work, "get", "m#prod", "--print-path", "-r", server.url)) == "models/m.bin\n"
    assert ok(tagreg(work, "get", "m@v0.0.2", "--print-rev", "-r", server.url)) == server.rev("m@v0.0.2") + "\n"
    both = ok(tagreg(work, "get", "m#prod", "--print-path", "--print-rev", "-r", server.url))
    assert both == f"models/m.bin\n{server.rev('m@v0.0.1')}\n"
    assert files_under(work) == {}


def test_unknown_stage_or_version_fails_with_one_line(server, work):
    assert "staging" in error_line(tagreg(work, "get", "m#staging", "-r", server.url))
    assert "v9.9.9" in error_line(tagreg(work, "get", "m@v9.9.9", "-r", server.url))
    assert files_under(work) == {}


def test_python_open_and_get(server, tmp_path):
    from tagreg import api

    with api.open("m", stage="prod", repo=server.url) as handle:
        assert handle.read() == MODEL_V1
    assert api.open("m@v0.0.2", repo=server.url).read() == MODEL_V2
    assert api.open("m", version="v0.0.1", repo=server.url).read() == MODEL_V1

    result = api.get("bundle", repo=server.url, out=tmp_path / "b")
    assert files_under(tmp_path / "b") == BUNDLE
    assert len(result.written) == 3
