"""The server's index is only a cache of Git: rebuilt when (and only when) the tags change, rebuilt
from nothing when deleted, shared by instances, and it keeps the last good state of a repository
whose annotation file breaks. Also: the config file, web links of Git hosts, and the signed tokens."""

from __future__ import annotations

import json
import os
import time

import pytest

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')

from hypothesis import given
from hypothesis import strategies as st

from tagreg import api
from tagreg.config import ConfigError
from tagreg.server import settings as S
from tagreg.server.index import ModelQuery, version_key
from tagreg.server.security import Guard
from tagreg.server.sources import Hub
from tagreg.server.webhost import commit_url, web_base


@pytest.fixture
def registry(repo):
    """A repository with two annotated models and a few tags."""
    repo.commit("annotations", {"artifacts.yaml": "churn:\n  type: model\n  labels: [tabular]\n"
                                                  "segment:\n  type: model\n"})
    api.register(repo.path, "churn", version="v1.0.0")
    api.assign(repo.path, "churn", "prod", version="v1.0.0")
    return repo


def hub_for(tmp_path, *paths, index_name="index.sqlite") -> Hub:
    lines = ["repos:"] + [f"  - {p}" for p in paths] + [f"index: {index_name}"]
    (tmp_path / "registries.yaml").write_text("\n".join(lines) + "\n")
    return Hub(S.load(str(tmp_path / "registries.yaml")))


def models(hub: Hub) -> list[tuple[str, str, str | None]]:
    return [(m["repo"], m["name"], m["latest"]) for m in hub.index.models(ModelQuery())[1]]


def test_rebuilds_only_when_tags_change(tmp_path, registry):
    hub = hub_for(tmp_path, registry.path)
    source = hub.sources["repo"]
    assert source.refresh() is True
    assert models(hub) == [("repo", "churn", "v1.0.0"), ("repo", "segment", None)]
    built = hub.index.repos()["repo"]["built_at"]
    assert source.refresh() is False  # nothing changed: a few stat calls, no git
    registry.git("pack-refs", "--all")  # the refs files change, the tags do not
    assert source.refresh() is False
    assert hub.index.repos()["repo"]["built_at"] == built
    time.sleep(0.01)
    api.register(registry.path, "segment", version="v0.1.0")
    assert source.refresh() is True
    assert models(hub) == [("repo", "churn", "v1.0.0"), ("repo", "segment", "v0.1.0")]
    registry.git("tag", "-d", "segment@v0.1.0")  # deleting a packed or loose tag is seen too
    assert source.refresh() is True
    assert models(hub)[1] == ("repo", "segment", None)


def test_a_new_commit_on_the_branch_is_seen(tmp_path, registry):
    hub = hub_for(tmp_path, registry.path)
    hub.sources["repo"].refresh()
    registry.commit("new model", {"artifacts.yaml": "churn:\n  type: model\nsegment: {}\nranker: {}\n"})
    assert hub.sources["repo"].refresh() is True  # HEAD's annotations changed
    assert [m[1] for m in models(hub)] == ["churn", "ranker", "segment"]


def test_deleting_the_index_loses_nothing(tmp_path, registry):
    hub = hub_for(tmp_path, registry.path)
    hub.fresh()
    before = models(hub)
    events = hub.index.events()[0]
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"index.sqlite{suffix}").unlink(missing_ok=True)
    again = hub_for(tmp_path, registry.path)  # a restart
    again.fresh()
    assert models(again) == before and again.index.events()[0] == events
    # The running server notices too: its next check rebuilds into a new file.
    os.unlink(tmp_path / "index.sqlite")
    hub.sources["repo"]._stat = None
    hub.sources["repo"].refresh()
    assert models(hub) == before


def test_an_index_that_is_not_a_database_is_replaced(tmp_path, registry):
    (tmp_path / "index.sqlite").write_bytes(b"this is not sqlite" * 100)
    hub = hub_for(tmp_path, registry.path)
    hub.fresh()
    assert models(hub)[0] == ("repo", "churn", "v1.0.0")


def test_instances_share_an_index_without_rebuilding(tmp_path, registry):
    first = hub_for(tmp_path, registry.path)
    assert first.sources["repo"].refresh() is True
    generation = first.index.generation()
    second = hub_for(tmp_path, registry.path)  # another process with the same config
    assert second.sources["repo"].refresh() is False  # the fingerprint matches: nothing to build
    assert models(second) == models(first)
    api.assign(registry.path, "churn", "staging", version="v1.0.0")
    assert second.sources["repo"].refresh() is True
    assert first.index.generation() > generation  # the first one's cached answers are now stale
    assert first.sources["repo"].refresh() is False  # and it need not rebuild: the other did


def test_a_broken_annotation_file_is_indexed_around_with_a_warning(tmp_path, registry):
    hub = hub_for(tmp_path, registry.path)
    hub.fresh()
    registry.commit("oops", {"artifacts.yaml": "churn: [unclosed\n"})
    assert hub.sources["repo"].refresh() is True  # one bad file costs only its commit
    state = hub.index.repos()["repo"]
    assert "not valid YAML" in state["error"]
    assert models(hub)[0] == ("repo", "churn", "v1.0.0")
    registry.commit("fixed", {"artifacts.yaml": "churn:\n  type: model\n"})
    assert hub.sources["repo"].refresh() is True
    assert hub.index.repos()["repo"]["error"] is None


def test_semver_sort_key():
    ordered = ["v0.9.0", "v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-beta.2", "v1.0.0-beta.11", "v1.0.0", "v1.10.0"]
    assert sorted(ordered, key=version_key) == ordered
    assert version_key(None) == "" and version_key("abc1234") == ""
    # identifiers: `a` < `a.x` < `a-b` (SemVer compares `a` with `a-b` first); numbers of any length
    assert sorted(["v1.0.0-a-b", "v1.0.0-a.x", "v1.0.0-a"], key=version_key) == ["v1.0.0-a", "v1.0.0-a.x", "v1.0.0-a-b"]
    assert sorted(["v10000000000000.0.0", "v9.0.0"], key=version_key) == ["v9.0.0", "v10000000000000.0.0"]


_NUMBER = st.integers(0, 10**14).map(str)
_IDENT = st.one_of(_NUMBER, st.text("ab-Z9", min_size=1, max_size=4).filter(lambda t: not t.isdigit()))
_SEMVER = st.builds(lambda core, pre: "v" + ".".join(core) + (f"-{'.'.join(pre)}" if pre else ""),
                    st.lists(_NUMBER, min_size=3, max_size=3), st.lists(_IDENT, max_size=3))


@given(_SEMVER, _SEMVER)
def test_the_index_sorts_versions_as_the_registry_does(a, b):
    """The text key the index sorts by (SQLite compares bytes) orders versions as tags.version_key."""
    from tagreg import tags as T

    assert (version_key(a) < version_key(b)) == (T.version_key(a) < T.version_key(b))
    assert (version_key(a) == version_key(b)) == (T.version_key(a) == T.version_key(b))


# -- the config file ----------------------------------------------------------------------------

@pytest.fixture
def sortable(repo, monkeypatch):
    """a: type model, v1.0.0; b: no type, v2.0.0 (registered a day after a); c: type dataset, no version."""
    repo.commit("annotations", {"artifacts.yaml": "a:\n  type: model\nb: {}\nc:\n  type: dataset\n"})
    for name, version, day in (("a", "v1.0.0", 1), ("b", "v2.0.0", 2)):
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"2026-01-0{day}T00:00:00 +0000")
        api.register(repo.path, name, version=version)
    return repo


def test_models_without_a_value_sort_last_either_way(tmp_path, sortable):
    hub = hub_for(tmp_path, sortable.path)
    hub.sources["repo"].refresh()
    for sort, asc, desc in (("latest", "abc", "bac"), ("type", "cab", "acb"), ("updated", "abc", "bac"),
                            ("name", "abc", "cba")):
        for order, expected in (("asc", asc), ("desc", desc)):
            found = "".join(m["name"] for m in hub.index.models(ModelQuery(sort=sort, order=order))[1])
            assert found == expected, (sort, order)


def test_a_page_of_any_sort_is_read_in_order_from_an_index(tmp_path, registry):
    hub = hub_for(tmp_path, registry.path)
    hub.sources["repo"].refresh()
    for sort in ("name", "repo", "type", "latest", "updated"):
        for order in ("asc", "desc"):
            for deprecated in (False, True):
                sql, args = hub.index.page_sql(ModelQuery(sort=sort, order=order, deprecated=deprecated, offset=100))
                plan = " | ".join(row[3] for row in hub.index.db.execute("EXPLAIN QUERY PLAN " + sql, args))
                # No sort of every row for one page:
                assert "TEMP B-TREE" not in plan and "COVERING INDEX" in plan, (sort, order, plan)


def test_settings_from_a_config_file(tmp_path, registry):
    (tmp_path / "other").mkdir()
    config = tmp_path / "registries.yaml"
    config.write_text(f"refresh: 30\nrepos:\n  - {registry.path}\n  - path: other\n    id: second\n"
                      "  - url: https://user:pw@github.com/acme/fraud.git\n    refresh: 300\n"
                      "  - git@gitlab.com:acme/fraud.git\n")
    loaded = S.load(str(config))
    assert [(r.id, r.remote, r.refresh) for r in loaded.repos] == [
        ("repo", False, 30.0), ("second", False, 30.0), ("fraud", True, 300.0), ("fraud-2", True, 30.0)]
    assert loaded.repos[1].location == str(tmp_path / "other")
    assert loaded.index.name.startswith("index-") and loaded.index.suffix == ".sqlite"


@pytest.mark.parametrize("text, message", [
    ("repos: [", "not valid YAML"),
    ("repos: []", "'repos' must be a non-empty list"),
    ("repos: [nowhere]", "is not a folder"),
    ("repos:\n  - url: /not/a/url\n", "is not a URL"),
    ("repos:\n  - {path: ., url: 'https://x/y'}\n", "exactly one of 'path' or 'url'"),
    ("repos:\n  - {path: ., id: a}\n  - {path: ., id: a}\n", "id 'a' is used twice"),
    ("repos:\n  - {path: ., id: 'a b'}\n", "may only use letters"),
    ("repos: [.]\nrefresh: soon\n", "refresh must be a positive number"),
    ("repos: [.]\ncolour: blue\n", "unknown setting(s) colour"),
    ("repos:\n  - {path: ., branch: main}\n", "unknown key(s) branch"),
    # declared with pydantic: every value of the wrong kind is a line naming the entry and the key
    ("repos: [.]\nindex: [a, b]\n", "registries.yaml: 'index' must be a valid string"),
    ("repos:\n  - {path: ., web: [a]}\n", "registries.yaml: repos[1]: 'web' must be a valid string"),
    ("repos:\n  - {path: ., refresh: .nan}\n", "repos[1]: refresh must be a positive number of seconds, not nan"),
    ("repos:\n  - {path: ., a: 1, b: 2}\n", "repos[1]: unknown key(s) a, b"),
    ("repos:\n  - {path: \"a\\0b\"}\n", "repos[1]: 'path' may not contain a NUL character"),
    ("repos:\n  - 5\n", "repos[1] must be a path, a URL or a mapping"),
])
def test_config_mistakes_are_one_clear_line(tmp_path, text, message):
    (tmp_path / "registries.yaml").write_text(text)
    with pytest.raises(S.SettingsError) as caught:
        S.load("registries.yaml", cwd=tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_without_a_config_the_repository_it_starts_in(registry, tmp_path):
    (registry.path / "sub").mkdir()
    loaded = S.load(None, cwd=registry.path / "sub")
    assert [(r.id, r.location) for r in loaded.repos] == [("repo", str(registry.path))]
    with pytest.raises(S.SettingsError, match="not a git repository"):
        S.load(None, cwd=tmp_path)


# -- links to Git hosts -------------------------------------------------------------------------

@pytest.mark.parametrize("url, base", [
    ("https://github.com/acme/vision.git", "https://github.com/acme/vision"),
    ("git@github.com:acme/vision.git", "https://github.com/acme/vision"),
    ("ssh://git@gitlab.com/group/sub/repo.git", "https://gitlab.com/group/sub/repo"),
    ("https://gitlab.example.com/team/repo", "https://gitlab.example.com/team/repo"),
    ("https://bitbucket.org/acme/repo.git", "https://bitbucket.org/acme/repo"),
    ("https://git.example.com/acme/repo.git", None),
    ("file:///srv/repo.git", None),
    ("/srv/repo", None),
])
def test_web_base(url, base):
    assert web_base(url) == base


def test_commit_urls():
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert commit_url("https://github.com/a/b", sha) == f"https://github.com/a/b/commit/{sha}"
    assert commit_url("https://gitlab.com/g/s/r", sha) == f"https://gitlab.com/g/s/r/-/commit/{sha}"
    assert commit_url("https://bitbucket.org/a/b", sha) == f"https://bitbucket.org/a/b/commits/{sha}"
    assert commit_url(None, sha) is None


# -- signed tokens ------------------------------------------------------------------------------

def test_csrf_tokens_and_sign_in_are_bound_to_the_browser_session():
    token = "the-token-" + "0" * 30
    guard = Guard(token, write=True)
    admin = guard.person(token)
    assert admin is not None and admin.admin
    mine, theirs = guard.new_sid(), guard.new_sid()
    assert guard.csrf_ok(mine, guard.csrf_token(mine))
    assert not guard.csrf_ok(mine, guard.csrf_token(theirs))
    assert not guard.csrf_ok(mine, None) and not guard.csrf_ok(None, guard.csrf_token(mine))
    cookie = guard.auth_cookie(mine, admin)
    assert guard.signed_in(mine, cookie) == admin and not guard.signed_in(theirs, cookie)
    assert not guard.signed_in(mine, guard.auth_cookie(mine, admin, now=time.time() - 13 * 3600))  # expired
    assert not guard.signed_in(mine, cookie.replace(".", ".0", 1))
    other_server = Guard("another-token-" + "0" * 30, write=True)  # a new token signs everyone out
    assert not other_server.signed_in(mine, cookie) and not other_server.csrf_ok(mine, guard.csrf_token(mine))
    assert not Guard(token, write=False).signed_in(mine, cookie)  # read-only: nobody is signed in
    assert guard.bearer_ok(f"Bearer {token}") and guard.bearer_ok(f"bearer  {token}")
    assert not guard.bearer_ok(f"Bearer {token}2") and not guard.bearer_ok(token) and not guard.bearer_ok(None)
    assert not Guard("short-token", write=True).bearer_ok("Bearer short-token")  # never a token under 32 characters


# -- a bug inside the server ------------------------------------------------------------------------

def _call(app, path: str) -> tuple[int, dict, bytes]:
    """One GET through the ASGI app, in this process."""
    import asyncio

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    def run() -> None:
        try:
            asyncio.run(app(scope, receive, send))
        except RuntimeError:
            if not sent:
                raise
            # else Starlette re-raised a bug after answering, for the server's log

    # In a thread of its own: the browser tests' Playwright keeps an event loop running in this one,
    # where asyncio.run would refuse to start.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(run).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_a_bug_answers_500_without_a_stack_trace(tmp_path, registry, monkeypatch):
    from tagreg.server.app import create_app

    (tmp_path / "registries.yaml").write_text(f"repos: [{registry.path}]\nindex: index.sqlite\n")
    app = create_app(S.load(str(tmp_path / "registries.yaml")), start_background=False)
    dashboard = app.app.state.dashboard

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/x.py line 3")

    monkeypatch.setattr(dashboard, "models", broken)
    status, headers, body = _call(app, "/api/models")
    assert status == 500 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": {"status": 500, "code": "internal",
                                          "message": "internal error: see the server's log"}}
    status, headers, body = _call(app, "/")
    assert status == 500 and headers["content-type"].startswith("text/html")
    assert b"secret internals" not in body and b"Traceback" not in body



@pytest.fixture
def dvc_annotated(repo):
    """churn in artifacts.yaml (GTO reads it), clf and unreg in dvc.yaml (GTO 1.10.1 does not)."""
    repo.commit("annotations", {"artifacts.yaml": "churn:\n  type: model\n",
                                "dvc.yaml": "artifacts:\n  clf:\n    path: clf.pkl\n    type: model\n"
                                            "  unreg:\n    path: unreg.pkl\n"})
    api.register(repo.path, "churn", version="v1.0.0")
    api.register(repo.path, "clf", version="v0.1.0")
    return repo


WITH_DVC = ({"churn": "model", "clf": "model", "unreg": None}, "model")  # (type by model, clf's version's type)
AS_GTO = ({"churn": "model", "clf": None}, None)


def served(hub: Hub) -> tuple[dict, str | None]:
    """What hub serves: each model's type, and the type in clf's versions."""
    source = hub.sources["repo"]
    source.refresh()
    rows = {m["name"]: m["type"] for m in hub.index.models(ModelQuery())[1]}
    note = source.detail("clf", hub.index.model("repo", "clf"))["versions"][0]["annotation"]
    return rows, note and note["type"]


def test_a_server_reading_as_gto_does_keeps_an_index_of_its_own(tmp_path, dvc_annotated, monkeypatch):
    """`tagreg --gto-exact serve` (TAGREG_GTO_EXACT=1) reads what GTO reads: no dvc.yaml annotations.
    Started on the same config and cache folder as a server without it, it never serves what that
    one indexed (nor the other way round), even while both run: each keeps its own index file."""
    plain = hub_for(tmp_path, dvc_annotated.path)
    monkeypatch.setenv("TAGREG_GTO_EXACT", "1")
    exact = hub_for(tmp_path, dvc_annotated.path)
    assert exact.index.path == tmp_path / "index-gto-exact.sqlite" and plain.index.path == tmp_path / "index.sqlite"
    for round in range(2):  # in turns, on the same files and cache folder
        monkeypatch.setenv("TAGREG_GTO_EXACT", "")
        assert served(plain) == WITH_DVC, round
        monkeypatch.setenv("TAGREG_GTO_EXACT", "1")
        assert served(exact) == AS_GTO, round
    monkeypatch.delenv("TAGREG_GTO_EXACT")
    (tmp_path / "registries.yaml").unlink()
    monkeypatch.chdir(dvc_annotated.path)
    monkeypatch.setenv("TAGREG_GTO_EXACT", "1")
    assert S.load(None).index.name.endswith("-gto-exact.sqlite")  # the repository it starts in: beside it too
    monkeypatch.setenv("TAGREG_GTO_EXACT", "maybe")
    with pytest.raises(ConfigError, match="TAGREG_GTO_EXACT must be 1 or 0"):
        S.load(None)


def test_reading_as_gto_does_is_part_of_an_index_files_key(tmp_path, dvc_annotated, monkeypatch):
    """One index file read in both ways (as two servers would if they shared it) holds the rows of
    the way it was last read: neither the models nor their versions are served from the other."""
    hub = hub_for(tmp_path, dvc_annotated.path)
    for exact, expected in (("", WITH_DVC), ("1", AS_GTO), ("", WITH_DVC), ("1", AS_GTO)):
        monkeypatch.setenv("TAGREG_GTO_EXACT", exact)
        again = Hub(S.Settings(hub.settings.repos, hub.settings.index))  # the same file, whatever the setting
        assert again.index.path == tmp_path / "index.sqlite"
        assert served(again) == expected, exact


SEARCH_TEXTS = {  # name: description (each word of a search is looked for as it is, in any of these)
    "churn": "Predicts churn: 50% of \"quoted\" users_at risk", "segment": "Straße İstanbul ǅemal ß",
    "fraud": "a_b 100% \"\" tabs\tand\nlines", "ranker": "ranks items 123", "ranker-2": "ranks items 1234",
    "emoji": "🚀 launch 🚀🚀", "dots": "...%%%___", "upper": "LOUD WORDS Here",
}


def quoted(text: str) -> str:
    """text as a YAML string (JSON's, with the characters as they are: no surrogate pairs)."""
    return json.dumps(text, ensure_ascii=False)


@pytest.fixture
def searchable(repo):
    text = "".join(f"{name}:\n  type: model\n  description: {quoted(d)}\n  labels: [team-{len(d) % 3}]\n"
                   for name, d in SEARCH_TEXTS.items())
    repo.commit("annotations", {"artifacts.yaml": text})
    return repo


def found_with_and_without_trigrams(hub: Hub, q: str, **kw) -> tuple[list[str], list[str]]:
    out = []
    for fts in (True, False):
        hub.index.fts = fts
        total, page = hub.index.models(ModelQuery(q=q, **kw))
        assert total == len(page)
        out.append([m["name"] for m in page])
    hub.index.fts = True
    return out[0], out[1]


@pytest.mark.parametrize("q", ["churn", "ch", "rank", "ranks items", "123", "1234", "234", "50%", "%", "_", "a_b",
                               "users_at", '"quoted"', '""', '"', "straße", "STRASSE", "istanbul", "i̇stanbul", "ǆemal",
                               "ǅemal", "🚀🚀", "🚀 launch", "...", "%%%", "___", "loud", "LOUD", "here", "team-1",
                               "model", "zzz", "s\0x", "tabs", "and lines", "*", "NEAR(a b)", "a OR b", "^ra"])
def test_a_search_finds_the_same_with_the_trigram_index_as_by_reading_every_model(tmp_path, searchable, q,
                                                                                 monkeypatch):
    from tagreg.server import index as I

    monkeypatch.setattr(I, "FTS_CANDIDATES", 2)  # so that most words are rare enough to be looked up
    hub = hub_for(tmp_path, searchable.path)
    hub.sources["repo"].refresh()
    assert hub.index.fts  # the SQLite of Python has FTS5 with the trigram tokenizer
    assert hub.index.count(ModelQuery()) == len(SEARCH_TEXTS)
    for sort in ("name", "updated"):
        with_index, scanned = found_with_and_without_trigrams(hub, q, sort=sort)
        assert with_index == scanned, (q, sort)


@pytest.fixture(scope="module")
def search_hub(tmp_path_factory) -> Hub:
    """A hub over a repository of SEARCH_TEXTS, shared by the examples of a property test."""
    from conftest import Repo, git

    root = tmp_path_factory.mktemp("search")
    (root / "repo").mkdir()
    git(root / "repo", "init", "-q")
    repo = Repo(root / "repo")
    repo.commit("annotations", {"artifacts.yaml": "".join(f"{name}:\n  description: {quoted(d)}\n"
                                                          for name, d in SEARCH_TEXTS.items())})
    hub = hub_for(root, repo.path)
    hub.sources["repo"].refresh()
    assert hub.index.count(ModelQuery()) == len(SEARCH_TEXTS)
    return hub


@given(q=st.text(alphabet=st.sampled_from("".join(SEARCH_TEXTS.values()) + "xyzİß\"%_ "), max_size=10))
def test_any_search_finds_the_same_with_the_trigram_index(search_hub, q):
    from tagreg.server import index as I

    bound, I.FTS_CANDIDATES = I.FTS_CANDIDATES, 2  # most words rare enough to be looked up
    try:
        with_index, scanned = found_with_and_without_trigrams(search_hub, q)
    finally:
        I.FTS_CANDIDATES = bound
    assert with_index == scanned, q


def test_a_rare_word_is_looked_up_and_a_common_one_scanned_for(tmp_path, searchable, monkeypatch):
    from tagreg.server import index as I

    monkeypatch.setattr(I, "FTS_CANDIDATES", 1)
    hub = hub_for(tmp_path, searchable.path)
    hub.sources["repo"].refresh()

    def plan(q: str) -> str:
        sql, args = hub.index.page_sql(ModelQuery(q=q, sort="updated"))
        return " | ".join(row[3] for row in hub.index.db.execute("EXPLAIN QUERY PLAN " + sql, args))

    assert "models_fts" in plan("ranks items 1234")  # 1234: one model
    assert "models_fts" not in plan("ranks")  # two models: not rare enough (with 1 as the bound)
    assert "models_fts" not in plan("12")  # too short for trigrams
    assert "COVERING INDEX" in plan("ranks")
    # A repository indexed again, or forgotten, leaves no trigrams behind.
    count = hub.index.db.execute("SELECT COUNT(*) FROM models_fts").fetchone()[0]
    assert count == hub.index.db.execute("SELECT COUNT(*) FROM models").fetchone()[0] == len(SEARCH_TEXTS)
    hub.sources["repo"].refresh(force=True)
    assert hub.index.db.execute("SELECT COUNT(*) FROM models_fts").fetchone()[0] == count
    hub.index.forget_other_repos([])
    assert hub.index.db.execute("SELECT COUNT(*) FROM models_fts").fetchone()[0] == 0


def test_a_repository_taken_out_of_the_config_leaves_the_index(tmp_path, registry, searchable):
    both = hub_for(tmp_path, registry.path, searchable.path)
    for source in both.sources.values():
        source.refresh()
    assert {m["repo"] for m in both.index.models(ModelQuery(limit=100))[1]} == set(both.ids) and len(both.ids) == 2
    generation = both.index.generation()
    same = hub_for(tmp_path, registry.path, searchable.path)  # a restart with the same config
    assert same.index.generation() == generation  # changes nothing: cached answers stay valid
    one = hub_for(tmp_path, registry.path)
    kept = one.ids[0]
    assert {m["repo"] for m in one.index.models(ModelQuery(limit=100))[1]} == {kept}
    assert set(one.index.repos()) == {kept}
    assert one.index.events(kept)[0] > 0 and one.index.events()[0] == one.index.events(kept)[0]
    assert one.index.db.execute("SELECT COUNT(*) FROM models_fts").fetchone()[0] == one.index.count(
        ModelQuery(deprecated=True))
