"""Paths of DVC outputs and of dvc.yaml annotations as DVC reads them, without running DVC: `.dvc`
files and dvc.lock files written as DVC writes them (tests/remote/test_dvc.py runs the real DVC)."""

from __future__ import annotations

import pytest

from tagreg import api
from tagreg import delivery as D
from tagreg.annotations import Annotation
from tagreg.git import Git

MD5 = "0123456789abcdef0123456789abcdef"


def dvc_file(path: str, folder: bool = False) -> str:
    return f"outs:\n- md5: {MD5}{'.dir' if folder else ''}\n  size: 12\n  hash: md5\n  path: {path}\n"


@pytest.fixture
def project(repo):
    repo.commit("a DVC project", {
        "model.pkl.dvc": dvc_file("model.pkl"),
        "bundle.dvc": dvc_file("bundle", folder=True),
        "deep/er/x.bin.dvc": dvc_file("x.bin"),
        "dvc.lock": f"schema: '2.0'\nstages:\n  prep:\n    outs:\n    - path: top.bin\n      md5: {MD5}\n",
        "models/dvc.lock": f"stages:\n  train:\n    outs:\n    - path: clf.pkl\n      md5: {MD5}\n",
        "models/dvc.yaml": "stages:\n  train:\n    cmd: x\n    outs: [clf.pkl]\n"
                           "artifacts:\n  clf:\n    path: clf.pkl\n",
        "pipe/dvc.yaml": "stages:\n  s:\n    foreach: [a, b]\n    do:\n      wdir: work\n      cmd: x\n",
        "pipe/dvc.lock": f"stages:\n  s@a:\n    outs:\n    - path: out-a.bin\n      md5: {MD5}\n",
        "other/dvc.yaml": "artifacts:\n  clf:\n    path: clf.pkl\n",
        "other/clf.pkl": "in git\n",
    })
    return repo


@pytest.mark.parametrize(("path", "file", "inside"), [
    ("model.pkl", "model.pkl.dvc", False),
    ("./model.pkl", "model.pkl.dvc", False),
    ("bundle/", "bundle.dvc", False),
    ("bundle/weights.bin", "bundle.dvc", True),
    ("bundle/a/b/c.txt", "bundle.dvc", True),
    ("deep/er/x.bin", "deep/er/x.bin.dvc", False),
    ("top.bin", "dvc.lock", False),
    ("models/clf.pkl", "models/dvc.lock", False),
    ("pipe/work/out-a.bin", "pipe/dvc.lock", False),  # a foreach stage's wdir, from pipe/dvc.yaml
])
def test_dvc_outputs_are_found_as_dvc_finds_them(project, path, file, inside):
    output = D.dvc_output(Git(project.path), project.git("rev-parse", "HEAD").strip(), path)
    assert output is not None
    assert (output.file, output.inside) == (file, inside)
    assert output.folder is (None if inside else file == "bundle.dvc")


@pytest.mark.parametrize("path", ["model.pk", "top.bi", "models/clf", "clf.pkl", "bundle2/x", "pipe/out-a.bin",
                                  "deep/x.bin", "er/x.bin"])
def test_paths_dvc_does_not_track(project, path):
    assert D.dvc_output(Git(project.path), project.git("rev-parse", "HEAD").strip(), path) is None


@pytest.mark.parametrize(("source", "path", "repo", "resolved"), [
    ("models/dvc.yaml", "clf.pkl", None, "models/clf.pkl"),
    ("models/dvc.yaml", "../shared/clf.pkl", None, "shared/clf.pkl"),
    ("a/b/dvc.yaml", "./x/", None, "a/b/x"),
    ("models/dvc.yaml", "s3://bucket/clf.pkl", None, "s3://bucket/clf.pkl"),
    ("models/dvc.yaml", "clf.pkl", "https://example.com/other.git", "clf.pkl"),  # a link: the other repository's
    ("dvc.yaml", "./data/", None, "./data/"),
    ("artifacts.yaml", "models/clf.pkl", None, "models/clf.pkl"),
])
def test_resolved_paths(source, path, repo, resolved):
    assert Annotation("clf", path=path, source=source, repo=repo).resolved_path == resolved


def test_a_folder_dvc_yaml_path_is_looked_for_in_that_folder(project):
    """models/dvc.yaml and other/dvc.yaml both say `path: clf.pkl`: two different files."""
    for name in ("models:clf", "other:clf"):
        assert project.run("register", name).returncode == 0
    assert project.run("get", "models:clf", "--print-path").stdout == "models/clf.pkl\n"
    assert project.run("get", "other:clf", "--print-path").stdout == "other/clf.pkl\n"
    assert api.describe(project.path, "other:clf").path == "clf.pkl"  # as the file says it
    doctor = project.run("doctor", "--offline")
    assert "does not exist" not in doctor.stdout, doctor.stdout


def test_the_dashboard_says_where_a_folder_dvc_yaml_path_is_stored(project):
    pytest.importorskip("fastapi")
    from tagreg.server.sources import build_snapshot

    snapshot = build_snapshot(api.Repository(project.path), "test")
    stored = {m["name"]: m["annotation"]["stored"] for m in snapshot["models"]}
    assert stored == {"models:clf": "dvc", "other:clf": "git"}


def test_templated_annotations_follow_their_params_from_commit_to_commit(repo):
    """The same dvc.yaml at two commits, params.yaml changed between them: each commit's own values
    (the cache of resolved files is keyed by every file read, not by dvc.yaml alone)."""
    pytest.importorskip("dvc.parsing")
    repo.commit("one", {"dvc.yaml": "artifacts:\n  a:\n    path: ${where}/a.pkl\n    desc: ${what}\n",
                        "params.yaml": "where: models\nwhat: first\n"})
    repo.commit("two", {"params.yaml": "where: models\nwhat: second\n"})
    for rev, what in (("HEAD~1", "first"), ("HEAD", "second"), ("HEAD~1", "first")):
        note = api.describe(repo.path, "a", rev=rev)
        assert (note.path, note.description) == ("models/a.pkl", what)
    assert repo.run("describe", "a", "--description").stdout == "second\n"  # the work tree's
