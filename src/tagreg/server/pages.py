"""The HTML pages: models `/`, a model `/models/NAME`, `/activity`, `/repos`, `/api`, sign-in.

Server-rendered Jinja2 templates with autoescaping on (a `<script>` in a description or a tag
message is shown as text), one small script for copy buttons and filters that apply on change,
and a stylesheet that turns tables into cards on narrow screens.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape

from .index import ModelQuery
from .people import ACTIONS
from .security import AUTH_COOKIE, SESSION_SECONDS, Guard
from .service import MAX_OFFSET, Dashboard, Problem, model_url, notices_of, push_note

PAGE_SIZE = 50
ROW_CACHE = 25_000  # rendered rows of the models table kept (the documented large case has 20,000 models)
VERBS = {
    "registration": "registered", "deregistration": "deregistered", "assignment": "assigned",
    "unassignment": "unassigned", "deprecation": "deprecated",
}


def when(iso: str | None) -> str:
    """An ISO time as `2024-05-01 14:03 +02:00` (string slicing: this runs for every row)."""
    if not iso or len(iso) < 16 or iso[10] != "T":
        return iso or ""
    offset = iso[19:].lstrip(".0123456789")
    return f"{iso[:10]} {iso[11:16]}{' ' + offset if offset else ''}"


def stage_class(stage: str | None) -> str:
    """A colour class for a stage: fixed for common names, stable for others."""
    fixed = {"prod": 0, "production": 0, "staging": 1, "stage": 1, "dev": 2, "development": 2, "test": 3, "qa": 3}
    key = (stage or "").lower()
    return f"c{fixed[key]}" if key in fixed else f"c{4 + zlib.crc32(key.encode()) % 4}"


# The small pieces every row of a table repeats: Python rather than Jinja macros, whose calls cost
# most of a page's rendering. Every value goes through escape, as in a template.

def stage_chip(stage: str, version: str | None = None) -> Markup:
    """A stage badge, with the version in it if given."""
    inner = f"{escape(stage)} <b>{escape(version)}</b>" if version else escape(stage)
    return Markup(f'<span class="chip stage {escape(stage_class(stage))}">{inner}</span>')


def label_chips(labels: list[str]) -> Markup:
    """A chip per label."""
    return Markup("".join(f'<span class="chip label">{escape(label)}</span> ' for label in labels))


def time_tag(iso: str | None) -> Markup:
    """A `<time>` element showing an ISO time as `when` does (nothing without a time)."""
    if not iso:
        return Markup("")
    shown = escape(when(iso))
    return Markup(f'<time datetime="{escape(iso)}" title="{shown}">{shown}</time>')


def describe(event: dict[str, Any]) -> str:
    """What an event did, in words: 'assigned prod to v1.2.0'."""
    kind, version, stage = event.get("event"), event.get("version"), event.get("stage")
    if kind == "assignment":
        return f"assigned {stage} to {version}"
    if kind == "unassignment":
        return f"unassigned {stage} from {version}"
    if kind in ("registration", "deregistration"):
        return f"{VERBS[kind]} {version}"
    return VERBS.get(kind or "", kind or "")


_DEFAULT_MESSAGES = ("Registering artifact ", "Deregistering artifact ", "Assigning stage ", "Unassigning stage ",
                     "Deprecating artifact ")


_OWN_TRAILERS = ("Tagreg-Server:", "Tagreg-Rollback:")


def custom_message(message: str | None) -> str:
    """A tag message worth showing: without the trailers tagreg adds (the page says what they say),
    and empty for the messages tagreg and GTO write by default."""
    message = (message or "").strip()
    body, _, last = message.rpartition("\n\n")
    if body and last and all(line.startswith(_OWN_TRAILERS) for line in last.splitlines()):
        message = body.strip()
    return "" if message.startswith(_DEFAULT_MESSAGES) and "\n" not in message else message


def trailer(message: str | None, key: str) -> str:
    """The value of a `Key: value` trailer in the last paragraph of a tag message ('' if none)."""
    last = (message or "").strip().rpartition("\n\n")[2]
    return next((line[len(key) + 1:].strip() for line in last.splitlines() if line.startswith(key + ":")), "")


SIGNATURE_WORDS = {"good": "signed", "unknown": "signed by a key the policy does not list",
                   "bad": "signature does not verify", "expired": "signed by an expired key", "none": "unsigned"}


def signature_chip(signature: dict[str, Any] | None) -> Markup:
    """What a tag's signature says, as a small badge (nothing when it was not checked)."""
    if not signature:
        return Markup("")
    state = signature.get("state") or "none"
    text = SIGNATURE_WORDS.get(state, state)
    if state == "good" and signature.get("principal"):
        text += f" by {signature['principal']}"
    title = signature.get("detail") or signature.get("key") or ""
    kind = {"good": "ok", "none": "muted"}.get(state, "warn")
    return Markup(f'<span class="badge sig {kind}" data-signature="{escape(state)}" title="{escape(title)}">'
                  f"{escape(text)}</span>")


def duration(seconds: float | None) -> str:
    """A policy's min_age as it would be written: `24h`."""
    from ..policy import shown_duration

    return shown_duration(seconds) if seconds else ""


class Pages:
    """Renders templates with what every page needs."""

    def __init__(self, dashboard: Dashboard, guard: Guard, static_version: str, max_form_fields: int = 100):
        import jinja2

        self.dashboard, self.guard = dashboard, guard
        self.max_form_fields = max_form_fields
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("tagreg.server", "templates"),
            autoescape=True,  # every value is escaped unless a template says otherwise (none does)
            trim_blocks=True, lstrip_blocks=True,
            auto_reload=False,  # the templates are the package's own files: no stat of each on every page
        )
        self.env.filters.update(when=when, stage_class=stage_class, describe=describe,
                                short=lambda sha: (sha or "")[:7], model_url=model_url,
                                urlquote=lambda s: quote(s or "", safe=""), custom_message=custom_message)
        self.env.globals.update(static_version=static_version, model_url=model_url, stage_chip=stage_chip,
                                label_chips=label_chips, time=time_tag, signature_chip=signature_chip)
        self.env.filters.update(trailer=trailer, duration=duration)
        self._csrf_mark = "csrf-" + secrets.token_hex(16)
        self._flash_mark = "<!--flash-" + secrets.token_hex(16) + "-->"
        self._link_mark = "link-" + secrets.token_hex(16)
        self._rows: dict[bytes, tuple[str, str, str]] = {}

    def model_rows(self, docs: list[str], url: Callable[..., str], multi_repo: bool) -> list[Markup]:
        """The models table's rows, from the models' JSON texts in the index.

        A row is rendered once per version of its model (its text is the key) and kept: a page of
        a search, sort or offset not seen before is mostly rows already rendered. What a row has of
        the page, its repository link (this page's filters with that repository), is put in each time.
        """
        out = []
        for doc in docs:
            key = hashlib.blake2b(doc.encode("utf-8", "surrogatepass"), digest_size=16,
                                  person=b"m" if multi_repo else b"s").digest()
            parts = self._rows.get(key)
            if parts is None:
                m = json.loads(doc)
                html = self.env.get_template("model_row.html").render(m=m, multi_repo=multi_repo,
                                                                      repo_link=self._link_mark)
                head, _, tail = html.partition(self._link_mark)
                parts = (head, m["repo"] if multi_repo else "", tail)
                if len(self._rows) >= ROW_CACHE:  # more models than that: start over rather than grow
                    self._rows.clear()
                self._rows[key] = parts
            head, repo, tail = parts
            # join, not +: `str + Markup` would escape the str.
            out.append(Markup("".join((head, escape(url(repo=repo, offset=None)), tail)) if multi_repo else head))
        return out

    def render(self, request: Request, template: str, status: int = 200, cache: bool = False,
               **context: Any) -> HTMLResponse:
        """A page, with the sign-in state and a CSRF token for its forms.

        With cache, the HTML is kept until the index changes, per URL and sign-in state: the CSRF token
        and the message at the top, which differ per browser, are put in each time in place of markers
        (random, so no data can contain them).
        """
        sid = request.state.sid
        signed_in = self.guard.signed_in(sid, request.cookies.get(AUTH_COOKIE))  # who, or None
        try:
            indexing = self.dashboard.indexing()
        except sqlite3.DatabaseError:  # the error page of a broken index shows no banner
            indexing = None

        def build() -> str:
            return self.env.get_template(template).render(
                request=request, path=request.url.path, write=self.guard.write, signed_in=signed_in,
                csrf=self._csrf_mark, flash_slot=Markup(self._flash_mark), indexing=indexing, **context)

        if cache:
            html = self.dashboard.cached(("page", template, _url(request), signed_in, repr(indexing)), build)
        else:
            html = build()
        return HTMLResponse(html.replace(self._csrf_mark, self.guard.csrf_token(sid))
                            .replace(self._flash_mark, self._flash(request)), status_code=status)

    def _flash(self, request: Request) -> str:
        """The message a redirect after a form asked this page to show (only if we signed it)."""
        text, kind, signature = (request.query_params.get(k) for k in ("flash", "kind", "sig"))
        if not (text and kind in ("ok", "error") and signature
                and self.guard.csrf_ok(f"flash\0{kind}\0{text}", signature)):
            return ""
        role = "status" if kind == "ok" else "alert"
        return f'<div class="flash {kind}" role="{role}">{escape(text)}</div>'

    def flash_query(self, text: str, kind: str = "ok") -> str:
        """Query parameters that make the next page show a message (signed, so links cannot fake one)."""
        return urlencode({"flash": text, "kind": kind, "sig": self.guard.csrf_token(f"flash\0{kind}\0{text}")})

    def error(self, request: Request, problem: Problem) -> HTMLResponse:
        """An error page."""
        response = self.render(request, "error.html", status=problem.status, problem=problem)
        if problem.extra.get("retry_after"):
            response.headers["Retry-After"] = str(problem.extra["retry_after"])
        return response


def _url(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key in ("flash", "kind", "sig"):
        params.pop(key, None)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return request.url.path + ("?" + urlencode(params) if params else "")


def _urls(request: Request) -> Callable[..., str]:
    """_url for one page, faster: each query parameter is encoded once, and each answer remembered
    (a table's rows ask for the same few links, and for one per repository)."""
    params = dict(request.query_params)
    for key in ("flash", "kind", "sig"):
        params.pop(key, None)
    encoded = {key: urlencode({key: value}) for key, value in params.items()}
    path = request.url.path
    made: dict[tuple, str] = {}

    def url(**changes: Any) -> str:
        key = tuple(changes.items())
        found = made.get(key)
        if found is None:
            parts = dict(encoded)  # a changed parameter keeps its place, a new one goes last: as _url
            for name, value in changes.items():
                if value is None or value == "":
                    parts.pop(name, None)
                else:
                    parts[name] = urlencode({name: str(value)})
            found = made[key] = path + ("?" + "&".join(parts.values()) if parts else "")
        return found

    return url


def _int(value: str | None, default: int) -> int:
    try:
        return min(MAX_OFFSET, max(0, int(value))) if value is not None else default
    except ValueError:  # also more than 4300 digits
        return default


async def _form(request: Request, max_fields: int) -> dict[str, str]:
    """A submitted urlencoded form (its size is bounded by the Bounded middleware as it arrives)."""
    raw = await request.body()
    try:
        fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        raise Problem(400, "invalid", f"the form has too many fields (at most {max_fields})") from None
    return {k: v[-1] for k, v in fields.items()}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
    """A same-site path to go back to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def router(pages: Pages, openapi) -> APIRouter:
    """The page routes."""
    dashboard, guard = pages.dashboard, pages.guard
    r = APIRouter(include_in_schema=False)

    @r.get("/", response_class=HTMLResponse)
    def models(request: Request):
        p = request.query_params
        sort = p.get("sort") or "name"
        if sort not in ("name", "repo", "type", "latest", "updated"):
            sort = "name"
        order = "desc" if p.get("order") == "desc" else "asc"
        query = ModelQuery(repo=p.get("repo") or None, type=p.get("type") or None, label=p.get("label") or None,
                           stage=p.get("stage") or None, q=p.get("q") or None, deprecated=p.get("deprecated") == "1",
                           sort=sort, order=order, limit=PAGE_SIZE, offset=_int(p.get("offset"), 0))
        page = dashboard.models(query, parsed=False)
        url, repos = _urls(request), dashboard.hub.ids
        return pages.render(request, "models.html", cache=True, page=page, query=query, url=url, repos=repos,
                            rows=lambda: pages.model_rows(page["models"], url, len(repos) > 1))

    @r.get("/models/{name:path}", response_class=HTMLResponse)
    def model(request: Request, name: str):
        repo = request.query_params.get("repo") or None
        try:
            data = dashboard.model(name, repo)
        except Problem as problem:
            if problem.code == "ambiguous":
                return pages.render(request, "ambiguous.html", status=300, name=name, repos=problem.extra["repos"])
            raise
        person = guard.signed_in(request.state.sid, request.cookies.get(AUTH_COOKIE))
        return pages.render(request, "model.html", cache=True, m=data, repo_count=len(dashboard.hub.ids),
                            push_to=dashboard.hub.sources[data["repo"]].push_to,
                            why_not=dashboard.permissions(data, person) if guard.write else {},
                            server_signs=dashboard.signing is not None)

    @r.get("/activity", response_class=HTMLResponse)
    def activity(request: Request):
        p = request.query_params
        event = p.get("event") if p.get("event") in VERBS else None
        repo = p.get("repo") or None
        page = dashboard.events(repo, p.get("artifact") or None, event, PAGE_SIZE, _int(p.get("offset"), 0))
        return pages.render(request, "activity.html", cache=True, page=page, repo=repo, event=event,
                            artifact=p.get("artifact") or "", kinds=list(VERBS), repos=dashboard.hub.ids,
                            url=_urls(request))

    @r.get("/repos", response_class=HTMLResponse)
    def repos(request: Request):
        return pages.render(request, "repos.html", repos=dashboard.repos())

    @r.get("/api", response_class=HTMLResponse)
    def api_page(request: Request):
        return pages.render(request, "api.html", schema=openapi())

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request):
        return pages.render(request, "login.html", next=_safe_next(request.query_params.get("next")), failed=False)

    @r.post("/login", response_class=HTMLResponse)
    async def login(request: Request):
        form = await _form(request, pages.max_form_fields)
        if not guard.csrf_ok(request.state.sid, form.get("csrf")):
            raise Problem(403, "csrf", "this form did not come from this site, or it expired: reload the page")
        target = _safe_next(form.get("next"))
        if not guard.write:
            raise Problem(403, "read_only", "this server is read-only: start it with `tagreg serve --write`")
        guard.check_attempts(_client(request))
        person = guard.person(form.get("token"))
        if person is None:
            guard.attempts.failed(_client(request))
            return pages.render(request, "login.html", status=401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(AUTH_COOKIE, guard.auth_cookie(request.state.sid, person), max_age=SESSION_SECONDS,
                            httponly=True, samesite="lax", path="/", secure=request.url.scheme == "https")
        return response

    @r.post("/logout")
    async def logout(request: Request):
        form = await _form(request, pages.max_form_fields)
        if not guard.csrf_ok(request.state.sid, form.get("csrf")):
            raise Problem(403, "csrf", "this form did not come from this site, or it expired: reload the page")
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(AUTH_COOKIE, path="/")
        return response

    @r.post("/actions/{action}")
    async def act(request: Request, action: str):
        from starlette.concurrency import run_in_threadpool

        if action not in ACTIONS:
            raise Problem(404, "unknown_action", f"unknown action '{action}'")
        if not guard.write:
            raise Problem(403, "read_only", "this server is read-only: start it with `tagreg serve --write`")
        person = guard.signed_in(request.state.sid, request.cookies.get(AUTH_COOKIE))
        if person is None:
            raise Problem(401, "unauthorized", "sign in with your token to make changes")
        form = await _form(request, pages.max_form_fields)
        if not guard.csrf_ok(request.state.sid, form.get("csrf")):
            raise Problem(403, "csrf", "this form did not come from this site, or it expired: reload the page")
        name, repo = form.get("name") or "", form.get("repo") or None
        fields = {k: form.get(k) for k in ("ref", "version", "stage", "message")}
        back = model_url(name, repo)
        try:
            changes = await run_in_threadpool(dashboard.act, action, name, repo, fields, person)
        except Problem as problem:
            if problem.status in (400, 403, 409, 502, 503):  # the registry, scope or policy said no: say why there
                query = pages.flash_query(problem.message, "error")
                return RedirectResponse(f"{back}{'&' if '?' in back else '?'}{query}", status_code=303)
            raise
        tags = ", ".join(("deleted " if c["deleted"] else "") + c["tag"] for c in changes)
        warned = "".join(f"; warning: {notice}" for notice in notices_of(changes))
        query = pages.flash_query(f"Done: {tags}; {push_note(changes)}{warned}")
        return RedirectResponse(f"{back}{'&' if '?' in back else '?'}{query}", status_code=303)

    return r

