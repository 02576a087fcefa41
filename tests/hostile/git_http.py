"""A real smart-HTTP git server for the tests: `git http-backend` behind Python's `http.server`,
refusing every request whose `Authorization` header is not Basic for its current user and password
(change `password` to play a password change). It records what it saw, for tests to check."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BODY_LIMIT = 64 << 20  # a test push is small; anything bigger is a bug in the test


class GitHTTPServer:
    """Serves every bare repository under root at http://127.0.0.1:PORT/NAME.git (pushes allowed)."""

    def __init__(self, root: Path, user: str = "alice", password: str = "s3cr3t", env: dict | None = None):
        self.root, self.user, self.password = Path(root), user, password
        self.env = env or {}
        self.seen: list[tuple[str, str, str | None]] = []  # (method, path, Authorization header)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                outer._handle(self)

            def do_POST(self):
                outer._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str, credentials: str | None = None) -> str:
        """http://[CREDENTIALS@]127.0.0.1:PORT/NAME"""
        return f"http://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- one request -------------------------------------------------------------------------

    def _authorized(self, header: str | None) -> bool:
        wanted = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == wanted

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        header = request.headers.get("Authorization")
        with self._lock:
            self.seen.append((request.command, request.path, header))
        body = self._body(request)
        if not self._authorized(header):
            message = b"authentication required\n"
            request.send_response(401)
            request.send_header("WWW-Authenticate", 'Basic realm="git"')
            request.send_header("Content-Type", "text/plain")
            request.send_header("Content-Length", str(len(message)))
            request.end_headers()
            request.wfile.write(message)
            return
        path, _, query = request.path.partition("?")
        env = {**os.environ, **self.env, "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
               "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": request.command,
               "REMOTE_USER": self.user, "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": request.headers.get("Content-Type", "")}
        if request.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
        if request.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], check=False, input=body, env=env, capture_output=True,
                              timeout=60)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        request.send_response(status)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    @staticmethod
    def _body(request: BaseHTTPRequestHandler) -> bytes:
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:
                size = int(request.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    request.rfile.readline()
                    return b"".join(parts)
                total += size
                assert total <= BODY_LIMIT
                parts.append(request.rfile.read(size))
                request.rfile.readline()
        length = int(request.headers.get("Content-Length") or 0)
        assert length <= BODY_LIMIT
        return request.rfile.read(length) if length else b""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
