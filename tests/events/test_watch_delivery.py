"""`tagreg watch`: what it delivers. Every event kind from a local registry and from a `git daemon`
remote, deleted tags, filters, command targets, and the first start (seen, not delivered, unless
--replay). The watcher runs as a subprocess, like a service; a real HTTP receiver gets the POSTs."""

from __future__ import annotations

import json
import sys

from .support import EVENT_KEYS, make_registry, run_tagreg, wait_for, wait_polls, write_config


def without_repo(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "repo"}


def annotate_churn(reg):
    reg.annotate({"churn": {"type": "model", "path": "models/churn.pkl", "description": "the churn model"},
                  "old": {"type": "dataset"}}, {"models/churn.pkl": "bytes\n"})


def test_every_event_kind_from_a_local_registry_then_a_deleted_tag(reg, receiver, watchers, tmp_path):
    annotate_churn(reg)
    reg.registered("old", "v1.0.0")  # history before the first start: recorded as seen, not delivered
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/hook")}])
    w = watchers(tmp_path, config)
    w.wait_output("1 existing events recorded as seen")

    kinds = reg.every_kind("churn")
    expected = {e["tag"]: e for e in reg.events() if e["name"] == "churn"}
    assert len(expected) == 6 and set(kinds.values()) <= set(expected)
    wait_for(lambda: len(receiver.events()) >= 6, what="six events delivered")
    delivered = receiver.events()
    assert [e["tag"] for e in delivered] == list(expected), "each event once, oldest first"
    for event in delivered:
        assert list(event) == EVENT_KEYS
        assert event["repo"] == str(reg.path), "repo is the path as configured"
        assert without_repo(event) == without_repo(expected[event["tag"]])
    assert {e["event"] for e in delivered} == {"registration", "deregistration", "assignment", "unassignment",
                                                "deprecation"}
    for request in receiver.snapshot():
        assert request["headers"]["content-type"] == "application/json"
        assert request["path"] == "/hook"

    # a deleted tag is delivered again, marked deleted, with the same id
    reg.git("tag", "-d", kinds["assignment"])
    wait_for(lambda: len(receiver.events()) >= 7, what="the deletion delivered")
    gone = receiver.events()[6]
    assert gone == {**delivered[[e["tag"] for e in delivered].index(kinds["assignment"])], "deleted": True}
    assert w.stop() == 0, w.stderr
    assert len(receiver.events()) == 7
    assert "Traceback" not in w.stderr


def test_every_event_kind_from_a_git_daemon_remote(remote_reg, receiver, watchers, tmp_path):
    reg = remote_reg
    annotate_churn(reg)
    reg.git("push", "-q", "origin", "HEAD:refs/heads/main")
    config = write_config(tmp_path / "watch.yaml", [{"url": reg.url}], [{"url": receiver.url("/remote")}])
    w = watchers(tmp_path, config)
    w.wait_output("0 existing events recorded as seen")

    reg.every_kind("churn")
    # --atomic: the remote never shows half of the push (see the next test for a plain push)
    reg.git("push", "-q", "--atomic", "origin", "HEAD:refs/heads/main", "--tags")
    result = run_tagreg(tmp_path, "events", "--repo", reg.url, "--json")
    assert result.returncode == 0, result.stderr
    expected = json.loads(result.stdout)
    assert len(expected) == 6
    wait_for(lambda: len(receiver.events()) >= 6, what="six events from the remote")
    delivered = receiver.events()
    assert delivered == expected, "the same events (and ids, and repo URL) as `tagreg events --repo URL`"
    assert {e["repo"] for e in delivered} == {reg.url}
    local = {e["id"] for e in reg.events()}
    assert {e["id"] for e in delivered} == local, "ids are the same in the clone and through the mirror"

    reg.git("push", "-q", "origin", ":refs/tags/churn@deprecated")
    wait_for(lambda: len(receiver.events()) >= 7, what="the remote deletion delivered")
    gone = receiver.events()[6]
    assert gone == {**next(e for e in expected if e["tag"] == "churn@deprecated"), "deleted": True}
    assert w.stop() == 0
    assert "Traceback" not in w.stderr


SLOW_REF_UPDATES = """#!/bin/sh
# the remote takes its time to update each ref of a push, as a busy Git host does
cat >/dev/null
if [ "$1" = prepared ]; then sleep 1.5; fi
"""


def test_one_push_of_a_registration_and_an_assignment_is_delivered_as_pushed(
        remote_reg, daemon, receiver, watchers, tmp_path):
    """`tagreg assign` on a new commit makes churn@v0.0.1 and churn#prod#1; `git push --tags` sends both
    in one push. The remote updates the refs one at a time, in name order (`#` sorts before `@`: the
    assignment lands first), so a poll can fall between them. The assignment must still reach the
    receiver with version v0.0.1 (as `tagreg events` reports it once the push is done), not with the
    commit hash of an unregistered commit: a deploy hook acting on it would deploy the wrong thing."""
    reg = remote_reg
    annotate_churn(reg)
    reg.git("push", "-q", "origin", "HEAD:refs/heads/main")
    hook = daemon.base / "reg.git" / "hooks" / "reference-transaction"
    hook.write_text(SLOW_REF_UPDATES)
    hook.chmod(0o755)
    config = write_config(tmp_path / "watch.yaml", [{"url": reg.url}], [{"url": receiver.url("/")}], interval=0.2)
    w = watchers(tmp_path, config)
    w.wait_output("0 existing events recorded as seen")

    reg.ok("assign", "churn", "--stage", "prod")
    reg.git("push", "-q", "origin", "--tags")
    final = json.loads(run_tagreg(tmp_path, "events", "--repo", reg.url, "--json").stdout)
    assert [(e["tag"], e["version"]) for e in final] == [("churn@v0.0.1", "v0.0.1"), ("churn#prod#1", "v0.0.1")]
    wait_for(lambda: len(receiver.events()) >= 2, what="both events delivered")
    wait_polls(tmp_path, config)  # nothing else may come
    delivered = receiver.events()
    assert sorted(delivered, key=lambda e: e["tag"]) == sorted(final, key=lambda e: e["tag"]), \
        [(e["tag"], e["version"]) for e in delivered]
    w.stop()


def test_filters_by_name_event_stage_and_repo(reg, receiver, tmp_path, monkeypatch):
    alpha = reg
    annotate_churn(alpha)
    alpha.every_kind("churn")
    alpha.registered("old", "v1.0.0")
    alpha.assigned("old", "staging", 1, "v1.0.0")
    beta = make_registry(tmp_path / "beta", monkeypatch, alpha.now)
    beta.annotate({"churn-eu": {"type": "model"}, "fraud": {"type": "model"}})
    beta.registered("churn-eu", "v1.0.0")
    beta.assigned("churn-eu", "prod", 1, "v1.0.0")
    beta.registered("fraud", "v2.0.0")
    beta.assigned("fraud", "prod", 1, "v2.0.0")
    beta.deprecated("fraud")
    targets = [
        {"url": receiver.url("/all")},
        {"url": receiver.url("/names"), "filter": {"names": ["churn*"]}},
        {"url": receiver.url("/events"), "filter": {"events": ["assignment", "deprecation"]}},
        {"url": receiver.url("/stages"), "filter": {"stages": ["prod"]}},
        {"url": receiver.url("/repos"), "filter": {"repos": ["be*"]}},
        {"url": receiver.url("/combo"), "filter": {"names": ["churn"], "events": ["assignment"], "stages": ["prod"],
                                                   "repos": ["alpha"]}},
    ]
    config = write_config(tmp_path / "watch.yaml", [{"path": str(alpha.path), "name": "alpha"},
                                                    {"path": str(beta.path), "name": "beta"}], targets)
    result = run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once")
    assert result.returncode == 0, result.stderr

    def tags(path):
        return sorted(f"{e['repo']}:{e['tag']}" for e in receiver.events(path))

    everything = [f"alpha:{e['tag']}" for e in alpha.events()] + [f"beta:{e['tag']}" for e in beta.events()]
    assert tags("/all") == sorted(everything) and len(everything) == 13
    assert tags("/names") == sorted(t for t in everything if t.split(":")[1].startswith("churn"))
    assert tags("/events") == sorted([
        "alpha:churn#prod#1", "alpha:churn@deprecated", "alpha:old#staging#1",
        "beta:churn-eu#prod#1", "beta:fraud#prod#1", "beta:fraud@deprecated"])
    assert tags("/stages") == sorted(["alpha:churn#prod#1", "alpha:churn#prod!#2", "beta:churn-eu#prod#1",
                                      "beta:fraud#prod#1"])
    assert tags("/repos") == sorted(t for t in everything if t.startswith("beta:"))
    assert tags("/combo") == ["alpha:churn#prod#1"]


COMMAND = """
import json, os, sys, pathlib
out = pathlib.Path(sys.argv[1])
event = json.loads(sys.stdin.read())
env = {k: v for k, v in os.environ.items() if k.startswith("TAGREG_")}
n = len(list(out.iterdir()))
(out / f"{n:03d}.json").write_text(json.dumps({"stdin": event, "env": env, "args": sys.argv[2:]}))
"""


def test_command_target_gets_json_on_stdin_and_tagreg_variables(reg, tmp_path):
    annotate_churn(reg)
    reg.every_kind("churn")
    script = tmp_path / "hook.py"
    script.write_text(COMMAND)
    out = tmp_path / "calls"
    out.mkdir()
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path), "name": "models"}],
                          [{"command": [sys.executable, str(script), str(out), "--an arg"]}])
    result = run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once")
    assert result.returncode == 0, result.stderr
    calls = [json.loads(p.read_text()) for p in sorted(out.iterdir())]
    expected = reg.events()
    assert len(calls) == len(expected) == 6, "one run per event"
    for call, event in zip(calls, expected):
        assert call["args"] == ["--an arg"]
        assert call["stdin"] == {**event, "repo": "models"}
        env = call["env"]
        assert env["TAGREG_ID"] == event["id"]
        assert env["TAGREG_REPO"] == "models"
        assert env["TAGREG_TAG"] == event["tag"]
        assert env["TAGREG_EVENT"] == event["event"]
        assert env["TAGREG_NAME"] == "churn"
        assert env["TAGREG_VERSION"] == (event["version"] or "")
        assert env["TAGREG_STAGE"] == (event["stage"] or "")
        assert env["TAGREG_COMMIT"] == event["commit"]
        assert env["TAGREG_AUTHOR"] == "Tester" and env["TAGREG_AUTHOR_EMAIL"] == "t@example.com"
        assert env["TAGREG_CREATED_AT"] == event["created_at"]
        assert env["TAGREG_MESSAGE"] == event["message"]
        assert env["TAGREG_DELETED"] == "false"
        assert json.loads(env["TAGREG_ANNOTATION"]) == event["annotation"]


FLAKY_COMMAND = """
import pathlib, sys
marker = pathlib.Path(sys.argv[1])
if not marker.exists():
    marker.write_text("failed once")
    print("deploy service unavailable", file=sys.stderr)
    sys.exit(3)
pathlib.Path(sys.argv[2]).write_text(sys.stdin.read())
"""


def test_a_failing_command_is_retried_and_its_error_shown(reg, tmp_path):
    annotate_churn(reg)
    reg.registered("churn", "v0.0.1")
    script = tmp_path / "flaky.py"
    script.write_text(FLAKY_COMMAND)
    done = tmp_path / "done.json"
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}],
                          [{"command": [sys.executable, str(script), str(tmp_path / "marker"), str(done)]}],
                          delivery={"backoff": 0, "max_attempts": 3})
    first = run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once")
    assert first.returncode == 0, first.stderr
    assert not done.exists()
    assert "exit code 3" in first.stderr and "deploy service unavailable" in first.stderr
    pending = json.loads(run_tagreg(tmp_path, "watch", "--config", str(config), "status", "--json").stdout)
    assert list(pending["targets"].values()) == [{"pending": 1}]
    second = run_tagreg(tmp_path, "watch", "--config", str(config), "--once")
    assert second.returncode == 0, second.stderr
    assert json.loads(done.read_text())["tag"] == "churn@v0.0.1"


def test_first_start_records_history_as_seen_unless_replay(reg, receiver, tmp_path):
    annotate_churn(reg)
    reg.registered("churn", "v0.0.1")
    reg.assigned("churn", "prod", 1, "v0.0.1")
    reg.registered("old", "v1.0.0")
    repos = [{"path": str(reg.path)}]
    quiet = write_config(tmp_path / "quiet.yaml", repos, [{"url": receiver.url("/quiet")}],
                         state=tmp_path / "quiet.sqlite")
    replay = write_config(tmp_path / "replay.yaml", repos, [{"url": receiver.url("/replay")}],
                          state=tmp_path / "replay.sqlite")
    first = run_tagreg(tmp_path, "watch", "--config", str(quiet), "--once")
    assert first.returncode == 0, first.stderr
    assert "3 existing events recorded as seen" in first.stderr
    assert receiver.snapshot() == [], "no flood of old events on a first start"
    replayed = run_tagreg(tmp_path, "watch", "--config", str(replay), "--replay", "--once")
    assert replayed.returncode == 0, replayed.stderr
    assert [e["tag"] for e in receiver.events("/replay")] == ["churn@v0.0.1", "churn#prod#1", "old@v1.0.0"]

    reg.deprecated("old")
    for config in (quiet, replay):  # --replay only matters on a first start
        again = run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once")
        assert again.returncode == 0, again.stderr
    assert [e["tag"] for e in receiver.events("/quiet")] == ["old@deprecated"]
    assert [e["tag"] for e in receiver.events("/replay")] == ["churn@v0.0.1", "churn#prod#1", "old@v1.0.0",
                                                             "old@deprecated"]


def test_once_exits_1_naming_each_unreadable_repository_and_still_delivers_the_others(reg, receiver, tmp_path):
    annotate_churn(reg)
    not_a_repo = tmp_path / "plain-folder"
    not_a_repo.mkdir()
    repos = [{"path": str(tmp_path / "missing")}, {"path": str(reg.path)}, {"path": str(not_a_repo)}]
    config = write_config(tmp_path / "watch.yaml", repos, [{"url": receiver.url("/")}])
    first = run_tagreg(tmp_path, "watch", "--config", str(config), "--once")
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    unreadable = [line for line in first.stderr.splitlines() if line.startswith("cannot read")]
    assert len(unreadable) == 2, first.stderr
    assert str(tmp_path / "missing") in unreadable[0] and str(not_a_repo) in unreadable[1]
    assert "0 existing events recorded as seen" in first.stderr, "the readable one is still polled"

    reg.registered("churn", "v0.0.1")
    second = run_tagreg(tmp_path, "watch", "--config", str(config), "--once")
    assert second.returncode == 1
    assert [e["tag"] for e in receiver.events()] == ["churn@v0.0.1"], "the readable one is still delivered"

    only_good = write_config(tmp_path / "good.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                             state=tmp_path / "watch.sqlite")
    assert run_tagreg(tmp_path, "watch", "--config", str(only_good), "--once").returncode == 0
