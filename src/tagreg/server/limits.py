"""What keeps hostile HTTP clients from exhausting the server: bounded bodies, timeouts for slow
clients, a connection limit, allowed host names, and logs that an attacker cannot flood.

- Bodies: a `Content-Length` over the limit is answered 413 before any of the body is read; a
  chunked body is counted as it arrives and refused (413) as soon as it passes the limit.
- Slow clients: uvicorn has no timeout for a request that is still arriving (its keep-alive
  timeout only covers the idle time between requests, and every byte resets it). The HTTP
  protocol here closes a connection whose request headers are not complete `header_timeout`
  seconds after it opened (or after the previous answer), and one whose body is not complete
  `body_timeout` seconds after its headers; the ASGI middleware answers 408 when the application is
  the one waiting for the body.
- Connections: at most `max_connections` at a time (by default from the open-files limit, so the
  server never runs out of file descriptors). A new connection over the limit closes the one that
  has waited longest for its request headers, so slow clients cannot lock others out; uvicorn's
  `limit_concurrency` is not used, as it answers 503 to the clients that do send requests.
- Host names: a request for another host name (DNS rebinding) is answered 400.
- Logs: warnings repeat at most once per interval, with a count of those left out; "too many
  open files" on accept (asyncio logs it with a traceback once per queued connection) likewise.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .service import Problem

log = logging.getLogger("tagreg.server")

DEFAULT_MAX_CONNECTIONS = 500
BACKLOG = 64  # also how many connections asyncio accepts at once, before any is counted
BURSTS = 3  # accepts that can happen before the first of them is counted, on a busy event loop
RESERVED_FILES = 150  # for the index (three per thread), git's pipes, logs, static files
LOG_INTERVAL = 30.0  # seconds between two copies of the same warning
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")


@dataclass
class Limits:
    """The bounds a server holds its clients to."""

    max_body: int = 64 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int | None = None  # None: from the open-files limit
    allowed_hosts: tuple[str, ...] = LOCAL_NAMES
    max_form_fields: int = 100

    def connections(self) -> int:
        """The connection limit: as given, or what the open-files limit leaves room for."""
        if self.max_connections is not None:
            return self.max_connections
        try:
            import resource

            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        except (ImportError, OSError, ValueError):
            return DEFAULT_MAX_CONNECTIONS
        if soft == resource.RLIM_INFINITY:
            return DEFAULT_MAX_CONNECTIONS
        return max(8, min(DEFAULT_MAX_CONNECTIONS, soft - max(BURSTS * BACKLOG + RESERVED_FILES, soft // 4)))


def default_hosts(bind: str) -> tuple[str, ...]:
    """The host names always allowed: localhost and the address the server listens on (no page on
    another site can make a browser send these)."""
    bind = bind.strip("[]").lower()
    return LOCAL_NAMES + (() if bind in WILDCARD_ADDRESSES or bind in LOCAL_NAMES else (bind,))


def host_name(header: str) -> str | None:
    """The name in a Host header, without the port (None when it is not a host name)."""
    value = header.strip().lower()
    if value.startswith("["):  # an IPv6 address
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name or None
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def host_allowed(header: str, allowed: Sequence[str]) -> bool:
    """Whether a Host header names one of the allowed hosts (`*` any, `*.example.com` subdomains)."""
    name = host_name(header)
    if name is None:
        return False
    for pattern in allowed:
        pattern = pattern.strip().lower().strip("[]")
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class Bounded:
    """ASGI middleware: allowed host names, and request bodies bounded in size and time."""

    def __init__(self, app, limits: Limits, reject: Callable[[dict, Problem], Any]):
        self.app, self.limits, self.reject = app, limits, reject

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limits = self.limits
        host = _header(scope, b"host") or ""
        if not host_allowed(host, limits.allowed_hosts):
            shown = host[:100].encode("ascii", "backslashreplace").decode() or "(none)"
            return await self._refuse(scope, receive, send, Problem(
                400, "invalid_host", f"this server does not answer to the host name {shown}: "
                                     "start it with --allowed-host NAME to allow that name"))
        length = _header(scope, b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limits.max_body):
            return await self._refuse(scope, receive, send, Problem(
                413, "too_large", f"the request body is too large (at most {limits.max_body} bytes)"))

        received = 0
        done = False
        deadline: float | None = None

        async def bounded_receive():
            nonlocal received, done, deadline
            if done:  # the whole body is in: now receive() only reports a disconnect
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + limits.body_timeout
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise Problem(408, "timeout", f"the request body did not arrive within {limits.body_timeout:g} s") \
                    from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limits.max_body:
                    raise Problem(413, "too_large", f"the request body is too large (at most {limits.max_body} bytes)")
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        async def closing_send(message):
            # After a refused or unfinished body the connection cannot be reused: close it.
            if message["type"] == "http.response.start" and message["status"] in (408, 413):
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, bounded_receive, closing_send)

    async def _refuse(self, scope, receive, send, problem: Problem):
        response = self.reject(scope, problem)
        response.headers["connection"] = "close"
        await response(scope, receive, send)


# -- logs -----------------------------------------------------------------------------------------

class Throttle(logging.Filter):
    """Lets each distinct warning through at most once per interval, then says how many were left out."""

    def __init__(self, interval: float = LOG_INTERVAL, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval, self.clock = interval, clock
        self._seen: dict[str, list] = {}  # message -> [last shown, left out since]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = str(record.msg)[:200]
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.interval:
            seen[1] += 1
            return False
        if len(self._seen) > 256:  # many distinct messages: forget the old ones
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.interval}
        left_out = seen[1] if seen else 0
        self._seen[key] = [now, 0]
        if left_out:
            record.msg = f"{record.getMessage()} ({left_out} more like this in the last {self.interval:g} s)"
            record.args = None
        return True


def quiet_logs() -> Throttle:
    """Throttle the warnings of uvicorn, asyncio and the server (an attacker can cause any number)."""
    throttle = Throttle()
    for name in ("uvicorn.error", "asyncio", "tagreg.server"):
        logging.getLogger(name).addFilter(throttle)
    return throttle


def exception_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The event loop's error handler: running out of file descriptors is one line per interval."""
    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
        # asyncio retries accept() a second later, logging once for every connection queued meanwhile.
        log.warning("cannot accept connections: %s (raise the open-files limit, `ulimit -n`, or lower "
                    "--max-connections)", exc.strerror or exc)
        return
    loop.default_exception_handler(context)


# -- the HTTP protocol ----------------------------------------------------------------------------

def protocol_class(limits: Limits):
    """uvicorn's h11 protocol with timeouts for slow requests and a connection limit."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    cap = limits.connections()

    class Protocol(H11Protocol):
        _phase: Any = None  # h11's state of the client: IDLE (headers to come), SEND_BODY, DONE...
        _since = 0.0
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._track()
            if len(self.connections) > cap:
                self._make_room()

        def _make_room(self) -> None:
            waiting = [c for c in self.connections if isinstance(c, Protocol) and c._phase is h11.IDLE
                       and not c.transport.is_closing()]
            oldest = min(waiting, key=lambda c: c._since, default=self)
            log.warning("%d connections: closing the one that waited longest for its request", cap)
            oldest.transport.close()

        def handle_events(self) -> None:
            super().handle_events()
            self._track()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._track()

        def connection_lost(self, exc) -> None:
            self._cancel()
            super().connection_lost(exc)

        def _cancel(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _track(self) -> None:
            """Start the clock of the request's current part (headers, then body) when it changes."""
            phase = self.conn.their_state
            if phase is self._phase:
                return
            self._phase, self._since = phase, self.loop.time()
            self._cancel()
            if phase is h11.IDLE:
                self._timer = self.loop.call_later(limits.header_timeout, self._expire, phase, self._since)
            elif phase is h11.SEND_BODY:  # a little later than the application's own 408
                self._timer = self.loop.call_later(limits.body_timeout + 1.0, self._expire, phase, self._since)

        def _expire(self, phase, since: float) -> None:
            self._timer = None
            if self._phase is phase and self._since == since and not self.transport.is_closing():
                self.transport.close()

    return Protocol


def serve(app, host: str, port: int, limits: Limits) -> bool:
    """Run uvicorn with these limits until interrupted; returns whether it started."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            asyncio.get_running_loop().set_exception_handler(exception_handler)
            await super().startup(sockets)

    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", access_log=False, server_header=False,
        http=protocol_class(limits), ws="none", backlog=BACKLOG, timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
    )
    server = Server(config)
    quiet_logs()
    server.run()
    return server.started
