"""The repositories a server shows: when each changed, rebuilding its index rows, fetching remotes.

A repository's state is rebuilt only when its refs change. Knowing that is cheap: the modification
times of HEAD, packed-refs and the folders under refs/tags and refs/heads (a ref is created, moved
or deleted by renaming a file in its folder, or by rewriting packed-refs), a few stat calls per
repository and request. When those change, a content fingerprint (a hash of the tags and HEAD, one
git call) says whether the state really changed, or whether another process already indexed it.

Remote repositories are read from their cached mirrors. A background thread per remote fetches it
every `refresh` seconds and then re-indexes it, versions included; a request never runs git against
a remote's mirror, so it never waits for the network (a partial clone would fetch missing files).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from .. import api, gto_json
from .. import state as S
from .. import tags as T
from ..annotations import Annotation
from ..api import governance
from ..api.write import rollback_plan
from .index import Index, damaged, stage_order
from .settings import RepoSettings, Settings
from .webhost import web_base

log = logging.getLogger("tagreg.server")


class NotReady(Exception):
    """A remote repository whose data is still being fetched or indexed."""


def _annotation(note: Annotation | None, stored: str | None = None) -> dict[str, Any] | None:
    """The annotation as the REST API shows it: where the files are stored, a link's repo and rev."""
    if note is None:
        return None
    data = note.to_dict(("type", "path", "description", "labels", "virtual", "custom", "source"), in_repository=True)
    return {**data, "link": note.to_dict(("repo", "rev")) if note.repo else None, "stored": stored}


def _stored(repo: api.Repository, commit: str, notes: list) -> dict[str, str]:
    """Where each annotated path (of the notes that are no link) is at commit (`delivery.storages`),
    by its path in the repository (`resolved_path`: a folder's dvc.yaml names paths in that folder)."""
    from .. import delivery

    paths = [n.resolved_path for n in notes if n is not None and n.resolved_path and not n.repo]
    return delivery.storages(repo.git, commit, paths) if paths else {}


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class Source:
    """One repository of the config."""

    def __init__(self, settings: RepoSettings, index: Index):
        self.settings = settings
        self.id = settings.id
        self.index = index
        self.lock = threading.RLock()
        self._stat: tuple | None = None
        self._git_dirs: list[Path] | None = None
        self.web: str | None = settings.web
        self.get_location = settings.location  # what `tagreg get -r` should name
        self.index_location = settings.location  # what the index stores: never a credential
        if settings.remote:
            from ..remote import Mirror, redact, strip_credentials

            self.mirror: Mirror | None = Mirror(settings.location, progress=False)
            self.display = redact(settings.location)
            self.get_location = strip_credentials(settings.location)
            self.index_location = self.get_location
            self.web = self.web or web_base(strip_credentials(settings.location))
        else:
            self.mirror = None
            self.display = settings.location
        self.fetched_at: float | None = None
        self.fetch_error: str | None = None

    @property
    def remote(self) -> bool:
        """Whether this repository is read through a cached mirror."""
        return self.mirror is not None

    @property
    def push_to(self) -> str | None:
        """Where writes push their tags: a remote repository's URL (without credentials), a local
        one's configured push remote, or None (a local repository with no `push:`)."""
        return self.display if self.remote else self.settings.push

    # -- reading git -----------------------------------------------------------------------

    def path(self) -> Path:
        """The local git folder to read: the work tree, or the remote's mirror."""
        return self.mirror.path if self.mirror is not None else Path(self.settings.location)

    def open(self) -> api.Repository:
        """The repository for reading (never touches the network by itself)."""
        if self.mirror is not None and not self.mirror.exists():
            raise NotReady(f"{self.display} has not been fetched yet")
        if self.mirror is not None:  # its git has the URL's credentials, for blobs fetched on demand
            return api.Repository(self.mirror)
        return api.Repository(self.path())

    def open_for_write(self) -> api.Repository:
        """The repository for writing: a remote's writes push, under its mirror's lock."""
        if self.mirror is not None:
            return api.Repository(self.settings.location, offline=True, progress=False)
        return api.Repository(self.path())

    def _dirs(self, repo: api.Repository) -> list[Path]:
        if self._git_dirs is None:
            out = repo.git.out("rev-parse", "--absolute-git-dir", "--git-common-dir").splitlines()
            git_dir = Path(out[0])
            common = (git_dir / out[1]).resolve() if len(out) > 1 else git_dir
            self._git_dirs = list(dict.fromkeys([git_dir, common]))
            if self.mirror is None and not self.settings.web:
                origin = (repo.git.run("remote", "get-url", "origin", check=False).stdout or b"").decode().strip()
                if origin:
                    from ..remote import strip_credentials

                    self.web = web_base(strip_credentials(origin))
                    self.get_location = strip_credentials(origin)
        return self._git_dirs

    def stat_fingerprint(self) -> tuple | None:
        """Cheap: modification stamps of the files and folders that change with any ref (None: unknown)."""
        if self._git_dirs is None:
            return None
        stamps: list[Any] = []
        stat = os.stat
        for base in map(str, self._git_dirs):
            stamps.extend(_stamp(os.path.join(base, name)) for name in ("HEAD", "packed-refs"))
            stack = [os.path.join(base, "refs", "tags"), os.path.join(base, "refs", "heads"),
                     os.path.join(base, "refs", "remotes"), os.path.join(base, "reftable")]
            while stack:  # a ref is added, moved or deleted by renaming a file in its folder
                folder = stack.pop()
                try:
                    stamps.append((folder, stat(folder).st_mtime_ns))
                    with os.scandir(folder) as entries:
                        stack.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
                except OSError:
                    continue
        if self.mirror is None:
            try:  # the stages config in the work tree
                st = stat(os.path.join(self.settings.location, ".gto"))
                stamps.append((st.st_mtime_ns, st.st_size))
            except OSError:
                pass
        return tuple(stamps)

    @staticmethod
    def content_fingerprint(repo: api.Repository) -> str:
        """A hash of every tag, HEAD and the config: equal fingerprints mean equal registry state.
        Reading as GTO does (TAGREG_GTO_EXACT) is part of the config: a server started with it does
        not serve what one started without it indexed in the same file, nor the other way round."""
        digest = hashlib.sha256()
        digest.update(repo.git.run("for-each-ref", "--format=%(objectname) %(refname)", "refs/tags").stdout or b"")
        digest.update(b"HEAD " + (repo.git.head() or "").encode())
        digest.update(repr((repo.config.stages, repo.config.types, repo.config.index, repo.config.gto_exact)).encode())
        digest.update(b"policy " + policy_commit(repo).encode())
        return digest.hexdigest()

    # -- indexing --------------------------------------------------------------------------

    def refresh(self, force: bool = False, wait: bool = True) -> bool:
        """Re-index if the refs changed since last looked at; returns whether it rebuilt.

        Without wait, a re-index already running in another thread is not waited for: the caller
        goes on with the state indexed before.
        """
        stat = self.stat_fingerprint()
        if not force and stat is not None and stat == self._stat:
            return False
        if not self.lock.acquire(blocking=wait):
            return False
        try:
            return self._refresh(force)
        finally:
            self.lock.release()

    def _refresh(self, force: bool) -> bool:
        stat = self.stat_fingerprint()
        if not force and stat is not None and stat == self._stat:
            return False  # another thread did it while we waited for the lock
        try:
            repo = self.open()
            self._dirs(repo)
            stat = self.stat_fingerprint()  # before reading: a change while we read is seen next time
            content = self.content_fingerprint(repo)
            if not force and self.index.fingerprint(self.id) == (self.index_location, content):
                self._stat = stat  # indexed already (by us earlier, or another process)
                return False
            snapshot = build_snapshot(repo, content)
            self.index.replace(self.id, self.index_location, snapshot)
            # Files that read as no annotation are errors to show; a notice (a tag the policy leaves
            # out) is not: the model's page says it, with the rule.
            bad = [w for w in repo.take_warnings() if isinstance(w, api.BadFile)]
            if bad:  # indexed around them (each reads as no annotation); shown where errors are
                self.index.set_error(self.id, self.index_location, "; ".join(b.message for b in bad[:3]))
            self._stat = stat
            log.info("indexed %s: %d models, %d events in %.2f s", self.id, len(snapshot["models"]),
                     len(snapshot["events"]), snapshot["seconds"])
            return True
        except NotReady:
            return False
        except Exception as exc:  # a broken annotation file, a missing folder: keep the last good state
            if damaged(exc):
                raise  # the index itself: Hub.recover replaces it
            message = str(exc) or exc.__class__.__name__
            log.warning("cannot index %s: %s", self.id, message)
            self.index.set_error(self.id, self.index_location, message)
            self._stat = stat
            return False

    def detail(self, name: str, model: dict[str, Any]) -> dict[str, Any]:
        """A model's versions (from the cache while its signature holds; a remote's come only from there)."""
        cached = self.index.detail(self.id, name, model["signature"])
        if cached is not None:
            return cached
        if self.remote:
            raise NotReady(f"the versions of '{name}' in {self.id} are being indexed")
        with self.lock:
            data = build_detail(self.open(), name)
        self.index.store_details(self.id, [(name, model["signature"], data)])
        return data

    def warm_details(self) -> int:
        """Build every missing model detail now (for remotes, after a fetch); returns how many."""
        rows = self.index.db.execute(
            "SELECT m.name, m.signature FROM models m LEFT JOIN details d ON d.repo=m.repo AND d.name=m.name "
            "AND d.signature=m.signature WHERE m.repo=? AND d.name IS NULL", (self.id,)).fetchall()
        if not rows:
            return 0
        built = []
        with self.lock:
            repo = self.open()
            for name, signature in rows:
                try:
                    built.append((name, signature, build_detail(repo, name)))
                except Exception as exc:  # noqa: BLE001 - one model's broken versions spoil only its page
                    log.warning("cannot index versions of %s in %s: %s", name, self.id, exc)
        self.index.store_details(self.id, built)  # in one go: answers cached meanwhile stay valid
        return len(built)

    # -- fetching --------------------------------------------------------------------------

    def fetch_due(self) -> bool:
        """Whether the mirror is missing or older than the refresh interval (any process's fetch counts)."""
        assert self.mirror is not None
        stamp = self.mirror.path / "tagreg-fetched"
        try:
            fetched = float(stamp.read_text() or 0)
        except (OSError, ValueError):
            return True
        self.fetched_at = fetched
        return time.time() - fetched >= self.settings.refresh * 0.9

    def fetch(self) -> None:
        """Clone or fetch the mirror (under its lock), then re-index it and its versions."""
        assert self.mirror is not None
        try:
            if self.fetch_due():
                self.mirror.ensure()  # clones if missing, else fetches
                self.fetched_at = time.time()
            self.fetch_error = None
        except Exception as exc:  # noqa: BLE001 - shown on the repositories page; the mirror's last state is served
            self.fetch_error = str(exc) or exc.__class__.__name__
            log.warning("cannot fetch %s: %s", self.display, self.fetch_error)
        self.refresh()
        self.warm_details()


def policy_commit(repo: api.Repository) -> str:
    """The commit the policy is read at ('' if its ref does not exist): it changes what is in effect."""
    ref = governance.policy_ref_of(repo)
    return (repo.git.resolve(ref) or "") if ref else ""


def build_snapshot(repo: api.Repository, fingerprint: str) -> dict[str, Any]:
    """Everything the index keeps about one repository, read through the API."""
    started = time.perf_counter()
    head = repo.git.head()
    models: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    stages: list[str] = []
    if head is not None:
        view = api.show_registry(repo, deprecated=True)
        stages = list(view.stages)
        order = stage_order(repo.config.stages)
        history = api.history(repo, ascending=True)
        by_artifact: dict[str, list] = {}
        for seq, entry in enumerate(history):
            by_artifact.setdefault(entry.artifact, []).append(entry)
            events.append({"seq": seq, "ts": int(entry.created_at.timestamp()), "artifact": entry.artifact,
                           "event": entry.event, "author": entry.author, "data": gto_json.history_row(entry)})
        stored = _stored(repo, head, [info.annotation for info in view.artifacts])
        policy_at = policy_commit(repo)
        left_out: dict[str, list[str]] = {}  # artifact -> its tags the policy leaves out (its page shows them)
        for tag in sorted(repo.refused):
            parsed = T.parse_tag(tag)
            if parsed is not None:
                left_out.setdefault(parsed.name, []).append(tag)
        for info in view.artifacts:
            own = by_artifact.get(info.name, [])
            last = own[-1] if own else None
            note = info.annotation
            signature = hashlib.sha256(
                "\n".join([head, f"gto_exact={repo.config.gto_exact}", policy_at,
                           *(f"{e.tag} {e.created_at.timestamp()}" for e in own),
                           *left_out.get(info.name, [])]).encode()
            ).hexdigest()[:20]  # keys its details
            words = [info.name, *(note.labels if note else []), note.type or "" if note else "",
                     note.description if note else "", note.resolved_path or "" if note else ""]
            models.append({
                "name": info.name, "registered": info.registered, "active": info.active,
                "type": note.type if note else None, "path": note.resolved_path if note else None,
                "description": note.description if note else "", "labels": list(note.labels) if note else [],
                "latest": info.latest,
                "stages": {s: info.stages[s] for s in sorted(info.stages, key=order) if info.stages[s]},
                "last_ts": int(last.created_at.timestamp()) if last else None,
                "last_event": gto_json.history_row(last) if last else None,
                "last_author": last.author if last else None,
                "signature": signature, "annotation": _annotation(note, None if note is None or not note.path else
                                          "link" if note.repo else stored.get(note.resolved_path or "")),
                "search": " ".join(w for w in words if w).lower(),
            })
    return {"fingerprint": fingerprint, "head": head, "models": models, "events": events, "stages": stages,
            "configured_stages": list(repo.config.stages or []), "seconds": time.perf_counter() - started}


def build_detail(repo: api.Repository, name: str) -> dict[str, Any]:
    """One model's versions, as the model page and `/api/models/{name}` show them."""
    versions = api.show_versions(repo, name, deprecated=True)
    order = stage_order(repo.config.stages)
    out = [{
        "version": v.version, "commit": v.commit, "stages": sorted(v.in_stages, key=order),
        "created_at": S.iso(v.created_at),
        "author": v.author, "author_email": v.author_email, "message": v.message, "ref": v.ref,
        "registered": v.is_registered, "active": v.is_active, "discovered": v.discovered,
        "annotation": _annotation(v.annotation),
    } for v in versions]
    # Stages the page offers to roll back: stage -> the current version and the one rollback assigns.
    artifact = S.Artifact(name, versions=list(versions))
    rollbacks = {stage: {"from": current.version, "to": previous.version}
                 for stage, (current, previous) in rollback_plan(artifact).items()}
    judged = governance.judged(repo, name)
    stages = sorted({s for v in versions for s in v.stages} | set(repo.config.stages or []), key=order)
    facts = judged.to_dict(stages)
    timeline = []  # every event, newest first, also those the policy leaves out
    for verdict in reversed(judged.verdicts):
        row = gto_json.history_row(verdict.event)
        found = facts["events"][verdict.event.tag]
        row.update(signature=found["signature"], verdict={"allowed": found["allowed"], "breaches": found["breaches"]},
                   in_effect=verdict.allowed)
        timeline.append(row)
    return {"versions": out, "gto": [v.to_gto() for v in versions], "rollbacks": rollbacks,
            "policy": facts["policy"], "verdicts": facts["events"], "timeline": timeline}


class Hub:
    """Every repository of the config, their index, and the threads that keep remotes fresh."""

    check_interval = 1.0  # seconds: how stale a page may be after someone else tags a local repository

    def __init__(self, settings: Settings):
        self.settings = settings
        self.index = Index(settings.index)
        self.index.forget_other_repos([r.id for r in settings.repos])
        self.sources = {r.id: Source(r, self.index) for r in settings.repos}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._checked: dict[str | None, float] = {}
        self._recovering = threading.Lock()
        # Local repositories the background warm-up has not looked at yet: requests leave them to it
        # (serving what the index has) instead of indexing them on the request's time.
        self._unchecked: set[str] = set()
        self.warmed = threading.Event()  # set when the warm-up has looked at every local repository

    @property
    def ids(self) -> list[str]:
        """Repository ids in config order."""
        return list(self.sources)

    def fresh(self, only: str | None = None) -> None:
        """Bring local repositories' index up to date before a read: a few stat calls per repository,
        at most once per check_interval (so a busy server does not stat everything on every request)."""
        now = time.monotonic()
        if now - self._checked.get(only, -1e9) < self.check_interval:
            return
        self._checked[only] = now
        for source in self.sources.values():
            if not source.remote and (only is None or source.id == only) and source.id not in self._unchecked:
                source.refresh(wait=False)

    def recover(self) -> bool:
        """After an error that says the index is damaged: replace it and index every repository again
        (remotes from their mirrors, without fetching). Returns whether it was damaged."""
        with self._recovering:
            broken = self.index.reset()
            if broken:
                log.warning("the index %s was damaged: rebuilt it from the repositories", self.index.path)
            self._checked.clear()
            for source in self.sources.values():
                with source.lock:
                    source._stat = None
                try:
                    source.refresh(force=broken)
                    if source.remote and source.mirror is not None and source.mirror.exists():
                        source.warm_details()
                except Exception as exc:  # noqa: BLE001 - damaged again at once (a failing disk): the next request retries
                    log.warning("cannot rebuild the index of %s: %s", source.id, exc)
            return broken

    def _guarded(self, work) -> None:
        """Run a background step; a damaged index is replaced rather than ending the thread."""
        try:
            work()
        except Exception as exc:
            if not damaged(exc):
                raise
            self.recover()

    def start(self) -> None:
        """Index what is stale in the background, and start fetching remotes."""
        local = [s for s in self.sources.values() if not s.remote]
        self._unchecked = {s.id for s in local}

        def warm_up() -> None:
            started = time.perf_counter()
            try:
                for source in local:
                    if self._stop.is_set():
                        return
                    try:
                        self._guarded(source.refresh)
                    except Exception:  # a bug: logged, and requests look at this repository from now on
                        log.exception("cannot index %s", source.id)
                    finally:
                        self._unchecked.discard(source.id)
            finally:
                self.warmed.set()
                log.info("looked at every local repository (%d) in %.1f s", len(local), time.perf_counter() - started)

        warm = threading.Thread(target=warm_up, name="tagreg-warm", daemon=True)
        warm.start()
        self._threads.append(warm)
        for n, source in enumerate(s for s in self.sources.values() if s.remote):
            thread = threading.Thread(target=self._follow, args=(source, n * 0.5), name=f"tagreg-fetch-{source.id}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _follow(self, source: Source, delay: float) -> None:
        if self._stop.wait(delay):  # spread the first fetches out a little
            return
        if source.mirror is not None and source.mirror.exists():
            self._guarded(source.refresh)  # serve what the cache has before the first fetch
        while not self._stop.is_set():
            try:
                self._guarded(source.fetch)
            except Exception:  # a bug: logged, and the next round tries again
                log.exception("cannot fetch %s", source.display)
            self._stop.wait(max(1.0, source.settings.refresh))

    def stop(self) -> None:
        """Stop the background threads (they finish the git command they are in)."""
        self._stop.set()
