"""Events in one second (git tagger dates have one-second resolution; scripts make several events a
second). (a) Written by tagreg: every event kind, all commands run with one pinned
GIT_COMMITTER_DATE; tagreg dates each new event after its artifact's newest, so nothing ties and
GTO reads the same. (b) Written by others with equal tagger dates: both tools agree, except where
the counter `#N` says an order that GTO's tie-break (event kind, then tag name) contradicts; there
tagreg's answer is asserted explicitly (DELIBERATE)."""

import json

import pytest

from .harness import TAG_BASE, Read, assert_same, build, cli, commit, raw_git

pytestmark = pytest.mark.differential

SECOND = f"{TAG_BASE} +0000"

# -- (a) written by tagreg in one second --------------------------------------------------------

SCRIPT = [
    commit("c1", {"m.txt": "1\n"}),
    cli("register", "m"),
    cli("assign", "m", "--version", "v0.0.1", "--stage", "prod"),
    cli("deprecate", "m", "v0.0.1", "prod"),  # the issue's example: prod is empty
    cli("assign", "m", "--version", "v0.0.1", "--stage", "dev"),  # two stages
    cli("assign", "m", "--version", "v0.0.1", "--stage", "staging"),
    cli("deprecate", "m", "v0.0.1", "dev"),
    cli("assign", "m", "--version", "v0.0.1", "--stage", "dev"),  # again after the unassignment
    cli("register", "n"),
    cli("deprecate", "n"),  # the issue's other example: n is deprecated
    cli("deprecate", "n", rc=1),  # "Artifact was deprecated already"
    cli("register", "back"),
    cli("deprecate", "back"),
    cli("assign", "back", "--version", "v0.0.1", "--stage", "prod"),  # a new event revives it
    commit("c2", {"m.txt": "2\n"}),
    cli("register", "m"),  # v0.0.2
    cli("assign", "m", "--version", "v0.0.2", "--stage", "prod"),
    cli("assign", "m", "--version", "v0.0.1", "--stage", "prod"),  # back to v0.0.1
    cli("register", "k"),
    cli("assign", "k", "--version", "v0.0.1", "--stage", "prod"),
    cli("deprecate", "k", "v0.0.1"),  # deregister: its stage goes with it
    cli("register", "k", "--version", "v0.0.2", "HEAD~1"),  # another version on the first commit
    cli("register", "dir/sub:clf"),
    cli("assign", "dir/sub:clf", "--stage", "prod"),
    cli("deprecate", "dir/sub:clf", "--force"),  # counted: dir/sub=clf@deprecated#2
    cli("assign", "one", "--stage", "prod"),  # registers and assigns in one command
]
ARTIFACTS = ["m", "n", "back", "k", "dir/sub:clf", "one"]
READS = [Read(["show", "--json"]), Read(["show", "-d", "--json"]), Read(["show", "--json", "--vs", "-1"]),
         Read(["show", "--plain"], "text"), Read(["history", "--json"]), Read(["history", "--json", "--asc"]),
         Read(["history", "--plain"], "text"), Read(["stages", "--used", "--json"])]
for _name in ARTIFACTS:
    READS += [Read(["show", _name, "-d", "--json"]), Read(["history", _name, "--json"]),
              Read(["show", f"{_name}#prod", "-d", "--json"])]
READS += [Read(["show", "m#dev", "--json"]), Read(["show", "m#staging", "--json"]),
          Read(["deprecate", "n"])]  # refused by both, so it writes nothing


# -- (b) written by others, every tag of a case in the same second ------------------------------


def _tag(name: str, ref: str):
    return raw_git("tag", "-a", name, "-m", f"hand-made {name}", ref)


# case -> its tags (name, ref) in the order they were written
CASES = {
    "unassign-after-assign": [("a@v0.0.1", "HEAD"), ("a#prod#1", "HEAD"), ("a#prod!#2", "HEAD")],
    "assign-after-unassign": [("b@v0.0.1", "HEAD"), ("b#prod!#1", "HEAD"), ("b#prod#2", "HEAD")],
    "assign-unassign-assign": [("c@v0.0.1", "HEAD"), ("c#prod#1", "HEAD"), ("c#prod!#2", "HEAD"),
                               ("c#prod#3", "HEAD")],
    "two-versions-lower-counter-first": [("d@v0.0.1", "HEAD~1"), ("d@v0.0.2", "HEAD"), ("d#prod#1", "HEAD~1"),
                                         ("d#prod#2", "HEAD")],
    "two-versions-higher-counter-first": [("e@v0.0.1", "HEAD~1"), ("e@v0.0.2", "HEAD"), ("e#prod#1", "HEAD"),
                                          ("e#prod#2", "HEAD~1")],
    "counter-9-and-10": [("f@v0.0.1", "HEAD~1"), ("f@v0.0.2", "HEAD"), ("f#prod#9", "HEAD~1"),
                         ("f#prod#10", "HEAD")],
    "counter-9-and-10-other-way": [("g@v0.0.1", "HEAD~1"), ("g@v0.0.2", "HEAD"), ("g#prod#9", "HEAD"),
                                   ("g#prod#10", "HEAD~1")],
    "register-deprecate": [("h@v0.0.1", "HEAD"), ("h@deprecated", "HEAD")],
    "register-deregister": [("i@v0.0.1", "HEAD"), ("i@v0.0.1!", "HEAD")],
    "counted-register-deregister": [("j@v0.0.1#1", "HEAD"), ("j@v0.0.1!#2", "HEAD")],
    "counted-deregister-register": [("k@v0.0.1!#1", "HEAD"), ("k@v0.0.1#2", "HEAD")],
    "assign-then-counted-deprecate": [("l@v0.0.1", "HEAD"), ("l#prod#1", "HEAD"), ("l@deprecated#2", "HEAD")],
    "counted-deprecate-then-assign": [("o@v0.0.1", "HEAD"), ("o@deprecated#1", "HEAD"), ("o#prod#2", "HEAD")],
    "simple-assign-unassign": [("p@v0.0.1", "HEAD"), ("p#prod", "HEAD"), ("p#prod!", "HEAD")],
    "two-stages": [("q@v0.0.1", "HEAD"), ("q#prod#1", "HEAD"), ("q#dev#2", "HEAD"), ("q#prod!#3", "HEAD"),
                   ("q#dev!#4", "HEAD"), ("q#dev#5", "HEAD")],
}
NAMES = {case: tags[0][0].partition("@")[0] for case, tags in CASES.items()}
# Where GTO's tie-break contradicts the counters, tagreg follows the counters: (stages of the
# artifact in `show -d --json`, artifact active, latest version) as tagreg says, and as GTO 1.10.1 says.
DELIBERATE = {
    "assign-after-unassign": (({"prod": "v0.0.1"}, True, "v0.0.1"), ({}, True, "v0.0.1")),
    "assign-unassign-assign": (({"prod": "v0.0.1"}, True, "v0.0.1"), ({}, True, "v0.0.1")),
    "two-versions-lower-counter-first": (({"prod": "v0.0.2"}, True, "v0.0.2"), ({"prod": "v0.0.1"}, True, "v0.0.2")),
    "counter-9-and-10": (({"prod": "v0.0.2"}, True, "v0.0.2"), ({"prod": "v0.0.1"}, True, "v0.0.2")),
    "counted-deregister-register": (({}, True, "v0.0.1"), ({}, True, None)),
    "assign-then-counted-deprecate": (({"prod": "v0.0.1"}, False, "v0.0.1"), ({"prod": "v0.0.1"}, True, "v0.0.1")),
    "two-stages": (({"dev": "v0.0.1"}, True, "v0.0.1"), ({}, True, "v0.0.1")),
}
OTHERS = [commit("c1", {"m.txt": "1\n"}), commit("c2", {"m.txt": "2\n"})]
OTHERS += [_tag(name, ref) for tags in CASES.values() for name, ref in tags]
OTHER_READS = [Read(["show", "-d", "--json"])]
for _name in NAMES.values():
    OTHER_READS += [Read(["show", _name, "-d", "--json"]), Read(["history", _name, "--json"]),
                    Read(["history", _name, "--json", "--asc"]), Read(["show", f"{_name}#prod", "-d", "--json"])]

SCENARIOS = {
    "same-second-tagreg": lambda root, tools: build("tagreg", SCRIPT, READS, root, tools, pinned_date=SECOND),
    "same-second-others": lambda root, tools: build("tagreg", OTHERS, OTHER_READS, root, tools, pinned_date=SECOND),
}


@pytest.fixture(scope="module")
def by_tagreg(builds):
    return builds.get("same-second-tagreg")


@pytest.fixture(scope="module")
def by_others(builds):
    return builds.get("same-second-others")


# -- (a) ----------------------------------------------------------------------------------------


def test_the_script_ran(by_tagreg):
    failed = [(s.label, r.rc, r.err) for s, _, r in by_tagreg.steps if r is not None and r.rc != s.rc]
    assert not failed


def test_a_second_deprecate_says_it_is_deprecated_already(by_tagreg):
    result = next(r for s, _, r in by_tagreg.steps if s.rc == 1)
    assert result.err == "❌ Artifact was deprecated already\n"


def test_each_artifacts_events_are_dated_one_after_another(by_tagreg):
    """tagreg's dates never tie within an artifact: each event one second after the one before."""
    created = list(by_tagreg.tag_times)  # for-each-ref lists by name: order by date instead
    for prefix in ("m@", "m#", "n@", "back", "k@", "k#", "dir/sub=clf", "one"):
        assert any(t.startswith(prefix) for t in created)
    for name in ("m", "n", "back", "k", "dir/sub=clf", "one"):
        times = sorted(when for tag, when in by_tagreg.tag_times.items() if tag.split("@")[0].split("#")[0] == name)
        assert times == list(range(TAG_BASE, TAG_BASE + len(times))), (name, times)


@pytest.mark.parametrize("read", [pytest.param(r, id=r.id) for r in READS])
def test_read_agrees(by_tagreg, read):
    gto, tagreg = by_tagreg.reads[read.id]
    assert_same(read.args, read.kind, gto, tagreg)


def test_the_issues_examples(by_tagreg):
    _gto, tagreg = by_tagreg.reads["show -d --json"]
    state = json.loads(tagreg.out)
    assert state["m"]["stage"]["prod"] == "v0.0.1"  # unassigned, then assigned again from c2's v0.0.2
    assert state["m"]["stage"]["dev"] == "v0.0.1" and state["m"]["stage"]["staging"] == "v0.0.1"
    assert state["n"]["active"] is False
    assert state["back"]["active"] is True
    assert state["dir/sub:clf"]["active"] is False
    history = json.loads(by_tagreg.reads["history m --json"][1].out)
    assert [e["ref"] for e in history][-4:] == ["m#dev#3", "m#prod!#2", "m#prod#1", "m@v0.0.1"]


# -- (b) ----------------------------------------------------------------------------------------


def _summary(result) -> dict:
    return {name: ({stage: v for stage, v in entry["stage"].items() if v}, entry["active"], entry["version"])
            for name, entry in json.loads(result.out).items()}


def test_the_hand_made_tags_share_one_second(by_others):
    assert set(by_others.tag_times.values()) == {TAG_BASE}


@pytest.mark.parametrize("case", [c for c in CASES if c not in DELIBERATE])
def test_ties_read_as_gto_reads_them(by_others, case):
    name = NAMES[case]
    for args in (["show", name, "-d", "--json"], ["history", name, "--json"], ["history", name, "--json", "--asc"],
                 ["show", f"{name}#prod", "-d", "--json"]):
        gto, tagreg = by_others.reads[" ".join(args)]
        assert_same(args, "json", gto, tagreg)
    gto, tagreg = by_others.reads["show -d --json"]
    assert _summary(tagreg)[name] == _summary(gto)[name]


@pytest.mark.parametrize("case", list(DELIBERATE))
def test_ties_the_counter_orders_differently_from_gto(by_others, case):
    name = NAMES[case]
    ours, theirs = DELIBERATE[case]
    gto, tagreg = by_others.reads["show -d --json"]
    assert _summary(tagreg)[name] == ours
    assert _summary(gto)[name] == theirs  # GTO 1.10.1 orders the tie by event kind and tag name
    history = json.loads(by_others.reads[f"history {name} --json --asc"][1].out)
    counted = [e["ref"] for e in history if "#" in e["ref"].split("@")[-1] and e["ref"][-1].isdigit()]
    assert counted == sorted(counted, key=lambda ref: int(ref.rpartition("#")[2]))
