"""Event order: git tagger dates have one-second resolution, and scripts make several events in one
second. What tagreg writes never ties with the artifact's newest event (it is dated one second after
it when the clock would tie or is behind), and same-second ties written by others are ordered by the
event counter `#N` where the events have one, else as GTO orders them."""

from __future__ import annotations

import json
import time

import pytest

from tagreg import state as S

EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC


def ok(repo, *args: str, **kwargs) -> str:
    result = repo.run(*args, **kwargs)
    assert result.returncode == 0, f"tagreg {args} failed: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def dates(repo) -> dict[str, str]:
    """tag -> its tagger date, raw (`UNIX +HHMM`)."""
    out = repo.git("for-each-ref", "--format=%(refname:strip=2) %(taggerdate:raw)", "refs/tags")
    return {name: date for name, _, date in (line.partition(" ") for line in out.splitlines())}


@pytest.fixture
def pinned(repo, monkeypatch):
    """A repository where every command runs with the same GIT_COMMITTER_DATE (one second, pinned)."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH} +0200")
    return repo


# -- what tagreg writes ----------------------------------------------------------------------


def test_events_written_in_one_second_are_dated_one_after_another(pinned):
    ok(pinned, "register", "m")
    ok(pinned, "assign", "m", "--version", "v0.0.1", "--stage", "prod")
    ok(pinned, "deprecate", "m", "v0.0.1", "prod")
    assert dates(pinned) == {"m@v0.0.1": f"{EPOCH} +0200", "m#prod#1": f"{EPOCH + 1} +0200",
                             "m#prod!#2": f"{EPOCH + 2} +0200"}  # the user's offset is kept
    assert ok(pinned, "which", "m", "prod") == ""
    history = json.loads(ok(pinned, "history", "m", "--json"))
    assert [e["ref"] for e in history] == ["m#prod!#2", "m#prod#1", "m@v0.0.1"]


def test_register_then_deprecate_in_one_second_deprecates(pinned):
    ok(pinned, "register", "m")
    ok(pinned, "deprecate", "m")
    assert dates(pinned)["m@deprecated"] == f"{EPOCH + 1} +0200"
    assert ok(pinned, "show", "--json") == "{}\n"
    assert json.loads(ok(pinned, "show", "-d", "--json"))["m"]["active"] is False
    again = pinned.run("deprecate", "m")
    assert again.returncode == 1 and again.stderr == "❌ Artifact was deprecated already\n"


def test_one_command_writing_two_tags_dates_them_apart(pinned):
    ok(pinned, "assign", "m", "--stage", "prod")  # registers HEAD first
    assert dates(pinned) == {"m@v0.0.1": f"{EPOCH} +0200", "m#prod#1": f"{EPOCH + 1} +0200"}


def test_a_date_the_user_gives_after_the_newest_event_is_kept(pinned, monkeypatch):
    ok(pinned, "register", "m")
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH + 3600} -0500")
    ok(pinned, "assign", "m", "--version", "v0.0.1", "--stage", "prod")
    assert dates(pinned)["m#prod#1"] == f"{EPOCH + 3600} -0500"


def test_a_newest_event_ahead_of_the_clock_dates_the_next_write_after_it(repo, monkeypatch):
    future = int(time.time()) + 86400  # a tagger whose clock is a day ahead
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{future} +0000")
    repo.tag("m@v0.0.1", "HEAD", "Registering artifact m version v0.0.1")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    ok(repo, "assign", "m", "--version", "v0.0.1", "--stage", "prod")
    assert dates(repo)["m#prod#1"].split()[0] == str(future + 1)
    assert ok(repo, "which", "m", "prod") == "v0.0.1\n"


def test_without_a_tie_the_date_is_now(repo, monkeypatch):
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH} +0000")
    repo.tag("m@v0.0.1", "HEAD", "Registering artifact m version v0.0.1")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    before = int(time.time())
    ok(repo, "assign", "m", "--version", "v0.0.1", "--stage", "prod")
    assert before <= int(dates(repo)["m#prod#1"].split()[0]) <= int(time.time())


def test_only_the_artifacts_own_events_count(pinned, monkeypatch):
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH + 500} +0000")
    pinned.tag("other@v0.0.1", "HEAD", "Registering artifact other version v0.0.1")
    pinned.tag("m2@v0.0.1", "HEAD", "Registering artifact m2 version v0.0.1")  # a name m is a prefix of
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH} +0200")
    ok(pinned, "register", "m")
    assert dates(pinned)["m@v0.0.1"] == f"{EPOCH} +0200"


# -- ties written by others: the counter orders them -------------------------------------------

C1, C2 = "1" * 40, "2" * 40


def registry(*specs: tuple[str, str]) -> S.Registry:
    """The registry of annotated tags (name, commit) all dated in one second, listed as git lists
    them (by name)."""
    infos = [S.TagInfo(tag, True, commit, f"{i:040x}", "T", "t@example.com", EPOCH, "+0000", "hand-made")
             for i, (tag, commit) in enumerate(sorted(specs))]
    return S.build(infos)


def winners(reg: S.Registry, stage: str = "prod") -> list[str]:
    return [v.version for v in S.stage_winners(reg.artifacts["m"]).get(stage, [])]


def test_an_unassignment_after_an_assignment_in_one_second_empties_the_stage():
    reg = registry(("m@v0.0.1", C1), ("m#prod#1", C1), ("m#prod!#2", C1))  # `m#prod!#2` is listed first
    assert winners(reg) == []
    assert [e.tag for e in reg.history("m")] == ["m#prod!#2", "m#prod#1", "m@v0.0.1"]


def test_an_assignment_after_an_unassignment_in_one_second_assigns():
    reg = registry(("m@v0.0.1", C1), ("m#prod!#1", C1), ("m#prod#2", C1))  # GTO: the unassignment wins
    assert winners(reg) == ["v0.0.1"]
    assert [e.tag for e in reg.history("m", ascending=True)] == ["m@v0.0.1", "m#prod!#1", "m#prod#2"]


def test_the_higher_counter_wins_a_stage_not_the_tag_name_order():
    reg = registry(("m@v0.0.1", C1), ("m@v0.0.2", C2), ("m#prod#9", C1), ("m#prod#10", C2))
    assert winners(reg) == ["v0.0.2"]  # `m#prod#10` sorts before `m#prod#9`; GTO picks v0.0.1
    reg = registry(("m@v0.0.1", C1), ("m@v0.0.2", C2), ("m#prod#9", C2), ("m#prod#10", C1))
    assert winners(reg) == ["v0.0.1"]


def test_a_deregistration_with_the_higher_counter_deregisters():
    reg = registry(("m@v0.0.1#1", C1), ("m@v0.0.1!#2", C1))  # `m@v0.0.1!#2` is listed first
    assert not reg.artifacts["m"].versions[0].is_active
    reg = registry(("m@v0.0.1!#1", C1), ("m@v0.0.1#2", C1))  # registered again (GTO: deregistered)
    assert reg.artifacts["m"].versions[0].is_active


def test_a_counted_deprecation_after_a_counted_assignment_deprecates():
    assert not registry(("m@v0.0.1", C1), ("m#prod#1", C1), ("m@deprecated#2", C1)).artifacts["m"].is_active
    assert registry(("m@v0.0.1", C1), ("m@deprecated#1", C1), ("m#prod#2", C1)).artifacts["m"].is_active


def test_without_counters_ties_are_ordered_as_gto_orders_them():
    assert registry(("m@v0.0.1", C1), ("m@deprecated", C1)).artifacts["m"].is_active  # version events win
    assert not registry(("m@v0.0.1", C1), ("m@v0.0.1!", C1)).artifacts["m"].versions[0].is_active
    reg = registry(("m@v0.0.1", C1), ("m#prod", C1), ("m#prod!", C1))
    assert winners(reg) == []  # an unassignment wins a tie with an assignment
    reg = registry(("m@v0.0.1", C1), ("m@v0.0.2", C2))
    assert [e.tag for e in reg.history("m", ascending=True)] == ["m@v0.0.2", "m@v0.0.1"]  # GTO's order
    # a tie between a counted and an uncounted assignment of two versions: GTO's (the first version)
    reg = registry(("m@v0.0.1", C1), ("m@v0.0.2", C2), ("m#prod", C2), ("m#prod#1", C1))
    assert winners(reg) == ["v0.0.1"]


def test_counters_of_different_artifacts_are_not_compared():
    reg = registry(("a@v0.0.1", C1), ("a#prod#2", C1), ("b@v0.0.1", C1), ("b#prod#1", C1))
    assert [e.tag for e in reg.history(ascending=True)] == ["a@v0.0.1", "b@v0.0.1", "a#prod#2", "b#prod#1"]
