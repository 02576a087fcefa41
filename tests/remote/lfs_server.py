"""A Git LFS server on 127.0.0.1 for the tests: the batch API and the basic transfer adapter as
the spec describes them (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md), so
that the real git-lfs can push objects to it and fetch them from it; its batch API optionally
behind HTTP Basic authentication (the transfer links it answers with carry a token of their own,
as a storage service's signed links do). It records what it was asked."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_JSON = "application/vnd.git-lfs+json"
TOKEN = "signed-link-token"


class LfsServer:
    """objects: sha256 -> content; url(repo) is the LFS endpoint of a repository named repo."""

    def __init__(self, auth: tuple[str, str] | None = None):
        self.objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, bool]] = []  # (method, path, had credentials)
        self.auth = auth
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _authorized(self) -> bool:
                given = self.headers.get("Authorization")
                server.requests.append((self.command, self.path, given is not None))
                if server.auth is None:
                    return True
                wanted = "Basic " + base64.b64encode(":".join(server.auth).encode()).decode()
                if given == wanted:
                    return True
                self._send(401, b'{"message": "credentials needed"}', {"LFS-Authenticate": 'Basic realm="lfs"',
                                                                        "WWW-Authenticate": 'Basic realm="lfs"'})
                return False

            def _send(self, status: int, body: bytes, headers: dict | None = None, kind: str = LFS_JSON) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self):
                body = self._body()
                if not self._authorized():
                    return
                if not self.path.endswith("/info/lfs/objects/batch"):
                    return self._send(404, b'{"message": "not found"}')
                asked = json.loads(body)
                base = f"http://127.0.0.1:{server.port}/objects"
                answer = []
                for item in asked["objects"]:
                    oid, size = item["oid"], item["size"]
                    have = oid in server.objects
                    link = {"href": f"{base}/{oid}", "header": {"X-Token": TOKEN}}
                    if asked["operation"] == "download" and have:
                        answer.append({"oid": oid, "size": size, "authenticated": True,
                                       "actions": {"download": link}})
                    elif asked["operation"] == "download":
                        answer.append({"oid": oid, "size": size,
                                       "error": {"code": 404, "message": "Object does not exist"}})
                    elif have:
                        answer.append({"oid": oid, "size": size})
                    else:
                        answer.append({"oid": oid, "size": size, "authenticated": True,
                                       "actions": {"upload": link}})
                self._send(200, json.dumps({"transfer": "basic", "objects": answer}).encode())

            def _linked(self) -> bool:
                server.requests.append((self.command, self.path, False))
                if self.headers.get("X-Token") == TOKEN:
                    return True
                self._send(403, b'{"message": "not a link this server gave"}')
                return False

            def do_GET(self):
                if not self._linked():
                    return
                oid = self.path.rpartition("/")[2]
                if oid not in server.objects:
                    return self._send(404, b'{"message": "Object does not exist"}')
                self._send(200, server.objects[oid], kind="application/octet-stream")

            def do_PUT(self):
                body = self._body()
                if not self._linked():
                    return
                oid = self.path.rpartition("/")[2]
                if not re.fullmatch(r"[0-9a-f]{64}", oid) or hashlib.sha256(body).hexdigest() != oid:
                    return self._send(422, b'{"message": "bad object"}')
                server.objects[oid] = body
                self._send(200, b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}/info/lfs"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
