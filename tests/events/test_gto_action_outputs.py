"""The action's outputs are gto-action v2's, value for value, for every event kind: computed here
the way gto-action's entrypoint computes them, with the real gto 1.10.1 (TAGREG_GTO_BIN), and
compared with what `check-ref --format github` (the action's check step) writes.

gto-action's entrypoint, in a checkout of the pushed tag: `name`, `version` and `event` are
`gto check-ref $GITHUB_REF --name|--version|--event`; `stage` is `--stage` only when the event is
an assignment, else empty; `type`, `path` and `description` are the artifact's `artifacts:` entry
in the dvc.yaml of its folder (`models:clf`: models/dvc.yaml) as DVC reads it
(read_annotation.py: `Repo.artifacts.read()`, `type`, `path`, `desc`), all empty when the tag is not
a registry event. A folder's dvc.yaml names its paths relative to that folder, and gto-action gives
them as written (`clf.pkl`, which from the repository's root is another file); tagreg gives the
path in the repository (`models/clf.pkl`), and gto-action's bytes when asked to read as GTO does
(--gto-exact, TAGREG_GTO_EXACT=1). tagreg adds event_stage (and repo/rev for links) under
names of its own. (Where gto-action v2 reads no annotation, an artifacts.yaml registry, tagreg
gives that file's type, path and description, as gto-action v1 did.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from differential.harness import GtoUnavailable, clean_env, find_gto, make_home

from .cireaders import parse_github_output
from .support import git

pytestmark = pytest.mark.differential

GTO_ACTION_KEYS = ["event", "name", "version", "stage", "type", "path", "description"]


@pytest.fixture(scope="module")
def gto():
    try:
        return find_gto()
    except GtoUnavailable as exc:
        pytest.skip(f"gto 1.10.1 is not available: {exc}; set TAGREG_GTO_BIN to a gto executable")


def gto_action_annotation(checkout: Path, name: str):
    """The annotation gto-action v2's read_annotation.py finds: the DVC project holding the name's
    folder (the folder itself or one above it), and name's entry in that folder's dvc.yaml as DVC
    reads it (None if there is none)."""
    from dvc.repo import Repo

    subdir, _, short = name.rpartition(":")
    path, dvc_root = subdir, None
    while dvc_root is None and path:
        if (checkout / path / ".dvc").is_dir():
            dvc_root = path
        path = os.path.dirname(path)
    if dvc_root is None and (checkout / ".dvc").is_dir():
        dvc_root = ""
    if dvc_root is None:
        return None
    with Repo(str(checkout / dvc_root)) as dvc:
        return dvc.artifacts.read().get(os.path.join(subdir[len(dvc_root):], "dvc.yaml"), {}).get(short)


def gto_action_outputs(gto, checkout, ref: str, env: dict) -> dict[str, str]:
    """What gto-action v2 sets for ref, in a checkout of it (its entrypoint's computation)."""
    asks = [["check-ref", ref, "--name"], ["check-ref", ref, "--version"], ["check-ref", ref, "--event"],
            ["check-ref", ref, "--stage"]]
    results = gto.run_many(checkout, asks, env)
    assert all(r.rc == 0 for r in results), [(a, r.err) for a, r in zip(asks, results) if r.rc]
    name, version, event, stage = (r.out.strip() for r in results)
    if not name:  # not a registry event: the entrypoint leaves everything empty
        return dict.fromkeys(GTO_ACTION_KEYS, "")
    note = gto_action_annotation(Path(checkout), name)
    return {"event": event, "name": name, "version": version, "stage": stage if event == "assignment" else "",
            "type": (note and note.type) or "", "path": (note and note.path) or "",
            "description": (note and note.desc) or ""}


DVC_YAML = """\
artifacts:
  churn:
    path: models/churn.pkl
    type: model
    desc: the churn model
"""


def test_outputs_match_gto_action_for_every_event_kind(gto, reg, tmp_path):
    pytest.importorskip("dvc")
    reg.commit("a DVC project", {".dvc/config": "", ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
                                 "dvc.yaml": DVC_YAML, "models/churn.pkl": "one\n",
                                 "artifacts.yaml": "lnk:\n  type: model\n  path: w.bin\n"
                                                   "  repo: https://example.com/w.git\n  rev: v3\n"})
    kinds = reg.every_kind("churn")
    kinds["link"] = reg.registered("lnk", "v0.0.1")
    kinds["foreign"] = reg.tag("v1.0.0", message="a release")
    home = make_home(tmp_path / "gto-home")
    env = clean_env(home)
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(reg.path), str(checkout))
    seen = {}
    for kind, tag in kinds.items():
        git(checkout, "checkout", "-q", "--detach", tag)
        want = gto_action_outputs(gto, checkout, f"refs/tags/{tag}", env)
        if kind == "link":  # annotated in artifacts.yaml, which gto-action v2 does not read
            assert want["path"] == ""
            want.update(type="model", path="w.bin")
        out_file = tmp_path / f"out-{kind}"
        out_file.write_text("")
        result = reg.run("check-ref", f"refs/tags/{tag}", "--format", "github", env={"GITHUB_OUTPUT": str(out_file)})
        assert result.returncode == 0, result.stderr
        got = parse_github_output(out_file.read_text())
        assert {k: got[k] for k in GTO_ACTION_KEYS} == want, kind
        seen[kind] = got
    assert seen["unassignment"]["stage"] == "" and seen["unassignment"]["event_stage"] == "prod", \
        "a ported `if: stage == 'prod'` must not fire on an unassignment; event_stage says which stage"
    assert seen["assignment"]["stage"] == seen["assignment"]["event_stage"] == "prod"
    assert seen["link"]["repo"] == "https://example.com/w.git" and seen["link"]["rev"] == "v3"


FOLDER_DVC_YAML = """\
artifacts:
  clf:
    path: ./clf.pkl
    type: model
    desc: declared in a folder
"""
ROOT_DVC_YAML = "artifacts:\n  top:\n    path: ./models/top.pkl\n    type: model\n"
READ_AS_GTO = {"flag": (["--gto-exact"], {}), "environment": ([], {"TAGREG_GTO_EXACT": "1"})}


def test_a_folders_dvc_yaml_path_is_the_path_in_the_repository(gto, reg, tmp_path):
    """models/dvc.yaml's `path: ./clf.pkl` is models/clf.pkl, as DVC reads it and where `get`
    and the action's `pull` find it; gto-action's `./clf.pkl` when reading as GTO does. At the root,
    GTO's bytes (`./models/top.pkl`) either way."""
    pytest.importorskip("dvc")
    reg.commit("a DVC project", {".dvc/config": "", ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
                                 "dvc.yaml": ROOT_DVC_YAML, "models/dvc.yaml": FOLDER_DVC_YAML,
                                 "models/clf.pkl": "clf\n", "models/top.pkl": "top\n"})
    tags = {"models:clf": [reg.tag("models=clf@v0.0.1", message="Registering artifact models:clf version v0.0.1"),
                           reg.tag("models=clf#prod#1",
                                   message="Assigning stage prod to artifact models:clf version v0.0.1")],
            "top": [reg.registered("top", "v0.0.1")]}
    in_repository = {"models:clf": "models/clf.pkl", "top": "./models/top.pkl"}
    env = clean_env(make_home(tmp_path / "gto-home"))
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(reg.path), str(checkout))
    for name, refs in tags.items():
        for tag in refs:
            git(checkout, "checkout", "-q", "--detach", tag)
            want = gto_action_outputs(gto, checkout, f"refs/tags/{tag}", env)
            assert want["name"] == name and want["type"] == "model"
            modes = {"tagreg": ([], {}), **READ_AS_GTO}
            for mode, (before, extra) in modes.items():
                out_file = tmp_path / f"out-{mode}"
                out_file.write_text("")
                result = reg.run(*before, "check-ref", f"refs/tags/{tag}", "--format", "github",
                                 env={"GITHUB_OUTPUT": str(out_file), **extra})
                assert result.returncode == 0, result.stderr
                got = {k: v for k, v in parse_github_output(out_file.read_text()).items() if k in GTO_ACTION_KEYS}
                path = reg.run(*before, "check-ref", tag, "--path", env=extra)
                if mode == "tagreg":
                    assert got == {**want, "path": in_repository[name]}, tag
                else:
                    assert got == want, (mode, tag)
                assert path.returncode == 0 and path.stdout == got["path"] + "\n", (mode, tag)
    assert reg.ok("get", "models:clf@v0.0.1", "--print-path") == "models/clf.pkl\n"
