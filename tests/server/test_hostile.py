"""A live `tagreg serve` against hostile HTTP clients: huge and endless bodies, half-sent requests,
floods of connections, DNS rebinding, token guessing, inputs that used to give 500s, and an index
damaged while the server runs. Each test talks to a real server over a socket."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')

from .support import (
    TOKEN,
    base_env,
    build_registries,
    free_port,
    request,
    start_server,
    stop_server,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def regs(tmp_path_factory):
    return build_registries(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def plain(regs):
    """A read-only server with the default limits."""
    s = start_server(regs, "--config", str(regs.config), wait_for=3)
    yield s
    stop_server(s)


@pytest.fixture
def started(regs):
    """Start servers with some options; each is stopped after the test."""
    servers = []

    def start(*args, **kwargs):
        s = start_server(regs, "--config", str(regs.config), *args, **kwargs)
        servers.append(s)
        return s

    yield start
    for s in servers:
        stop_server(s)


def address(server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def host_header(server) -> bytes:
    return server.url.removeprefix("http://").encode()


def exchange(server, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes and read until the server closes the connection (fails after timeout seconds)."""
    with socket.create_connection(address(server), timeout=timeout) as conn:
        conn.sendall(data)
        return read_all(conn)


def read_all(conn: socket.socket) -> bytes:
    out = b""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return out
            out += chunk
    except TimeoutError:
        raise AssertionError(
            f"the server neither answered nor closed the connection in time; got {out[:200]!r}") from None


def split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def assert_error_json(body: bytes, status: int, code: str | None = None) -> dict:
    error = json.loads(body)["error"]
    assert error["status"] == status and error["message"]
    if code:
        assert error["code"] == code, error
    return error


# -- bodies ---------------------------------------------------------------------------------------

def test_a_huge_body_is_refused_before_it_is_read(plain):
    # 400 MB announced, a few bytes sent: the 413 comes at once (the old server waited for all of it).
    answer = exchange(plain, b"POST /login HTTP/1.1\r\nHost: " + host_header(plain) + b"\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 400000000\r\n\r\ntoken=x")
    status, headers, body = split(answer)
    assert status == 413 and headers["connection"] == "close"
    assert b"too large" in body
    answer = exchange(plain, b"POST /api/models/bert/register HTTP/1.1\r\nHost: " + host_header(plain) + b"\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n{")
    status, headers, body = split(answer)
    assert status == 413 and headers["content-type"].startswith("application/json")
    assert_error_json(body, 413, "too_large")


def test_a_chunked_body_is_counted_as_it_arrives(plain):
    chunk = b"a" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(9))  # 72 KiB, and no end
    answer = exchange(plain, b"POST /login HTTP/1.1\r\nHost: " + host_header(plain) + b"\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    status, headers, _ = split(answer)
    assert status == 413 and headers["connection"] == "close"


def test_a_form_with_many_fields_is_refused(plain):
    form = "&".join(f"f{n}=1" for n in range(5000)).encode()
    reply = plain.post("/login", raw=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 400 and "too many fields" in reply.text


# -- slow clients ---------------------------------------------------------------------------------

def test_half_sent_headers_are_cut_off(started):
    s = started("--header-timeout", "1", "--body-timeout", "1")
    # Nothing at all, then headers that never end: both connections are closed after the timeout.
    with socket.create_connection(address(s), timeout=10) as idle:
        assert read_all(idle) == b""
    assert exchange(s, b"GET /api/repos HTTP/1.1\r\nHost: " + host_header(s) + b"\r\nX-Slow: 1") == b""
    # A body that stops half-way: 408 (the app was reading it) and the connection is closed.
    answer = exchange(s, b"POST /login HTTP/1.1\r\nHost: " + host_header(s) + b"\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntoken=")
    status, headers, _ = split(answer)
    assert status == 408 and headers["connection"] == "close"
    # A body sent after the request was answered without reading it is cut off too.
    answer = exchange(s, b"GET /api/repos HTTP/1.1\r\nHost: " + host_header(s) + b"\r\nContent-Length: 100\r\n\r\nx")
    assert split(answer)[0] == 200
    assert s.get("/api/repos").status == 200
    assert s.proc.poll() is None


def open_slow_clients(server, count: int) -> list[socket.socket]:
    clients = []
    for n in range(count):
        conn = socket.create_connection(address(server), timeout=10)
        conn.sendall(b"GET / HTTP/1.1\r\nHost: " + host_header(server) + b"\r\nX-Slow-%d: " % n)
        clients.append(conn)
    return clients


def test_slow_clients_do_not_lock_others_out(started):
    # Headers that take 60 s to complete are not cut off by a timeout here: the connection limit
    # (from the open-files limit) closes the oldest of them to make room for new clients.
    s = started("--header-timeout", "60", open_files=512)
    clients = open_slow_clients(s, 800)
    try:
        started_at = time.monotonic()
        reply = request(s.url + "/api/repos")
        assert reply.status == 200 and time.monotonic() - started_at < 10
        files = len(os.listdir(f"/proc/{s.proc.pid}/fd"))
        assert "Too many open files" not in s.logs() and len(s.logs()) < 20_000, (files, s.logs()[-2000:])
    finally:
        for conn in clients:
            conn.close()


def test_running_out_of_files_is_logged_once_and_recovered_from(started):
    # A connection limit set above what the open-files limit allows: accept() fails with EMFILE.
    # No timeout cuts the slow clients off (the test decides when files are free again), and the
    # clients the server cannot accept wait in the listen backlog: the server surely runs out.
    s = started("--header-timeout", "60", "--max-connections", "1000", open_files=256)
    clients = open_slow_clients(s, 300)
    try:
        deadline = time.monotonic() + 30
        while "Too many open files" not in s.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Too many open files" in s.logs(), s.logs()[-3000:]
    finally:
        for conn in clients:
            conn.close()
    reply = request(s.url + "/api/repos")  # accepted again once the files are free
    assert reply.status == 200
    log = s.logs()
    assert 1 <= log.count("Too many open files") <= 3, log[-3000:]
    assert "Traceback" not in log
    assert len(log) < 20_000


# -- host header, token, sign-in guessing -----------------------------------------------------------

def test_other_host_names_are_refused(plain, started):
    for path in ("/api/repos", "/"):
        answer = exchange(plain, f"GET {path} HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n".encode())
        status, headers, body = split(answer)
        assert status == 400, answer[:300]
        if path.startswith("/api/"):
            assert_error_json(body, 400, "invalid_host")
        else:
            assert b"attacker.example" in body and headers["content-type"].startswith("text/html")
    port = address(plain)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        answer = exchange(plain, f"GET /api/repos HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert split(answer)[0] == 200, host
    s = started("--allowed-host", "models.example.com", "--allowed-host", "*.internal.example")
    for host, status in (("models.example.com", 200), ("a.internal.example:8000", 200), (host_header(s).decode(), 200),
                         ("example.com", 400), ("internal.example", 400)):
        answer = exchange(s, f"GET /api/repos HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert split(answer)[0] == status, host


def test_host_names_are_matched_exactly_or_by_subdomain():
    from tagreg.server.limits import default_hosts, host_allowed

    allowed = (*default_hosts("127.0.0.1"), "models.example.com", "*.corp.example")
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "Models.Example.COM", "models.example.com.",
                 "a.b.corp.example:443"):
        assert host_allowed(host, allowed), host
    for host in ("", "evil.example", "models.example.com.evil.example", "corp.example", "xcorp.example",
                 "localhost:80x", "[::1", "[::1]x", "127.0.0.1.nip.io", "localhost@evil.example"):
        assert not host_allowed(host, allowed), host
    assert host_allowed("anything.example", ("*",))
    assert default_hosts("0.0.0.0") == ("localhost", "127.0.0.1", "::1")
    assert default_hosts("10.0.0.5")[-1] == "10.0.0.5"


def test_a_short_write_token_is_refused(regs):
    env = {**base_env(regs.home), "TAGREG_TOKEN": "too-short-0123456789", "TAGREG_CACHE_DIR": str(regs.root / "cache")}
    proc = subprocess.run([sys.executable, "-m", "tagreg", "serve", "--config", str(regs.config), "--write",
                           "--port", str(free_port())], capture_output=True, text=True, env=env, timeout=30,
                          check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("❌ TAGREG_TOKEN is too short for --write: use at least 32 random characters, "
                                   "e.g. from `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`")


def sign_in(server, token: str) -> tuple[int, dict]:
    form_page = server.get("/login")
    sid = re.search(r"tagreg_sid=([^;]+)", form_page.headers["set-cookie"]).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form_page.text).group(1)
    data = urllib.parse.urlencode({"csrf": csrf, "token": token, "next": "/"}).encode()
    reply = server.post("/login", raw=data, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                     "Cookie": f"tagreg_sid={sid}"})
    return reply.status, reply.headers


def test_guessing_the_token_is_rate_limited(started):
    s = started("--write", token=TOKEN)
    for _ in range(5):
        assert sign_in(s, "wrong-guess")[0] == 401
    status, headers = sign_in(s, "wrong-guess")
    assert status == 429 and 1 <= int(headers["retry-after"]) <= 60
    assert sign_in(s, TOKEN)[0] == 429  # even the right one, until the minute is over
    # The API's bearer token counts the same way.
    reply = s.post("/api/models/bert/register", {"repo": "nlp"}, {"Authorization": "Bearer wrong"})
    assert reply.status == 429 and int(reply.headers["retry-after"]) >= 1
    assert_error_json(reply.body, 429, "too_many_attempts")


# -- inputs that gave 500s ------------------------------------------------------------------------

def test_inputs_that_crashed_the_server_get_a_4xx(plain, started):
    for path in (f"/api/models?offset={2**63}", f"/api/events?offset={2**63}",
                 "/api/models?q=" + "+".join(f"w{n}" for n in range(1000))):
        reply = plain.get(path)
        assert 400 <= reply.status < 500, (path, reply.text[:300])
        assert_error_json(reply.body, reply.status)
    for path in (f"/?offset={2**63}", f"/activity?offset={2**64}", "/?q=" + "+".join(f"w{n}" for n in range(1000))):
        reply = plain.get(path)
        assert reply.status < 500, (path, reply.text[:300])
    s = started("--write", token=TOKEN)
    for action, body in (("register", {"repo": "nlp", "ref": "\x00"}), ("assign", {"repo": "nlp", "stage": "a\x00"}),
                         ("register", {"repo": "nlp", "version": "v1\x00"}), ("deprecate", {"repo": "nlp\x00"})):
        reply = s.post(f"/api/models/bert/{action}", body, AUTH)
        assert 400 <= reply.status < 500, (action, body, reply.text[:300])
        assert_error_json(reply.body, reply.status)
    reply = s.post("/api/models/be%00rt/deprecate", {"repo": "nlp"}, AUTH)
    assert 400 <= reply.status < 500 and "Traceback" not in s.logs()


# -- the index damaged while running ----------------------------------------------------------------

def test_a_damaged_index_is_rebuilt(regs, tmp_path):
    config = tmp_path / "registries.yaml"
    config.write_text(regs.config.read_text().replace("  - vision", f"  - {regs.paths['vision']}")
                      .replace("  - path: nlp", f"  - path: {regs.paths['nlp']}") + f"index: {tmp_path}/index.sqlite\n")
    s = start_server(regs, "--config", str(config), wait_for=3)
    try:
        assert s.get("/api/models").json["total"] == 9
        with open(tmp_path / "index.sqlite", "r+b") as f:  # garbage over the header and every page
            size = f.seek(0, 2)
            f.seek(0)
            f.write(b"garbage!" * (size // 8 + 1))
        for suffix in ("-wal", "-shm"):
            with open(str(tmp_path / "index.sqlite") + suffix, "r+b") as f:
                f.write(b"garbage!" * 4096)
        first = s.get("/api/models?repo=vision")
        assert first.status in (200, 503), first.text[:300]
        if first.status == 503:
            assert_error_json(first.body, 503, "index_rebuilt")
        for path in ("/api/models", "/api/models?repo=vision", "/api/events", "/"):
            reply = s.get(path)
            assert reply.status == 200, (path, reply.text[:300])
        assert s.get("/api/models").json["total"] == 9
        assert s.get("/api/models/fraud-score").status == 200  # the remote one too
    finally:
        stop_server(s)
