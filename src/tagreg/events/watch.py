"""`tagreg watch`: follow registries, turn new and vanished tags into events, deliver them.

One loop: poll each repository when its interval has passed (or at once when the `--listen`
endpoint is called by a Git host's push webhook), record what changed in the outbox, then send
what is due. Polling a remote is one fetch of its cached mirror.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import api
from .. import tags as T
from ..errors import UserError
from ..remote import redact
from . import targets as targets_mod
from .outbox import Outbox
from .records import list_events
from .watch_config import Delivery, RepoConfig, Target, WatchConfig

if TYPE_CHECKING:
    from . import listener

log = logging.getLogger("tagreg.watch")


class Watcher:
    """Polls registries and delivers their events through the durable outbox."""

    def __init__(self, config: WatchConfig, replay: bool = False, echo: Callable[[str], None] = log.info,
                 listen_at: tuple[str, int] | None = None):
        """listen_at: serve the push endpoint there, bound before the outbox is opened (or made)."""
        self.config = config
        self.replay = replay
        self.echo = echo
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.next_poll = {repo.label: 0.0 for repo in config.repos}
        self.server: listener.PushServer | None = None
        self.unreadable: dict[str, str] = {}  # label -> why its last poll could not read it
        self.held: dict[str, float] = {}  # event id -> when first seen, for events waiting to settle
        self.wake_at = float("inf")  # monotonic time a held event is due a second look
        if listen_at:
            self.listen(*listen_at)
        try:
            self.outbox = Outbox(config.state, config.recover_command)
        except BaseException:
            if self.server is not None:
                self.server.shutdown()
                self.server.server_close()
            raise
        if self.outbox.created:  # a deleted outbox must not go by unsaid: what it had is not known now
            echo(f"new outbox {config.state}: " + ("every event the repositories have now is delivered (--replay)"
                 if replay else "the events the repositories have now are recorded as seen, not delivered "
                                "(--replay delivers them)"))

    # -- polling --

    def poll(self, repo: RepoConfig) -> int:
        """Read repo's events and queue the changes; returns how many events changed."""
        try:
            r = api.Repository(repo.location, progress=False, branch=repo.branch)
            current = {e.id: e.to_dict() for e in list_events(r, repo.label)}
        except UserError as exc:
            self.outbox.poll_failed(repo.label, str(exc))
            self.unreadable[repo.label] = str(exc)
            self.echo(f"cannot read {redact(repo.location)}: {exc}")
            return 0
        self.unreadable.pop(repo.label, None)
        first = not self.outbox.initialized(repo.label)
        seen = {} if first else self.outbox.seen(repo.label)
        new = [payload for ident, payload in current.items() if ident not in seen and not self._unsettled(payload)]
        gone = [{**payload, "deleted": True} for ident, payload in seen.items() if ident not in current]
        deliveries: list[tuple[str, dict, bool]] = []
        if not first or self.replay:  # a first start records history as seen instead of flooding
            for payload in new + gone:
                deleted = bool(payload.get("deleted"))
                deliveries += [(t.id, payload, deleted) for t in self.config.targets if t.filter.matches(payload)]
        self.outbox.record(repo.label, new, gone, deliveries)
        if first and not self.replay:
            self.echo(f"{repo.label}: {len(new)} existing events recorded as seen")
        elif new or gone:
            self.echo(f"{repo.label}: {len(new)} new, {len(gone)} deleted events; {len(deliveries)} deliveries queued")
        return len(new) + len(gone)

    def _unsettled(self, payload: dict) -> bool:
        """Hold back, for `settle` seconds after first sight, a stage event on a commit with no version:
        a non-atomic push updates refs one by one (`m#prod#1` sorts before `m@v1.0.0`), and a poll
        in between would describe the assignment without its version forever."""
        if payload["event"] not in ("assignment", "unassignment") or T.is_version(payload["version"] or ""):
            return False
        first = self.held.setdefault(payload["id"], time.monotonic())
        if time.monotonic() - first < self.config.delivery.settle:
            self.wake_at = min(self.wake_at, first + self.config.delivery.settle)
            return True
        self.held.pop(payload["id"], None)
        return False

    def poll_due(self, force: bool = False) -> None:
        """Poll every repository whose interval has passed (all of them if force)."""
        now = time.monotonic()
        if now >= self.wake_at:
            self.wake_at, force = float("inf"), True
        for repo in self.config.repos:
            if force or now >= self.next_poll[repo.label]:
                self.poll(repo)
                self.next_poll[repo.label] = time.monotonic() + repo.interval

    # -- delivering --

    def deliver_due(self) -> int:
        """Send everything that is due to every target; returns how many events were acknowledged."""
        done = 0
        policy = self.config.delivery
        for target in self.config.targets:
            while not self.stopping.is_set():
                items = self.outbox.due(target.id, policy.batch if target.url else 1)
                if not items:
                    break
                try:
                    self._send(target, [i.payload for i in items])
                except targets_mod.DeliveryFailed as exc:
                    dead, retried = self.outbox.failed(items, str(exc), policy.max_attempts, policy.backoff,
                                                       policy.max_backoff)
                    self.echo(f"delivery to {target.display} failed ({exc}); " + _outcome(dead, retried, policy))
                    break
                self.outbox.delivered(items)
                done += len(items)
        return done

    def _send(self, target: Target, events: list[dict]) -> None:
        timeout = self.config.delivery.timeout
        if target.url:
            targets_mod.post(target.url, events, target.secret, timeout)
        else:
            for event in events:
                targets_mod.run_command(target.command or [], event, timeout)

    # -- the loop --

    def run(self, once: bool = False) -> None:
        """Poll and deliver until stopped (or one round if once)."""
        self.poll_due(force=True)
        self.deliver_due()
        while not once and not self.stopping.is_set():
            now = time.monotonic()
            waits = [max(0.0, t - now) for t in [*self.next_poll.values(), self.wake_at]]
            due = self.outbox.next_due()
            if due is not None:
                waits.append(max(0.0, due - time.time()))
            self.wake.wait(timeout=min(waits + [5.0]))
            triggered = self.wake.is_set()
            self.wake.clear()
            if self.stopping.is_set():
                break
            self.poll_due(force=triggered)
            self.deliver_due()

    def stop(self) -> None:
        """Ask the loop to finish its current step and return."""
        self.stopping.set()
        self.wake.set()
        if self.server is not None:
            self.server.shutdown()

    def close(self) -> None:
        """Release the outbox (and the push endpoint's port)."""
        if self.server is not None:
            self.server.server_close()
        self.outbox.close()

    # -- the push endpoint --

    def listen(self, host: str, port: int) -> tuple[str, int]:
        """Serve the push endpoint in a thread: a POST (signed, if there is a secret) makes the watcher
        fetch at once."""
        from . import listener

        c = self.config
        settings = listener.Settings(c.listen_secret, c.listen_timeout, c.listen_max_body, c.listen_max_connections)
        try:
            self.server = listener.serve(host, port, settings, self.wake.set)
        except (OSError, OverflowError) as exc:
            raise UserError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None
        return self.server.server_address[:2]  # type: ignore[return-value]


def _outcome(dead: int, retried: int, policy: Delivery) -> str:
    """What happens to a failed batch: retried later, or dead (given up) after the last attempt."""
    parts = []
    if retried:
        parts.append("will retry" if not dead else f"{retried} will be retried")
    if dead:
        events = f"{dead} deliver{'y' if dead == 1 else 'ies'}"
        parts.append(f"{events} dead after {policy.max_attempts} attempts, not retried "
                     "(`tagreg watch status --retry-dead` queues them again)")
    return "; ".join(parts)
