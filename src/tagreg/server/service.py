"""What the pages and the REST API both ask for: repositories, models, one model, events, writes.

Reads come from the index (brought up to date first for local repositories); writes go through
`tagreg.api`, pushing to the remote for remote repositories, and re-index at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from .. import api
from .. import policy as P
from ..api.repository import Writer
from ..api.results import PolicyRefusal
from ..errors import UserError
from ..state import iso
from .index import ModelQuery, gto_entry
from .people import ACTIONS, Person
from .sources import Hub, NotReady, Source
from .webhost import commit_url

MAX_LIMIT = 500
MAX_OFFSET = 10**9  # SQLite takes 64-bit offsets; no registry has a billion rows
MAX_QUERY = 1000  # characters of a search
MAX_WORDS = 32  # words of a search (each is one LIKE in the SQL)


class Problem(Exception):
    """An error with an HTTP status, shown as JSON by the API and as a page by the site."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def problem_for(exc: Exception) -> Problem:
    """The HTTP form of an error raised by the API (a user's mistake, never a stack trace)."""
    from ..file_lock import LockBusy
    from ..remote import RemoteError
    from ..tags import GrammarError

    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, NotReady):
        return Problem(503, "not_ready", str(exc), retry_after=5)
    if isinstance(exc, (RemoteError, LockBusy)) or isinstance(exc.__cause__, RemoteError):  # a push git could not make
        return Problem(502, "remote_error", str(exc))
    if isinstance(exc, GrammarError):
        return Problem(400, "invalid", str(exc))
    if isinstance(exc, PolicyRefusal):  # the policy, not the registry's state, says no: 403, with its rules
        return Problem(403, "policy_refused", str(exc), breaches=[
            {"rule": b.rule, "stage": b.stage, "reason": b.reason, "remedy": b.remedy} for b in exc.breaches])
    if isinstance(exc, api.RegistryError):
        return Problem(409, "conflict", str(exc))
    if isinstance(exc, UserError):
        return Problem(400, "invalid", str(exc))
    return Problem(500, "internal", "internal error: see the server's log")


TRAILER = "Tagreg-Server"  # in the message of every tag the server makes: which server made it


class Dashboard:
    """The server's read and write operations over a Hub. signing: the key its writes are signed
    with (`git.SigningKey`), if any."""

    def __init__(self, hub: Hub, signing: Any = None):
        self.hub = hub
        self.index = hub.index
        self.signing = signing
        self._cache: dict[Any, tuple[int, Any]] = {}
        self._pending: tuple[Any, Any, list[str]] | None = None

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """compute(), remembered until the index changes (in this process or another one)."""
        generation = self.index.generation()
        hit = self._cache.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = compute()
        if len(self._cache) >= 512:  # many distinct searches: start over rather than grow
            self._cache.clear()
        self._cache[key] = (generation, value)
        return value

    # -- helpers ---------------------------------------------------------------------------

    def source(self, repo: str) -> Source:
        """The repository with this id; 404 if there is none."""
        found = self.hub.sources.get(repo)
        if found is None:
            raise Problem(404, "unknown_repo", f"no repository '{repo}' is served here",
                          repos=self.hub.ids)
        return found

    def get_commands(self, source: Source, name: str, model: dict[str, Any]) -> list[dict[str, str]]:
        """`tagreg get` commands to copy: the latest version and the version in each stage."""
        import shlex

        where = shlex.quote(source.get_location)
        out = []
        if model.get("latest"):
            out.append({"label": f"latest ({model['latest']})", "command": f"tagreg get {name}@latest -r {where}"})
        for stage, versions in model.get("stages", {}).items():
            if versions:
                out.append({"label": f"{stage} ({versions[0]})", "command": f"tagreg get {name}#{stage} -r {where}"})
        if not out:
            out.append({"label": "at HEAD", "command": f"tagreg get {name} -r {where}"})
        return out

    @staticmethod
    def _status(source: Source, row: dict[str, Any]) -> tuple[str, bool]:
        """(ok, error, indexing or fetching; whether the index has a state of it) of one repository."""
        indexed = bool(row.get("fingerprint")) and row.get("location") == source.index_location
        if row.get("error") or (source.fetch_error and not indexed):
            return "error", indexed
        if indexed:
            return "ok", indexed
        return ("fetching" if source.remote else "indexing"), indexed

    def pending(self) -> list[str]:
        """The repositories not indexed yet (just started, or a remote still being fetched)."""
        rows = self.cached("repo-rows", self.index.repos)
        # Asked on every request: worked out again only when the index (a new rows object) or a
        # remote's fetch error changed, not once per repository and request.
        key = tuple(source.fetch_error for source in self.hub.sources.values() if source.remote)
        if self._pending is not None and self._pending[1] is rows and self._pending[0] == key:
            return list(self._pending[2])
        found = [repo_id for repo_id, source in self.hub.sources.items()
                 if self._status(source, rows.get(repo_id) or {})[0] in ("indexing", "fetching")]
        self._pending = (key, rows, found)
        return list(found)

    def indexing(self) -> dict[str, Any] | None:
        """What the answers leave out while repositories are being indexed (None once all are)."""
        pending = self.pending()
        if not pending:
            return None
        return {"indexed": len(self.hub.sources) - len(pending), "total": len(self.hub.sources), "pending": pending}

    # -- reads -----------------------------------------------------------------------------

    def repos(self) -> list[dict[str, Any]]:
        """Every served repository and the state of its index."""
        self.hub.fresh()
        rows = self.cached("repo-rows", self.index.repos)
        out = []
        for repo_id, source in self.hub.sources.items():
            row = rows.get(repo_id) or {}
            status, indexed = self._status(source, row)
            fetched = None
            if source.remote:
                source.fetch_due()  # reads the mirror's stamp: another process may have fetched
                fetched = iso(source.fetched_at)
            out.append({
                "id": repo_id, "location": source.display, "remote": source.remote, "web": source.web,
                "status": status, "error": row.get("error") or source.fetch_error,
                "models": row.get("models", 0) if indexed else 0, "events": row.get("events", 0) if indexed else 0,
                "stages": row.get("stages", []) if indexed else [], "head": row.get("head") if indexed else None,
                "fingerprint": row.get("fingerprint") if indexed else None,
                "indexed_at": iso(row.get("built_at")) if indexed else None,
                "index_seconds": round(row["build_seconds"], 3) if indexed and row.get("build_seconds") else None,
                "fetched_at": fetched, "refresh": source.settings.refresh if source.remote else None,
            })
        return out

    def models(self, query: ModelQuery, parsed: bool = True) -> dict[str, Any]:
        """A page of the models table, with the values the filters can take (without parsed, each
        model is the JSON text the API answers)."""
        query.limit = max(1, min(query.limit, MAX_LIMIT))
        query.offset = max(0, min(query.offset, MAX_OFFSET))
        if query.q and (len(query.q) > MAX_QUERY or len(query.q.split()) > MAX_WORDS):
            raise Problem(400, "invalid", f"search for at most {MAX_WORDS} words and {MAX_QUERY} characters")
        if query.repo and query.repo not in self.hub.sources:
            raise Problem(404, "unknown_repo", f"no repository '{query.repo}' is served here", repos=self.hub.ids)
        self.hub.fresh()
        return self.cached(("models", repr(query), parsed), lambda: self._models(query, parsed))

    def _models(self, query: ModelQuery, parsed: bool) -> dict[str, Any]:
        docs = self.index.model_docs(query)
        # The count and the facets are the same for every sort and page of one filter.
        where = replace(query, sort="name", order="asc", limit=0, offset=0)
        repos = self.cached("repo-rows", self.index.repos)
        return {"total": self.cached(("count", repr(where)), lambda: self.index.count(query)), "limit": query.limit,
                "offset": query.offset, "models": [json.loads(doc) for doc in docs] if parsed else docs,
                "facets": self.cached("facets", lambda: self._facets(repos))}

    def _facets(self, repos: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
        """The values the filters offer: repositories, and the types, labels and stages in use."""
        found: dict[str, set[str]] = {"types": set(), "labels": set(), "stages": set()}
        rank: dict[str, int] = {}  # a stage's best place in a repository's configured order
        for repo in self.hub.ids:
            facets = repos.get(repo, {}).get("facets", {})
            for key, values in found.items():
                values.update(facets.get(key, []))
            for place, stage in enumerate(facets.get("configured_stages", [])):
                rank[stage] = min(place, rank.get(stage, place))
        stages = sorted(found.pop("stages"), key=lambda s: (rank.get(s, len(rank)), s))
        return {"repos": self.hub.ids, **{key: sorted(values) for key, values in found.items()}, "stages": stages}

    def find(self, name: str, repo: str | None) -> tuple[Source, dict[str, Any]]:
        """The model name (in repo, or in the only repository that has it)."""
        if repo is not None:
            source = self.source(repo)
            self.hub.fresh(repo)
            model = self.index.model(repo, name)
            if model is None:
                if repo in self.pending():
                    raise Problem(503, "not_ready", f"repository '{repo}' is being indexed; retry shortly",
                                  retry_after=5)
                raise Problem(404, "unknown_model", f"no model '{name}' in repository '{repo}'")
            return source, model
        self.hub.fresh()
        found = self.index.repos_with(name, self.hub.ids)
        if not found:
            pending = self.pending()
            if pending:  # it may be in one of them
                raise Problem(503, "not_ready", f"no model '{name}' in the repositories indexed so far; "
                                                f"{len(pending)} of {len(self.hub.ids)} are being indexed: "
                                                "retry shortly", retry_after=5, pending=pending)
            raise Problem(404, "unknown_model", f"no model '{name}' in any repository")
        if len(found) > 1:
            raise Problem(409, "ambiguous", f"'{name}' is in several repositories: pick one with ?repo=",
                          repos=found)
        return self.source(found[0]), self.index.model(found[0], name)  # type: ignore[return-value]

    def model(self, name: str, repo: str | None) -> dict[str, Any]:
        """Everything about one model: annotation, versions, history, how to get it."""
        self.hub.fresh(repo)
        return self.cached(("model", name, repo), lambda: self._model(name, repo))

    def _model(self, name: str, repo: str | None) -> dict[str, Any]:
        source, model = self.find(name, repo)
        stages = self.cached("repo-rows", self.index.repos).get(source.id, {}).get("stages", [])
        try:
            detail: dict[str, Any] | None = source.detail(name, model)
        except NotReady:
            detail = None
        except UserError as exc:
            raise problem_for(exc) from exc
        _, history = self.index.events(source.id, artifact=name, limit=10_000)
        versions = [{**v, "commit_url": commit_url(source.web, v["commit"])}
                    for v in (detail or {}).get("versions", [])]
        verdicts = (detail or {}).get("verdicts", {})
        for event in history:
            event["commit_url"] = commit_url(source.web, event["commit"])
            _judged(event, verdicts)
        timeline = [{**row, "repo": source.id, "commit_url": commit_url(source.web, row["commit"])}
                    for row in (detail or {}).get("timeline", [])]
        model.pop("signature", None)
        return {
            **model, "gto": gto_entry(model, stages), "repo_stages": stages, "repo_web": source.web,
            "versions": versions, "versions_ready": detail is not None,
            "rollbacks": (detail or {}).get("rollbacks", {}),
            "gto_versions": (detail or {}).get("gto", []), "history": history,
            "get": self.get_commands(source, name, model),
            "policy": (detail or {}).get("policy"), "timeline": timeline or history,
            "not_in_effect": [{k: v for k, v in row.items() if k != "in_effect"}
                              for row in timeline if row.get("in_effect") is False],
        }

    def events(self, repo: str | None, artifact: str | None, event: str | None, limit: int,
               offset: int) -> dict[str, Any]:
        """A page of registry events across repositories, newest first."""
        limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, min(offset, MAX_OFFSET))
        if repo is not None:
            self.source(repo)
        self.hub.fresh(repo)

        def compute() -> dict[str, Any]:
            total, rows = self.index.events(repo, artifact, event, limit, offset)
            for row in rows:
                source = self.hub.sources[row["repo"]]
                row["commit_url"] = commit_url(source.web, row["commit"])
            return {"total": total, "limit": limit, "offset": offset, "events": rows}

        return self.cached(("events", repo, artifact, event, limit, offset), compute)

    # -- writes ----------------------------------------------------------------------------

    def pick_repo(self, name: str, repo: str | None) -> Source:
        """The repository a write goes to: as given, or the only one (that has name)."""
        if repo:
            return self.source(repo)
        if len(self.hub.sources) == 1:
            return next(iter(self.hub.sources.values()))
        return self.find(name, None)[0]

    def stages_changed(self, source: Source, action: str, name: str, fields: dict[str, str | None]) -> list[str]:
        """The stages a write would change (as the index has the model now): its own stage, or the
        stages that hold what a deregistration or deprecation removes."""
        if action in ("assign", "unassign", "rollback"):
            stage = fields.get("stage")
            return [stage] if stage else []
        if action not in ("deregister", "deprecate"):
            return []
        held = (self.index.model(source.id, name) or {}).get("stages", {})
        return [stage for stage, versions in held.items()
                if versions and (action == "deprecate" or fields.get("version") in versions)]

    def scope_refusal(self, person: Person, action: str, source: Source, name: str,
                      fields: dict[str, str | None]) -> str | None:
        """Why person's token may not make this write (None: it may)."""
        return person.refusal(action, source.id, self.stages_changed(source, action, name, fields))

    def writer(self, person: Person) -> Writer:
        """Whom the tags of person's writes name: them as the tagger (the admin: the server's git
        identity), this server in a trailer, signed with the server's key if it has one."""
        tagger = None if person.admin else (person.name or "", person.email or "")
        return Writer(tagger=tagger, trailers=((TRAILER, self.hub.settings.name),), signing=self.signing)

    def server_email(self, source: Source) -> str | None:
        """The e-mail the server's own git identity tags with (the admin token's writes)."""
        try:
            return source.open().git.identity()[1]
        except (UserError, NotReady):
            return None

    def permissions(self, data: dict[str, Any], person: Person | None) -> dict[str, str | None]:
        """Why person may not make each write the model page offers (None: they may, as far as can be
        told before trying): by action (`register`) and by action and stage (`assign:prod`). Their
        token's scope, and the policy's `who` and `signed` for the stages a write changes; the
        other rules depend on the version and the time, and are said when a write is refused."""
        if person is None:
            return {}
        source = self.source(data["repo"])
        policy = data.get("policy")
        held = {stage: versions for stage, versions in data.get("stages", {}).items() if versions}
        stages = list(dict.fromkeys([*data.get("repo_stages", []), *held, *(data.get("rollbacks") or {}),
                                     *(policy or {}).get("stages", {})]))
        email = person.email if not person.admin else self.server_email(source)
        # Signed by the server, `who` sees the server's principal, unless the policy lists servers.
        predictable = self.signing is None or bool((policy or {}).get("servers"))

        def ruled(stage: str) -> str | None:
            if policy is None:
                return None
            rules = policy["stages"].get(stage, policy["defaults"])
            if (rules.get("signed") or rules.get("signers")) and self.signing is None:
                return (f"policy rule 'signed' of stage '{stage}': it takes only signed tags, and this server has "
                        "no signing key (`signing:` in its config)")
            if rules.get("who") and predictable and not P.matches(email, rules["who"], fold_case=True):
                return f"policy rule 'who' of stage '{stage}': '{email}' may not change {stage}"
            return None

        out: dict[str, str | None] = {}
        for action in ACTIONS:
            if action in ("assign", "unassign", "rollback"):
                out[action] = person.refusal(action, source.id)
                for stage in stages:
                    out[f"{action}:{stage}"] = person.refusal(action, source.id, [stage]) or ruled(stage)
            else:
                changed = [stage for stage in held if action == "deprecate"]
                out[action] = person.refusal(action, source.id, changed) or next(
                    (why for stage in changed if (why := ruled(stage))), None)
        for version in data.get("versions", []):
            changed = [stage for stage, versions in held.items() if version["version"] in versions]
            out[f"deregister@{version['version']}"] = person.refusal("deregister", source.id, changed) or next(
                (why for stage in changed if (why := ruled(stage))), None)
        return out

    def act(self, action: str, name: str, repo: str | None, fields: dict[str, str | None],
            person: Person) -> list[dict]:
        """Run a write action through tagreg.api for person; returns the tags created or deleted."""
        for value in (name, repo, *fields.values()):
            if isinstance(value, str) and "\0" in value:
                raise Problem(400, "invalid", "names, refs, versions, stages and messages cannot contain NUL")
        source = self.pick_repo(name, repo)
        f = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in fields.items()}
        refused = self.scope_refusal(person, action, source, name, f)
        if refused:
            raise Problem(403, "out_of_scope", refused)
        started = time.perf_counter()
        try:
            with source.lock:  # one write at a time per repository, and no re-index meanwhile
                r = source.open_for_write()
                r.writer = self.writer(person)
                # A remote's writes always push (to its URL); a local repository's to its `push:` remote.
                push, remote = source.push_to is not None, source.settings.push or "origin"
                if action == "register":
                    changes = [api.register(r, name, ref=f.get("ref") or "HEAD", version=f.get("version"),
                                            message=f.get("message"), push=push, remote=remote)]
                elif action == "assign":
                    if not f.get("stage"):
                        raise Problem(400, "invalid", "a stage is needed")
                    changes = api.assign(r, name, f["stage"], ref=f.get("ref"), version=f.get("version"),  # type: ignore[arg-type]
                                         message=f.get("message"), push=push, remote=remote)
                elif action == "unassign":
                    if not f.get("version") or not f.get("stage"):
                        raise Problem(400, "invalid", "a version and a stage are needed")
                    changes = api.deprecate(r, name, version=f["version"], stage=f["stage"], message=f.get("message"),
                                            push=push, remote=remote)
                elif action == "deregister":
                    if not f.get("version"):
                        raise Problem(400, "invalid", "a version is needed")
                    changes = api.deprecate(r, name, version=f["version"], message=f.get("message"), push=push,
                                            remote=remote)
                elif action == "deprecate":
                    changes = api.deprecate(r, name, message=f.get("message"), push=push, remote=remote)
                elif action == "rollback":
                    if not f.get("stage"):
                        raise Problem(400, "invalid", "a stage is needed")
                    changes = [api.rollback(r, name, f["stage"], message=f.get("message"), push=push, remote=remote)]  # type: ignore[arg-type]
                else:
                    raise Problem(404, "unknown_action", f"unknown action '{action}'")
                notices = [w.message for w in r.take_warnings() if isinstance(w, api.Notice)]
        except (UserError, NotReady) as exc:
            raise problem_for(exc) from exc
        finally:
            source.refresh()  # our own write: the next page must show it
        if source.remote:
            source.warm_details()
        return [{"tag": c.tag, "event": c.event, "name": c.name, "version": c.version, "stage": c.stage,
                 "commit": c.commit, "deleted": c.deleted, "pushed": c.pushed,
                 "pushed_to": source.push_to if c.pushed else None, "repo": source.id, "replaced": c.replaced,
                 "notices": notices, "seconds": round(time.perf_counter() - started, 3)} for c in changes]


def _judged(row: dict[str, Any], verdicts: dict[str, Any]) -> None:
    """Add to a history row what its tag's signature says and whether the policy allows it."""
    verdict = verdicts.get(row.get("ref") or "")
    if verdict is None:  # not judged yet (a remote's versions still being indexed)
        row.update(signature=None, verdict=None)
        return
    row.update(signature=verdict["signature"], verdict={"allowed": verdict["allowed"],
                                                         "breaches": verdict["breaches"]})


def notices_of(changes: list[dict]) -> list[str]:
    """What the registry said about a write besides its tags ("'chrun' is a new artifact; did you
    mean 'churn'?"): the same for each change of one write."""
    return changes[0]["notices"] if changes else []


def push_note(changes: list[dict]) -> str:
    """Whether a write's tags were pushed, in words: 'pushed to origin'."""
    where = next((c["pushed_to"] for c in changes if c.get("pushed_to")), None)
    return f"pushed to {where}" if where else "not pushed (no push remote configured)"


def model_url(name: str, repo: str | None = None) -> str:
    """The page of a model."""
    url = "/models/" + quote(name, safe="/:")
    return f"{url}?repo={quote(repo, safe='')}" if repo else url
