"""`tagreg watch recover`: keep a corrupt outbox aside and start a new one from what can still be read.

The corrupt file (with its `-wal` and `-shm`) is renamed `<name>.corrupt-<UTC time>`, byte for byte
as it was; its rows are read from a copy, a row at a time, skipping what SQLite cannot read. The new
outbox errs towards delivering twice rather than never (at-least-once):

- a delivery row that was read keeps its state (delivered, pending, dead);
- an event is known as seen if its `seen` row, or a delivery row of it, was read;
- if any delivery row could not be read, every seen event gets a pending delivery for each target
  whose filter takes it and that has no delivery row of it: it may have been queued and lost;
- if a `repos` row could not be read, every configured repository counts as followed already, so
  the next poll delivers every event not known as seen instead of recording it as seen unsent.

Nothing is changed until the new outbox is complete: it is built beside the old one, and the two
renames come last.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .outbox import Outbox, OutboxError, integrity_problem

COLUMNS = {
    "repos": ["repo", "initialized_at", "polled_at", "last_error"],
    "seen": ["repo", "event_id", "payload"],
    "outbox": ["id", "target", "repo", "event_id", "deleted", "payload", "status", "attempts", "next_at",
               "last_error", "created_at", "delivered_at"],
}
STATUSES = {"pending", "delivered", "dead"}


@dataclass
class Report:
    """What a recovery did."""

    kept: Path | None = None  # where the corrupt file went (None: it was not corrupt)
    problem: str | None = None
    deliveries: dict[str, int] = field(default_factory=dict)  # status -> rows recovered
    seen: int = 0
    repos: int = 0
    requeued: int = 0  # deliveries queued because their rows may have been lost
    unreadable: list[str] = field(default_factory=list)  # tables with rows that could not be read


def recover(path: Path, repos: list[str], wanted: Callable[[dict], list[str]]) -> Report:
    """Recover the outbox at path; repos are the configured repository labels, wanted(payload) the
    ids of the targets whose filters take an event."""
    path = Path(path)
    if not path.exists():
        raise OutboxError(f"there is no watch outbox at {path}: nothing to recover")
    scratch = Path(tempfile.mkdtemp(prefix=".recover-", dir=path.parent))
    try:
        copy = scratch / "corrupt.sqlite"
        shutil.copyfile(path, copy)  # SQLite writes to a file it opens (a checkpoint): not to the one kept
        if Path(f"{path}-wal").exists():
            shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        problem = _problem(copy)
        if problem is None:
            return Report()
        tables = {name: _rows(copy, name, columns) for name, columns in COLUMNS.items()}
        report = Report(problem=problem, unreadable=[n for n, (_, complete) in tables.items() if not complete])
        fresh = scratch / "new.sqlite"
        _rebuild(fresh, tables, repos, wanted, report)
        report.kept = _keep_aside(path)
        os.replace(fresh, path)
        return report
    except OSError as exc:
        raise OutboxError(f"cannot recover the watch outbox {path}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _problem(path: Path) -> str | None:
    """What is wrong with the database at path (None: nothing)."""
    try:
        db = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    try:
        return integrity_problem(db)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()


def _rows(path: Path, table: str, columns: list[str]) -> tuple[list[tuple], bool]:
    """Every row of table that SQLite can still read, in rowid order; and whether that was all of them.

    A scan stops at the first damaged page; it goes on after it, from the first rowid past the
    damage that can be looked up."""
    rows: list[tuple] = []
    complete = True
    try:
        db = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.DatabaseError:
        return rows, False
    sql = f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid"
    last = 0  # the tables' rowids start at 1
    resumed_at = 0
    try:
        while True:
            try:
                for row in db.execute(sql, (last,)):
                    last = row[0]
                    if _valid(table, row[1:]):
                        rows.append(row[1:])
                    else:
                        complete = False
                return rows, complete
            except sqlite3.DatabaseError:
                complete = False
                # nothing read since the last resumption: the row resumed at is itself unreadable
                resume = _next_readable(db, table, max(last, resumed_at))
                if resume is None:
                    return rows, complete
                resumed_at, last = resume, resume - 1
    finally:
        db.close()


def _next_readable(db: sqlite3.Connection, table: str, after: int) -> int | None:
    """The smallest rowid past after that a lookup can reach, found by probing further and further
    then halving back; None if no lookup past after succeeds."""
    probe = f"SELECT rowid FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1"

    def first_from(start: int) -> int | bool | None:  # the rowid found, None if none, False if unreadable
        try:
            row = db.execute(probe, (start,)).fetchone()
        except sqlite3.DatabaseError:
            return False
        return row[0] if row else None

    bad, step = after, 1
    while step < 2 ** 62:
        found = first_from(after + step)
        if found is not False:
            good = after + step
            while good - bad > 1:  # narrow down to the first start that reads
                middle = (good + bad) // 2
                if first_from(middle) is False:
                    bad = middle
                else:
                    good = middle
            found = first_from(good)
            return None if found is False else found
        bad, step = after + step, step * 2
    return None


def _valid(table: str, row: tuple) -> bool:
    """Whether a row read from a damaged file looks like one the watcher wrote."""
    try:
        if table == "repos":
            return isinstance(row[0], str)
        payload = json.loads(row[2] if table == "seen" else row[5])
        if not isinstance(payload, dict) or payload.get("id") != (row[1] if table == "seen" else row[3]):
            return False
        return table == "seen" or (isinstance(row[0], int) and row[6] in STATUSES and isinstance(row[1], str))
    except (TypeError, ValueError, IndexError):
        return False


def _rebuild(fresh: Path, tables: dict, repos: list[str], wanted: Callable[[dict], list[str]],
             report: Report) -> None:
    """Write the new outbox at fresh from the rows read (see the module's rules)."""
    repo_rows, repos_complete = tables["repos"]
    seen_rows, _ = tables["seen"]
    outbox_rows, outbox_complete = tables["outbox"]
    now = time.time()
    known = {row[0]: row for row in repo_rows}
    seen = {(row[0], row[1]): row[2] for row in seen_rows}
    latest: dict[tuple[str, str], tuple] = {}
    for row in sorted(outbox_rows, key=lambda r: r[0]):
        latest[(row[2], row[3])] = row
    for key, row in latest.items():  # a queued delivery shows its event was seen, unless it said deleted
        if not row[4] and key not in seen:
            seen[key] = row[5]
    followed = set(known) | {repo for repo, _ in seen} | {row[2] for row in outbox_rows}
    if not repos_complete:
        followed |= set(repos)
    queued = {(row[1], row[2], row[3], bool(row[4])) for row in outbox_rows}
    extra = []
    if not outbox_complete:
        for (repo, event_id), payload in seen.items():
            for target in wanted(json.loads(payload)):
                if (target, repo, event_id, False) not in queued:
                    extra.append((target, repo, event_id, 0, payload, "pending", 0, now, None, now, None))
    outbox = Outbox(fresh)
    try:
        db = outbox.db
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO repos (repo, initialized_at, polled_at, last_error) VALUES (?, ?, ?, ?)",
                       [known.get(repo, (repo, now, None, None)) for repo in sorted(followed)])
        db.executemany("INSERT INTO seen (repo, event_id, payload) VALUES (?, ?, ?)",
                       [(repo, event_id, payload) for (repo, event_id), payload in seen.items()])
        db.executemany(f"INSERT OR IGNORE INTO outbox ({', '.join(COLUMNS['outbox'])}) "
                       f"VALUES ({', '.join('?' * len(COLUMNS['outbox']))})", outbox_rows)
        db.executemany(f"INSERT OR IGNORE INTO outbox ({', '.join(COLUMNS['outbox'][1:])}) "
                       f"VALUES ({', '.join('?' * (len(COLUMNS['outbox']) - 1))})", extra)
        db.execute("COMMIT")
    finally:
        outbox.close()
    for row in outbox_rows:
        report.deliveries[row[6]] = report.deliveries.get(row[6], 0) + 1
    report.seen, report.repos, report.requeued = len(seen), len(followed), len(extra)


def _keep_aside(path: Path) -> Path:
    """Rename path (and its -wal, -shm) to `<name>.corrupt-<UTC time>`; returns the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, kept)
    for suffix in ("-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            os.replace(f"{path}{suffix}", f"{kept}{suffix}")
    return kept
