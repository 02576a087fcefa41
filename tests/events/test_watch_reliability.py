"""`tagreg watch`: how it delivers. Retries with backoff, dead letters and --retry-dead, `kill -9` in
the middle of a delivery, 1,000 tags in one push, HMAC signatures, credentials in a target URL, and
the `--listen` push endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter

from .support import EPOCH, free_port, run_tagreg, wait_for, wait_polls, write_config


def status(tmp_path, config, *args: str) -> dict:
    result = run_tagreg(tmp_path, "watch", "--config", str(config), "status", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def small_registry(reg, n: int = 3) -> list[str]:
    """n registrations of churn (one a commit)."""
    reg.annotate({"churn": {"type": "model", "path": "churn.pkl"}}, {"churn.pkl": "x\n"})
    tags = []
    for i in range(n):
        if i:
            reg.commit(f"c{i}")
        tags.append(reg.registered("churn", f"v0.0.{i + 1}"))
    return tags


# -- retries ------------------------------------------------------------------------------------


def test_a_receiver_that_fails_then_recovers_gets_the_events_after_backoff(reg, receiver, watchers, tmp_path):
    tags = small_registry(reg, 2)
    receiver.fail_next = 3
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                          delivery={"backoff": 0.1, "max_attempts": 8})
    w = watchers(tmp_path, config, "--replay")
    wait_for(lambda: receiver.events(), what="a delivery accepted after three failures")
    requests = receiver.snapshot()
    assert [r["status"] for r in requests] == [500, 500, 500, 200]
    for r in requests:  # the same batch every time
        assert [e["tag"] for e in json.loads(r["body"])["events"]] == tags
    gaps = [b["received"] - a["received"] for a, b in itertools.pairwise(requests)]
    for gap, backoff in zip(gaps, [0.1, 0.2, 0.4]):  # exponential: backoff × 2ⁿ
        assert gap >= backoff * 0.9, gaps
    assert "will retry" in w.stderr
    wait_polls(tmp_path, config)
    assert len(receiver.snapshot()) == 4, "acknowledged: not sent again"
    state = status(tmp_path, config)
    assert state["targets"] == {receiver.url("/"): {"delivered": 2}}
    assert state["dead"] == []
    assert w.stop() == 0


def test_a_receiver_that_never_recovers_gives_dead_letters_then_retry_dead(reg, receiver, watchers, tmp_path):
    tags = small_registry(reg, 2)
    receiver.fail_always = True
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                          delivery={"backoff": 0.05, "max_attempts": 3})
    w = watchers(tmp_path, config, "--replay")
    wait_for(lambda: len(receiver.snapshot()) >= 3, what="three attempts")
    wait_polls(tmp_path, config)
    assert len(receiver.snapshot()) == 3, "no more attempts after max_attempts"
    state = status(tmp_path, config)
    assert state["targets"] == {receiver.url("/"): {"dead": 2}}
    assert sorted(d["event"]["tag"] for d in state["dead"]) == sorted(tags)
    assert all(d["attempts"] == 3 and "500" in d["error"] for d in state["dead"])
    text = run_tagreg(tmp_path, "watch", "--config", str(config), "status")
    assert text.returncode == 0
    assert "dead letters:" in text.stdout and all(t in text.stdout for t in tags)

    receiver.fail_always = False
    retried = run_tagreg(tmp_path, "watch", "--config", str(config), "status", "--retry-dead")
    assert retried.returncode == 0, retried.stderr
    assert "2 dead deliveries queued again" in retried.stdout
    wait_for(lambda: receiver.events(), what="the dead letters delivered after --retry-dead")
    assert sorted(e["tag"] for e in receiver.events()) == sorted(tags)
    state = status(tmp_path, config)
    assert state["targets"] == {receiver.url("/"): {"delivered": 2}} and state["dead"] == []
    assert w.stop() == 0


def test_retry_dead_with_the_watcher_stopped_then_once(reg, receiver, tmp_path):
    small_registry(reg, 1)
    receiver.fail_always = True
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                          delivery={"backoff": 0, "max_attempts": 1})
    assert run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once").returncode == 0
    assert len(status(tmp_path, config)["dead"]) == 1
    receiver.fail_always = False
    assert run_tagreg(tmp_path, "watch", "--config", str(config), "--once").returncode == 0
    assert receiver.events() == [], "a dead letter is not retried on its own"
    retried = run_tagreg(tmp_path, "watch", "--config", str(config), "status", "--retry-dead")
    assert retried.returncode == 0 and "1 dead delivery queued again" in retried.stdout
    assert run_tagreg(tmp_path, "watch", "--config", str(config), "--once").returncode == 0
    assert [e["tag"] for e in receiver.events()] == ["churn@v0.0.1"]
    assert status(tmp_path, config)["targets"] == {receiver.url("/"): {"delivered": 1}}


def test_status_retry_dead_json_prints_only_json(reg, receiver, tmp_path):
    """`watch status --retry-dead --json`: a script reads stdout as JSON (the requeued count belongs
    in it, or on stderr), like every other --json output."""
    small_registry(reg, 1)
    receiver.fail_always = True
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                          delivery={"backoff": 0, "max_attempts": 1})
    assert run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once").returncode == 0
    result = run_tagreg(tmp_path, "watch", "--config", str(config), "status", "--retry-dead", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["dead"] == [] and data["targets"] == {receiver.url("/"): {"pending": 1}}


# -- kill -9 ------------------------------------------------------------------------------------


def test_kill_9_in_the_middle_of_a_delivery_loses_nothing_and_replays_nothing_acknowledged(
        reg, receiver, watchers, tmp_path):
    tags = small_registry(reg, 6)
    ids = {e["id"] for e in reg.events()}
    receiver.delay, receiver.delay_from = 5.0, 2  # from the third POST on, the receiver takes its time
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                          delivery={"batch": 1, "backoff": 0.1})
    w = watchers(tmp_path, config, "--replay")
    # the third POST is in flight: the first two were answered (the watcher only sends the next one
    # after recording the previous as delivered)
    wait_for(lambda: len(receiver.snapshot()) >= 3, what="the third delivery in flight")
    w.kill9()  # the receiver holds its answer for 5 s: the kill lands inside the delivery
    before = receiver.snapshot()
    assert len(before) == 3
    acknowledged = {e["id"] for r in before[:2] for e in json.loads(r["body"])["events"]}
    in_flight = {e["id"] for e in json.loads(before[2]["body"])["events"]}
    assert len(acknowledged) == 2 and len(in_flight) == 1

    receiver.delay = 0
    w2 = watchers(tmp_path, config)  # no --replay: the outbox knows what is left
    wait_for(lambda: {e["id"] for e in receiver.events()} >= ids, what="every event after the restart")
    wait_polls(tmp_path, config)
    after = receiver.snapshot()[3:]
    resent = [e["id"] for r in after for e in json.loads(r["body"])["events"]]
    assert not acknowledged & set(resent), "events acknowledged before the kill were sent again"
    assert set(resent) == ids - acknowledged, "every event not acknowledged is delivered after the restart"
    assert len(resent) == len(set(resent)), "each at most once after the restart"
    counts = Counter(e["id"] for r in receiver.snapshot() for e in json.loads(r["body"])["events"])
    assert set(counts) == ids and len(tags) == len(ids) == 6
    assert all(n == 1 for i, n in counts.items() if i not in in_flight), "only the one in flight may repeat"
    assert w2.stop() == 0


# -- 1,000 tags in one push ---------------------------------------------------------------------


def test_1000_tags_pushed_at_once_are_delivered_exactly_once_in_batches(remote_reg, receiver, watchers, tmp_path):
    reg = remote_reg
    config = write_config(tmp_path / "watch.yaml", [{"url": reg.url}], [{"url": receiver.url("/")}],
                          interval=0.5, delivery={"batch": 100})
    w = watchers(tmp_path, config)
    w.wait_output("0 existing events recorded as seen")

    head = reg.head()
    stream = []
    for i in range(1000):
        message = f"Registering artifact m{i:04d} version v0.0.1"
        stream.append(f"tag m{i:04d}@v0.0.1\nfrom {head}\ntagger Tester <t@example.com> {EPOCH + 600 + i} +0000\n"
                      f"data {len(message)}\n{message}\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=reg.path, input="".join(stream).encode(), check=True)
    assert len(reg.git("tag", "--list").split()) == 1000
    reg.git("push", "-q", "origin", "--tags")

    wait_for(lambda: len(receiver.events()) >= 1000, timeout=90, what="1,000 events", step=0.2)
    wait_polls(tmp_path, config)  # nothing more may come
    requests = receiver.snapshot()
    delivered = receiver.events()
    ids = [e["id"] for e in delivered]
    assert len(ids) == 1000 and len(set(ids)) == 1000, "each of the 1,000 events exactly once"
    assert {e["tag"] for e in delivered} == {f"m{i:04d}@v0.0.1" for i in range(1000)}
    assert 10 <= len(requests) <= 60, f"batched: {len(requests)} POSTs"
    for r in requests:
        count = len(json.loads(r["body"])["events"])
        assert 1 <= count <= 100
        assert r["headers"]["x-tagreg-event-count"] == str(count)
    assert w.stop() == 0


# -- signatures ---------------------------------------------------------------------------------


def verified(secret: bytes, body: bytes, header: str) -> bool:
    """The README's recipe, verbatim."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


def test_signatures_verify_with_the_documented_recipe(reg, receiver, tmp_path):
    small_registry(reg, 2)
    targets = [{"url": receiver.url("/secret"), "secret": "topsecret"},
               {"url": receiver.url("/env"), "secret_env": "MY_HOOK_SECRET"},
               {"url": receiver.url("/plain")}]
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], targets)
    result = run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once",
                        env={"MY_HOOK_SECRET": "from-the-environment"})
    assert result.returncode == 0, result.stderr
    (signed,) = receiver.snapshot("/secret")
    header = signed["headers"]["x-tagreg-signature-256"]
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert verified(b"topsecret", signed["body"], header)
    assert not verified(b"wrong secret", signed["body"], header)
    assert not verified(b"topsecret", signed["body"] + b" ", header), "the body is covered"
    assert len(json.loads(signed["body"])["events"]) == 2
    (from_env,) = receiver.snapshot("/env")
    assert verified(b"from-the-environment", from_env["body"], from_env["headers"]["x-tagreg-signature-256"])
    assert not verified(b"topsecret", from_env["body"], from_env["headers"]["x-tagreg-signature-256"])
    (plain,) = receiver.snapshot("/plain")
    assert "x-tagreg-signature-256" not in plain["headers"]
    # secret_env that is not set: one clear line, exit 1
    missing = run_tagreg(tmp_path, "watch", "--config", str(config), "--once")
    assert missing.returncode == 1 and "MY_HOOK_SECRET" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1 and "Traceback" not in missing.stderr


def test_status_and_recover_need_no_secret_delivering_does(reg, receiver, tmp_path):
    """status and recover only read the outbox: an unset secret_env (hook or listen) is no error there."""
    small_registry(reg, 1)
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}],
                          [{"url": receiver.url("/env"), "secret_env": "MY_HOOK_SECRET"}],
                          listen={"port": free_port(), "secret_env": "MY_LISTEN_SECRET"})
    before = run_tagreg(tmp_path, "watch", "--config", str(config), "status")
    assert before.returncode == 0, before.stderr
    assert "the watcher has not run" in before.stdout
    ran = run_tagreg(tmp_path, "watch", "--config", str(config), "--replay", "--once",
                     env={"MY_HOOK_SECRET": "s1", "MY_LISTEN_SECRET": "s2"})
    assert ran.returncode == 0, ran.stderr
    assert status(tmp_path, config)["targets"] == {receiver.url("/env"): {"delivered": 1}}
    text = run_tagreg(tmp_path, "watch", "--config", str(config), "status", "--retry-dead")
    assert text.returncode == 0, text.stderr
    assert "0 dead deliveries queued again" in text.stdout
    recover = run_tagreg(tmp_path, "watch", "--config", str(config), "recover")
    assert recover.returncode == 0, recover.stderr
    assert "not corrupt" in recover.stdout
    deliver = run_tagreg(tmp_path, "watch", "--config", str(config), "--once", env={"MY_LISTEN_SECRET": "s2"})
    assert deliver.returncode == 1 and "MY_HOOK_SECRET" in deliver.stderr, "delivering still needs it"


# -- credentials --------------------------------------------------------------------------------


def test_credentials_in_a_target_url_are_sent_as_basic_auth_and_never_printed(reg, receiver, watchers, tmp_path):
    small_registry(reg, 2)
    closed = free_port()
    good = f"http://alice:pa55-XYZZY@127.0.0.1:{receiver.port}/creds"
    unreachable = f"http://bob:hunter2-PLUGH@127.0.0.1:{closed}/hook"
    receiver.fail_next = 1  # one failure, so the target shows up in an error line
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": good}, {"url": unreachable}],
                          delivery={"backoff": 0.05, "max_attempts": 2})
    w = watchers(tmp_path, config, "--replay")
    wait_for(lambda: receiver.events("/creds"), what="delivery with credentials")
    wait_for(lambda: len(status(tmp_path, config)["dead"]) == 2, what="the unreachable target's dead letters")
    assert w.stop() == 0
    request = receiver.snapshot("/creds")[-1]
    assert request["headers"]["authorization"] == "Basic " + base64.b64encode(b"alice:pa55-XYZZY").decode()
    outputs = [w.stdout, w.stderr]
    for args in (["status"], ["status", "--json"], ["status", "--retry-dead"], ["status"]):
        result = run_tagreg(tmp_path, "watch", "--config", str(config), *args)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    again = run_tagreg(tmp_path, "watch", "--config", str(config), "--once")  # fails again, prints the target
    outputs += [again.stdout, again.stderr]
    printed = "\n".join(outputs)
    assert "failed" in printed and f"127.0.0.1:{closed}" in printed, "the failing target is named"
    for secret in ("pa55-XYZZY", "hunter2-PLUGH", "alice:", "bob:"):
        assert secret not in printed, f"{secret} printed:\n{printed}"


def test_credentials_are_taken_out_of_an_ipv6_target_url_and_its_brackets_kept():
    from tagreg.events.targets import _basic_auth

    request = urllib.request.Request("http://alice:pa55@[::1]:8080/hook?x=1")
    _basic_auth(request, request.full_url)
    assert request.full_url == "http://[::1]:8080/hook?x=1"
    assert request.get_header("Authorization") == "Basic " + base64.b64encode(b"alice:pa55").decode()


# -- --listen -----------------------------------------------------------------------------------


def post(url: str, body: bytes = b"{}", headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_listen_a_push_webhook_makes_the_watcher_fetch_at_once(remote_reg, receiver, watchers, tmp_path):
    reg = remote_reg
    small_registry(reg, 1)
    reg.git("push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
    port = free_port()
    config = write_config(tmp_path / "watch.yaml", [{"url": reg.url, "interval": 3600}],
                          [{"url": receiver.url("/")}], interval=3600)
    w = watchers(tmp_path, config, "--listen", f"127.0.0.1:{port}")
    w.wait_output("1 existing events recorded as seen")
    assert f"127.0.0.1:{port}" in w.stderr

    reg.registered("churn", "v0.0.2")
    reg.git("push", "-q", "origin", "--tags")
    time.sleep(1.0)  # no poll is due to wait for: the absence of one for a while is the behaviour
    assert receiver.snapshot() == [], "the interval is an hour: nothing is fetched by itself"
    pushed = time.monotonic()
    assert post(f"http://127.0.0.1:{port}/", b'{"ref": "refs/tags/churn@v0.0.2"}') in (200, 202)
    wait_for(lambda: receiver.events(), timeout=15, what="the event after the push webhook")
    assert time.monotonic() - pushed < 15
    assert [e["tag"] for e in receiver.events()] == ["churn@v0.0.2"]
    assert w.stop() == 0


def test_listen_with_a_secret_refuses_unsigned_posts(reg, receiver, watchers, tmp_path):
    small_registry(reg, 1)
    port = free_port()
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path), "interval": 3600}],
                          [{"url": receiver.url("/")}], interval=3600,
                          listen={"host": "127.0.0.1", "port": port, "secret": "hook-secret"})
    w = watchers(tmp_path, config)
    w.wait_output("1 existing events recorded as seen")
    w.wait_output("listening")

    reg.registered("churn", "v0.0.2")
    body = b'{"ref": "refs/tags/churn@v0.0.2"}'
    endpoint = f"http://127.0.0.1:{port}/"
    assert post(endpoint, body) == 401
    wrong = "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    assert post(endpoint, body, {"X-Hub-Signature-256": wrong}) == 401
    assert post(endpoint, body, {"X-Gitlab-Token": "nope"}) == 401
    time.sleep(1.0)  # no poll is due to wait for: the absence of one for a while is the behaviour
    assert receiver.snapshot() == [], "a refused POST does not trigger a fetch"

    good = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    assert post(endpoint, body, {"X-Hub-Signature-256": good}) in (200, 202)
    wait_for(lambda: receiver.events(), timeout=15, what="the event after a signed POST")
    assert [e["tag"] for e in receiver.events()] == ["churn@v0.0.2"]

    reg.registered("churn", "v0.0.3")
    assert post(endpoint, b"{}", {"X-Gitlab-Token": "hook-secret"}) in (200, 202)
    wait_for(lambda: len(receiver.events()) == 2, timeout=15, what="the event after GitLab's token")
    assert w.stop() == 0
    assert "hook-secret" not in w.stderr + w.stdout
