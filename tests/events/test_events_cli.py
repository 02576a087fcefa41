"""`tagreg events [--since ID|DATE] [--json]`: every event, oldest first, each with a stable id."""

from __future__ import annotations

import json

import pytest

from .support import EPOCH, EVENT_KEYS, git, run_many, run_tagreg


def iso(minutes: int) -> str:
    return f"2026-01-01T00:{minutes:02d}:00+00:00"


@pytest.fixture
def evreg(reg):
    """churn: every event kind (00:03 … 00:09, one a minute), plain@v1.0.0 with no annotation (00:10),
    a link lnk@v0.0.1 (00:11), a release tag and a lightweight tag (not events)."""
    reg.annotate({
        "churn": {"type": "model", "path": "models/churn.pkl", "description": "churn\nmodel", "labels": ["tabular"]},
        "lnk": {"type": "model", "path": "w.bin", "repo": "https://example.com/w.git", "rev": "v2"},
    }, {"models/churn.pkl": "bytes\n"})  # 00:02
    reg.first = reg.head()
    reg.kinds = reg.every_kind("churn")
    reg.second = reg.head()
    reg.registered("plain", "v1.0.0")
    reg.registered("lnk", "v0.0.1")
    reg.tag("v1.0.0", message="release")
    git(reg.path, "tag", "light@v1.0.0")
    return reg


ORDER = ["churn@v0.0.1", "churn@v0.0.2", "churn#prod#1", "churn#prod!#2", "churn@v0.0.2!", "churn@deprecated",
         "plain@v1.0.0", "lnk@v0.0.1"]


def test_json_schema_and_values(evreg):
    events = evreg.events()
    assert [e["tag"] for e in events] == ORDER, "oldest first; foreign and lightweight tags are not events"
    for e in events:
        assert list(e) == EVENT_KEYS, e["tag"]
        assert isinstance(e["id"], str) and e["id"]
        assert e["repo"] == str(evreg.path.resolve())
        assert (e["author"], e["author_email"], e["deleted"]) == ("Tester", "t@example.com", False)
        assert e["commit"] == evreg.git("rev-parse", e["tag"] + "^{commit}").strip()
        assert e["message"] == evreg.git("tag", "-l", "--format=%(contents:subject)", e["tag"]).strip()
    by_tag = {e["tag"]: e for e in events}
    churn_note = {"type": "model", "path": "models/churn.pkl", "description": "churn\nmodel", "labels": ["tabular"]}
    want = {
        "churn@v0.0.1": ("registration", "churn", "v0.0.1", None, 3),
        "churn@v0.0.2": ("registration", "churn", "v0.0.2", None, 5),
        "churn#prod#1": ("assignment", "churn", "v0.0.1", "prod", 6),
        "churn#prod!#2": ("unassignment", "churn", "v0.0.1", "prod", 7),
        "churn@v0.0.2!": ("deregistration", "churn", "v0.0.2", None, 8),
        "churn@deprecated": ("deprecation", "churn", None, None, 9),
        "plain@v1.0.0": ("registration", "plain", "v1.0.0", None, 10),
        "lnk@v0.0.1": ("registration", "lnk", "v0.0.1", None, 11),
    }
    for tag, (event, name, version, stage, minute) in want.items():
        e = by_tag[tag]
        assert (e["event"], e["name"], e["version"], e["stage"], e["created_at"]) == \
               (event, name, version, stage, iso(minute)), tag
    for tag in ORDER[:6]:
        assert by_tag[tag]["annotation"] == churn_note, tag
    assert by_tag["plain@v1.0.0"]["annotation"] is None
    assert by_tag["lnk@v0.0.1"]["annotation"] == {"type": "model", "path": "w.bin", "description": "",
                                                  "labels": [], "repo": "https://example.com/w.git", "rev": "v2"}
    assert by_tag["churn#prod#1"]["commit"] == evreg.first
    assert by_tag["churn@v0.0.2"]["commit"] == evreg.second


def test_ids_are_stable_across_runs_and_clones(evreg, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(evreg.path), str(clone))
    mirror_url = f"file://{evreg.path}"
    first, again, cloned, remote = run_many(evreg.path, [
        (("events", "--json"), None), (("events", "--json"), None),
        (("events", "--json", "--repo", str(clone)), None), (("events", "--json", "--repo", mirror_url), None)])
    for result in (first, again, cloned, remote):
        assert result.returncode == 0, result.stderr
    ids = [(e["tag"], e["id"]) for e in json.loads(first.stdout)]
    assert len({i for _, i in ids}) == len(ids) == len(ORDER), "one distinct id per event"
    assert [(e["tag"], e["id"]) for e in json.loads(again.stdout)] == ids
    assert [(e["tag"], e["id"]) for e in json.loads(cloned.stdout)] == ids
    assert [(e["tag"], e["id"]) for e in json.loads(remote.stdout)] == ids
    # the same events apart from where they were read
    def strip(text):
        return [{k: v for k, v in e.items() if k != "repo"} for e in json.loads(text)]
    assert strip(cloned.stdout) == strip(first.stdout) == strip(remote.stdout)


def test_a_tag_made_again_is_a_new_event(evreg):
    before = {e["tag"]: e["id"] for e in evreg.events()}
    evreg.git("tag", "-d", "plain@v1.0.0")
    evreg.registered("plain", "v1.0.0")  # same name, new tag object (a minute later)
    after = {e["tag"]: e["id"] for e in evreg.events()}
    assert after["plain@v1.0.0"] != before["plain@v1.0.0"]
    assert {t: i for t, i in after.items() if t != "plain@v1.0.0"} == \
           {t: i for t, i in before.items() if t != "plain@v1.0.0"}


def test_since_an_event_id(evreg):
    events = evreg.events()
    ids = [e["id"] for e in events]
    calls = [(("events", "--json", "--since", ids[i]), None) for i in (0, 3, len(ids) - 1)]
    calls.append((("events", "--since", ids[5]), None))  # the table
    calls.append((("events", "--json", "--since", "0123456789abcdef0123"), None))
    first, middle, last, table, unknown = run_many(evreg.path, calls)
    assert [e["id"] for e in json.loads(first.stdout)] == ids[1:]
    assert [e["id"] for e in json.loads(middle.stdout)] == ids[4:]
    assert json.loads(last.stdout) == []
    assert table.returncode == 0
    assert [line.split()[1] for line in table.stdout.splitlines() if line.startswith("│")][1:] == ids[6:], \
        table.stdout
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert len(unknown.stderr.splitlines()) == 1 and "Traceback" not in unknown.stderr


@pytest.mark.parametrize("since, first_tag", [
    ("2026-01-01T00:05:00", "churn#prod#1"),          # naive: UTC; strictly after
    ("2026-01-01T00:05:30Z", "churn#prod#1"),
    ("2026-01-01T02:07:00+02:00", "churn@v0.0.2!"),   # 00:07 UTC
    ("2025-12-31T23:00:00-01:00", "churn@v0.0.1"),    # 00:00 UTC: everything
    ("2026-01-01", "churn@v0.0.1"),
    ("2026-01-01T00:11:00", None),                    # the newest event is at 00:11: nothing after
])
def test_since_a_date(evreg, since, first_tag):
    events = evreg.events("--since", since)
    if first_tag is None:
        assert events == []
    else:
        assert [e["tag"] for e in events] == ORDER[ORDER.index(first_tag):]


def test_json_is_what_the_help_says(evreg):
    """One JSON array of event objects, as `history --json` and `show --json` print one document;
    the help says so (it said "one object per event", read as one object a line)."""
    helped = " ".join(evreg.ok("events", "--help").split())
    assert "--json Print a JSON array of the events (each in the webhook schema)." in helped, helped
    printed = evreg.ok("events", "--json")
    events = json.loads(printed)
    assert isinstance(events, list) and [e["tag"] for e in events] == ORDER
    assert all(list(e) == EVENT_KEYS for e in events)


def test_events_of_an_empty_registry(repo):
    result = run_tagreg(repo.path, "events", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_dates_come_from_the_tagger_with_its_offset(reg):
    reg.annotate({"m": {"type": "model"}})
    reg.monkeypatch.setenv("GIT_COMMITTER_DATE", f"{EPOCH + 3600} +0530")
    reg.git("tag", "-a", "m@v1.0.0", "-m", "Registering artifact m version v1.0.0")
    (event,) = reg.events()
    assert event["created_at"] == "2026-01-01T06:30:00+05:30"
    assert reg.events("--since", "2026-01-01T00:59:59Z") == [event]
    assert reg.events("--since", "2026-01-01T01:00:00Z") == []
