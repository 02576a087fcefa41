"""The durable outbox of `tagreg watch`: SQLite in WAL mode.

An event is written here, in the same transaction that records it as seen, before any delivery
is tried. A delivery is marked done only after the target acknowledged it, so a watcher killed at
any moment (even `kill -9` in the middle of a POST) re-sends what was not acknowledged and never
what was: at-least-once delivery, deduplicated by the event id on the receiving side.

A corrupt file is never used nor replaced silently: every SQLite error is an `OutboxError` naming
the file (a corrupt one says how to recover it: `recovery.py`), and an outbox whose write-ahead log
is there without it is refused rather than started afresh.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import UserError

SCHEMA = """
CREATE TABLE IF NOT EXISTS repos (
    repo TEXT PRIMARY KEY,
    initialized_at REAL NOT NULL,
    polled_at REAL,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS seen (
    repo TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (repo, event_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    repo TEXT NOT NULL,
    event_id TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending, delivered, dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL,
    UNIQUE (target, repo, event_id, deleted)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
"""


class OutboxError(UserError):
    """The outbox file cannot be used (unreadable, locked, missing beside its journal)."""


class OutboxCorrupt(OutboxError):
    """SQLite says the outbox file is damaged; the message names the file and the recovery command."""

    def __init__(self, path: Path, detail: str, recover_command: str):
        self.path = path
        super().__init__(f"the watch outbox {path} is corrupt ({detail}); run `{recover_command}` to keep it "
                         "aside and start a new one with the deliveries it can still read")


# SQLITE_CORRUPT and SQLITE_NOTADB (Python 3.11 names the code; 3.10 only says it in words)
_CORRUPT_CODES = {11, 26}
_CORRUPT_WORDS = ("malformed", "not a database", "corrupt")


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Whether the error says the file is damaged (not locked, not missing, not a full disk)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF in _CORRUPT_CODES) or any(w in str(exc) for w in _CORRUPT_WORDS)


def integrity_problem(db: sqlite3.Connection) -> str | None:
    """What `PRAGMA quick_check` finds wrong with db, None if nothing (raises on an unreadable file)."""
    rows = db.execute("PRAGMA quick_check").fetchmany(3)
    if rows == [("ok",)]:
        return None
    return "; ".join(str(r[0]) for r in rows)[:300] or "quick_check returned nothing"


F = TypeVar("F", bound=Callable)


def _guarded(method: F) -> F:
    """Turn the SQLite errors of an Outbox method into one-line OutboxErrors naming the file."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._errors():
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass
class Item:
    """One event waiting for (or done with) delivery to one target."""

    id: int
    target: str
    repo: str
    event_id: str
    deleted: bool
    payload: dict
    status: str
    attempts: int
    next_at: float
    last_error: str | None


class Outbox:
    """The watcher's state: repositories seen, events seen, deliveries pending/done/dead."""

    def __init__(self, path: str | Path, recover_command: str = "tagreg watch recover"):
        self.path = Path(path)
        self.recover_command = recover_command
        self.created = not self.path.exists()
        journal = Path(f"{self.path}-wal")
        if self.created and journal.exists():
            # SQLite would start an empty outbox beside it (or replay part of the old one into it)
            raise OutboxError(f"the watch outbox {self.path} is missing but its write-ahead log {journal} is "
                              f"there: put {self.path} back, or move {journal} away to start a new outbox")
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            try:
                problem = integrity_problem(self.db)  # before anything writes to it
                if problem:
                    raise OutboxCorrupt(self.path, problem, recover_command)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a crash
                self.db.executescript(SCHEMA)
            except BaseException:
                self.close()
                raise

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if is_corrupt(exc):
                raise OutboxCorrupt(self.path, str(exc), self.recover_command) from exc
            raise OutboxError(f"cannot use the watch outbox {self.path}: {exc}") from exc
        except OSError as exc:
            raise OutboxError(f"cannot use the watch outbox {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Close the database."""
        try:
            self.db.close()
        except sqlite3.Error:
            pass  # a corrupt file may fail its last checkpoint: what was committed is committed

    # -- what has been seen --

    @_guarded
    def initialized(self, repo: str) -> bool:
        """Whether repo was polled before (its events are known)."""
        return self.db.execute("SELECT 1 FROM repos WHERE repo = ?", (repo,)).fetchone() is not None

    @_guarded
    def seen(self, repo: str) -> dict[str, dict]:
        """event id -> payload of every event of repo known to exist."""
        rows = self.db.execute("SELECT event_id, payload FROM seen WHERE repo = ?", (repo,))
        return {event_id: json.loads(payload) for event_id, payload in rows}

    @_guarded
    def record(
        self, repo: str, new: list[dict], gone: list[dict], deliveries: list[tuple[str, dict, bool]],
    ) -> None:
        """In one transaction: mark new events seen, forget gone ones, and queue deliveries
        (target, payload, deleted)."""
        now = time.time()
        with self._transaction():
            self.db.execute(
                "INSERT INTO repos (repo, initialized_at, polled_at) VALUES (?, ?, ?) "
                "ON CONFLICT(repo) DO UPDATE SET polled_at = excluded.polled_at, last_error = NULL",
                (repo, now, now),
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO seen (repo, event_id, payload) VALUES (?, ?, ?)",
                [(repo, e["id"], json.dumps(e)) for e in new],
            )
            self.db.executemany("DELETE FROM seen WHERE repo = ? AND event_id = ?", [(repo, e["id"]) for e in gone])
            self.db.executemany(
                "INSERT OR IGNORE INTO outbox (target, repo, event_id, deleted, payload, next_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(target, repo, p["id"], int(deleted), json.dumps(p), now, now) for target, p, deleted in deliveries],
            )

    @_guarded
    def poll_failed(self, repo: str, error: str) -> None:
        """Remember why a repository could not be read (shown by `watch status`)."""
        self.db.execute("UPDATE repos SET last_error = ? WHERE repo = ?", (error, repo))

    # -- delivery --

    @_guarded
    def due(self, target: str, limit: int = 100, now: float | None = None) -> list[Item]:
        """Pending items of target whose time has come, oldest first."""
        rows = self.db.execute(
            "SELECT id, target, repo, event_id, deleted, payload, status, attempts, next_at, last_error "
            "FROM outbox WHERE target = ? AND status = 'pending' AND next_at <= ? ORDER BY id LIMIT ?",
            (target, now if now is not None else time.time(), limit),
        )
        return [Item(r[0], r[1], r[2], r[3], bool(r[4]), json.loads(r[5]), r[6], r[7], r[8], r[9]) for r in rows]

    @_guarded
    def next_due(self) -> float | None:
        """When the next pending item is due (None if nothing is pending)."""
        row = self.db.execute("SELECT MIN(next_at) FROM outbox WHERE status = 'pending'").fetchone()
        return row[0] if row else None

    @_guarded
    def delivered(self, items: Iterable[Item]) -> None:
        """Mark items acknowledged."""
        now = time.time()
        with self._transaction():
            self.db.executemany("UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1 "
                                "WHERE id = ?", [(now, i.id) for i in items])

    @_guarded
    def failed(self, items: Iterable[Item], error: str, max_attempts: int, backoff: float,
               max_backoff: float) -> tuple[int, int]:
        """Schedule another try with exponential backoff, or mark dead after max_attempts; returns
        (how many are dead now, how many will be retried)."""
        now = time.time()
        dead = retried = 0
        with self._transaction():
            for item in items:
                attempts = item.attempts + 1
                if attempts >= max_attempts:
                    self.db.execute("UPDATE outbox SET status = 'dead', attempts = ?, last_error = ? WHERE id = ?",
                                    (attempts, error, item.id))
                    dead += 1
                else:
                    delay = min(backoff * (2 ** (attempts - 1)), max_backoff)
                    self.db.execute("UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
                                    (attempts, now + delay, error, item.id))
                    retried += 1
        return dead, retried

    @_guarded
    def retry_dead(self, target: str | None = None) -> int:
        """Queue dead items again (all, or one target's); returns how many."""
        sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_at = ? WHERE status = 'dead'"
        args: list = [time.time()]
        if target:
            sql += " AND target = ?"
            args.append(target)
        return self.db.execute(sql, args).rowcount

    # -- reporting --

    @_guarded
    def counts(self) -> dict[str, dict[str, int]]:
        """target -> status -> number of items."""
        out: dict[str, dict[str, int]] = {}
        for target, status, count in self.db.execute(
                "SELECT target, status, COUNT(*) FROM outbox GROUP BY target, status"):
            out.setdefault(target, {})[status] = count
        return out

    @_guarded
    def items(self, status: str, limit: int = 50) -> list[Item]:
        """Items with status (e.g. the dead letters), oldest first."""
        rows = self.db.execute(
            "SELECT id, target, repo, event_id, deleted, payload, status, attempts, next_at, last_error "
            "FROM outbox WHERE status = ? ORDER BY id LIMIT ?", (status, limit))
        return [Item(r[0], r[1], r[2], r[3], bool(r[4]), json.loads(r[5]), r[6], r[7], r[8], r[9]) for r in rows]

    @_guarded
    def repos(self) -> list[tuple[str, float | None, str | None, int]]:
        """(repo, last poll time, last error, events seen) of every repository."""
        return [tuple(r) for r in self.db.execute(
            "SELECT r.repo, r.polled_at, r.last_error, (SELECT COUNT(*) FROM seen s WHERE s.repo = r.repo) "
            "FROM repos r ORDER BY r.repo")]

    def _transaction(self):
        db = self.db

        class _Tx:
            def __enter__(self_inner):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self_inner, kind, value, tb):
                db.execute("COMMIT" if kind is None else "ROLLBACK")
                return False

        return _Tx()
