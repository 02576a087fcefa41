"""`tagreg get` and `tagreg.api.open`: an artifact's bytes at a version's commit, from a remote
registry's git objects; LFS and DVC paths without their tools fail clearly; external paths are
named, not fetched; nothing escapes the output folder or overwrites a file unasked."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import BUNDLE
from .helpers import (
    MODEL_V1,
    MODEL_V2,
    TIMEOUT,
    error_line,
    files_under,
    git,
    ok,
    tagreg,
)


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


def test_get_to_an_empty_output_path_is_refused(server, work):
    """`-o "$DIR"` with DIR unset must not quietly write into the current folder."""
    line = error_line(tagreg(work, "get", "m#prod", "-o", "", "-r", server.url))
    assert line == "❌ the output path is empty; name a file or folder (-o .  for the current folder)"
    assert files_under(work) == {}


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


def test_get_a_dvc_path_without_the_extra(server, work, tmp_path):
    """DVC is a test dependency, so hide it: a `dvc` package first on the path that fails to
    import as a missing one does."""
    hidden = tmp_path / "no-dvc" / "dvc"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'dvc'\", name='dvc')\n")
    line = error_line(tagreg(work, "get", "dvcm", "-r", server.url, env={"PYTHONPATH": str(hidden.parent)}))
    assert "tagreg[dvc]" in line, line
    from tagreg.install import pip_install

    # tagreg is not on PyPI: the line installs from where this tagreg came from (checked by pip in
    # tests/events/test_ci_docs.py::test_every_install_line_installs_tagreg)
    assert line.endswith(pip_install("dvc")) and "-m pip install" in line and "dvc]" in line, line
    assert files_under(work) == {}


# -- DVC, the real one ------------------------------------------------------------------------------
# One DVC project per module (DVC takes about a second a command): a file and a folder added with
# `dvc add`, a pipeline output declared in dvc.yaml (its `artifacts:` annotate it, as DVC's own
# format), all pushed to a local DVC remote; a file and a folder added but never pushed; a folder whose `.dir`
# listing in the remote names `.git/config`. Each test reads a fresh clone, whose DVC cache is
# empty: the content comes from the DVC remote.

MODEL_PKL = b"\x00pickled model\xff\n"
DATA = {"a.csv": b"id,x\n1,2\n", "sub/b.csv": b"id,y\n3,4\n"}
WEIGHTS = b"weights from the train stage\n"
DVC_YAML = """\
stages:
  train:
    cmd: printf 'weights from the train stage\\n' > weights.bin
    outs:
    - weights.bin
artifacts:
  weights:
    path: weights.bin
    type: model
    desc: trained by the pipeline
"""
EVIL_DIR_MD5 = "0badd1d0000000000000000000000000"  # a `.dir` listing no honest DVC writes


def dvc_env(base) -> dict:
    """DVC without analytics, with its global, system and site folders inside base, not the
    user's home or /var/tmp."""
    return {"DVC_NO_ANALYTICS": "1", "DVC_GLOBAL_CONFIG_DIR": str(base / "dvc-global"),
            "DVC_SYSTEM_CONFIG_DIR": str(base / "dvc-system"), "DVC_SITE_CACHE_DIR": str(base / "dvc-site")}


def run_dvc(cwd, env: dict, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], check=False, cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed: {proc.stdout}{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory) -> Path:
    """A git repository that is a DVC project with a local DVC remote, its artifacts registered."""
    if importlib.util.find_spec("dvc") is None:
        pytest.fail("DVC is a test dependency (tagreg[dvc]): pip install -e '.[tests]'", pytrace=False)
    root = tmp_path_factory.mktemp("dvc-project")
    home = root / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Data Scientist\n\temail = ds@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "TAGREG_", "GTO_", "DVC_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1", **dvc_env(root))
    repo, store = root / "project", root / "dvc-store"
    git(root, "init", "-q", str(repo), env=env)
    run_dvc(repo, env, "init", "-q")
    run_dvc(repo, env, "remote", "add", "-d", "store", str(store))
    (repo / "model.pkl").write_bytes(MODEL_PKL)
    for name, content in DATA.items():
        (repo / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / "data" / name).write_bytes(content)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    run_dvc(repo, env, "add", "-q", "model.pkl", "data")
    run_dvc(repo, env, "repro", "-q")
    run_dvc(repo, env, "push", "-q")
    (repo / "unpushed.pkl").write_bytes(b"only in the local cache\n")
    (repo / "unpushed").mkdir()
    (repo / "unpushed" / "x.csv").write_bytes(b"only in the local cache\n")
    run_dvc(repo, env, "add", "-q", "unpushed.pkl", "unpushed")
    pushed = hashlib.md5(DATA["a.csv"]).hexdigest()  # DVC names objects by their md5
    listing = [{"md5": pushed, "relpath": ".git/config"}, {"md5": pushed, "relpath": "ok.csv"}]
    evil = store / "files" / "md5" / EVIL_DIR_MD5[:2] / f"{EVIL_DIR_MD5[2:]}.dir"
    evil.parent.mkdir(parents=True, exist_ok=True)
    evil.write_text(json.dumps(listing))
    (repo / "evil.dvc").write_text(f"outs:\n- md5: {EVIL_DIR_MD5}.dir\n  size: 10\n  nfiles: 2\n  hash: md5\n"
                                   "  path: evil\n")
    (repo / "artifacts.yaml").write_text("model:\n  path: model.pkl\ndata:\n  path: data\nunpushed:\n"
                                         "  path: unpushed.pkl\nlost:\n  path: unpushed\nevil:\n  path: evil\n")
    git(repo, "add", ".", env=env)
    git(repo, "commit", "-q", "-m", "a DVC project", env=env)
    for name in ("model", "data", "weights", "unpushed", "lost", "evil"):
        ok(tagreg(repo, "register", name, "--version", "v0.0.1", env=env))
    ok(tagreg(repo, "assign", "model", "--version", "v0.0.1", "--stage", "prod", env=env))
    return repo


@pytest.fixture
def dvc_registry(dvc_project, tmp_path, monkeypatch) -> Path:
    """A fresh clone of the DVC project (no DVC cache), with DVC's own folders in this test's tmp_path."""
    for key, value in dvc_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    clone = tmp_path / "registry"
    git(tmp_path, "clone", "-q", "--", str(dvc_project), str(clone))
    assert not (clone / ".dvc" / "cache").exists()
    return clone


def test_get_a_dvc_file_from_the_dvc_remote(dvc_registry, work):
    said = ok(tagreg(work, "get", "model#prod", "-r", str(dvc_registry)))
    commit = git(dvc_registry, "rev-parse", "HEAD")[:7]
    assert said == f"Wrote model@v0.0.1 (dvc, commit {commit}) to model.pkl\n"
    ok(tagreg(work, "get", "model", "-r", str(dvc_registry), "-o", "renamed.bin"))
    assert files_under(work) == {"model.pkl": MODEL_PKL, "renamed.bin": MODEL_PKL}
    assert sorted(p.name for p in work.iterdir()) == ["model.pkl", "renamed.bin"]  # DVC's temporary folder is gone


def test_get_a_dvc_file_where_nothing_can_be_written_is_one_line(dvc_registry, work):
    """DVC's private folder goes next to the output: a place no one may write in (/proc, even for
    root) is one line naming it, not a traceback."""
    line = error_line(tagreg(work, "get", "model", "-r", str(dvc_registry), "-o", "/proc/tagreg-test/"))
    assert line.startswith("❌ cannot write in '/proc': "), line


@pytest.mark.parametrize("out", ["newdir/sub/", "here/", "here"])
def test_get_a_dvc_file_into_a_folder_keeps_its_name(dvc_registry, work, out):
    (work / "here").mkdir()
    said = ok(tagreg(work, "get", "model", "-r", str(dvc_registry), "-o", out))
    folder = out.rstrip("/")
    assert files_under(work) == {f"{folder}/model.pkl": MODEL_PKL}
    assert said.endswith(f"(dvc, commit {git(dvc_registry, 'rev-parse', 'HEAD')[:7]}) to {folder}/model.pkl\n"), said


def test_get_a_dvc_file_never_overwrites_without_force(dvc_registry, work, tmp_path):
    (work / "model.pkl").write_bytes(b"my own file")
    line = error_line(tagreg(work, "get", "model", "-r", str(dvc_registry)))
    assert "'model.pkl' exists; use --force" in line, line
    assert files_under(work) == {"model.pkl": b"my own file"}
    ok(tagreg(work, "get", "model", "-r", str(dvc_registry), "--force"))
    assert files_under(work) == {"model.pkl": MODEL_PKL}
    # --force replaces a symlink in the way; it never writes through it
    (tmp_path / "elsewhere.txt").write_bytes(b"not to be touched")
    (work / "linked.pkl").symlink_to(tmp_path / "elsewhere.txt")
    ok(tagreg(work, "get", "model", "-r", str(dvc_registry), "-o", "linked.pkl", "--force"))
    assert files_under(work) == {"model.pkl": MODEL_PKL, "linked.pkl": MODEL_PKL}
    assert (tmp_path / "elsewhere.txt").read_bytes() == b"not to be touched"


@pytest.mark.parametrize("out", ["newdir/sub/", "here/", "here"])
def test_get_a_dvc_folder_into_a_folder_writes_its_files_there(dvc_registry, work, out):
    """As a folder of git files: its files go into the folder named, new or existing."""
    (work / "here").mkdir()
    said = ok(tagreg(work, "get", "data", "-r", str(dvc_registry), "-o", out))
    folder = out.rstrip("/")
    assert files_under(work) == {f"{folder}/{k}": v for k, v in DATA.items()}
    assert said.endswith(f"2 files into {folder}\n"), said


def test_get_a_dvc_folder_into_a_folder_with_files_as_a_git_folder(dvc_registry, work):
    """Files of the user's in the folder are kept; one in the way is refused unless --force, which
    replaces it, as for a folder of git files."""
    (work / "data" / "sub").mkdir(parents=True)
    (work / "data" / "mine.txt").write_bytes(b"mine")
    (work / "data" / "sub" / "b.csv").write_bytes(b"old")
    line = error_line(tagreg(work, "get", "data", "-r", str(dvc_registry)))
    assert "'data/sub/b.csv' exists; use --force" in line, line
    assert files_under(work) == {"data/mine.txt": b"mine", "data/sub/b.csv": b"old"}
    said = ok(tagreg(work, "get", "data", "-r", str(dvc_registry), "--force"))
    assert said.endswith("2 files into data\n"), said
    assert files_under(work) == {"data/mine.txt": b"mine", **{f"data/{k}": v for k, v in DATA.items()}}


def test_get_a_dvc_folder_over_the_file_limit_is_refused(dvc_registry, work):
    line = error_line(tagreg(work, "get", "data", "-r", str(dvc_registry), "--max-files", "1"))
    assert "more than 1 files" in line and "--max-files" in line, line
    line = error_line(tagreg(work, "get", "data", "-r", str(dvc_registry), "--max-bytes", "10"))
    assert "more than 10 bytes" in line and "--max-bytes" in line, line
    assert files_under(work) == {}


def test_get_a_pipeline_output_annotated_in_dvc_yaml(dvc_registry, work):
    """`artifacts:` in dvc.yaml (DVC's format) annotates it; dvc.lock says DVC tracks it."""
    said = ok(tagreg(work, "get", "weights", "-r", str(dvc_registry), "-o", "models/"))
    assert files_under(work) == {"models/weights.bin": WEIGHTS}
    assert "(dvc, commit" in said and said.endswith(" to models/weights.bin\n"), said


@pytest.mark.parametrize(("name", "path", "reason"), [
    ("unpushed", "unpushed.pkl", "No storage files available: 'unpushed.pkl'"),
    ("lost", "unpushed", "failed to load directory ('unpushed',): No such file or directory: '"),
])
def test_get_a_dvc_path_missing_from_the_dvc_remote(dvc_registry, work, name, path, reason):
    """`dvc add` without `dvc push`: one line naming DVC's reason, nothing written, no folder made."""
    line = error_line(tagreg(work, "get", name, "-r", str(dvc_registry), "-o", "new/dir/"))
    assert f"DVC could not fetch '{path}'" in line, line
    assert reason in line, line  # DVC's own reason (for a folder: the `.dir` listing it misses)
    assert "dvc push" in line, line
    assert sorted(p.name for p in work.iterdir()) == []


def test_get_a_dvc_folder_naming_dot_git_is_refused(dvc_registry, work):
    """DVC writes what a `.dir` listing in the DVC remote says: tagreg checks what DVC wrote before
    anything reaches the output folder, as it checks a git tree."""
    line = error_line(tagreg(work, "get", "evil", "-r", str(dvc_registry), "-o", "out"))
    assert ".git" in line and "refus" in line, line
    assert sorted(p.name for p in work.iterdir()) == []


def test_get_a_dvc_file_through_a_remote_registry(dvc_registry, make_server, work):
    """`-r git://…`: the registry is a cached mirror; DVC clones it itself, then reads the DVC remote."""
    served = make_server(dvc_registry)
    said = ok(tagreg(work, "get", "model#prod", "-r", served.url, "-o", "m/"))
    assert files_under(work) == {"m/model.pkl": MODEL_PKL}
    assert "(dvc, commit" in said, said
    ok(tagreg(work, "get", "data", "-r", served.file_url))
    assert files_under(work) == {"m/model.pkl": MODEL_PKL, **{f"data/{k}": v for k, v in DATA.items()}}


def test_python_open_of_a_dvc_file(dvc_registry):
    from tagreg import api
    from tagreg.errors import UserError

    with api.open("model", stage="prod", repo=dvc_registry) as handle:
        assert handle.read() == MODEL_PKL
    assert api.open("weights", repo=dvc_registry).read() == WEIGHTS  # a file object, as for a git file
    with pytest.raises(UserError, match="'data' is a folder; use get"):
        api.open("data", repo=dvc_registry)
    with pytest.raises(UserError, match="more than 4 bytes"):
        api.open("model", repo=dvc_registry, max_bytes=4)
    with pytest.raises(UserError, match="No storage files available"):
        api.open("unpushed", repo=dvc_registry)


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
