"""The commit behind a version ('enrichment' event in `show NAME --json`, created_at of versions
known only from their commit): GTO takes the commit's committer date, in the committer's zone,
and the author's name and e-mail (plus committer fields of their own).

Kept apart from the other scenarios (which commit with equal author and committer dates) so one
difference here does not hide others there."""

import pytest

from .harness import Read, assert_same, build, cli, commit

pytestmark = pytest.mark.differential

SCRIPT = [
    commit("c1: trained", {"m.txt": "1\n"}, author_earlier=True),
    cli("register", "m"),
    commit("c2: annotated", {"artifacts.yaml": "m:\n  type: model\nrf:\n  type: dataset\n"}, author_earlier=True),
]
READS = [Read(["show", "m", "--json"]), Read(["show", "rf", "--json"]), Read(["show", "rf", "--plain"], "text"),
         Read(["show", "m", "--plain"], "text")]
SCENARIOS = {"commit-metadata": lambda root, tools: build("tagreg", SCRIPT, READS, root, tools)}


@pytest.fixture(scope="module")
def built(builds):
    return builds.get("commit-metadata")


@pytest.mark.parametrize("read", [pytest.param(r, id=r.id) for r in READS])
def test_read_agrees(built, read):
    gto, tagreg = built.reads[read.id]
    assert_same(read.args, read.kind, gto, tagreg)
