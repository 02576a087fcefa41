"""Annotations (artifacts.yaml): unregistered artifacts (`*name`), enrichments in `show NAME --json`.

GTO reads artifacts.yaml from the committed tree: at HEAD to discover artifacts, and at each
version's commit for its enrichment. Tags here are written by tagreg with distinct dates.
"""

import pytest

from .harness import Read, assert_same, build, cli, commit
from .scenario import read_params

pytestmark = pytest.mark.differential

V1 = """\
# comments and key order are the user's
model:
  type: model
  path: models/model.pkl
  labels: [tabular, churn]
  description: Churn model
  custom:
    owner: data-team
    score: 0.91
rf:
  type: dataset
  path: data/rf.csv
  virtual: false
"""
V2 = """\
model:
  type: model
  path: models/model.pkl
  labels: [tabular, churn, prod-ready]
  description: Churn model, retrained
rf:
  type: dataset
  path: data/rf.csv
  virtual: false
  labels: [raw]
nn:
  path: models/nn.onnx
dep:
  type: model
"""
V3 = V2.replace("Churn model, retrained", "Churn model, third try").replace("[raw]", "[raw, v3]")

SCRIPT = [
    commit("c1", {"artifacts.yaml": V1, "models/model.pkl": "1\n", "data/rf.csv": "a\n"}),
    cli("register", "model"),
    cli("assign", "model", "--version", "v0.0.1", "--stage", "prod"),
    cli("register", "dep"),
    cli("deprecate", "dep"),
    commit("c2", {"artifacts.yaml": V2, "models/model.pkl": "2\n"}),
    cli("register", "model"),
    cli("assign", "model", "--version", "v0.0.2", "--stage", "dev"),
    commit("c3", {"artifacts.yaml": V3, "models/model.pkl": "3\n"}),  # HEAD: annotated, not registered
]

READS = [
    Read(["show", "--json"]), Read(["show", "-d", "--json"]), Read(["show", "--json", "--ro"]),
    Read(["show", "--plain"], "text"), Read(["show", "-d", "--plain"], "text"), Read(["show", "--name"], "text"),
    Read(["history", "--json"]),
    Read(["check-ref", "model@v0.0.2", "--json"]), Read(["check-ref", "model#prod#1", "--json"]),
]
for _name in ("model", "rf", "nn", "dep"):
    READS += [Read(["show", _name, "--json"]), Read(["show", _name, "-d", "--json"]),
              Read(["show", _name, "--plain"], "text"), Read(["show", _name, "--json", "--ro"])]
READS += [Read(["show", "model@latest", "--json"]), Read(["show", "model#prod", "--json"]),
          Read(["show", "rf@latest", "--json"]), Read(["show", "model", "--ref"], "text"),
          Read(["show", "rf", "--version"], "text")]

SCENARIOS = {"annotations": lambda root, tools: build("tagreg", SCRIPT, READS, root, tools)}


@pytest.fixture(scope="module")
def built(builds):
    return builds.get("annotations")


@pytest.mark.parametrize("read", read_params(READS))
def test_read_agrees(built, read):
    gto, tagreg = built.reads[read.id]
    assert_same(read.args, read.kind, gto, tagreg)


def test_script_ran(built):
    failed = [(s.label, r.err) for s, _, r in built.steps if r is not None and r.rc != s.rc]
    assert not failed
