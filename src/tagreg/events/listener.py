"""The push endpoint of `tagreg watch --listen`: a Git host's push webhook POSTs here and the watcher
fetches at once instead of waiting for its polling interval.

Every byte of a request is hostile until its signature is checked, so nothing is buffered on the
client's word: a request's framing is checked before its body is read (one Content-Length, digits
only, at most `max_body`; no chunked bodies), a GitLab token (`X-Gitlab-Token`) is checked before
any of the body is read, and a GitHub signature (`X-Hub-Signature-256`) is computed while the body
is read, a block at a time, never more than Content-Length. Each connection has `timeout` seconds
in all (not per read: a client sending a byte at a time is cut off too) and at most
`max_connections` are served at once; the next ones are answered 503 at once. A GET answers
`{"status": "ok"}` and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("tagreg.watch")

HEADER_LIMIT = 64 * 1024  # the request line and headers of a webhook are a few hundred bytes
BLOCK = 64 * 1024
BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 18\r\n"
        b"Retry-After: 1\r\nConnection: close\r\n\r\n" + b'{"error": "busy"}\n')


@dataclass
class Settings:
    """How the endpoint checks requests (watch.yaml's `listen:`)."""

    secret: str | None = None
    timeout: float = 10.0  # seconds for a whole connection: request, body and answer
    max_body: int = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
    max_connections: int = 16


class _DeadlineReader(io.RawIOBase):
    """The socket as a file that fails once the connection's time is up or once it has read more than
    its allowance (the headers' limit, then Content-Length more)."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock = sock
        self.deadline = deadline
        self.consumed = 0
        self.allowance = HEADER_LIMIT

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request took too long")
        room = self.allowance - self.consumed
        if room <= 0:
            raise ConnectionAbortedError("the request is larger than it said")
        self.sock.settimeout(remaining)
        view = memoryview(buffer)[:room]
        count = self.sock.recv_into(view)
        self.consumed += count
        return count


class _Handler(BaseHTTPRequestHandler):
    server: PushServer

    def version_string(self) -> str:
        return "tagreg"  # not http.server's and Python's versions

    def setup(self) -> None:
        super().setup()
        self.deadline = time.monotonic() + self.server.settings.timeout
        self.reader = _DeadlineReader(self.connection, self.deadline)
        self.rfile.close()
        self.rfile = io.BufferedReader(self.reader, BLOCK)

    def do_GET(self) -> None:
        self._answer(200, {"status": "ok"})

    def do_POST(self) -> None:
        settings = self.server.settings
        length = self._length(settings.max_body)
        if length is None:
            return
        self.reader.allowance = self.reader.consumed + length + BLOCK  # what is buffered counts too
        secret = settings.secret
        if secret:
            token = self.headers.get("X-Gitlab-Token")
            signature = self.headers.get("X-Hub-Signature-256")
            ok = token is not None and hmac.compare_digest(str(token).encode("latin-1"), secret.encode())
            if ok:
                self._skip(length)
            elif signature is not None:
                ok = self._signed(secret.encode(), str(signature), length)
            if not ok:
                self._answer(401, {"error": "bad or missing signature"})
                return
        else:
            self._skip(length)
        self.server.on_push()
        self._answer(202, {"status": "fetching"})

    def _length(self, limit: int) -> int | None:
        """The body's length from its one valid Content-Length; None once the request is refused."""
        if self.headers.get("Transfer-Encoding") is not None:
            self._answer(411, {"error": "send the body with a Content-Length, not a Transfer-Encoding"})
            return None
        values = self.headers.get_all("Content-Length") or []
        if not values:
            self._answer(411, {"error": "Content-Length required"})
            return None
        text = str(values[0]).strip()
        if len(values) > 1 or not text or not all("0" <= c <= "9" for c in text):
            self._answer(400, {"error": "bad Content-Length"})
            return None
        if len(text) > 18 or int(text) > limit:
            self._answer(413, {"error": f"the body is larger than {limit} bytes"})
            return None
        return int(text)

    def _signed(self, secret: bytes, header: str, length: int) -> bool:
        """Whether header is the body's `sha256=` HMAC, computed as the body is read."""
        expected_form = header.startswith("sha256=") and len(header) == 71
        if not expected_form:
            return False  # refused without reading a byte
        digest = hmac.new(secret, digestmod=hashlib.sha256)
        for block in self._blocks(length):
            digest.update(block)
        return hmac.compare_digest(("sha256=" + digest.hexdigest()).encode(), header.encode("latin-1"))

    def _skip(self, length: int) -> None:
        """Read the body away (bounded: Content-Length, the deadline), so the answer is not reset."""
        for _ in self._blocks(length):
            pass

    def _blocks(self, length: int):
        while length > 0:
            block = self.rfile.read(min(BLOCK, length))
            if not block:
                raise ConnectionAbortedError("the body ended early")
            length -= len(block)
            yield block

    def _answer(self, code: int, data: dict) -> None:
        body = (json.dumps(data) + "\n").encode()
        self.connection.settimeout(max(1.0, self.deadline - time.monotonic()))
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args) -> None:  # keep the terminal for the watcher's own lines
        pass


class PushServer(ThreadingHTTPServer):
    """A threaded HTTP server with a bounded number of connections served at once."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], settings: Settings, on_push: Callable[[], None]):
        self.settings = settings
        self.on_push = on_push
        self.slots = threading.BoundedSemaphore(settings.max_connections)
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.setblocking(False)
                request.send(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address) -> None:

        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):  # a client going away or cut off is no news
            log.warning("push endpoint: %s: %s", type(exc).__name__, exc)


def serve(host: str, port: int, settings: Settings, on_push: Callable[[], None]) -> PushServer:
    """Start the endpoint in a thread; server.server_address says where it listens."""
    server = PushServer((host, port), settings, on_push)
    threading.Thread(target=server.serve_forever, daemon=True, name="tagreg-listen").start()
    return server
