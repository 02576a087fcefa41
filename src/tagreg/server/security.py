"""Who may write, and forms that only our own pages can submit.

The REST API takes the server's token as `Authorization: Bearer TOKEN`; no cookie is ever
accepted there, so it needs no CSRF defence. The pages sign a browser in with the token and keep
that in a cookie, so their forms are protected:

- every browser gets a random, HttpOnly `tagreg_sid` cookie;
- signing in sets `tagreg_auth`, an HMAC of the sid and an expiry: valid only with that sid;
- every form carries a CSRF token, an HMAC of the sid, checked on POST (a signed double submit
  bound to the session: a page elsewhere, even on another port of the same host, where cookies are
  shared, can neither read the sid nor compute the token; planting its own sid voids the sign-in).

All keys derive from TAGREG_TOKEN, so several instances behind a proxy accept each other's
cookies, and changing the token signs everyone out. Nothing is stored on the server.

Guessing the token is slow: after `Attempts.limit` wrong tokens (sign-in or API) from one client
address within `Attempts.window` seconds, that address gets 429 with Retry-After, even for the right
token, until the oldest of those failures is out of the window. Behind a reverse proxy every client
has the proxy's address unless uvicorn trusts its `X-Forwarded-For` (it does from 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable

SID_COOKIE = "tagreg_sid"
AUTH_COOKIE = "tagreg_auth"
SESSION_SECONDS = 12 * 3600


class Guard:
    """Checks tokens and signs cookies for one server."""

    def __init__(self, token: str | None, write: bool):
        self.write = write
        self.token = token or None
        seed = (token or secrets.token_hex(32)).encode()
        self._key = hashlib.sha256(b"tagreg-server-v1\0" + seed).digest()
        self.attempts = Attempts()

    def check_attempts(self, client: str) -> None:
        """Refuse (429) a client that gave too many wrong tokens lately, before looking at its token."""
        wait = self.attempts.retry_after(client)
        if wait:
            from .service import Problem

            raise Problem(429, "too_many_attempts", f"too many wrong tokens from {client}: try again in {wait} s",
                          retry_after=wait)

    def _sign(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, given: str | None) -> bool:
        """Whether given is the server's token (in constant time)."""
        if not self.token or not given:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    def bearer_ok(self, header: str | None) -> bool:
        """Whether an Authorization header carries the server's token."""
        scheme, _, value = (header or "").partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    @staticmethod
    def new_sid() -> str:
        """A fresh browser session id."""
        return secrets.token_urlsafe(24)

    def csrf_token(self, sid: str) -> str:
        """The CSRF token of forms for this browser session."""
        return self._sign("csrf", sid)

    def csrf_ok(self, sid: str | None, given: str | None) -> bool:
        """Whether a submitted form's CSRF token belongs to this browser session."""
        if not sid or not given:
            return False
        return hmac.compare_digest(self.csrf_token(sid), given)

    def auth_cookie(self, sid: str, now: float | None = None) -> str:
        """The signed-in cookie for this browser session."""
        expires = int((now or time.time()) + SESSION_SECONDS)
        return f"{expires}.{self._sign('auth', f'{sid}.{expires}')}"

    def signed_in(self, sid: str | None, cookie: str | None) -> bool:
        """Whether the cookie signs this browser session in (and has not expired)."""
        if not (self.write and self.token and sid and cookie):
            return False
        expires, _, signature = cookie.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._sign("auth", f"{sid}.{expires}"), signature)


class Attempts:
    """Wrong tokens per client address in a sliding window (bounded: the least recent addresses go)."""

    def __init__(self, limit: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 10_000):
        self.limit, self.window, self.clock, self.max_clients = limit, window, clock, max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        cutoff = self.clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def retry_after(self, client: str) -> int:
        """Seconds until this client may try a token again (0: now)."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return 0
        return max(1, int(failures[-self.limit] + self.window - self.clock() + 0.999))

    def failed(self, client: str) -> None:
        """Count a wrong token from this client."""
        failures = self._recent(client)
        self._failures[client] = failures
        self._failures.move_to_end(client)
        failures.append(self.clock())
        while len(failures) > self.limit:
            failures.popleft()
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
