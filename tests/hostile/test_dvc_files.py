"""Hostile DVC files in a registry: `.dvc` files and dvc.lock files whose outputs point out of the
repository, over the YAML bounds, and dvc.yaml templating that names files outside the repository,
huge ones, or a symlink out of the work tree. A DVC file from the repository is untrusted: it is
read within the bounds of `tagreg.yaml`; what it declares is only compared with the annotated path,
never followed; DVC's parser is given only the repository's own files, from git objects, in memory."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import run_tagreg

from .test_delivery import git, mktree, refused

BOMB = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n".encode()
    for i in range(8))


def committed(tmp_path, files: dict, register: tuple[str, ...] = ()) -> object:
    """A registry whose one commit holds files (a tree spec, as `mktree` takes it), with names registered."""
    repo = tmp_path / "registry"
    git(tmp_path, "init", "-q", str(repo))
    commit = git(repo, "commit-tree", mktree(repo, files), "-m", "hostile").strip()
    git(repo, "update-ref", "refs/heads/main", commit)
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    for name in register:
        assert run_tagreg(repo, "register", name, "--version", "v0.0.1").returncode == 0
    return repo


class Proc:
    def __init__(self, result):
        self.returncode, self.stdout, self.stderr = result.returncode, result.stdout, result.stderr


def tagreg(cwd, *args: str) -> Proc:
    return Proc(run_tagreg(cwd, *args))


@pytest.fixture
def no_dvc(monkeypatch):
    """DVC made impossible to import: a test that passes did not need it."""
    for name in ("dvc", "dvc.repo", "dvc.fs", "dvc.parsing"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("dvc_file", [
    {"model.pkl.dvc": b"outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: ../model.pkl\n"},
    {"model.pkl.dvc": b"wdir: ../..\nouts:\n- md5: 0123456789abcdef0123456789abcdef\n  path: model.pkl\n"},
    {"model.pkl.dvc": b"wdir: /etc\nouts:\n- path: model.pkl\n"},
    {"dvc.lock": b"stages:\n  s:\n    outs:\n    - path: /model.pkl\n", "dvc.yaml": b"stages:\n  s:\n    cmd: x\n"},
    {"dvc.lock": b"stages:\n  s:\n    outs:\n    - path: model.pkl\n",
     "dvc.yaml": b"stages:\n  s:\n    wdir: ../../..\n    cmd: x\n"},
    {"dvc.lock": b"stages:\n  s:\n    outs:\n    - path: [model.pkl]\n  t: 7\n"},
])
def test_outputs_declared_out_of_the_repository_track_nothing(tmp_path, no_dvc, dvc_file):
    """An output whose path (with its wdir) leaves the repository is not the annotated path: no DVC."""
    repo = committed(tmp_path, {"artifacts.yaml": b"m:\n  path: model.pkl\n", **dvc_file}, ("m",))
    line = refused(tagreg(repo, "get", "m", "-o", str(tmp_path / "out")))
    assert line.startswith("❌ 'model.pkl' does not exist at commit "), line
    assert not (tmp_path / "out").exists()
    doctor = run_tagreg(repo, "doctor", "--offline")
    assert "m@v0.0.1: path 'model.pkl' does not exist" in doctor.stdout + doctor.stderr


def test_a_huge_dvc_lock_in_a_folder_is_refused(tmp_path, no_dvc):
    lock = b"stages:\n  train:\n    outs:\n    - path: gone\n" + b"#" * (1 << 20) + b"\n"
    repo = committed(tmp_path, {"artifacts.yaml": b"m:\n  path: models/deep/gone\n", "models": {"dvc.lock": lock}},
                     ("m",))
    line = refused(tagreg(repo, "get", "m", "-o", str(tmp_path / "out")))
    assert "models/dvc.lock" in line and f"larger than {1 << 20} bytes" in line, line
    doctor = run_tagreg(repo, "doctor", "--offline")
    assert doctor.returncode == 0, doctor.stderr  # a warning: the path cannot be checked
    assert "models/dvc.lock" in doctor.stdout and "TAGREG_YAML_MAX_BYTES" in doctor.stdout, doctor.stdout


def warnings_of(repo, *args: str) -> tuple[dict, str]:
    result = run_tagreg(repo, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.mark.parametrize("vars_", ["../secret.yaml", "{outside}", "../../../../../../../../etc/hostname"])
def test_templating_reads_no_file_out_of_the_repository(tmp_path, vars_):
    """The file exists on disk beside the repository; DVC's parser is never told of it."""
    (tmp_path / "secret.yaml").write_text("secret: leaked\n")
    vars_ = vars_.format(outside=tmp_path / "secret.yaml")
    dvc_yaml = f"vars:\n  - {vars_}\nartifacts:\n  a:\n    path: ${{secret}}.pkl\n".encode()
    repo = committed(tmp_path, {"dvc.yaml": dvc_yaml})
    shown, stderr = warnings_of(repo, "show", "--json")
    assert "a" not in shown
    assert "dvc.yaml" in stderr and "DVC cannot resolve its templating" in stderr, stderr
    assert "leaked" not in stderr


def test_templating_reads_a_committed_symlink_as_its_target_text(tmp_path):
    """A params.yaml committed as a symlink out is a blob holding its target's name: not followed."""
    (tmp_path / "secret.yaml").write_text("secret: leaked\n")
    repo = committed(tmp_path, {"dvc.yaml": b"artifacts:\n  a:\n    path: ${secret}.pkl\n",
                                "params.yaml": ("link", str(tmp_path / "secret.yaml"))})
    shown, stderr = warnings_of(repo, "show", "--json")
    assert "a" not in shown and "leaked" not in stderr
    assert "DVC cannot resolve its templating" in stderr, stderr


def test_templating_from_the_work_tree_follows_no_symlink_out(tmp_path):
    """`describe` reads the work tree: a params.yaml symlink out of it is refused in one line."""
    (tmp_path / "secret.yaml").write_text("secret: leaked\n")
    repo = committed(tmp_path, {"dvc.yaml": b"artifacts:\n  a:\n    path: ${secret}.pkl\n"})
    git(repo, "reset", "-q", "--hard")
    (repo / "params.yaml").symlink_to(tmp_path / "secret.yaml")
    line = refused(tagreg(repo, "describe", "a"))
    assert "params.yaml" in line and "symlink" in line and "leaked" not in line, line


def test_a_vars_file_over_the_yaml_bounds_is_refused(tmp_path):
    """DVC's YAML parser has no bounds of its own: the file is checked with tagreg's first."""
    repo = committed(tmp_path, {"dvc.yaml": b"artifacts:\n  a:\n    path: ${b}.pkl\n", "params.yaml": BOMB})
    shown, stderr = warnings_of(repo, "show", "--json")
    assert "a" not in shown
    assert "params.yaml, which its templating reads" in stderr and "alias" in stderr, stderr


def test_too_many_vars_files_are_refused(tmp_path):
    names = "".join(f"  - v{i}.yaml\n" for i in range(150))
    repo = committed(tmp_path, {"dvc.yaml": f"vars:\n{names}artifacts:\n  a:\n    path: ${{x}}\n".encode()})
    shown, stderr = warnings_of(repo, "show", "--json")
    assert "a" not in shown and "more than 100 files" in stderr, stderr
