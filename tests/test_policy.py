"""The promotion policy: its file, where it is read from, and how events are judged against it."""

from __future__ import annotations

import pytest
from conftest import git

from tagreg import policy as P
from tagreg import state
from tagreg import yaml as Y
from tagreg.api import governance
from tagreg.api.repository import Repository
from tagreg.api.results import RegistryError
from tagreg.schema import Invalid

T0 = 1_700_000_000
HOUR = 3600


def parsed(text: str) -> P.Policy:
    return P.parse(Y.load(text), "main:.tagreg/policy.yaml")


def event(kind: str, version: str | None, stage: str | None = None, at: int = T0, commit: str = "c1",
          email: str = "t@example.com", message: str = "", artifact: str = "churn") -> state.Event:
    tag = {"assignment": f"{artifact}#{stage}#{at}", "unassignment": f"{artifact}#{stage}!#{at}",
           "registration": f"{artifact}@{version}", "deregistration": f"{artifact}@{version}!",
           "deprecation": f"{artifact}@deprecated"}[kind]
    return state.Event(kind, artifact, commit, tag, at, "+0000", "Tester", email, message, version, stage)


class Facts:
    """Facts given outright, for judging without git (the git-backed ones are tested below)."""

    def __init__(self, branches: dict[str, list[str]] | None = None, signatures: dict[str, P.Signature] | None = None):
        self.branches = branches or {}
        self.signatures = signatures or {}

    def on_branches(self, commit, patterns):
        return any(P.matches(b, patterns) for b in self.branches.get(commit, []))

    def signature(self, event):
        return self.signatures.get(event.tag, P.UNSIGNED)


# -- the file -------------------------------------------------------------------------------------

def test_a_policy_reads_rules_per_stage_over_the_defaults():
    policy = parsed("""
defaults:
  branches: [main]
  who: ["*@example.com"]
stages:
  prod:
    promotes_from: staging
    min_age: 1d12h
    signed: true
    who: [alice@example.com]
signers:
  ssh: .tagreg/allowed_signers
""")
    prod, dev = policy.rules("prod"), policy.rules("dev")
    assert prod.branches == ["main"] and prod.who == ["alice@example.com"]
    assert prod.promotes_from == ["staging"] and prod.min_age == 36 * HOUR and prod.signed
    assert dev.branches == ["main"] and dev.who == ["*@example.com"] and dev.promotes_from is None
    assert policy.signers.ssh == ".tagreg/allowed_signers" and policy.governed and policy.needs_signatures


@pytest.mark.parametrize(("text", "line"), [
    ("stage:\n  prod: {}\n", "main:.tagreg/policy.yaml has an unknown key 'stage' (known: defaults, servers, show, "
     "signers, stages)"),
    ("show:\n  versions_per_stage: 2\n",
     "main:.tagreg/policy.yaml: 'show' has an unknown key 'versions_per_stage' (known: av, sort, vs)"),
    ("show:\n  sort: newest\n", "main:.tagreg/policy.yaml: 'show.sort' must be one of timestamp, semver, not 'newest'"),
    ("show:\n  vs: -2\n", "main:.tagreg/policy.yaml: 'show.vs' must be a whole number, -1 (all) or more, not -2"),
    ("show:\n  av: '1'\n", "main:.tagreg/policy.yaml: 'show.av' must be a whole number, -1 (all) or more, not '1'"),
    ("show:\n  vs: true\n", "main:.tagreg/policy.yaml: 'show.vs' must be a whole number, -1 (all) or more, not True"),
    ("show: semver\n", "main:.tagreg/policy.yaml: 'show' must be a mapping, not 'semver'"),
    ("stages:\n  prod:\n    promote_from: staging\n",
     "main:.tagreg/policy.yaml: 'stages.prod' has an unknown rule 'promote_from' (known: branches, min_age, "
     "no_downgrade, promotes_from, signed, signers, who)"),
    ("stages:\n  prod:\n    min_age: a while\n",
     "main:.tagreg/policy.yaml: 'stages.prod.min_age' must be a duration such as 30m, 24h or 7d, not 'a while'"),
    ("stages:\n  prod:\n    signed: yes please\n",
     "main:.tagreg/policy.yaml: 'stages.prod.signed' must be true or false, not 'yes please'"),
    ("stages:\n  Prod!: {}\n",
     "main:.tagreg/policy.yaml: 'stages' must name stages, and 'Prod!' is not a valid stage name"),
    ("stages:\n  prod:\n    promotes_from: [staging, 'no such']\n",
     "main:.tagreg/policy.yaml: 'stages.prod.promotes_from' must name stages, and 'no such' is not a valid stage name"),
    ("- prod\n", "main:.tagreg/policy.yaml must be a mapping, not a list"),
])
def test_a_policy_that_says_something_else_is_one_line(text, line):
    with pytest.raises(Invalid) as caught:
        parsed(text)
    assert caught.value.line("main:.tagreg/policy.yaml") == line


def test_durations():
    assert [P.duration(v) for v in ("90m", "24h", "2w", "1d 6h", 30, "45s")] == [5400, 86400, 1209600, 108000, 30, 45]
    for bad in ("", "24", "h", "1y", "-1h", True, "1h1", "9" * 50 + "s"):
        with pytest.raises(Invalid):
            P.duration(bad)


def test_show_pins_govern_nothing_and_say_what_they_pin():
    policy = parsed("show:\n  sort: semver\n  vs: -1\n")
    assert (policy.show.vs, policy.show.av, policy.show.sort) == (-1, None, "semver") and policy.show.pinned
    assert not policy.governed, "pins change how history is read, not which events are in effect"
    assert policy.to_dict()["show"] == {"vs": -1, "sort": "semver"}
    assert not parsed("show: {}\n").show.pinned and not parsed("").show.pinned


def test_an_empty_file_governs_nothing():
    assert not parsed("").governed
    assert not parsed("stages:\n  prod: {}\n").governed


# -- judging --------------------------------------------------------------------------------------

def test_branches_promotes_from_and_min_age():
    policy = parsed("stages:\n  prod:\n    branches: [main, 'release/*']\n    promotes_from: staging\n"
                    "    min_age: 24h\n")
    facts = Facts(branches={"c1": ["main"], "c2": ["release/2"], "c3": ["feature"]})
    judge = P.Judge(policy, facts)
    assert judge.judge(event("registration", "v1.0.0")) == []
    assert judge.judge(event("assignment", "v1.0.0", "staging", at=T0 + 10)) == []
    early = judge.judge(event("assignment", "v1.0.0", "prod", at=T0 + 10 + 23 * HOUR))
    assert [b.rule for b in early] == ["promotes_from"]
    assert early[0].line == ("policy rule 'promotes_from' of stage 'prod': version v1.0.0 has not been in "
                             "'staging' for at least 1d; assign it to staging first and wait")
    assert judge.judge(event("assignment", "v1.0.0", "prod", at=T0 + 10 + 24 * HOUR)) == []
    # straight to prod, from a branch that is not listed
    off = judge.judge(event("assignment", "v2.0.0", "prod", at=T0 + 30 * HOUR, commit="c3"))
    assert [b.rule for b in off] == ["branches", "promotes_from"]
    assert off[0].reason == "commit c3 is on none of the branches 'main' or 'release/*'"


def test_a_stay_cut_short_by_an_unassignment_does_not_count():
    policy = parsed("stages:\n  prod:\n    promotes_from: staging\n    min_age: 2h\n")
    judge = P.Judge(policy, Facts())
    judge.judge(event("assignment", "v1.0.0", "staging", at=T0))
    judge.judge(event("unassignment", "v1.0.0", "staging", at=T0 + HOUR))
    assert [b.rule for b in judge.judge(event("assignment", "v1.0.0", "prod", at=T0 + 3 * HOUR))] == ["promotes_from"]


def test_a_version_displaced_in_staging_by_a_newer_one_still_counts():
    policy = parsed("stages:\n  prod:\n    promotes_from: staging\n")
    judge = P.Judge(policy, Facts())
    judge.judge(event("assignment", "v1.0.0", "staging", at=T0))
    judge.judge(event("assignment", "v1.1.0", "staging", at=T0 + 5))
    assert judge.judge(event("assignment", "v1.0.0", "prod", at=T0 + 10)) == []


def test_an_assignment_that_broke_the_policy_does_not_count_for_a_later_one():
    policy = parsed("stages:\n  staging:\n    who: [alice@example.com]\n  prod:\n    promotes_from: staging\n")
    events = [event("assignment", "v1.0.0", "staging", at=T0, email="mallory@example.com"),
              event("assignment", "v1.0.0", "prod", at=T0 + 10)]
    broken = P.judge_history(policy, events, Facts())
    assert sorted(broken) == sorted([events[0].tag, events[1].tag])
    assert broken[events[0].tag][0].line == ("policy rule 'who' of stage 'staging': 'mallory@example.com' may "
                                              "not change staging; ask one of 'alice@example.com'")


def test_no_downgrade_unless_recorded_as_a_rollback():
    policy = parsed("stages:\n  prod:\n    no_downgrade: true\n")
    judge = P.Judge(policy, Facts())
    assert judge.judge(event("assignment", "v1.2.0", "prod", at=T0)) == []
    down = judge.judge(event("assignment", "v1.1.0", "prod", at=T0 + 1))
    assert [b.line for b in down] == ["policy rule 'no_downgrade' of stage 'prod': v1.1.0 is lower than v1.2.0, in "
                                      "prod now; pass --force to record it as a rollback"]
    rollback = event("assignment", "v1.1.0", "prod", at=T0 + 2, message=f"...\n\n{P.ROLLBACK_TRAILER}: v1.2.0")
    assert judge.judge(rollback) == []
    assert judge.judge(event("assignment", "v1.1.1", "prod", at=T0 + 3)) == []  # up from the rollback
    judge.judge(event("unassignment", "v1.1.1", "prod", at=T0 + 4))
    judge.judge(event("unassignment", "v1.1.0", "prod", at=T0 + 4))
    judge.judge(event("unassignment", "v1.2.0", "prod", at=T0 + 4))
    assert judge.judge(event("assignment", "v0.9.0", "prod", at=T0 + 5)) == []  # an empty stage


def test_signed_and_signers_and_who_by_the_signer_not_the_tagger():
    policy = parsed("stages:\n  prod:\n    signed: true\n    signers: [release-bot]\n    who: [release-bot]\n")
    signed = event("assignment", "v1.0.0", "prod", at=T0, email="anyone@example.com")
    by_alice = event("assignment", "v1.0.1", "prod", at=T0 + 1)
    unsigned = event("assignment", "v1.0.2", "prod", at=T0 + 2, email="release-bot")  # an e-mail is not a signature
    facts = Facts(signatures={signed.tag: P.Signature("good", "release-bot", "SHA256:abc"),
                              by_alice.tag: P.Signature("good", "alice@example.com", "SHA256:def")})
    broken = P.judge_history(policy, [signed, by_alice, unsigned], facts)
    assert signed.tag not in broken
    assert [b.rule for b in broken[by_alice.tag]] == ["signers", "who"]
    assert [b.rule for b in broken[unsigned.tag]] == ["signed"]
    assert broken[unsigned.tag][0].reason == "the tag is not signed"


def test_a_servers_signature_vouches_for_the_tagger_it_names():
    """A tagreg server signs for the person signed in: with its principal among `servers`, `who` is
    the tagger's e-mail (the server set it from their token); any other signer is `who` itself."""
    text = "stages:\n  prod:\n    signed: true\n    who: [alice@example.com]\n"
    by_alice = event("assignment", "v1.0.0", "prod", at=T0, email="alice@example.com")
    by_bob = event("assignment", "v1.0.1", "prod", at=T0 + 1, email="bob@example.com")
    server = P.Signature("good", "ml-registry", "SHA256:srv")
    facts = Facts(signatures={by_alice.tag: server, by_bob.tag: server})
    vouching = parsed(text + "servers: [ml-registry]\n")
    assert vouching.servers == ["ml-registry"]
    broken = P.judge_history(vouching, [by_alice, by_bob], facts)
    assert by_alice.tag not in broken
    assert [b.line for b in broken[by_bob.tag]] == [
        "policy rule 'who' of stage 'prod': 'bob@example.com' may not change prod; ask one of 'alice@example.com'"]
    # Not listed as a server, its signature is the signer's own: `who` sees 'ml-registry'.
    broken = P.judge_history(parsed(text), [by_alice, by_bob], facts)
    assert [b.rule for b in broken[by_alice.tag]] == ["who"] and "'ml-registry' may not" in broken[by_alice.tag][0].line
    # A bad or unknown signature vouches for nothing: `signed` breaks, whoever the tagger is.
    facts = Facts(signatures={by_alice.tag: P.Signature("unknown", None, "SHA256:x")})
    assert [b.rule for b in P.judge_history(vouching, [by_alice], facts)[by_alice.tag]] == ["signed"]


def test_removing_what_is_in_a_governed_stage_needs_the_stages_rights():
    policy = parsed("stages:\n  prod:\n    who: [alice@example.com]\n")
    judge = P.Judge(policy, Facts())
    assert judge.judge(event("assignment", "v1.0.0", "prod", at=T0, email="alice@example.com")) == []
    assert judge.judge(event("deregistration", "v2.0.0", at=T0 + 1, email="bob@example.com")) == []  # not in prod
    by_bob = [event("deregistration", "v1.0.0", at=T0 + 2, email="bob@example.com"),
              event("deprecation", None, at=T0 + 3, email="bob@example.com"),
              event("unassignment", "v1.0.0", "prod", at=T0 + 4, email="bob@example.com")]
    assert [[b.rule for b in judge.judge(e)] for e in by_bob] == [["who"], ["who"], ["who"]]
    assert judge.judge(event("unassignment", "v1.0.0", "prod", at=T0 + 5, email="ALICE@example.com")) == []


# -- read from the protected ref, with facts from git ----------------------------------------------

POLICY = "stages:\n  prod:\n    branches: [main]\n    who: [alice@example.com]\n"


@pytest.fixture
def clone(tmp_path, repo):
    """A clone of repo (origin), whose main holds a policy; the clone's worktree says otherwise."""
    repo.commit("policy", {".tagreg/policy.yaml": POLICY})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature work", {"model.pkl": "weights"})
    repo.git("checkout", "-q", "main")
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(path))
    (path / ".tagreg" / "policy.yaml").write_text("stages: {}\n")  # an edit in the worktree changes nothing
    return path


def test_the_policy_comes_from_the_remotes_default_branch_not_the_worktree(clone):
    opened = Repository(clone)
    policy = governance.load(opened)
    assert policy is not None and policy.source == "origin/main:.tagreg/policy.yaml"
    assert policy.rules("prod").who == ["alice@example.com"]
    facts = governance.facts(opened)
    main = git(clone, "rev-parse", "origin/main").strip()
    feature = git(clone, "rev-parse", "origin/feature").strip()
    assert facts.on_branches(main, ["main"]) and not facts.on_branches(feature, ["main"])
    assert facts.on_branches(feature, ["feat*"])


def test_the_policy_ref_can_be_named(clone, monkeypatch):
    git(clone, "config", "tagreg.policyRef", "refs/remotes/origin/feature")
    assert governance.policy_ref(Repository(clone).git) == "refs/remotes/origin/feature"
    monkeypatch.setenv("TAGREG_POLICY_REF", "refs/heads/nope")
    with pytest.raises(RegistryError, match="the policy ref 'refs/heads/nope' does not exist"):
        governance.load(Repository(clone))


def test_no_policy_file_no_policy_and_a_broken_one_is_an_error(repo):
    assert governance.load(Repository(repo.path)) is None  # local main, no file
    repo.commit("bad policy", {".tagreg/policy.yaml": "stages:\n  prod:\n    min_age: soon\n"})
    with pytest.raises(RegistryError) as caught:
        governance.load(Repository(repo.path))
    assert str(caught.value) == ("main:.tagreg/policy.yaml: 'stages.prod.min_age' must be a duration such as 30m, "
                                 "24h or 7d, not 'soon'")


def test_a_hostile_policy_is_bounded(repo):
    repo.commit("huge", {".tagreg/policy.yaml": "# " + "x" * (governance.MAX_POLICY_BYTES + 1) + "\n"})
    with pytest.raises(RegistryError, match="more than a policy can be"):
        governance.load(Repository(repo.path))
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    repo.commit("bomb", {".tagreg/policy.yaml": bomb})
    with pytest.raises(RegistryError) as caught:
        governance.load(Repository(repo.path))
    assert str(caught.value).startswith("main:.tagreg/policy.yaml: ") and "alias" in str(caught.value)
