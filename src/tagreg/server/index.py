"""The server's index: registry state per repository in SQLite, only ever a cache of Git.

Each repository's rows are replaced in one transaction when its refs change, keyed by a content
fingerprint of those refs, so a page reads one consistent state per repository. Deleting the file
loses nothing: the next request or warm-up rebuilds it from Git. Several server processes can share
one file (WAL mode lets readers go on while one writes), or each keep its own. A file damaged while
the server runs is found by the error SQLite gives (see `damaged`), and replaced (`Index.reset`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# 14: an annotation's path is its path in the repository (a folder's dvc.yaml path joined to its
# folder); 13: models_fts, details judged (signatures, policy); 11: doc, sort indexes; 10: latest_key
# from tags.version_key; 9: where a path is stored
SCHEMA_VERSION = 14

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('generation', 0);
CREATE TABLE repos (
    id TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    fingerprint TEXT,          -- content fingerprint of the refs this state was built from
    head TEXT,
    built_at REAL,
    build_seconds REAL,
    stages TEXT,               -- JSON: the stage columns (config, or in use)
    facets TEXT,               -- JSON: types, labels and stages in use (stages in configured order), for filters
    models INTEGER DEFAULT 0,
    events INTEGER DEFAULT 0,
    error TEXT                 -- why the last build failed, if it did
);
CREATE TABLE models (
    repo TEXT NOT NULL,
    name TEXT NOT NULL,
    registered INTEGER NOT NULL,
    active INTEGER NOT NULL,
    type TEXT,
    path TEXT,
    description TEXT,
    labels TEXT NOT NULL,      -- JSON list
    latest TEXT,
    latest_key TEXT,           -- sorts like SemVer precedence
    stages TEXT NOT NULL,      -- JSON: stage -> versions in it, in the configured order, then by name
    last_ts INTEGER,
    last_event TEXT,           -- JSON: the newest event (GTO history shape)
    last_author TEXT,
    signature TEXT,            -- changes when any of this model's tags (or HEAD) change
    annotation TEXT,           -- JSON, or NULL when not annotated at HEAD
    search TEXT NOT NULL,      -- lower-case text the search box looks in
    doc TEXT NOT NULL,         -- JSON: the model as /api/models lists it (a page is these joined)
    PRIMARY KEY (repo, name)
);
CREATE INDEX models_name ON models(name);
-- One index per sort and direction, in the whole ORDER BY (NULLs last, then name and repo): a page
-- of any sort is read in order from its index, never sorted. `active` and `search` make them covering.
CREATE INDEX models_by_name ON models(name COLLATE NOCASE, repo, active, search);
CREATE INDEX models_by_name_desc ON models(name COLLATE NOCASE DESC, repo, active, search);
CREATE INDEX models_by_repo ON models(repo COLLATE NOCASE, name COLLATE NOCASE, repo, active, search);
CREATE INDEX models_by_repo_desc ON models(repo COLLATE NOCASE DESC, name COLLATE NOCASE, repo, active, search);
CREATE INDEX models_by_type ON models(type IS NULL, type COLLATE NOCASE, name COLLATE NOCASE, repo, active, search);
CREATE INDEX models_by_type_desc ON models(type IS NULL, type COLLATE NOCASE DESC, name COLLATE NOCASE, repo, active,
                                           search);
CREATE INDEX models_by_latest ON models(latest_key IS NULL, latest_key, name COLLATE NOCASE, repo, active, search);
CREATE INDEX models_by_latest_desc ON models(latest_key IS NULL, latest_key DESC, name COLLATE NOCASE, repo, active,
                                             search);
CREATE INDEX models_by_time ON models(last_ts IS NULL, last_ts, name COLLATE NOCASE, repo, active, search);
CREATE INDEX models_by_time_desc ON models(last_ts IS NULL, last_ts DESC, name COLLATE NOCASE, repo, active, search);
CREATE TABLE model_labels (repo TEXT, name TEXT, label TEXT);
CREATE INDEX model_labels_label ON model_labels(label, repo, name);
CREATE INDEX model_labels_repo ON model_labels(repo);
CREATE TABLE model_stages (repo TEXT, name TEXT, stage TEXT, version TEXT);
CREATE INDEX model_stages_stage ON model_stages(stage, repo, name);
CREATE INDEX model_stages_repo ON model_stages(repo);
CREATE TABLE events (
    repo TEXT NOT NULL,
    seq INTEGER NOT NULL,      -- position in the repository's history, newest = highest
    ts INTEGER NOT NULL,
    artifact TEXT NOT NULL,
    event TEXT NOT NULL,
    author TEXT,
    data TEXT NOT NULL,        -- JSON: the event as `history --json` prints it
    PRIMARY KEY (repo, seq)
);
CREATE INDEX events_time ON events(ts DESC, seq DESC);
CREATE INDEX events_artifact ON events(artifact);
CREATE TABLE details (
    repo TEXT NOT NULL,
    name TEXT NOT NULL,
    signature TEXT NOT NULL,
    data TEXT NOT NULL,        -- JSON: versions and annotation of one model
    PRIMARY KEY (repo, name)
);
"""

# A trigram index of the search column, where SQLite has FTS5 (nearly every build): it finds the few
# models a rare word is in without reading every model. It only narrows the candidates down; the
# search column's LIKE still decides, so answers are the same with it or without.
_FTS = "CREATE VIRTUAL TABLE models_fts USING fts5(search, tokenize='trigram')"
FTS_CANDIDATES = 300  # a word in at most this many models is looked up; a commoner one is scanned for

SORTS = {
    "name": "m.name COLLATE NOCASE",
    "repo": "m.repo COLLATE NOCASE",
    "type": "m.type COLLATE NOCASE",
    "latest": "m.latest_key",
    "updated": "m.last_ts",
}
NULLABLE = ("type", "latest", "updated")


@dataclass
class ModelQuery:
    """Filters, sort and page of the models table."""

    repo: str | None = None
    type: str | None = None
    label: str | None = None
    stage: str | None = None
    q: str | None = None
    deprecated: bool = False
    sort: str = "name"
    order: str = "asc"
    limit: int = 50
    offset: int = 0


def version_key(version: str | None) -> str:
    """`tags.version_key` as text that SQLite sorts the same way (non-SemVer names sort first).

    A number is written with its length first, so any length sorts by value; identifiers of a
    prerelease are joined by "!", below every character an identifier has, so `a` < `a.x` < `a-b`
    as SemVer orders them; a release (`~`) ranks above its prereleases (`-`)."""
    from .. import tags as T

    if version is None or not T.is_version(version):
        return ""

    def number(n: int) -> str:
        return f"{len(str(n)):03d}{n}"

    major, minor, patch, pre = T.version_key(version)
    key = number(major) + number(minor) + number(patch)
    if pre == (1,):
        return key + "~"
    return key + "-" + "!".join(f"0{number(n)}" if kind == 0 else f"1{text}" for kind, n, text in pre[1])


def stage_order(configured: list[str] | None) -> Callable[[str], tuple[int, str]]:
    """The sort key of stages wherever they are listed: the configured order (`.gto` stages), then by
    name (stages the config does not list, or all of them when there is no list)."""
    rank = {stage: i for i, stage in enumerate(configured or [])}
    return lambda stage: (rank.get(stage, len(rank)), stage)


_DAMAGE = ("malformed", "not a database", "no such table", "no such column", "corrupt", "encrypted")


def damaged(exc: BaseException) -> bool:
    """Whether an error says the index file is damaged (rather than busy, or a bug)."""
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, (sqlite3.IntegrityError,
                                                                       sqlite3.ProgrammingError)):
        return False
    message = str(exc).lower()
    return any(words in message for words in _DAMAGE)


def gto_entry(model: dict[str, Any], stages: list[str]) -> dict[str, Any]:
    """A model as one entry of GTO's `show --json` (stages: the repository's stage columns)."""
    return {"version": model["latest"],
            "stage": {s: ", ".join(model["stages"][s]) if model["stages"].get(s) else None for s in stages},
            "registered": model["registered"], "active": model["active"]}


def _doc(repo: str, m: dict[str, Any], stages: list[str]) -> str:
    """The JSON text of one model in /api/models (written as the API writes its answers)."""
    doc = {"repo": repo, "name": m["name"], "registered": bool(m["registered"]), "active": bool(m["active"]),
           "type": m["type"], "path": m["path"], "description": m["description"], "labels": m["labels"],
           "latest": m["latest"], "stages": m["stages"], "last_event": m["last_event"] or None,
           "last_author": m["last_author"], "annotation": m["annotation"]}
    doc["gto"] = gto_entry(doc, stages)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate is no text: escaped, it is still valid JSON
        text = json.dumps(doc, separators=(",", ":"))
    return text


def _phrase(word: str) -> str:
    """An FTS5 query for a word as it is (a string, its quotes doubled): with the trigram tokenizer,
    the rows that contain it."""
    return '"' + word.replace('"', '""') + '"'


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Index:
    """The SQLite cache file, with one connection per thread."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._epoch = 0  # changes when every thread must reconnect (the file was replaced)
        self._reset_lock = threading.Lock()
        self.fts = False  # whether the file has models_fts (set on connecting)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare()

    # -- connections ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last commit on power loss is fine
        # A page of a new query reads 50 models' JSON from all over the file: read it through a
        # memory map, and keep more of it (64 MiB) than SQLite's default 2 MiB, not a read() per page.
        db.execute("PRAGMA mmap_size=268435456")
        db.execute("PRAGMA cache_size=-65536")
        # The file says whether it has the trigram index (the SQLite that made it had FTS5), and this
        # SQLite must be able to read it.
        self.fts = db.execute("SELECT 1 FROM sqlite_master WHERE name='models_fts'").fetchone() is not None
        if self.fts:
            try:
                db.execute("SELECT 1 FROM models_fts LIMIT 0")
            except sqlite3.OperationalError:
                self.fts = False
        return db

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (reopened if the file was deleted under us)."""
        db = getattr(self._local, "db", None)
        if (db is None or getattr(self._local, "inode", None) != self._inode()
                or getattr(self._local, "epoch", None) != self._epoch):
            if db is not None:
                db.close()
            if not self.path.exists():
                self._prepare()
            db = self._local.db = self._connect()
            self._local.inode, self._local.epoch = self._inode(), self._epoch
        return db

    def healthy(self) -> bool:
        """Whether the file, read afresh, is a sound index of this version."""
        try:
            db = sqlite3.connect(self.path, timeout=5)
            try:
                return (db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                        and db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
                        and db.execute("SELECT value FROM meta WHERE key='generation'").fetchone() is not None)
            finally:
                db.close()
        except sqlite3.DatabaseError:
            return False

    def reset(self) -> bool:
        """Replace a damaged file by an empty index (every thread reconnects); returns whether it was damaged."""
        with self._reset_lock:
            broken = not self.healthy()
            if broken:
                self._remove()
                self._prepare()
            self._epoch += 1
            return broken

    def _inode(self) -> int | None:
        try:
            return os.stat(self.path).st_ino
        except OSError:
            return None

    def _prepare(self) -> None:
        """Create the schema, or start afresh from a file of another version or a broken one."""
        try:
            self._create()
        except sqlite3.DatabaseError:
            self._remove()  # not a database: it is only a cache
            self._create()

    def _create(self) -> None:
        db = self._connect()
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                # Another process may have prepared it while we waited for the lock.
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
                        db.execute(f'DROP TABLE IF EXISTS "{table}"')
                    for statement in _SCHEMA.split(";\n"):
                        if statement.strip():
                            db.execute(statement)
                    with contextlib.suppress(sqlite3.OperationalError):  # no FTS5 (or no trigram) here: scans
                        db.execute(_FTS)
                    # A new file starts its generations at random: answers cached from a file
                    # this one replaced never look current.
                    db.execute("UPDATE meta SET value=? WHERE key='generation'", (secrets.randbits(48),))
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.execute("COMMIT")
        finally:
            db.close()

    def _remove(self) -> None:
        """Delete the file with its WAL and shared-memory files (what is missing already is fine)."""
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(str(self.path) + suffix)

    # -- writing ---------------------------------------------------------------------------

    def fingerprint(self, repo: str) -> tuple[str, str] | None:
        """(location, content fingerprint) the stored state of repo was built from."""
        row = self.db.execute("SELECT location, fingerprint FROM repos WHERE id=?", (repo,)).fetchone()
        return (row[0], row[1]) if row else None

    def replace(self, repo: str, location: str, snapshot: dict[str, Any]) -> None:
        """Store a repository's new state in place of the old one, in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if self.fts:
                db.execute("DELETE FROM models_fts WHERE rowid IN (SELECT rowid FROM models WHERE repo=?)", (repo,))
            for table in ("models", "model_labels", "model_stages", "events"):
                db.execute(f"DELETE FROM {table} WHERE repo=?", (repo,))
            db.executemany(
                "INSERT INTO models VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(repo, m["name"], m["registered"], m["active"], m["type"], m["path"], m["description"],
                  json.dumps(m["labels"]), m["latest"], version_key(m["latest"]) or None, json.dumps(m["stages"]),
                  m["last_ts"], json.dumps(m["last_event"]) if m["last_event"] else None, m["last_author"],
                  m["signature"], json.dumps(m["annotation"]) if m["annotation"] is not None else None,
                  m["search"], _doc(repo, m, snapshot["stages"])) for m in snapshot["models"]])
            if self.fts:
                db.execute("INSERT INTO models_fts (rowid, search) SELECT rowid, search FROM models WHERE repo=?",
                           (repo,))
            db.executemany("INSERT INTO model_labels VALUES (?,?,?)",
                           [(repo, m["name"], label) for m in snapshot["models"] for label in m["labels"]])
            db.executemany("INSERT INTO model_stages VALUES (?,?,?,?)",
                           [(repo, m["name"], stage, version) for m in snapshot["models"]
                            for stage, versions in m["stages"].items() for version in versions])
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?)",
                           [(repo, e["seq"], e["ts"], e["artifact"], e["event"], e["author"], json.dumps(e["data"]))
                            for e in snapshot["events"]])
            # Details whose model is gone or changed are useless now.
            db.execute("DELETE FROM details WHERE repo=? AND NOT EXISTS (SELECT 1 FROM models m WHERE "
                       "m.repo=details.repo AND m.name=details.name AND m.signature=details.signature)", (repo,))
            facets = {
                "types": sorted({m["type"] for m in snapshot["models"] if m["type"]}),
                "labels": sorted({label for m in snapshot["models"] for label in m["labels"]}),
                "stages": sorted({stage for m in snapshot["models"] for stage in m["stages"]},
                                 key=stage_order(snapshot.get("configured_stages"))),
                "configured_stages": snapshot.get("configured_stages", []),  # `.gto` stages: the filter's order
            }
            db.execute(
                "INSERT OR REPLACE INTO repos (id, location, fingerprint, head, built_at, build_seconds, stages,"
                " facets, models, events, error) VALUES (?,?,?,?,?,?,?,?,?,?,NULL)",
                (repo, location, snapshot["fingerprint"], snapshot["head"], time.time(), snapshot["seconds"],
                 json.dumps(snapshot["stages"]), json.dumps(facets), len(snapshot["models"]),
                 len(snapshot["events"])))
            self._bump(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    def generation(self) -> int:
        """A number that changes whenever anything in the index changes (in any process)."""
        return self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]

    def set_error(self, repo: str, location: str, error: str | None) -> None:
        """Remember why a repository could not be read (its last good state stays)."""
        db = self.db
        row = db.execute("SELECT error FROM repos WHERE id=?", (repo,)).fetchone()
        if row is not None and row[0] == error:
            return  # the same error again: cached answers stay valid
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO repos (id, location, error) VALUES (?,?,?) "
                   "ON CONFLICT(id) DO UPDATE SET error=excluded.error", (repo, location, error))
        self._bump(db)
        db.execute("COMMIT")

    def forget_other_repos(self, keep: Iterable[str]) -> None:
        """Drop repositories no longer in the config (every row of a repository is written with its
        `repos` row, so that table says which there are). Nothing to drop writes nothing: a restart
        over a current index neither scans every table nor makes cached answers stale."""
        keep = set(keep)
        db = self.db
        gone = [row[0] for row in db.execute("SELECT id FROM repos") if row[0] not in keep]
        if not gone:
            return
        marks = ",".join("?" * len(gone))
        db.execute("BEGIN IMMEDIATE")
        if self.fts:
            db.execute(f"DELETE FROM models_fts WHERE rowid IN (SELECT rowid FROM models WHERE repo IN ({marks}))",
                       gone)
        for table, column in (("repos", "id"), ("models", "repo"), ("model_labels", "repo"),
                              ("model_stages", "repo"), ("events", "repo"), ("details", "repo")):
            db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", gone)
        self._bump(db)
        db.execute("COMMIT")

    def store_details(self, repo: str, details: list[tuple[str, str, dict]]) -> None:
        """Cache models' versions: (name, signature, data), each valid while its signature stays."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR REPLACE INTO details VALUES (?,?,?,?)",
                       [(repo, name, signature, json.dumps(data)) for name, signature, data in details])
        self._bump(db)
        db.execute("COMMIT")

    # -- reading ---------------------------------------------------------------------------

    def repos(self) -> dict[str, dict[str, Any]]:
        """Every indexed repository's row, by id."""
        out = {}
        for row in self.db.execute("SELECT * FROM repos"):
            data = dict(row)
            data["stages"] = json.loads(data["stages"]) if data["stages"] else []
            data["facets"] = json.loads(data["facets"]) if data["facets"] else {}
            out[row["id"]] = data
        return out

    def count(self, query: ModelQuery) -> int:
        """How many models match the filters of query."""
        where, args = self._where(query)
        return self.db.execute(f"SELECT COUNT(*) FROM models m WHERE {where}", args).fetchone()[0]

    def page_sql(self, query: ModelQuery) -> tuple[str, list[Any]]:
        """The SQL (and its arguments) of the row ids of a page of matching models, in order."""
        where, args = self._where(query)
        order = "DESC" if query.order == "desc" else "ASC"
        column = SORTS.get(query.sort, SORTS["name"])
        # Spelled as the sort indexes are, so that SQLite reads the page from one in order: models
        # without a value go last either way, ties by name then repository.
        first = f"{column.split()[0]} IS NULL, " if query.sort in NULLABLE else ""
        then = "m.repo" if query.sort == "name" else "m.name COLLATE NOCASE, m.repo"
        return (f"SELECT m.rowid FROM models m WHERE {where} ORDER BY {first}{column} {order}, {then} "
                "LIMIT ? OFFSET ?", [*args, query.limit, query.offset])

    def model_docs(self, query: ModelQuery) -> list[str]:
        """The page of matching models, each as the JSON text /api/models lists."""
        db = self.db
        ids = [r[0] for r in db.execute(*self.page_sql(query))]
        if not ids:
            return []
        found = dict(db.execute(f"SELECT rowid, doc FROM models WHERE rowid IN ({','.join('?' * len(ids))})", ids))
        return [found[i] for i in ids if i in found]

    def models(self, query: ModelQuery) -> tuple[int, list[dict[str, Any]]]:
        """(how many match, the page of matching models)."""
        return self.count(query), [json.loads(doc) for doc in self.model_docs(query)]

    def _where(self, query: ModelQuery) -> tuple[str, list[Any]]:
        # Only served repositories are in the index (see forget_other_repos): "all" needs no clause.
        clauses, args = ["1"], []
        if query.repo:
            clauses.append("m.repo = ?")
            args.append(query.repo)
        if not query.deprecated:
            clauses.append("m.active = 1")
        if query.type:
            clauses.append("m.type = ?")
            args.append(query.type)
        if query.label:
            clauses.append("(m.repo, m.name) IN (SELECT repo, name FROM model_labels WHERE label=?)")
            args.append(query.label)
        if query.stage:
            clauses.append("(m.repo, m.name) IN (SELECT repo, name FROM model_stages WHERE stage=?)")
            args.append(query.stage)
        words = (query.q or "").lower().split()
        rare = self._rare_word(words)
        if rare is not None:  # read the few models it is in, rather than every model (see _FTS)
            clauses.append("m.rowid IN (SELECT rowid FROM models_fts WHERE models_fts MATCH ?)")
            args.append(_phrase(rare))
        for word in words:
            clauses.append("m.search LIKE ? ESCAPE '\\'")
            args.append(_like(word))
        return " AND ".join(clauses), args

    def _rare_word(self, words: list[str]) -> str | None:
        """The search word in the fewest models, if one is in at most FTS_CANDIDATES of them (the
        trigram index knows words of 3 characters or more)."""
        if not self.fts:
            return None
        best, fewest = None, FTS_CANDIDATES + 1
        for word in dict.fromkeys(w for w in words if len(w) >= 3):
            try:
                found = len(self.db.execute("SELECT rowid FROM models_fts WHERE models_fts MATCH ? LIMIT ?",
                                            (_phrase(word), fewest)).fetchall())
            except sqlite3.OperationalError as exc:  # a query FTS5 cannot take: the scan finds it
                if damaged(exc):
                    raise
                continue
            if found < fewest:
                best, fewest = word, found
        return best

    def model(self, repo: str, name: str) -> dict[str, Any] | None:
        """One model's row, or None."""
        row = self.db.execute("SELECT * FROM models WHERE repo=? AND name=?", (repo, name)).fetchone()
        return self._model(row) if row else None

    def repos_with(self, name: str, repos: list[str]) -> list[str]:
        """The repositories that have a model of this name."""
        rows = self.db.execute(
            f"SELECT repo FROM models WHERE name=? AND repo IN ({','.join('?' * len(repos)) or 'NULL'}) ORDER BY repo",
            [name, *repos])
        return [r[0] for r in rows]

    def detail(self, repo: str, name: str, signature: str) -> dict[str, Any] | None:
        """A cached model detail, if it is still valid."""
        row = self.db.execute("SELECT data FROM details WHERE repo=? AND name=? AND signature=?",
                              (repo, name, signature)).fetchone()
        return json.loads(row[0]) if row else None

    def events(self, repo: str | None = None, artifact: str | None = None, event: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """(how many match, a page of events newest first) of one or all repositories."""
        clauses: list[str] = ["1"]
        args: list[Any] = []
        if repo:
            clauses.append("repo = ?")
            args.append(repo)
        if artifact:
            clauses.append("artifact = ?")
            args.append(artifact)
        if event:
            clauses.append("event = ?")
            args.append(event)
        where = " AND ".join(clauses)
        db = self.db
        total = db.execute(f"SELECT COUNT(*) FROM events WHERE {where}", args).fetchone()[0]
        rows = db.execute(f"SELECT repo, data FROM events WHERE {where} ORDER BY ts DESC, seq DESC, repo "
                          "LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        return total, [{"repo": r[0], **json.loads(r[1])} for r in rows]

    @staticmethod
    def _model(row: sqlite3.Row) -> dict[str, Any]:
        data = dict(row)
        data["labels"] = json.loads(data["labels"])
        data["stages"] = json.loads(data["stages"])
        data["last_event"] = json.loads(data["last_event"]) if data["last_event"] else None
        data["annotation"] = json.loads(data["annotation"]) if data["annotation"] else None
        data["registered"] = bool(data["registered"])
        data["active"] = bool(data["active"])
        for key in ("rowid", "latest_key", "search", "last_ts", "doc"):
            data.pop(key, None)
        return data
