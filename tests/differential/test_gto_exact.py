"""`--gto-exact` / TAGREG_GTO_EXACT=1 on a DVC-annotated registry: tagreg reads only what GTO reads.

tagreg reads the `artifacts:` of dvc.yaml files (DVC's format, at the root and in folders), which
GTO 1.10.1 ignores: `show` then lists `*name` artifacts, "discovered" HEAD versions and `dvc`
enrichments that GTO never reports. With the switch, every read below prints what gto prints:
the same JSON (and key order), the same tables, the same errors. Without it, some of them differ,
which is the point of the switch.
"""

import re
from dataclasses import replace

import pytest

from .harness import Read, assert_same, build, cli, commit, raw_git

pytestmark = pytest.mark.differential

ARTIFACTS = """\
model:
  type: model
  path: models/model.pkl
  labels: [tabular]
  description: In artifacts.yaml, which GTO reads
both:
  path: both-from-artifacts-yaml.pkl
"""
DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    outs:
    - clf.pkl
artifacts:
  clf:
    path: clf.pkl
    type: model
    desc: Declared in dvc.yaml only
    labels: [dvc]
    meta: {owner: ml-team}
  both:
    path: both-from-dvc-yaml.pkl
  unreg:
    path: unreg.pkl
"""
SUB_DVC_YAML = """\
artifacts:
  seg:
    path: seg.pkl
    type: model
  lonely:
    path: lonely.pkl
"""

SCRIPT = [
    commit("c1", {"artifacts.yaml": ARTIFACTS, "dvc.yaml": DVC_YAML, "sub/dvc.yaml": SUB_DVC_YAML,
                  "models/model.pkl": "1\n"}),
    cli("register", "model"),
    cli("register", "clf"),
    cli("register", "both"),
    cli("register", "sub:seg"),
    cli("assign", "clf", "--version", "v0.0.1", "--stage", "prod"),
    cli("assign", "sub:seg", "--version", "v0.0.1", "--stage", "dev"),
    commit("c2", {"dvc.yaml": DVC_YAML.replace("Declared in dvc.yaml only", "Retrained"), "models/model.pkl": "2\n"}),
    cli("register", "clf"),
    cli("assign", "clf", "--version", "v0.0.2", "--stage", "dev"),
    commit("c3", {"sub/dvc.yaml": SUB_DVC_YAML + "  more:\n    path: more.pkl\n"}),  # HEAD: nothing registered
]

READS = [
    Read(["show", "--json"]), Read(["show", "-d", "--json"]), Read(["show", "--json", "--ro"]),
    Read(["show"], "text"), Read(["show", "--plain"], "text"), Read(["show", "--name"], "text"),
    Read(["stages", "--json"]), Read(["history", "--json"]), Read(["history", "--plain"], "text"),
    Read(["check-ref", "clf@v0.0.2", "--json"]), Read(["check-ref", "sub=seg#dev#2", "--json"]),
    Read(["show", "clf@latest", "--json"]), Read(["show", "clf#prod", "--json"]),
    Read(["show", "clf", "--ref"], "text"),
]
for _name in ("model", "clf", "both", "sub:seg", "unreg", "sub:lonely", "sub:more"):
    READS += [Read(["show", _name, "--json"]), Read(["show", _name], "text"), Read(["show", _name, "--plain"], "text"),
              Read(["show", _name, "-d", "--json"])]

# dvc.yaml files GTO never reads, that cannot be read: GTO says nothing of them, and so does tagreg
# reading as GTO does, also in check-ref, whose CI outputs read dvc.yaml as gto-action does.
UNREADABLE = [
    commit("c1", {"artifacts.yaml": "m:\n  path: m.pkl\n", "dvc.yaml": "artifacts: [unclosed\n",
                  "sub/dvc.yaml": "artifacts:\n  seg: {path: [not, a, path]}\n", "m.pkl": "1\n"}),
    cli("register", "m"),
    raw_git("tag", "-a", "sub=seg@v0.0.1", "-m", "Registering artifact sub:seg version v0.0.1"),
]
UNREADABLE_READS = [Read(["check-ref", "m@v0.0.1", "--json"]), Read(["check-ref", "m@v0.0.1", "--name"], "text"),
                    Read(["check-ref", "sub=seg@v0.0.1", "--json"]), Read(["check-ref", "sub=seg@v0.0.1"], "text"),
                    Read(["show", "--json"]), Read(["show", "m", "--json"]), Read(["history", "--json"])]

SCENARIOS = {"dvc-annotated": lambda root, tools: build("tagreg", SCRIPT, [], root, tools),
             "dvc-unreadable": lambda root, tools: build("tagreg", UNREADABLE, [], root, tools)}

MODES = {  # how a script asks tagreg to read as GTO does
    "flag": (["--gto-exact"], {}),
    "flag-after": ([], {}),  # `tagreg show --json --gto-exact`
    "environment": ([], {"TAGREG_GTO_EXACT": "1"}),
    "plain": ([], {}),  # tagreg as it is, reading dvc.yaml
}


@pytest.fixture(scope="module")
def answers(builds, gto_tool):
    """gto's answer to every read, and tagreg's in each mode, on one repository."""
    built = builds.get("dvc-annotated")
    failed = [(s.label, r.err) for s, _, r in built.steps if r is not None and r.rc != s.rc]
    assert not failed
    tagreg = builds.tools["tagreg"]
    commands = [read.args for read in READS]
    out = {"gto": gto_tool.run_many(built.path, commands, built.env)}
    for mode, (before, env) in MODES.items():
        after = ["--gto-exact"] if mode == "flag-after" else []
        out[mode] = tagreg.run_many(built.path, [[*before, *args, *after] for args in commands], {**built.env, **env})
    return out


@pytest.mark.parametrize("mode", ["flag", "flag-after", "environment"])
@pytest.mark.parametrize("index", range(len(READS)), ids=[read.id for read in READS])
def test_reads_what_gto_reads(answers, mode, index):
    """The same output; errors too, but for the close names tagreg suggests (a difference on
    purpose, README "Compatibility with GTO")."""
    read, tagreg = READS[index], answers[mode][index]
    tagreg = replace(tagreg, err=re.sub(r"; did you mean [^\n]*", "", tagreg.err))
    assert_same(read.args, read.kind, answers["gto"][index], tagreg)


def test_without_the_switch_dvc_yaml_is_read(answers):
    """The differences the switch is there for: tagreg's own reading of dvc.yaml."""
    differ = set()
    for index, read in enumerate(READS):
        try:
            assert_same(read.args, read.kind, answers["gto"][index], answers["plain"][index])
        except AssertionError:
            differ.add(read.id)
    assert {"show --json", "show", "show clf --json", "show unreg --json", "show sub:lonely --json"} <= differ
    assert "show model --json" not in differ  # artifacts.yaml: read alike either way
    unreg = READS.index(Read(["show", "unreg", "--json"]))
    assert answers["gto"][unreg].rc == 1 and "Cannot find artifact 'unreg'" in answers["gto"][unreg].err
    assert answers["plain"][unreg].rc == 0  # tagreg: an annotated, unregistered artifact


@pytest.mark.parametrize("index", range(len(UNREADABLE_READS)), ids=[read.id for read in UNREADABLE_READS])
def test_dvc_yaml_files_gto_never_reads_go_unmentioned(builds, gto_tool, index):
    built = builds.get("dvc-unreadable")
    read = UNREADABLE_READS[index]
    gto = gto_tool.run_many(built.path, [read.args], built.env)[0]
    tagreg = builds.tools["tagreg"].run_many(built.path, [read.args], {**built.env, "TAGREG_GTO_EXACT": "1"})[0]
    assert_same(read.args, read.kind, gto, tagreg)
    assert (tagreg.err, gto.err) == ("", ""), read.id
