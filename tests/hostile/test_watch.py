"""Hostile traffic around `tagreg watch`: receivers that redirect, clients of the `--listen` endpoint
that lie about sizes, send slowly, open many connections or probe it, and an outbox that is corrupt
or missing. Real HTTP servers on 127.0.0.1, raw sockets as clients, and the watcher run as a user
runs it (a subprocess) where its process is what is measured."""

from __future__ import annotations

import hashlib
import hmac
import json
import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from events.support import (
    free_port,
    run_tagreg,
    wait_for,
    write_config,
)


def registrations(reg, *versions: str) -> list[str]:
    if not (reg.path / "artifacts.yaml").exists():
        reg.annotate({"churn": {"type": "model", "path": "churn.pkl"}}, {"churn.pkl": "x\n"})
    tags = []
    for version in versions:
        reg.commit(f"churn {version}")
        tags.append(reg.registered("churn", version))
    return tags


def watch(tmp_path, config, *args: str):
    return run_tagreg(tmp_path, "watch", "--config", str(config), *args)


def status(tmp_path, config) -> dict:
    result = watch(tmp_path, config, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- redirects ------------------------------------------------------------------------------------


class Recorder:
    """An HTTP server that answers every GET and POST with 200 (or with a redirect: a path like
    `/302` answers 302 to `location`) and records the requests."""

    def __init__(self, location: str = ""):
        self.requests: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append({"method": self.command, "path": self.path, "body": body,
                                          "headers": {k.lower(): v for k, v in self.headers.items()}})
                code = int(self.path.strip("/")) if self.path.strip("/").isdigit() else 200
                self.send_response(code)
                if code != 200:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(reg, tmp_path):
    """A 3xx answer is not an acknowledgement: urllib used to follow 301/302/303 with a bodiless GET
    (carrying the Authorization and signature headers to the other origin), the other origin answered
    200 and the batch was marked delivered."""
    registrations(reg, "v0.0.1")
    landing = Recorder()
    location = f"http://127.0.0.1:{landing.port}/landed"
    redirector = Recorder(location)
    try:
        codes = [301, 302, 303, 307, 308]
        targets = [{"url": f"http://alice:pa55-XYZZY@127.0.0.1:{redirector.port}/{code}", "secret": "sig-secret",
                    "name": f"t{code}"} for code in codes]
        config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], targets,
                              delivery={"max_attempts": 5, "backoff": 60})
        result = watch(tmp_path, config, "--replay", "--once")
        assert result.returncode == 0, result.stderr
        assert landing.requests == [], "the redirect was followed to another origin"
        assert sorted(r["path"] for r in redirector.requests) == [f"/{c}" for c in codes]
        assert all(r["method"] == "POST" for r in redirector.requests)
        for code in codes:
            line = next(line for line in result.stderr.splitlines() if f"/{code}" in line)
            assert "failed" in line and f"HTTP {code}" in line and "redirect" in line, line
            assert f"127.0.0.1:{landing.port}/landed" in line, "the Location is logged"
        assert "pa55-XYZZY" not in result.stderr
        state = status(tmp_path, config)
        assert list(state["targets"].values()) == [{"pending": 1}] * 5, "nothing was marked delivered"
    finally:
        landing.close()
        redirector.close()


# -- the last attempt -----------------------------------------------------------------------------


def test_the_final_failed_attempt_says_the_delivery_is_dead(reg, receiver, tmp_path):
    registrations(reg, "v0.0.1")
    receiver.fail_always = True
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                          delivery={"max_attempts": 2, "backoff": 0})
    first = watch(tmp_path, config, "--replay", "--once")
    assert first.returncode == 0 and "will retry" in first.stderr, first.stderr
    last = watch(tmp_path, config, "--once")
    assert last.returncode == 0, last.stderr
    assert "will retry" not in last.stderr, last.stderr
    assert "dead" in last.stderr and "2 attempts" in last.stderr and "--retry-dead" in last.stderr, last.stderr
    assert len(status(tmp_path, config)["dead"]) == 1


# -- the --listen endpoint ------------------------------------------------------------------------


@pytest.fixture
def listener(tmp_path, repo):
    """start(**listen) runs a Watcher's push endpoint in this process; returns (watcher, port)."""
    from tagreg.events.watch import Watcher as InProcessWatcher
    from tagreg.events.watch_config import parse

    started = []

    def start(**listen):
        config = parse({"state": str(tmp_path / f"w{len(started)}.sqlite"),
                        "repos": [{"path": str(repo.path), "name": "internal-models-do-not-tell"}],
                        "targets": [{"url": "http://127.0.0.1:9/"}], "listen": listen})
        w = InProcessWatcher(config, echo=lambda line: None)
        _, port = w.listen("127.0.0.1", 0)
        started.append(w)
        return w, port

    yield start
    for w in started:
        w.stop()
        w.close()


def read_answer(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes; fails after timeout seconds without the end."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data
    except TimeoutError:
        raise AssertionError(f"no complete answer within {timeout:g} s (got {data[:200]!r})") from None


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock, timeout)


def code(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/"), answer[:200]
    return int(answer.split(b" ", 2)[1])


def request(body: bytes = b"{}", headers: dict | None = None, length: bool = True, method: str = "POST") -> bytes:
    lines = [f"{method} / HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def github(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_listen_bad_content_lengths_are_4xx_not_tracebacks(listener, capsys):
    _, port = listener(secret="hook-secret")
    body = b'{"ref": "refs/tags/churn@v1"}'
    signed = {"X-Hub-Signature-256": github(b"hook-secret", body)}
    head = "POST / HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: " + signed["X-Hub-Signature-256"] + "\r\n"
    cases = {
        "missing": (request(body, signed, length=False), 411),
        "negative": ((head + "Content-Length: -5\r\n\r\n").encode() + body, 400),
        "not a number": ((head + "Content-Length: 12abc\r\n\r\n").encode() + body, 400),
        "huge": ((head + "Content-Length: 1" + "0" * 30 + "\r\n\r\n").encode() + body, 413),
        "duplicated": ((head + f"Content-Length: {len(body)}\r\nContent-Length: 5\r\n\r\n").encode() + body, 400),
        "chunked": ((head + "Transfer-Encoding: chunked\r\n\r\n").encode() + b"5\r\nhello\r\n0\r\n\r\n", 411),
        "non-ASCII signature": (request(body, {"X-Hub-Signature-256": "sha256=\xe9\xe9"}), 401),
        "non-ASCII token": (request(body, {"X-Gitlab-Token": "hook-secr\xe9t"}), 401),
    }
    for what, (data, expected) in cases.items():
        answer = exchange(port, data)
        assert code(answer) == expected, f"{what}: {answer[:300]!r}"
    assert code(exchange(port, request(body, signed))) == 202, "the endpoint still works"
    err = capsys.readouterr().err
    assert "Traceback" not in err, err


def test_listen_get_reveals_nothing(listener):
    for secret in ("hook-secret", None):
        _, port = listener(**({"secret": secret} if secret else {}))
        answer = exchange(port, request(method="GET", length=False))
        assert code(answer) == 200
        assert b"internal-models-do-not-tell" not in answer, answer
        assert b"Python" not in answer, answer


def test_listen_compares_a_gitlab_token_in_constant_time(listener, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    _, port = listener(secret="hook-secret")
    assert code(exchange(port, request(b"{}", {"X-Gitlab-Token": "hook-secret"}))) == 202
    assert code(exchange(port, request(b"{}", {"X-Gitlab-Token": "hook-secreT"}))) == 401
    assert any(b"hook-secreT" in (x if isinstance(x, bytes) else x.encode()) for call in calls for x in call), calls


def test_listen_checks_a_gitlab_token_before_reading_the_body(listener):
    _, port = listener(secret="hook-secret", timeout=30)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        # the whole body is announced, little of it is sent: the token is refused at once
        sock.sendall(request(b"", {"X-Gitlab-Token": "wrong"}).replace(b"Content-Length: 0", b"Content-Length: 5000"))
        sock.sendall(b"x" * 100)
        assert code(read_answer(sock)) == 401


def test_listen_a_signed_body_is_read_up_to_the_limit_only(listener):
    _, port = listener(secret="hook-secret", max_body=1000)
    small, big = b'{"a": 1}', b'{"a": "' + b"x" * 2000 + b'"}'
    assert code(exchange(port, request(big, {"X-Hub-Signature-256": github(b"hook-secret", big)}))) == 413
    assert code(exchange(port, request(small, {"X-Hub-Signature-256": github(b"hook-secret", small)}))) == 202
    assert code(exchange(port, request(small, {"X-Hub-Signature-256": github(b"other", small)}))) == 401


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_listen_refuses_a_300_mb_post_before_reading_it(reg, receiver, watchers, tmp_path):
    registrations(reg, "v0.0.1")
    port = free_port()
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path), "interval": 3600}],
                          [{"url": receiver.url("/")}], interval=3600,
                          listen={"host": "127.0.0.1", "port": port, "secret": "hook-secret"})
    w = watchers(tmp_path, config)
    w.wait_output("listening")
    w.wait_output("recorded as seen")
    before = rss_mb(w.proc.pid)
    for headers in ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, {}, {"X-Gitlab-Token": "hook-secret"}):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request(b"", headers).replace(b"Content-Length: 0", b"Content-Length: 300000000"))
            sock.sendall(b"x" * 65536)  # of the 300 MB announced, 64 KiB are sent; the answer comes now
            assert code(read_answer(sock)) in (401, 413), headers
            sent = 0
            try:  # the listener reads no more of it: the connection is closed
                for _ in range(64):
                    sock.sendall(b"x" * 1024 * 1024)
                    sent += 1
            except OSError:
                pass
            assert sent < 64, "the listener kept reading the body"
    assert rss_mb(w.proc.pid) < before + 20, (before, rss_mb(w.proc.pid))
    assert receiver.snapshot() == [] and "Traceback" not in w.stderr
    assert w.stop() == 0


def test_listen_a_slow_or_half_sent_request_is_timed_out(listener):
    _, port = listener(secret="hook-secret", timeout=0.5)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:  # half the headers, then nothing
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        read_answer(sock, timeout=5)
    body = b'{"a": 1}'
    with socket.create_connection(("127.0.0.1", port)) as sock:  # all the headers, half the body
        sock.sendall(request(body, {"X-Hub-Signature-256": github(b"hook-secret", body)})[:-4])
        answer = read_answer(sock, timeout=5)
        assert answer == b"" or code(answer) == 408
    with socket.create_connection(("127.0.0.1", port)) as sock:  # a byte at a time, each in time
        sock.sendall(b"POST / HTTP/1.1\r\n")
        closed = False
        deadline = time.monotonic() + 5
        while not closed and time.monotonic() < deadline:
            try:
                sock.send(b"X")
            except OSError:
                closed = True
            closed = closed or bool(select.select([sock], [], [], 0.1)[0])
        assert closed, "a client sending a byte every 0.1 s held the connection for 5 s"
    assert time.monotonic() - started < 5


def test_listen_connections_are_bounded(listener):
    _, port = listener(max_connections=3, timeout=30)
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        extra = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        for sock in extra:
            sock.sendall(request())
        answers = [read_answer(sock) for sock in extra]
        assert {code(a) for a in answers} == {503}, answers[0]
        assert threading.active_count() <= before + 3 + 1
        for sock in extra:
            sock.close()
    finally:
        for sock in idle:
            sock.close()
    wait_for(lambda: code(exchange(port, request())) == 202, what="a free connection once the idle ones closed")


# -- the outbox -----------------------------------------------------------------------------------


def outbox_with_history(reg, receiver, tmp_path):
    """A watcher's outbox after: one event before the first start (seen), three delivered, two pending
    (the receiver failing). Returns (config, state path, delivered tags, pending tags)."""
    registrations(reg, "v0.0.1")
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path), "name": "models"}],
                          [{"url": receiver.url("/")}], delivery={"max_attempts": 8, "backoff": 0})
    assert watch(tmp_path, config, "--once").returncode == 0
    delivered = registrations(reg, "v0.0.2", "v0.0.3", "v0.0.4")
    assert watch(tmp_path, config, "--once").returncode == 0
    assert sorted(e["tag"] for e in receiver.events()) == sorted(delivered)
    receiver.fail_always = True
    pending = registrations(reg, "v0.0.5", "v0.0.6")
    assert watch(tmp_path, config, "--once").returncode == 0
    receiver.fail_always = False
    state = tmp_path / "watch.sqlite"
    assert state.exists() and not Path(f"{state}-wal").exists()
    return config, state, delivered, pending


def corrupt_pages(path: Path, tables: list[str]) -> None:
    """Overwrite the pages of these tables (and their indexes) with garbage."""
    db = sqlite3.connect(path)
    size = db.execute("PRAGMA page_size").fetchone()[0]
    marks = ",".join("?" * len(tables))
    pages = [r[0] for r in db.execute(f"SELECT rootpage FROM sqlite_master WHERE tbl_name IN ({marks}) "
                                      "AND rootpage > 0", tables)]
    db.close()
    data = bytearray(path.read_bytes())
    for page in pages:
        data[(page - 1) * size:page * size] = bytes([0xA5]) * size
    path.write_bytes(bytes(data))


def test_a_corrupt_outbox_is_refused_naming_the_file_and_the_recovery(reg, receiver, tmp_path):
    config, state, _, _ = outbox_with_history(reg, receiver, tmp_path)
    corrupt_pages(state, ["seen"])
    corrupt = state.read_bytes()
    for args in (["--once"], ["status"]):
        result = watch(tmp_path, config, *args)
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert str(state) in result.stderr and "corrupt" in result.stderr and "recover" in result.stderr
        assert "Traceback" not in result.stderr and "Unexpected" not in result.stderr
    assert state.read_bytes() == corrupt, "the corrupt outbox is kept as it was"


def test_recover_keeps_the_corrupt_outbox_and_loses_no_event(reg, receiver, tmp_path):
    config, state, delivered, pending = outbox_with_history(reg, receiver, tmp_path)
    corrupt_pages(state, ["seen"])
    corrupt = state.read_bytes()
    later = registrations(reg, "v0.0.7")  # made while the watcher was stopped by the corruption
    assert watch(tmp_path, config, "--once").returncode == 1
    result = watch(tmp_path, config, "recover")
    assert result.returncode == 0, result.stderr
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("watch.sqlite.corrupt-") and not p.name.endswith(
        ("-wal", "-shm"))]
    assert len(kept) == 1 and kept[0].read_bytes() == corrupt
    assert kept[0].name in result.stdout + result.stderr
    again = watch(tmp_path, config, "--once")
    assert again.returncode == 0, again.stderr
    after = [e["tag"] for e in receiver.events()][len(delivered):]
    assert set(after) >= set(pending + later), "every event not known delivered is delivered after the recovery"
    assert not set(after) & set(delivered), "the outbox's delivered rows were salvaged: no duplicates"
    state_now = status(tmp_path, config)
    assert state_now["dead"] == [] and list(state_now["targets"].values()) == [
        {"delivered": len(delivered) + len(after)}]


def test_recover_an_unreadable_outbox_redelivers_rather_than_loses(reg, receiver, tmp_path):
    config, state, delivered, pending = outbox_with_history(reg, receiver, tmp_path)
    data = bytearray(state.read_bytes())
    data[100:] = bytes([0x5A]) * (len(data) - 100)  # everything but the file header
    state.write_bytes(bytes(data))
    later = registrations(reg, "v0.0.7")
    result = watch(tmp_path, config, "recover")
    assert result.returncode == 0, result.stderr
    again = watch(tmp_path, config, "--once")
    assert again.returncode == 0, again.stderr
    after = [e["tag"] for e in receiver.events()][len(delivered):]
    assert set(after) >= set(pending + later), again.stderr


def test_a_missing_outbox_is_said_and_a_stray_journal_refused(reg, receiver, tmp_path):
    registrations(reg, "v0.0.1")
    folder = tmp_path / "state"
    folder.mkdir()
    state = folder / "watch.sqlite"
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}],
                          state=state)
    first = watch(tmp_path, config, "--once")
    assert first.returncode == 0, first.stderr
    assert f"new outbox {state}" in first.stderr and "recorded as seen, not delivered" in first.stderr
    state.unlink()
    Path(f"{state}-wal").write_bytes(b"a journal left behind")
    stray = watch(tmp_path, config, "--once")
    assert stray.returncode == 1 and len(stray.stderr.strip().splitlines()) == 1, stray.stderr
    assert str(state) in stray.stderr and "-wal" in stray.stderr
    assert not state.exists()


def test_recover_reads_past_a_damaged_page_and_requeues_what_it_lost(tmp_path):
    """One leaf page of the deliveries is damaged: the rows of the other pages keep their state, and
    the events whose rows were on it are queued again (they were seen, their fate is unknown)."""
    from tagreg.events.outbox import Outbox
    from tagreg.events.recovery import recover

    path = tmp_path / "watch.sqlite"
    outbox = Outbox(path)
    events = [{"id": f"e{i:04d}", "tag": f"m@v{i}", "padding": "x" * 300} for i in range(200)]
    outbox.record("models", [], [], [])
    outbox.record("models", events, [], [("hook", e, False) for e in events])
    outbox.delivered(outbox.due("hook", limit=150))
    outbox.close()
    db = sqlite3.connect(path)
    try:
        leaves = [r[0] for r in db.execute("SELECT pageno FROM dbstat WHERE name = 'outbox' AND pagetype = 'leaf' "
                                           "ORDER BY pageno")]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat")
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    assert len(leaves) > 5
    damaged = leaves[len(leaves) // 3]
    data = bytearray(path.read_bytes())
    data[(damaged - 1) * size:damaged * size] = bytes([0xA5]) * size
    path.write_bytes(bytes(data))

    healthy_copy = tmp_path / "other.sqlite"
    Outbox(healthy_copy).close()
    assert recover(healthy_copy, ["models"], lambda e: ["hook"]).kept is None, "a sound outbox is left alone"

    report = recover(path, ["models"], lambda e: ["hook"])
    assert report.kept is not None and report.kept.read_bytes() == bytes(data)
    assert report.unreadable == ["outbox"]
    lost = 200 - sum(report.deliveries.values())
    assert 0 < lost < 60 and report.requeued == lost
    outbox = Outbox(path)
    try:
        counts = outbox.counts()["hook"]
        assert counts["delivered"] + counts["pending"] == 200
        assert counts["delivered"] == report.deliveries["delivered"] < 150, "what was read as delivered stays so"
        assert set(outbox.seen("models")) == {e["id"] for e in events}
        pending = {i.event_id for i in outbox.due("hook", limit=1000)}
        assert {e["id"] for e in events[150:]} <= pending, "what was pending stays pending"
    finally:
        outbox.close()


def test_listen_a_bad_address_or_a_port_in_use_is_one_line(reg, receiver, tmp_path):
    config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}], [{"url": receiver.url("/")}])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        for listen in ("127.0.0.1:http", f"127.0.0.1:{taken.getsockname()[1]}", "127.0.0.1:99999"):
            result = watch(tmp_path, config, "--once", "--listen", listen)
            assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert listen in result.stderr and "Unexpected" not in result.stderr, result.stderr
    assert not (tmp_path / "watch.sqlite").exists(), "nothing is left half-done: no outbox was made"


class RawReceiver:
    """A TCP server on 127.0.0.1 whose answer to every connection is answer(sock), after reading the
    request's first bytes."""

    def __init__(self, answer):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.closing = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        with conn:
            try:
                conn.recv(65536)
                self.answer(conn, self.closing)
            except OSError:
                pass

    def close(self):
        self.closing.set()
        self.sock.close()


def drip(conn, closing):
    """An answer a byte at a time, each in time for a per-read timeout, never finished."""
    for byte in b"HTTP/1.0 200 OK\r\n" + b"X-Slow: " + b"x" * 100_000:
        if closing.wait(0.1):
            return
        conn.send(bytes([byte]))


def garbage(conn, closing):
    conn.sendall(b"\x00\xffnot http at all\r\n\r\n")


def test_a_receiver_that_answers_slowly_or_with_garbage_is_a_failed_attempt(reg, tmp_path):
    registrations(reg, "v0.0.1")
    slow, bad = RawReceiver(drip), RawReceiver(garbage)
    try:
        config = write_config(tmp_path / "watch.yaml", [{"path": str(reg.path)}],
                              [{"url": f"http://127.0.0.1:{slow.port}/"}, {"url": f"http://127.0.0.1:{bad.port}/"}],
                              delivery={"timeout": 1, "backoff": 60})
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "tagreg", "watch", "--config", str(config), "--replay", "--once"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=20, check=False)
        assert proc.returncode == 0, proc.stderr
        assert time.monotonic() - started < 15
        lines = proc.stderr.splitlines()
        assert any(f":{slow.port}/ failed (no complete answer within 1 s)" in line for line in lines), proc.stderr
        assert any(f":{bad.port}/ failed" in line for line in lines), proc.stderr
        assert "Unexpected" not in proc.stderr and "Traceback" not in proc.stderr
        assert [t["pending"] for t in status(tmp_path, config)["targets"].values()] == [1, 1]
    finally:
        slow.close()
        bad.close()
