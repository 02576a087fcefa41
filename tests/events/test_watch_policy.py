"""`tagreg watch` under a policy: an event the policy refuses (pushed by hand around it) is never
delivered, as no other reader acts on it; the policy on the repository's main decides. The watcher
polls a real repository and a real HTTP receiver gets the POSTs."""

from __future__ import annotations

from .support import run_tagreg, write_config

POLICY = "stages:\n  prod:\n    who: [alice@example.com]\n"


def by(reg, monkeypatch, who: str, name: str, message: str) -> str:
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", f"{who}@example.com")
    return reg.tag(name, message=message)


def test_a_refused_event_is_never_delivered(reg, receiver, tmp_path, monkeypatch):
    reg.annotate({"churn": {"type": "model", "path": "churn.pkl"}}, {".tagreg/policy.yaml": POLICY, "churn.pkl": "1"})
    by(reg, monkeypatch, "bob", "churn@v0.0.1", "Registering artifact churn version v0.0.1")
    by(reg, monkeypatch, "alice", "churn#prod#1", "Assigning stage prod to artifact churn version v0.0.1")
    by(reg, monkeypatch, "mallory", "churn#prod#2", "Assigning stage prod to artifact churn version v0.0.1")
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/hook")}])
    first = run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once")
    assert first.returncode == 0 and "Traceback" not in first.stderr, first.stderr
    assert [e["tag"] for e in receiver.events()] == ["churn@v0.0.1", "churn#prod#1"]

    by(reg, monkeypatch, "mallory", "churn#prod#3", "Assigning stage prod to artifact churn version v0.0.1")
    by(reg, monkeypatch, "alice", "churn#prod!#4", "Unassigning stage 'prod' to artifact 'churn' version 'v0.0.1'")
    again = run_tagreg(tmp_path, "watch", "--config", str(config), "--once")
    assert again.returncode == 0, again.stderr
    assert [e["tag"] for e in receiver.events()] == ["churn@v0.0.1", "churn#prod#1", "churn#prod!#4"]
