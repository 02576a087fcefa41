"""The REST API under /api: the same data as the pages, as JSON, with an OpenAPI schema.

Pagination: list endpoints take `limit` (1-500, default 50) and `offset` (default 0) and answer
`total`, `limit`, `offset` and `next` (the URL of the next page, or null). Errors are
`{"error": {"status": N, "code": "...", "message": "..."}}` with that HTTP status.

Write endpoints always exist: without `--write` they answer 403; with it, a missing or wrong
`Authorization: Bearer TOKEN` (a person's token from the config's `tokens:`, or the server's
TAGREG_TOKEN) answers 401 before the request body is read. Five wrong tokens from one address
within a minute answer 429 (with Retry-After) for the rest of that minute. Request bodies are at
most 64 KiB (413) and must arrive within the body timeout (408). A person's writes are tagged with
their name and e-mail; one outside their token's scopes answers 403 `out_of_scope`, one the
repository's policy refuses 403 `policy_refused` (with the rules it breaks in `breaches`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .index import ModelQuery
from .service import MAX_OFFSET, MAX_QUERY, Dashboard, Problem, notices_of, push_note

# -- response shapes (for the schema; the GTO parts are GTO's own JSON) --------------------------

class Breach(BaseModel):
    rule: str = Field(description="the policy's key: branches, promotes_from, signed, signers, no_downgrade, who")
    stage: str
    reason: str = Field(description="what is wrong")
    remedy: str = Field(description="what would satisfy the rule")
    line: str | None = Field(None, description="the one-line message: `policy rule 'who' of stage 'prod': ...`")


class ErrorBody(BaseModel):
    status: int
    code: str = Field(description="machine-readable: not_found, invalid, conflict, unauthorized, out_of_scope, "
                                  "policy_refused, ...")
    message: str
    breaches: list[Breach] | None = Field(None, description="policy_refused: the rules the write breaks")


class SignatureInfo(BaseModel):
    state: Literal["none", "good", "bad", "unknown", "expired"] = Field(
        description="none: unsigned; good: verified by a key of the policy's signers; unknown: signed by a key "
                    "the policy does not list (every key, without a policy); bad: does not verify; expired")
    principal: str | None = Field(description="who signed it (a good signature's principal)")
    key: str | None = Field(description="the key's fingerprint")
    detail: str | None


class Verdict(BaseModel):
    allowed: bool | None = Field(description="the policy allows the event (null: no policy governs the repository)")
    breaches: list[Breach] = Field(description="the rules it breaks")


class StageRules(BaseModel):
    model_config = ConfigDict(extra="allow")
    branches: list[str] | None = None
    promotes_from: list[str] | None = None
    min_age: float | None = Field(None, description="seconds")
    signed: bool | None = None
    signers: list[str] | None = None
    no_downgrade: bool | None = None
    who: list[str] | None = None


class PolicyInfo(BaseModel):
    source: str = Field(description="where the policy was read: `main:.tagreg/policy.yaml`")
    commit: str
    defaults: StageRules
    stages: dict[str, StageRules] = Field(description="each stage's rules (its own over the defaults); "
                                                      "a stage not listed has the defaults")
    signers: dict[str, str | None]
    servers: list[str] = Field(description="signer principals of tagreg servers, whose signature vouches "
                                           "for the tagger")
    show: dict[str, int | str] = Field(default_factory=dict, description="the show options the policy pins (vs, "
                                       "av, sort), which the versions and stages shown are read by")


class HistoryRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    ref: str = Field(description="the tag")
    signature: SignatureInfo | None = Field(description="what the tag's signature says (null: not checked yet)")
    verdict: Verdict | None = Field(description="whether the policy allows it (null: not checked yet)")


class ErrorResponse(BaseModel):
    error: ErrorBody


class Repo(BaseModel):
    id: str = Field(description="used in URLs: ?repo=ID")
    location: str = Field(description="the folder, or the URL without credentials")
    remote: bool
    web: str | None = Field(description="the Git host's web page, when known")
    status: Literal["ok", "indexing", "fetching", "error"]
    error: str | None
    models: int
    events: int
    stages: list[str]
    head: str | None
    fingerprint: str | None = Field(description="changes whenever the registry's tags or HEAD change")
    indexed_at: str | None
    index_seconds: float | None
    fetched_at: str | None = Field(description="remote repositories: the last fetch")
    refresh: float | None = Field(description="remote repositories: seconds between fetches")


class Indexing(BaseModel):
    indexed: int = Field(description="repositories in the answer")
    total: int
    pending: list[str] = Field(description="ids of the repositories not indexed yet, left out of the answer")


INDEXING = Field(None, description="only while the server is indexing after it started: what is left out")


class Repos(BaseModel):
    repos: list[Repo]
    indexing: Indexing | None = INDEXING


class Annotation(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str | None
    path: str | None = Field(description="the path in the repository (a folder's dvc.yaml path joined to its folder)")
    description: str
    labels: list[str]
    virtual: bool
    custom: Any = None
    source: str = Field(description="the file the annotation is read from")
    link: dict[str, str | None] | None = Field(description="for a link: the repository and revision")


class Model(BaseModel):
    repo: str
    name: str
    registered: bool = Field(description="false: only annotated, no version tag yet")
    active: bool = Field(description="false: deprecated")
    type: str | None
    path: str | None = Field(description="the annotated path in the repository, as `check-ref --path` prints it")
    description: str | None
    labels: list[str]
    latest: str | None
    stages: dict[str, list[str]] = Field(description="stage -> the versions in it")
    last_event: dict[str, Any] | None = Field(description="the newest event, as in `history --json`")
    last_author: str | None
    annotation: Annotation | None
    gto: dict[str, Any] = Field(description="this model as an entry of GTO's `show --json`")


class Models(BaseModel):
    total: int
    limit: int
    offset: int
    next: str | None
    models: list[Model]
    facets: dict[str, list[str]] = Field(description="values the filters can take")
    indexing: Indexing | None = INDEXING


class ModelDetail(Model):
    versions: list[dict[str, Any]] = Field(description="as GTO's `show NAME --json`")
    history: list[HistoryRow] = Field(description="as GTO's `history NAME --json`, with repo, commit_url, and each "
                                                  "event's signature and verdict")
    get: list[dict[str, str]] = Field(description="`tagreg get` commands for the latest version and each stage")
    policy: PolicyInfo | None = Field(description="the policy in effect for the repository (null: none)")
    not_in_effect: list[HistoryRow] = Field(description="the events the policy leaves out (not in `history`), "
                                                        "newest first, with the rules each breaks")


class Events(BaseModel):
    total: int
    limit: int
    offset: int
    next: str | None
    events: list[dict[str, Any]] = Field(description="newest first, as GTO's `history --json` rows, with repo")
    indexing: Indexing | None = INDEXING


class TagChange(BaseModel):
    tag: str
    event: str
    name: str
    version: str | None
    stage: str | None
    commit: str
    deleted: bool
    pushed: bool = Field(description="pushed to the remote (always, for remote repositories)")
    pushed_to: str | None = Field(None, description="where it was pushed: the remote repository's URL, or the "
                                                       "push remote a local repository has in the server config")
    repo: str
    replaced: str | None = Field(None, description="rollback: the version that was current in the stage")


class Changes(BaseModel):
    changes: list[TagChange]
    push: str = Field(description="'pushed to origin', or 'not pushed (no push remote configured)'")
    warnings: list[str] = Field(description="what the registry said besides the tags, e.g. "
                                            "\"'chrun' is a new artifact; did you mean 'churn'?\"")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repo: str | None = Field(None, description="repository id; needed when several have this model")
    message: str | None = Field(None, description="tag message")


class RegisterBody(_Body):
    ref: str = Field("HEAD", description="commit, branch or tag to register")
    version: str | None = Field(None, description="e.g. v1.2.0; default: the next patch version")


class AssignBody(_Body):
    stage: str
    version: str | None = Field(None, description="a registered version (or give ref)")
    ref: str | None = Field(None, description="a commit, registered first if needed")


class UnassignBody(_Body):
    version: str
    stage: str


class DeregisterBody(_Body):
    version: str


class DeprecateBody(_Body):
    pass


class RollbackBody(_Body):
    stage: str = Field(description="the stage to give back the version it had before its current one")


ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorResponse} for s in (400, 404, 409, 422, 503)}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (400, 401, 403, 404, 408, 409, 413, 422, 429, 502, 503)}


def _next(request: Request, total: int, limit: int, offset: int) -> str | None:
    if offset + limit >= total:
        return None
    return str(request.url.include_query_params(offset=offset + limit, limit=limit))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def router(dashboard: Dashboard, guard) -> APIRouter:
    """The /api routes over a dashboard."""
    r = APIRouter(prefix="/api")

    def _cached_json(key: Any, compute) -> Response:
        # The answer only changes with the index: serve the same bytes until it does.
        return Response(dashboard.cached(key, compute), media_type="application/json")

    def _page(request: Request, page: dict[str, Any], indexing: dict[str, Any] | None, key: str = "") -> bytes:
        out = {**page, "next": _next(request, page["total"], page["limit"], page["offset"])}
        if indexing:
            out["indexing"] = indexing
        if not key:
            return _json(out)
        # The rows are JSON texts already (the index keeps each model's): put them in as they are.
        out[key] = []
        return _json(out).replace(f'"{key}":[]'.encode(), f'"{key}":[{",".join(page[key])}]'.encode(), 1)

    @r.get("/repos", response_model=Repos, response_model_exclude_unset=True, tags=["read"],
           summary="The served repositories")
    def repos() -> dict[str, Any]:
        out: dict[str, Any] = {"repos": dashboard.repos()}
        indexing = dashboard.indexing()
        if indexing:
            out["indexing"] = indexing
        return out

    @r.get("/models", response_model=Models, responses=ERRORS, tags=["read"],
           summary="Models across repositories (filter, search, sort, page)")
    def models(
        request: Request,
        repo: str | None = Query(None, description="only this repository"),
        type: str | None = Query(None, description="only this type"),
        label: str | None = Query(None, description="only models with this label"),
        stage: str | None = Query(None, description="only models with a version in this stage"),
        q: str | None = Query(None, max_length=MAX_QUERY,
                                 description="words to find in name, description, labels, type, path"),
        deprecated: bool = Query(False, description="include deprecated models"),
        sort: Literal["name", "repo", "type", "latest", "updated"] = "name",
        order: Literal["asc", "desc"] = "asc",
        limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ):
        query = ModelQuery(repo, type, label, stage, q, deprecated, sort, order, limit, offset)
        dashboard.hub.fresh()
        indexing = dashboard.indexing()
        return _cached_json(("api", str(request.url), repr(indexing)),
                            lambda: _page(request, dashboard.models(query, parsed=False), indexing, "models"))

    @r.get("/models/{name:path}", response_model=ModelDetail, responses=ERRORS, tags=["read"],
           summary="One model: annotation, versions, history")
    def model(request: Request, name: str,
              repo: str | None = Query(None, description="needed when several repositories have it")):
        def compute() -> bytes:
            data = dashboard.model(name, repo)
            if not data["versions_ready"]:
                raise Problem(503, "not_ready", f"the versions of '{name}' are being indexed; retry shortly",
                              retry_after=5)
            out = {k: v for k, v in data.items() if k not in ("gto_versions", "versions_ready", "repo_stages",
                                                                 "repo_web", "rollbacks", "timeline")}
            out["versions"] = data["gto_versions"]
            return _json(out)

        dashboard.hub.fresh(repo)
        return _cached_json(("api", str(request.url)), compute)

    @r.get("/events", response_model=Events, responses=ERRORS, tags=["read"],
           summary="Registry events across repositories, newest first")
    def events(
        request: Request,
        repo: str | None = Query(None, description="only this repository"),
        artifact: str | None = Query(None, description="only this model"),
        event: Literal["registration", "deregistration", "assignment", "unassignment", "deprecation"] | None = Query(
            None, description="only this kind"),
        limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ):
        dashboard.hub.fresh(repo)
        indexing = dashboard.indexing()
        return _cached_json(("api", str(request.url), repr(indexing)),
                            lambda: _page(request, dashboard.events(repo, artifact, event, limit, offset), indexing))

    def write(action: str, body_model: type[_Body], summary: str):
        schema = body_model.model_json_schema()

        async def endpoint(name: str, request: Request):
            # Order matters: 403 read-only, then 401 token, and only then is the body read.
            if not guard.write:
                raise Problem(403, "read_only", "this server is read-only: start it with `tagreg serve --write`")
            client = request.client.host if request.client else "unknown"
            guard.check_attempts(client)
            header = request.headers.get("authorization")
            person = guard.bearer(header)
            if person is None:
                if header:
                    guard.attempts.failed(client)
                raise Problem(401, "unauthorized", "give your token (or the server's) as `Authorization: Bearer TOKEN`")
            raw = await request.body()  # bounded in size and time by the Bounded middleware
            try:
                body = body_model.model_validate_json(raw or b"{}")
            except ValidationError as exc:
                raise Problem(422, "invalid_body", "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())) from None
            from starlette.concurrency import run_in_threadpool

            fields = body.model_dump(exclude={"repo"})
            changes = await run_in_threadpool(dashboard.act, action, name, body.repo, fields, person)
            return JSONResponse({"changes": [{k: v for k, v in c.items() if k not in ("seconds", "notices")}
                                             for c in changes],
                                 "push": push_note(changes), "warnings": notices_of(changes)}, status_code=201)

        r.add_api_route(
            f"/models/{{name:path}}/{action}", endpoint, methods=["POST"], status_code=201,
            response_model=Changes, responses=WRITE_ERRORS, tags=["write"], summary=summary,
            openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                           "security": [{"bearer": []}]},
        )

    write("register", RegisterBody, "Register a version of a model at a commit")
    write("assign", AssignBody, "Assign a stage to a version")
    write("unassign", UnassignBody, "Unassign a stage from a version")
    write("deregister", DeregisterBody, "Deregister a version")
    write("deprecate", DeprecateBody, "Deprecate a model")
    write("rollback", RollbackBody, "Roll a stage back to the version it had before its current one")
    return r


def error_json(problem: Problem) -> JSONResponse:
    """The JSON answer for an error."""
    body: dict[str, Any] = {"status": problem.status, "code": problem.code, "message": problem.message}
    body.update({k: v for k, v in problem.extra.items() if k != "retry_after"})
    headers = {}
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tagreg"'
    if problem.extra.get("retry_after"):
        headers["Retry-After"] = str(problem.extra["retry_after"])
    return JSONResponse({"error": body}, status_code=problem.status, headers=headers)

