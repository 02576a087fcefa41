"""DVC projects as DVC makes them: outputs found as DVC finds them, by `get`, `api.open` and
`doctor`; dvc.yaml annotations read as DVC reads them (paths relative to their folder, `${…}`
templating by DVC's own parser); DVC's failures as one clear line; and where `dvc artifacts get`
is wrong about a stage, tagreg is right.

One DVC project per module (DVC takes about a second a command), built with the real DVC
(`dvc add`, `dvc repro`, `dvc push` to a local DVC remote); each test reads a fresh clone, whose DVC
cache is empty: the content comes from the DVC remote.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import TIMEOUT, error_line, files_under, git, ok, tagreg
from .test_get import dvc_env, run_dvc

MODEL = b"\x00a model\xff\n"
DATA = {"a.csv": b"id,x\n1,2\n", "sub/b.csv": b"id,y\n3,4\n"}
BUNDLE = {"weights.bin": b"weights\x00\n", "cfg/x.txt": b"x\n", "cfg/y.txt": b"y\n"}
TOP = b"made by the prep stage\n"
CLF = b"made by the train stage of models/\n"
OUT = b"made in pipe/work\n"

ARTIFACTS = """\
model:
  path: model.pkl
data-slash:
  path: data/
data-dot:
  path: ./data
inner:
  path: bundle/weights.bin
inner-dir:
  path: bundle/cfg
mistyped:
  path: top.bi
"""
# DVC's templating in the artifacts: `${folder}` from config.yaml (vars), `${what}` from params.yaml
DVC_YAML = """\
vars:
  - config.yaml
stages:
  prep:
    cmd: printf 'made by the prep stage\\n' > top.bin
    outs:
    - top.bin
artifacts:
  top:
    path: top.bin
  tmpl:
    path: ${folder}/top.bin
    desc: ${what}
"""
MODELS_DVC_YAML = """\
stages:
  train:
    cmd: printf 'made by the train stage of models/\\n' > clf.pkl
    outs:
    - clf.pkl
artifacts:
  clf:
    path: clf.pkl
    type: model
"""
PIPE_DVC_YAML = """\
stages:
  run:
    wdir: work
    cmd: printf 'made in pipe/work\\n' > out.bin
    outs:
    - out.bin
artifacts:
  wd:
    path: work/out.bin
"""
REGISTERED = ["model", "data-slash", "data-dot", "inner", "inner-dir", "mistyped", "top", "tmpl", "models:clf",
              "pipe:wd"]


def project_env(root: Path) -> dict:
    home = root / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Data Scientist\n\temail = ds@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "TAGREG_", "GTO_", "DVC_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1", **dvc_env(root))
    return env


def write(repo: Path, files: dict) -> None:
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (repo / name).write_bytes(content)
        else:
            (repo / name).write_text(content)


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory) -> Path:
    """A DVC project with a local DVC remote, every artifact above registered at its one commit."""
    if importlib.util.find_spec("dvc") is None:
        pytest.fail("DVC is a test dependency (tagreg[dvc]): pip install -e '.[tests]'", pytrace=False)
    root = tmp_path_factory.mktemp("dvc-paths")
    env = project_env(root)
    repo = root / "project"
    git(root, "init", "-q", str(repo), env=env)
    run_dvc(repo, env, "init", "-q")
    run_dvc(repo, env, "remote", "add", "-d", "store", str(root / "dvc-store"))
    write(repo, {"model.pkl": MODEL, **{f"data/{k}": v for k, v in DATA.items()},
                 **{f"bundle/{k}": v for k, v in BUNDLE.items()}, "artifacts.yaml": ARTIFACTS, "dvc.yaml": DVC_YAML,
                 "config.yaml": "folder: .\n", "params.yaml": "what: from params.yaml\n",
                 "models/dvc.yaml": MODELS_DVC_YAML, "pipe/dvc.yaml": PIPE_DVC_YAML, "pipe/work/.gitkeep": ""})
    run_dvc(repo, env, "add", "-q", "model.pkl", "data", "bundle")
    run_dvc(repo, env, "repro", "-q", "--all-pipelines")
    run_dvc(repo, env, "push", "-q")
    git(repo, "add", ".", env=env)
    git(repo, "commit", "-q", "-m", "a DVC project", env=env)
    for name in REGISTERED:
        ok(tagreg(repo, "register", name, "--version", "v0.0.1", env=env))
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


def commit_of(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()[:7]


# -- doctor -----------------------------------------------------------------------------------------

def test_doctor_strict_passes_on_a_dvc_registry(dvc_registry):
    """Every DVC output is found where `get` finds it: `.dvc` files (a file, a folder, a path in
    it), dvc.lock (at the root, in a folder, with a stage's wdir), templated paths."""
    git(dvc_registry, "tag", "-d", "mistyped@v0.0.1")
    said = ok(tagreg(dvc_registry, "doctor", "--strict", "--offline"))
    assert "does not exist" not in said, said


def test_doctor_names_only_the_path_that_dvc_does_not_track(dvc_registry):
    result = tagreg(dvc_registry, "doctor", "--strict", "--offline")
    assert result.returncode == 1
    missing = [line for line in result.output.splitlines() if "does not exist" in line]
    assert missing == [f"⚠️ mistyped@v0.0.1: path 'top.bi' does not exist at commit {commit_of(dvc_registry)}"]


# -- paths as DVC reads them ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["data-slash", "data-dot"])
def test_a_dvc_folder_written_with_a_slash_or_a_dot(dvc_registry, work, name):
    said = ok(tagreg(work, "get", name, "-r", str(dvc_registry)))
    assert said.endswith("2 files into data\n"), said
    assert files_under(work) == {f"data/{k}": v for k, v in DATA.items()}


def test_a_file_inside_a_dvc_tracked_folder(dvc_registry, work):
    said = ok(tagreg(work, "get", "inner", "-r", str(dvc_registry)))
    assert said == f"Wrote inner@v0.0.1 (dvc, commit {commit_of(dvc_registry)}) to weights.bin\n"
    ok(tagreg(work, "get", "inner", "-r", str(dvc_registry), "-o", "into/"))
    assert files_under(work) == {"weights.bin": BUNDLE["weights.bin"], "into/weights.bin": BUNDLE["weights.bin"]}
    assert "exists; use --force" in error_line(tagreg(work, "get", "inner", "-r", str(dvc_registry)))

    from tagreg import api

    assert api.open("inner", repo=dvc_registry).read() == BUNDLE["weights.bin"]


def test_a_folder_inside_a_dvc_tracked_folder(dvc_registry, work):
    said = ok(tagreg(work, "get", "inner-dir", "-r", str(dvc_registry), "-o", "c"))
    assert said.endswith("2 files into c\n"), said
    assert files_under(work) == {"c/x.txt": BUNDLE["cfg/x.txt"], "c/y.txt": BUNDLE["cfg/y.txt"]}

    from tagreg import api
    from tagreg.errors import UserError

    with pytest.raises(UserError, match="'bundle/cfg' is a folder; use get"):
        api.open("inner-dir", repo=dvc_registry)


def test_a_subfolder_dvc_yaml_path_is_relative_to_its_folder(dvc_registry, work):
    """`models/dvc.yaml` says `path: clf.pkl`: DVC reads models/clf.pkl (its dvc.lock is there too);
    the name keeps GTO's monorepo form."""
    said = ok(tagreg(work, "get", "models:clf", "-r", str(dvc_registry)))
    assert said == f"Wrote models:clf@v0.0.1 (dvc, commit {commit_of(dvc_registry)}) to clf.pkl\n"
    assert files_under(work) == {"clf.pkl": CLF}
    assert ok(tagreg(work, "get", "models:clf", "-r", str(dvc_registry), "--print-path")) == "models/clf.pkl\n"


@pytest.mark.parametrize(("name", "written"), [("models:clf", "clf.pkl"), ("pipe:wd", "work/out.bin"),
                                               ("top", "top.bin")])
def test_every_path_shown_is_the_one_dvc_gives(dvc_registry, name, written):
    """DVC's own answer (`dvc.api.artifacts_show`: the path from the Git root) is the path that
    check-ref --path, describe (--path and --json), get --print-path, the event payload (webhooks,
    `events --json`) and the dashboard's REST data show: a script that reads any of them finds the
    file. Only the file itself and `Annotation.path` keep what it says."""
    from tagreg import api
    from tagreg.server.sources import build_snapshot

    proc = subprocess.run([sys.executable, "-c", "import sys, dvc.api; "
                           "print(dvc.api.artifacts_show(sys.argv[1], repo='.')['path'])", name],
                          cwd=dvc_registry, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dvcs = proc.stdout.strip()
    assert (dvcs == written) == (":" not in name)  # only a folder's dvc.yaml names paths from elsewhere
    tag = f"{name.replace(':', '=')}@v0.0.1"
    event = next(e for e in json.loads(ok(tagreg(dvc_registry, "events", "--json"))) if e["tag"] == tag)
    model = next(m for m in build_snapshot(api.Repository(dvc_registry), "test")["models"] if m["name"] == name)
    assert {
        "check-ref --path": ok(tagreg(dvc_registry, "check-ref", tag, "--path")).strip(),
        "describe --path": ok(tagreg(dvc_registry, "describe", name, "--path")).strip(),
        "describe@v --path": ok(tagreg(dvc_registry, "describe", f"{name}@v0.0.1", "--path")).strip(),
        "describe --json": json.loads(ok(tagreg(dvc_registry, "describe", name, "--json")))["path"],
        "get --print-path": ok(tagreg(dvc_registry, "get", name, "--print-path")).strip(),
        "event payload": event["annotation"]["path"],
        "REST model": model["path"],
        "REST annotation": model["annotation"]["path"],
    } == dict.fromkeys(["check-ref --path", "describe --path", "describe@v --path", "describe --json",
                        "get --print-path", "event payload", "REST model", "REST annotation"], dvcs)
    assert api.describe(dvc_registry, name).path == written  # the API's annotation: as the file says it


def test_a_stage_with_a_wdir(dvc_registry, work):
    """pipe/dvc.lock names `out.bin`, relative to the stage's `wdir: work` in pipe/dvc.yaml."""
    ok(tagreg(work, "get", "pipe:wd", "-r", str(dvc_registry)))
    assert files_under(work) == {"out.bin": OUT}


def test_templating_is_resolved_by_dvc(dvc_registry, work):
    described = json.loads(ok(tagreg(dvc_registry, "describe", "tmpl", "--json")))
    assert (described["path"], described["description"]) == ("./top.bin", "from params.yaml")
    at_version = json.loads(ok(tagreg(dvc_registry, "describe", "tmpl@v0.0.1", "--json")))
    assert at_version == described
    versions = json.loads(ok(tagreg(dvc_registry, "show", "tmpl", "--json")))
    assert versions[0]["enrichments"][0]["enrichments"][0]["artifact"]["path"] == "./top.bin"
    ok(tagreg(work, "get", "tmpl", "-r", str(dvc_registry)))
    assert files_under(work) == {"top.bin": TOP}


def test_templating_without_dvc_says_it_needs_dvc(dvc_registry, tmp_path):
    """Without DVC's parser, the file is not read as if it had no templating: a warning (or, for
    the work tree `describe` reads, an error) says what it needs."""
    hidden = tmp_path / "no-dvc" / "dvc"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'dvc'\", name='dvc')\n")
    env = {"PYTHONPATH": str(hidden.parent)}
    result = tagreg(dvc_registry, "show", "tmpl", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert "dvc.yaml" in result.stderr and "${...} templating" in result.stderr, result.stderr
    assert "add tagreg's dvc extra: " in result.stderr and "-m pip install" in result.stderr, result.stderr
    assert json.loads(result.stdout)[0]["enrichments"][0]["enrichments"] == []
    line = error_line(tagreg(dvc_registry, "describe", "tmpl", env=env))
    assert "add tagreg's dvc extra: " in line and "-m pip install" in line, line


# -- DVC's failures, each one clear line -------------------------------------------------------------

def test_a_mistyped_path_that_prefixes_a_dvc_output(dvc_registry, work):
    """`top.bi` is the start of dvc.lock's `top.bin`: not an output, so not DVC's to fail on."""
    line = error_line(tagreg(work, "get", "mistyped", "-r", str(dvc_registry)))
    assert line == f"❌ 'top.bi' does not exist at commit {commit_of(dvc_registry)}"

    from tagreg import api
    from tagreg.errors import UserError

    with pytest.raises(UserError, match=r"'top\.bi' does not exist"):
        api.open("mistyped", repo=dvc_registry)
    assert files_under(work) == {}


def test_offline_is_one_clear_line(dvc_registry, make_server, work):
    """DVC fetches by cloning the registry itself (tagreg's cached mirror is a partial clone, which
    DVC cannot read): with --offline that cannot be done, and it says so."""
    served = make_server(dvc_registry)
    ok(tagreg(work, "get", "model", "-r", served.url, "-o", "online.pkl"))
    line = error_line(tagreg(work, "get", "model", "-r", served.url, "-o", "offline.pkl", "--offline"))
    assert line == (f"❌ 'model.pkl' is tracked by DVC, which fetches it by cloning {served.url} itself: "
                    "run without --offline")
    assert files_under(work) == {"online.pkl": MODEL}


def test_traceback_after_the_command_for_a_dvc_failure(dvc_registry, work):
    result = tagreg(work, "get", "mistyped", "-r", str(dvc_registry), "--traceback")
    assert result.returncode != 0 and "Traceback (most recent call last)" in result.stderr


# -- where `dvc artifacts get` is wrong ------------------------------------------------------------

@pytest.fixture(scope="module")
def staged_project(tmp_path_factory) -> Path:
    """model.pkl v1 then v2 (dvc.yaml `artifacts:`, which is what DVC reads), registered as v0.0.1
    and v0.0.2 of two artifacts; prod assigned v0.0.1, then v0.0.2; then for `unassigned` prod is
    unassigned from v0.0.2, and for `deregistered` v0.0.2 is deregistered."""
    root = tmp_path_factory.mktemp("dvc-stages")
    env = project_env(root)
    repo = root / "project"
    git(root, "init", "-q", str(repo), env=env)
    run_dvc(repo, env, "init", "-q")
    run_dvc(repo, env, "remote", "add", "-d", "store", str(root / "dvc-store"))
    write(repo, {"dvc.yaml": "artifacts:\n  unassigned:\n    path: model.pkl\n  deregistered:\n    path: model.pkl\n"})
    for content in (b"model v1\n", b"model v2\n"):
        write(repo, {"model.pkl": content})
        run_dvc(repo, env, "add", "-q", "model.pkl")
        run_dvc(repo, env, "push", "-q")
        git(repo, "add", ".", env=env)
        git(repo, "commit", "-q", "-m", content.decode().strip(), env=env)
        for name in ("unassigned", "deregistered"):
            ok(tagreg(repo, "register", name, env=env))
    for name in ("unassigned", "deregistered"):
        for version in ("v0.0.1", "v0.0.2"):
            ok(tagreg(repo, "assign", name, "--version", version, "--stage", "prod", env=env))
    ok(tagreg(repo, "deprecate", "unassigned", "v0.0.2", "prod", env=env))  # GTO's spelling of unassign
    ok(tagreg(repo, "deprecate", "deregistered", "v0.0.2", env=env))  # and of deregister
    return repo


@pytest.mark.parametrize("name", ["unassigned", "deregistered"])
def test_tagreg_is_right_where_dvc_artifacts_get_is_wrong(staged_project, tmp_path, monkeypatch, name):
    """After prod is unassigned from v0.0.2, or v0.0.2 deregistered, prod holds v0.0.1 again (GTO
    agrees). `dvc artifacts get --stage prod` takes the newest tag naming the stage, whatever it
    says, and still delivers v0.0.2."""
    for key, value in dvc_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    work = tmp_path / "work"
    work.mkdir()
    said = ok(tagreg(work, "get", f"{name}#prod", "-r", str(staged_project), "-o", "tagreg.pkl"))
    assert said.startswith(f"Wrote {name}@v0.0.1 "), said
    proc = subprocess.run([sys.executable, "-m", "dvc", "artifacts", "get", str(staged_project), name, "--stage",
                           "prod", "-o", "dvc.pkl"], cwd=work, capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"}, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert files_under(work) == {"tagreg.pkl": b"model v1\n", "dvc.pkl": b"model v2\n"}
