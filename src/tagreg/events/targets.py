"""Delivering events to a target: an HTTP POST signed with HMAC-SHA256, or a command.

HTTP: body `{"events": [...]}`, header `X-Tagreg-Signature-256: sha256=<hex>` (HMAC of the raw
body with the target's secret, like GitHub's `X-Hub-Signature-256`). A 2xx answer acknowledges the
whole batch; anything else, a redirect included, is a failed attempt: a redirect is never followed,
so the events, the signature and the credentials go to the configured origin only. Command: one run
per event, the event as JSON on stdin and as `TAGREG_*` variables;
exit code 0 acknowledges it. (This module runs the user's own command, which is why it, and not
only the git module, starts processes.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from .. import __version__
from ..remote import redact

SIGNATURE_HEADER = "X-Tagreg-Signature-256"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for body: `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Check a signature header in constant time (the recipe receivers use)."""
    expected = sign(secret, body).encode()
    return bool(header) and hmac.compare_digest(expected, (header or "").encode("utf-8", "replace"))


class DeliveryFailed(Exception):
    """The target did not acknowledge; the message says why (never with credentials)."""


def post(url: str, events: list[dict], secret: str | None, timeout: float) -> None:
    """POST a batch; returns on a 2xx answer, raises DeliveryFailed otherwise."""
    body = json.dumps({"events": events}, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"tagreg/{__version__}",
        "X-Tagreg-Delivery": str(uuid.uuid4()),
        "X-Tagreg-Event-Count": str(len(events)),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    _basic_auth(request, url)
    deadline = _Deadline(timeout)
    opener = urllib.request.build_opener(_NoRedirects, deadline.http_handler(), deadline.https_handler())
    try:
        with opener.open(request, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise DeliveryFailed(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise DeliveryFailed(f"HTTP {exc.code} redirect to {_shown(exc.headers.get('Location'))}, "
                                 "not followed") from None
        raise DeliveryFailed(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        if deadline.expired:
            raise DeliveryFailed(f"no complete answer within {timeout:g} s") from None
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(redact(f"cannot reach {url}: {reason}")) from None
    finally:
        deadline.cancel()


class _Deadline:
    """The whole of one delivery's time: urllib's timeout is per read, so a receiver answering a byte
    at a time would hold the watcher, and every target after it, for ever. Once the time is up the
    connection is shut down, which ends whatever read or write is waiting on it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.timers: list[threading.Timer] = []
        self.expired = False

    def connection(self, base: type) -> Any:
        """base (an http.client connection class) whose connections this deadline cuts."""
        deadline = self

        class Connection(base):
            def connect(self) -> None:
                super().connect()
                timer = threading.Timer(deadline.seconds, deadline.cut, (self.sock,))
                timer.daemon = True
                deadline.timers.append(timer)
                timer.start()

        return Connection

    def cut(self, sock: socket.socket) -> None:
        self.expired = True
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def http_handler(self) -> urllib.request.HTTPHandler:
        connection = self.connection(http.client.HTTPConnection)

        class Handler(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(connection, req)

        return Handler()

    def https_handler(self) -> urllib.request.HTTPSHandler:
        connection = self.connection(http.client.HTTPSConnection)

        class Handler(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]

        return Handler()

    def cancel(self) -> None:
        for timer in self.timers:
            timer.cancel()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib would re-send a 301/302/303 as a bodiless GET that the other end
    acknowledges (the events lost), with the Authorization and signature headers, to another origin."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the answer becomes an HTTPError with its 3xx code


def _shown(location: str | None) -> str:
    """A Location header as it may be logged: no credentials, no control characters, not too long."""
    if not location:
        return "(no Location)"
    text = "".join(c if c.isprintable() else "?" for c in location[:300])
    return redact(text) + ("..." if len(location) > 300 else "")


def _basic_auth(request: urllib.request.Request, url: str) -> None:
    """Credentials in a target URL become an Authorization header (urllib does not do it)."""

    parts = urlsplit(url)
    if parts.username is None:
        return
    token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    host = parts.netloc.rpartition("@")[2]  # as written: an IPv6 address keeps its brackets
    request.full_url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def environment(event: dict) -> dict[str, str]:
    """`TAGREG_*` variables of one event, for command targets."""
    out = {}
    for key, value in event.items():
        if key == "annotation":
            value = json.dumps(value) if value is not None else ""
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[f"TAGREG_{key.upper()}"] = "" if value is None else str(value)
    return out


def run_command(command: list[str], event: dict, timeout: float) -> None:
    """Run command for one event; returns on exit 0, raises DeliveryFailed otherwise."""
    env = {**os.environ, **environment(event)}
    try:
        proc = subprocess.run(command, input=json.dumps(event).encode(), env=env, capture_output=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise DeliveryFailed(f"command not found: {command[0]}") from None
    except subprocess.TimeoutExpired:
        raise DeliveryFailed(f"command timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DeliveryFailed(f"exit code {proc.returncode}" + (f": {detail[-1]}" if detail else ""))
