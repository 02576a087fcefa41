"""Who may write, and forms that only our own pages can submit.

The REST API takes a token as `Authorization: Bearer TOKEN`: the server's own (TAGREG_TOKEN, the
admin), or a person's from the config's `tokens:` (see people.py); no cookie is ever accepted
there, so it needs no CSRF defence. The pages sign a browser in with a token and keep who signed
in in a cookie, so their forms are protected:

- every browser gets a random, HttpOnly `tagreg_sid` cookie;
- signing in sets `tagreg_auth`: an expiry, who signed in (an HMAC of their token's hash, so a
  token replaced or removed from the config signs its browsers out) and an HMAC of those and the
  sid: valid only with that sid;
- every form carries a CSRF token, an HMAC of the sid, checked on POST (a signed double submit
  bound to the session: a page elsewhere, even on another port of the same host, where cookies are
  shared, can neither read the sid nor compute the token; planting its own sid voids the sign-in).

All keys derive from TAGREG_TOKEN, so several instances behind a proxy accept each other's
cookies, and changing the token signs everyone out. Without TAGREG_TOKEN (only `tokens:`) the keys
are random: a restart signs everyone out. Nothing is stored on the server.

Guessing a token is slow: after `Attempts.limit` wrong tokens (sign-in or API) from one client
address within `Attempts.window` seconds, that address gets 429 with Retry-After, even for the right
token, until the oldest of those failures is out of the window. Behind a reverse proxy every client
has the proxy's address unless uvicorn trusts its `X-Forwarded-For` (it does from 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from . import people as P

log = logging.getLogger("tagreg.server")

SID_COOKIE = "tagreg_sid"
AUTH_COOKIE = "tagreg_auth"
SESSION_SECONDS = 12 * 3600
ADMIN = "admin"  # who signed in, in the cookie, for the admin token


class Guard:
    """Checks tokens and signs cookies for one server."""

    check_interval = 1.0  # seconds between looks at the config file for changed tokens

    def __init__(self, token: str | None, write: bool, people: Iterable[P.Person] = (),
                 config: str | None = None, reload: Callable[[], list[P.Person]] | None = None):
        """config and reload: the config file, and what reads its people again when it changes
        (so a token removed from it stops working without a restart)."""
        self.write = write
        self.token = token or None
        self.admin = P.Person(None, None, P.digest(token), admin=True) if token else None
        self._people = list(people)
        seed = (token or secrets.token_hex(32)).encode()
        self._key = hashlib.sha256(b"tagreg-server-v1\0" + seed).digest()
        self.attempts = Attempts()
        self._config, self._reload = config, reload
        self._stamp = _stamp(config) if config else None
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @property
    def people(self) -> list[P.Person]:
        """The people of the config's `tokens:`, as the file says now (looked at once a second). A
        file that no longer reads leaves no personal token working until it is fixed: a token
        removed in the same edit must not keep working (the admin token does)."""
        if self._config is None or self._reload is None or time.monotonic() - self._checked < self.check_interval:
            return self._people
        with self._lock:
            self._checked = time.monotonic()
            stamp = _stamp(self._config)
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._people = self._reload()
                    log.info("read the tokens of %s again: %d personal tokens", self._config, len(self._people))
                except Exception as exc:  # noqa: BLE001 - a config being edited: refuse, say why, go on
                    self._people = []
                    log.warning("cannot read the tokens of %s, so no personal token works until it is fixed: %s",
                                self._config, exc)
        return self._people

    def check_attempts(self, client: str) -> None:
        """Refuse (429) a client that gave too many wrong tokens lately, before looking at its token."""
        wait = self.attempts.retry_after(client)
        if wait:
            from .service import Problem

            raise Problem(429, "too_many_attempts", f"too many wrong tokens from {client}: try again in {wait} s",
                          retry_after=wait)

    def _sign(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()

    def person(self, given: str | None) -> P.Person | None:
        """Whose token given is (the admin's or a person's), in constant time; None: nobody's."""
        return P.find([*([self.admin] if self.admin else []), *self.people], given)

    def token_ok(self, given: str | None) -> bool:
        """Whether given is a token this server takes."""
        return self.person(given) is not None

    def bearer(self, header: str | None) -> P.Person | None:
        """Whose token an Authorization header carries (None: no one's)."""
        scheme, _, value = (header or "").partition(" ")
        return self.person(value.strip()) if scheme.lower() == "bearer" else None

    def bearer_ok(self, header: str | None) -> bool:
        """Whether an Authorization header carries a token this server takes."""
        return self.bearer(header) is not None

    @property
    def takes_tokens(self) -> bool:
        """Some token can sign in (the admin's or a person's)."""
        return self.admin is not None or bool(self.people)

    def _who(self, person: P.Person) -> str:
        return ADMIN if person.admin else self._sign("person", person.digest.hex())[:32]

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

    def auth_cookie(self, sid: str, person: P.Person, now: float | None = None) -> str:
        """The signed-in cookie of person for this browser session."""
        expires = int((now or time.time()) + SESSION_SECONDS)
        who = self._who(person)
        return f"{expires}.{who}.{self._sign('auth', f'{sid}.{expires}.{who}')}"

    def signed_in(self, sid: str | None, cookie: str | None) -> P.Person | None:
        """Who the cookie signs in for this browser session (None: no one, or it expired, or their
        token is no longer in the config)."""
        if not (self.write and self.takes_tokens and sid and cookie) or len(cookie) > 200:
            return None
        expires, _, rest = cookie.partition(".")
        who, _, signature = rest.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return None
        if not hmac.compare_digest(self._sign("auth", f"{sid}.{expires}.{who}"), signature):
            return None
        if who == ADMIN:
            return self.admin
        return next((p for p in self.people if hmac.compare_digest(self._who(p), who)), None)


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


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
