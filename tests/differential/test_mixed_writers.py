"""(c) GTO and tagreg write in turn; each continues the other's counters, and all three ways of
running the script (tagreg only, gto only, alternating) leave the same tags and print the same."""

import pytest

from . import scenario
from .harness import normalized_write_output

pytestmark = pytest.mark.differential
SCENARIOS = dict(scenario.SCENARIOS)  # compares against the single-writer repositories too

# the fixture `built` and the tests shared by every writer's repository
globals().update(scenario.make_tests("main-alternate", scenario.READS_LIGHT, config_reads=[]))

WRITERS = ("tagreg", "gto", "alternate")


@pytest.fixture(scope="module")
def all_builds(builds):
    return {w: builds.get(f"main-{w}") for w in WRITERS}


def test_alternating_really_alternates(built):
    tools = [tool for _, tool, _ in built.steps if tool]
    assert tools[:4] == ["gto", "tagreg", "gto", "tagreg"]


def _comparable(tags):
    # gto 1.10.1 (through dulwich) stores the message without the final newline `git tag -m` adds;
    # both tools strip messages when reading, so only the text is compared.
    return {name: (kind, commit, tagger, message.rstrip("\n"))
            for name, (kind, commit, tagger, message) in tags.items()}


@pytest.mark.parametrize("other", ["gto", "alternate"])
def test_same_tags_commits_taggers_and_messages(all_builds, other):
    """Tag for tag: same name, same commit, same tagger and the same default message."""
    expected, actual = _comparable(all_builds["tagreg"].tags), _comparable(all_builds[other].tags)
    assert sorted(actual) == sorted(expected)
    differing = {t: (expected[t], actual[t]) for t in expected if expected[t] != actual[t]}
    assert not differing, f"tags differ (tagreg-written, {other}-written): {differing}"


@pytest.mark.parametrize("index", scenario.step_params())
def test_step_prints_the_same(all_builds, index):
    """Each command prints the same (modulo GTO's 80-column wrapping) whoever runs it."""
    outputs = {}
    for writer in WRITERS:
        _step, tool, result = all_builds[writer].steps[index]
        outputs[f"{writer} ({tool})"] = normalized_write_output(result)
    reference = outputs["tagreg (tagreg)"]
    assert all(o == reference for o in outputs.values()), "\n".join(f"{k}: {v}" for k, v in outputs.items())
