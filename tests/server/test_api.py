"""The REST API of a live `tagreg serve` over two local registries and a remote one: every endpoint,
filters, pagination, the OpenAPI schema, write access (403 read-only, 401 before the body is read,
201 with tags in git and pushed to the remote), and the error shape."""

from __future__ import annotations

import json
import socket
import time

import pytest

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')

from .support import TOKEN, XSS_DESCRIPTION, app_server, git, start_server, stop_server


@pytest.fixture(scope="module")
def server(registries):
    """The read-only app over the three registries, called in-process: these tests are about its
    answers, not its socket (the write tests below and test_hostile.py keep a real one)."""
    with app_server(registries, wait_for=3) as s:
        yield s


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def names(reply) -> list[tuple[str, str]]:
    return [(m["repo"], m["name"]) for m in reply.json["models"]]


def assert_error(reply, status: int, code: str | None = None) -> dict:
    assert reply.status == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    error = reply.json["error"]
    assert error["status"] == status and isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in reply.text
    if code:
        assert error["code"] == code, error
    return error


# -- reading ------------------------------------------------------------------------------------

def test_repos_lists_every_repository_with_its_state(server, registries):
    reply = server.get("/api/repos")
    assert reply.status == 200
    repos = {r["id"]: r for r in reply.json["repos"]}
    assert list(repos) == ["vision", "nlp", "fraud"]  # config order
    assert repos["vision"]["location"] == str(registries.paths["vision"])
    assert repos["vision"]["remote"] is False and repos["fraud"]["remote"] is True
    assert repos["vision"]["web"] == "https://github.com/acme/vision"  # from its origin remote
    assert repos["fraud"]["web"] == "https://gitlab.com/acme/fraud"  # from the config
    assert all(r["status"] == "ok" and r["error"] is None for r in repos.values())
    assert (repos["vision"]["models"], repos["nlp"]["models"], repos["fraud"]["models"]) == (4, 4, 2)
    assert repos["vision"]["stages"] == ["dev", "staging", "prod"]
    assert repos["vision"]["head"] == git(registries.paths["vision"], "rev-parse", "HEAD").strip()
    assert repos["fraud"]["fetched_at"] and repos["fraud"]["refresh"] == 2


def test_models_across_repositories_hide_deprecated(server):
    reply = server.get("/api/models")
    assert reply.status == 200
    page = reply.json
    assert page["total"] == 9 and page["offset"] == 0 and page["limit"] == 50 and page["next"] is None
    assert ("vision", "old-net") not in names(reply)
    assert names(reply)[:3] == [("nlp", "bert"), ("vision", "coco"), ("fraud", "fraud-score")]
    resnet = next(m for m in page["models"] if (m["repo"], m["name"]) == ("vision", "resnet"))
    assert resnet["latest"] == "v1.1.0"
    assert resnet["stages"] == {"prod": ["v1.0.0"], "staging": ["v1.1.0"]}
    assert resnet["labels"] == ["cv", "production"] and resnet["type"] == "model"
    assert resnet["last_event"]["event"] == "assignment" and resnet["last_author"] == "Bob"
    assert resnet["last_event"]["ref"] == "resnet#staging#2"
    # GTO's `show --json` entry, with every stage column of that repository.
    assert resnet["gto"] == {"version": "v1.1.0", "stage": {"dev": None, "staging": "v1.1.0", "prod": "v1.0.0"},
                             "registered": True, "active": True}
    assert set(page["facets"]) == {"repos", "types", "labels", "stages"}
    assert page["facets"]["repos"] == ["vision", "nlp", "fraud"]
    assert "dataset" in page["facets"]["types"] and "cv" in page["facets"]["labels"]


def test_list_answers_are_compact_utf8_json(server):
    # /api/models joins each model's stored JSON text into the page: the bytes are what json.dumps writes.
    for path in ("/api/models", "/api/models?deprecated=true&sort=latest&order=desc&limit=3&offset=2",
                 "/api/events", "/api/models?q=nothing-like-this"):
        body = server.get(path).body
        assert body == json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode(), path


def test_models_filters_and_search(server):
    assert names(server.get("/api/models?deprecated=true")).count(("vision", "old-net")) == 1
    old = next(m for m in server.get("/api/models?deprecated=true").json["models"] if m["name"] == "old-net")
    assert old["active"] is False
    assert {n for _, n in names(server.get("/api/models?repo=nlp"))} == {"bert", "tokenizer", "guard", "shared-embed"}
    assert names(server.get("/api/models?type=dataset")) == [("vision", "coco")]
    assert set(names(server.get("/api/models?label=cv"))) == {
        ("vision", "resnet"), ("vision", "yolo"), ("fraud", "resnet")}
    assert set(names(server.get("/api/models?stage=prod"))) == {("nlp", "bert"), ("vision", "resnet")}
    assert names(server.get("/api/models?stage=prod&label=nlp")) == [("nlp", "bert")]
    assert names(server.get("/api/models?q=photos")) == [("vision", "resnet")]  # in the description
    assert names(server.get("/api/models?q=FRAUD%20card")) == [("fraud", "resnet")]  # every word, any case
    assert names(server.get("/api/models?q=50%25")) == []  # % is a character, not a wildcard
    assert server.get("/api/models?q=nothing-like-this").json["total"] == 0


def test_models_sorting(server):
    latest = [m["latest"] for m in server.get("/api/models?sort=latest&order=desc&repo=vision").json["models"]]
    assert latest == ["v2024.1.0", "v1.1.0", "v0.1.0"]  # SemVer order, not text order
    updated = server.get("/api/models?sort=updated&order=desc").json["models"]
    assert (updated[0]["repo"], updated[0]["name"]) == ("fraud", "resnet")  # the newest event of all
    repos = [m["repo"] for m in server.get("/api/models?sort=repo").json["models"]]
    assert repos == sorted(repos)
    assert_error(server.get("/api/models?sort=colour"), 422, "invalid")


def test_models_pagination(server):
    first = server.get("/api/models?limit=4")
    assert first.json["total"] == 9 and len(first.json["models"]) == 4
    assert first.json["next"] == f"{server.url}/api/models?offset=4&limit=4"
    seen = names(first)
    url = first.json["next"]
    while url:
        page = server.get(url[len(server.url):])
        seen += names(page)
        url = page.json["next"]
    assert seen == names(server.get("/api/models"))
    assert server.get("/api/models?offset=100").json["models"] == []
    assert_error(server.get("/api/models?limit=0"), 422)
    assert_error(server.get("/api/models?limit=501"), 422)
    assert_error(server.get("/api/models?offset=-1"), 422)
    assert_error(server.get("/api/models?limit=ten"), 422)


def test_model_detail_is_gto_json(server, registries):
    reply = server.get("/api/models/resnet?repo=vision")
    assert reply.status == 200
    m = reply.json
    assert (m["repo"], m["name"], m["latest"]) == ("vision", "resnet", "v1.1.0")
    assert m["annotation"]["path"] == "models/resnet.pt" and m["annotation"]["source"] == "artifacts.yaml"
    # versions: GTO's `show resnet --json`
    assert [v["version"] for v in m["versions"]] == ["v1.1.0", "v1.0.0"]
    v1 = m["versions"][1]
    assert {"artifact", "commit_hexsha", "enrichments", "registrations", "stages", "is_active", "ref"} <= set(v1)
    assert [s["stage"] for s in v1["stages"]] == ["prod"] and v1["stages"][0]["author"] == "Bob"
    # history: GTO's `history resnet --json`, newest first, with links to the web host
    assert [e["ref"] for e in m["history"]] == ["resnet#staging#2", "resnet@v1.1.0", "resnet#prod#1", "resnet@v1.0.0"]
    commit = git(registries.paths["vision"], "rev-parse", "resnet@v1.1.0^{commit}").strip()
    assert m["history"][0]["commit"] == commit
    assert m["history"][0]["commit_url"] == f"https://github.com/acme/vision/commit/{commit}"
    assert m["get"][0]["command"] == "tagreg get resnet@latest -r https://github.com/acme/vision.git"
    assert any(g["command"] == "tagreg get resnet#prod -r https://github.com/acme/vision.git" for g in m["get"])


def test_model_detail_of_a_remote_and_a_link(server, registries):
    m = server.get("/api/models/fraud-score").json  # only one repository has it
    assert m["repo"] == "fraud" and m["versions"][0]["version"] == "v0.3.0"
    commit = m["history"][0]["commit"]
    assert m["history"][0]["commit_url"] == f"https://gitlab.com/acme/fraud/-/commit/{commit}"
    assert m["get"][0]["command"] == f"tagreg get fraud-score@latest -r file://{registries.origin}"
    link = server.get("/api/models/shared-embed").json["annotation"]["link"]
    assert link == {"repo": "https://github.com/acme/embeddings.git", "rev": "v3.0.0"}


def test_model_detail_errors(server):
    error = assert_error(server.get("/api/models/resnet"), 409, "ambiguous")
    assert error["repos"] == ["fraud", "vision"]
    assert_error(server.get("/api/models/nope"), 404, "unknown_model")
    assert_error(server.get("/api/models/resnet?repo=nlp"), 404, "unknown_model")
    error = assert_error(server.get("/api/models/resnet?repo=mars"), 404, "unknown_repo")
    assert error["repos"] == ["vision", "nlp", "fraud"]


def test_events_newest_first_across_repositories(server):
    page = server.get("/api/events").json
    assert page["total"] == 9 + 5 + 3
    first = page["events"][0]
    assert (first["repo"], first["ref"], first["author"]) == ("fraud", "resnet@v0.1.0", "Frank")
    assert {"timestamp", "artifact", "event", "priority", "version", "stage", "commit", "author", "author_email",
            "message", "ref", "commit_url"} <= set(first)
    stamps = [e["timestamp"] for e in page["events"]]
    assert stamps == sorted(stamps, reverse=True)
    deprecation = server.get("/api/events?event=deprecation").json["events"]
    assert [(e["artifact"], e["author"], e["message"]) for e in deprecation] == [
        ("old-net", "Dave", "Replaced by resnet")]
    assert {e["repo"] for e in server.get("/api/events?repo=nlp").json["events"]} == {"nlp"}
    assert [e["ref"] for e in server.get("/api/events?artifact=yolo").json["events"]] == ["yolo#dev#1", "yolo@v0.1.0"]
    two = server.get("/api/events?limit=2&offset=1").json
    assert [e["ref"] for e in two["events"]] == [e["ref"] for e in page["events"][1:3]]
    assert two["next"] == f"{server.url}/api/events?offset=3&limit=2"
    assert_error(server.get("/api/events?event=party"), 422)
    assert_error(server.get("/api/events?repo=mars"), 404, "unknown_repo")


def test_openapi_schema_documents_every_endpoint(server):
    schema = server.get("/api/openapi.json").json
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in ("/api/repos", "/api/models", "/api/models/{name}", "/api/events"):
        assert "get" in paths[path], path
    for action in ("register", "assign", "unassign", "deregister", "deprecate", "rollback"):
        op = paths[f"/api/models/{{name}}/{action}"]["post"]
        assert {"401", "403", "201"} <= set(op["responses"])
        assert "application/json" in op["requestBody"]["content"]
    params = {p["name"] for p in paths["/api/models"]["get"]["parameters"]}
    assert {"limit", "offset", "repo", "type", "label", "stage", "q", "deprecated", "sort", "order"} <= params


def test_unknown_paths_and_methods_answer_json(server):
    assert_error(server.get("/api/nothing"), 404, "not_found")
    assert_error(server.post("/api/repos", {}), 405, "method_not_allowed")
    assert_error(server.post("/api/models/bert", {}), 405)


def test_html_in_data_is_plain_json_text(server):
    guard = server.get("/api/models/guard").json
    assert guard["description"] == XSS_DESCRIPTION
    assert server.get("/api/models/guard").headers["content-type"] == "application/json"


# -- writing --------------------------------------------------------------------------------------

def test_read_only_server_answers_403_to_writes(server):
    for action in ("register", "assign", "unassign", "deregister", "deprecate", "rollback"):
        assert_error(server.post(f"/api/models/bert/{action}", {"repo": "nlp"}, AUTH), 403, "read_only")


def test_token_is_checked_before_the_body_is_read(write_server):
    no_token = write_server.post("/api/models/bert/assign", raw=b"{not json")
    error = assert_error(no_token, 401, "unauthorized")
    assert no_token.headers["www-authenticate"].startswith("Bearer")
    assert "Bearer" in error["message"]
    assert_error(write_server.post("/api/models/bert/assign", raw=b"{not json",
                                   headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(write_server.post("/api/models/bert/assign", raw=b"x", headers={"Authorization": TOKEN}), 401)
    # With the token, the same bad body is looked at, and refused.
    assert_error(write_server.post("/api/models/bert/assign", raw=b"{not json", headers=AUTH), 422, "invalid_body")


def test_unauthorized_request_is_answered_without_waiting_for_the_body(write_server):
    """A client announcing a body it never sends still gets its 401 at once."""
    host, port = write_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        # A body under the size limit (a larger one is refused at once with 413), never sent.
        conn.sendall(b"POST /api/models/bert/register HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{")
        started = time.monotonic()
        answer = conn.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 401") and time.monotonic() - started < 4


def test_write_body_errors(write_server):
    post = write_server.post
    assert_error(post("/api/models/bert/assign", {"repo": "nlp"}, AUTH), 422, "invalid_body")  # no stage
    assert_error(post("/api/models/bert/assign", {"repo": "nlp", "stage": "prod", "colour": 1}, AUTH), 422)
    assert_error(post("/api/models/bert/assign", {"repo": "mars", "stage": "prod"}, AUTH), 404, "unknown_repo")
    assert_error(post("/api/models/resnet/assign", {"stage": "prod", "version": "v1.0.0"}, AUTH), 409, "ambiguous")
    assert_error(post("/api/models/bert/assign", {"repo": "nlp", "stage": "prod", "version": "v9.9.9"}, AUTH),
                 409, "conflict")
    assert_error(post("/api/models/Bad%20Name!/register", {"repo": "nlp"}, AUTH), 400, "invalid")
    assert_error(post("/api/models/bert/register", raw=b"x" * 70_000, headers=AUTH), 413, "too_large")


def test_write_on_a_local_repository(write_server, write_registries):
    nlp = write_registries.paths["nlp"]
    reply = write_server.post("/api/models/tokenizer/assign", {"repo": "nlp", "stage": "staging", "version": "v0.0.1",
                                                               "message": "API says so"}, AUTH)
    assert reply.status == 201, reply.text
    [change] = reply.json["changes"]
    assert change["tag"] == "tokenizer#staging#1" and change["pushed"] is False and change["repo"] == "nlp"
    assert git(nlp, "tag", "-l", "tokenizer#staging#1", "--format=%(contents:subject) %(taggername)").strip() \
        == "API says so Web User"
    model = write_server.get("/api/models/tokenizer").json  # indexed at once
    message, _, server = model["history"][0]["message"].partition("\n\nTagreg-Server: ")
    assert model["stages"] == {"staging": ["v0.0.1"]} and message == "API says so" and server  # names the server
    from .support import Author

    Author(write_registries.home).commit(nlp, {"models/tok.json": '{"v": 2}'}, "Retrain the tokenizer")
    reply = write_server.post("/api/models/tokenizer/register", {"repo": "nlp", "version": "v0.1.0"}, AUTH)
    assert reply.status == 201 and reply.json["changes"][0]["tag"] == "tokenizer@v0.1.0"
    reply = write_server.post("/api/models/tokenizer/unassign",
                              {"repo": "nlp", "version": "v0.0.1", "stage": "staging"}, AUTH)
    assert reply.status == 201 and reply.json["changes"][0]["event"] == "unassignment"
    reply = write_server.post("/api/models/tokenizer/deregister", {"repo": "nlp", "version": "v0.0.1"}, AUTH)
    assert reply.status == 201 and reply.json["changes"][0]["tag"] == "tokenizer@v0.0.1!"
    reply = write_server.post("/api/models/tokenizer/deprecate", {"repo": "nlp"}, AUTH)
    assert reply.status == 201 and reply.json["changes"][0]["tag"] == "tokenizer@deprecated"
    assert "tokenizer" not in [m["name"] for m in write_server.get("/api/models?repo=nlp").json["models"]]


def test_a_write_says_what_the_registry_warned_about(write_server):
    reply = write_server.post("/api/models/tokenizr/register", {"repo": "nlp"}, AUTH)
    assert reply.status == 201, reply.text
    assert reply.json["warnings"] == ["'tokenizr' is a new artifact; did you mean 'tokenizer'?"]
    assert "notices" not in reply.json["changes"][0]
    reply = write_server.post("/api/models/tokenizr/assign", {"repo": "nlp", "stage": "dev"}, AUTH)
    assert (reply.status, reply.json["warnings"]) == (201, [])  # an artifact now


def test_rollback_of_a_stage(write_server, write_registries):
    from .support import Author

    nlp, post = write_registries.paths["nlp"], write_server.post
    assert_error(post("/api/models/bert/rollback", {"repo": "nlp"}, AUTH), 422, "invalid_body")  # no stage
    error = assert_error(post("/api/models/bert/rollback", {"repo": "nlp", "stage": "prod"}, AUTH), 409, "conflict")
    assert error["message"] == ("Nothing to roll back to: no version of 'bert' other than v2.0.0 is still assigned "
                                "to stage 'prod'")
    Author(write_registries.home).commit(nlp, {"models/bert.bin": "2"}, "Retrain bert")
    assert post("/api/models/bert/register", {"repo": "nlp", "version": "v2.1.0"}, AUTH).status == 201
    assert post("/api/models/bert/assign", {"repo": "nlp", "stage": "prod", "version": "v2.1.0"}, AUTH).status == 201
    assert write_server.get("/api/models/bert?repo=nlp").json["stages"]["prod"] == ["v2.1.0"]
    reply = post("/api/models/bert/rollback", {"repo": "nlp", "stage": "prod", "message": "v2.1.0 is slow"}, AUTH)
    assert reply.status == 201, reply.text
    [change] = reply.json["changes"]
    assert {k: change[k] for k in ("event", "stage", "version", "replaced", "pushed", "repo")} == {
        "event": "assignment", "stage": "prod", "version": "v2.0.0", "replaced": "v2.1.0", "pushed": False,
        "repo": "nlp"}
    assert git(nlp, "tag", "-l", change["tag"], "--format=%(contents:subject)").strip() == "v2.1.0 is slow"
    model = write_server.get("/api/models/bert?repo=nlp").json
    assert model["stages"]["prod"] == ["v2.0.0"] and "rollbacks" not in model
    # the API's refusals are the CLI's: a ref registered as v2.1.0 is not assigned as another version
    error = assert_error(post("/api/models/bert/assign", {"repo": "nlp", "stage": "dev", "ref": "HEAD",
                                                          "version": "v2.0.0"}, AUTH), 409, "conflict")
    assert error["message"] == "Can't register 'v2.0.0', since 'v2.1.0' is registered already at this ref"


def test_write_on_a_remote_repository_pushes(write_server, write_registries):
    reply = write_server.post("/api/models/fraud-score/assign", {"repo": "fraud", "stage": "prod", "version": "v0.3.0"},
                              AUTH)
    assert reply.status == 201, reply.text
    [change] = reply.json["changes"]
    assert change["pushed"] is True
    origin = write_registries.origin
    assert change["pushed_to"] == f"file://{origin}" and reply.json["push"] == f"pushed to file://{origin}"
    assert git(origin, "tag", "-l", change["tag"]).strip() == change["tag"]  # on the remote itself
    model = write_server.get("/api/models/fraud-score").json
    assert model["stages"]["prod"] == ["v0.3.0"] and model["versions"][0]["stages"][0]["stage"] in ("prod", "staging")


def test_changes_made_outside_the_server_show_up(write_server, write_registries):
    """Another process (the CLI, CI) tags the repository: the next request shows it."""
    from tagreg import api

    vision = write_registries.paths["vision"]
    from .support import Author

    with Author(write_registries.home).as_("Zoe", days=400):
        api.assign(vision, "yolo", "prod", version="v0.1.0")
    deadline = time.monotonic() + 15  # refs are looked at again at most once a second
    while (model := write_server.get("/api/models/yolo").json)["stages"].get("prod") is None:
        assert time.monotonic() < deadline, "the new tag never showed up"
        time.sleep(0.1)
    assert model["stages"] == {"dev": ["v0.1.0"], "prod": ["v0.1.0"]}
    assert model["last_author"] == "Zoe" and model["history"][0]["ref"] == "yolo#prod#2"


def test_remote_changes_arrive_by_background_fetch(write_server, write_registries):
    from tagreg import api

    from .support import Author

    work = write_registries.paths["work"]
    git(work, "pull", "-q", "--tags", "origin", "main", env=write_server.env)
    author = Author(write_registries.home)
    author.now += 500 * 86400
    author.commit(work, {"models/resnet-fraud.pt": "2"}, "Retrain", who="Frank")
    with author.as_("Frank"):
        api.register(work, "resnet", version="v0.2.0")
        git(work, "push", "-q", "origin", "main", "resnet@v0.2.0")
    deadline = time.monotonic() + 30  # refresh is 2 s in the test config
    while time.monotonic() < deadline:
        reply = write_server.get("/api/models/resnet?repo=fraud")
        if reply.status == 200 and reply.json["latest"] == "v0.2.0":
            assert reply.json["versions"][0]["version"] == "v0.2.0"
            break
        assert reply.status in (200, 503), reply.text  # 503: versions still being indexed after the fetch
        time.sleep(0.3)
    else:
        raise AssertionError("the remote's new tag never showed up")
    assert json.loads(json.dumps(write_server.get("/api/repos").json))["repos"][2]["status"] == "ok"


def test_server_without_config_serves_the_repository_it_starts_in(registries):
    s = start_server(registries, cwd=registries.paths["nlp"], wait_for=1)
    try:
        repos = s.get("/api/repos").json["repos"]
        assert [r["id"] for r in repos] == ["nlp"]
        assert s.get("/api/models").json["total"] == 4
    finally:
        stop_server(s)


def test_an_unreachable_remote_never_holds_pages_up(registries, tmp_path):
    config = tmp_path / "registries.yaml"
    config.write_text(f"repos:\n  - {registries.paths['nlp']}\n  - url: file://{tmp_path}/missing.git\n    id: gone\n")
    s = start_server(registries, "--config", str(config), wait_for=1)
    try:
        deadline = time.monotonic() + 20
        while (gone := s.get("/api/repos").json["repos"][1])["error"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert gone["status"] in ("fetching", "error") and "missing.git" in gone["error"]
        assert gone["models"] == 0 and gone["fetched_at"] is None
        started = time.monotonic()
        assert s.get("/").status == 200 and s.get("/api/models").json["total"] == 4
        assert time.monotonic() - started < 2
        assert "missing.git" in s.get("/repos").text
    finally:
        stop_server(s)


def test_two_instances_behind_a_proxy_agree(write_server, write_registries):
    """A second process over the same config (and so the same index) serves what the first wrote."""
    other = start_server(write_registries, "--config", str(write_registries.config), "--write", token=TOKEN,
                         wait_for=3)
    try:
        assert other.get("/api/repos").json["repos"][0]["fingerprint"] == \
            write_server.get("/api/repos").json["repos"][0]["fingerprint"]
        before = other.get("/api/models/coco").json  # cached by the second instance
        assert before["stages"] == {}
        reply = write_server.post("/api/models/coco/assign", {"stage": "dev", "version": "v2024.1.0"}, AUTH)
        assert reply.status == 201, reply.text
        assert other.get("/api/models/coco").json["stages"] == {"dev": ["v2024.1.0"]}  # at once: a shared index
        reply = other.post("/api/models/coco/assign", {"stage": "prod", "version": "v2024.1.0"}, AUTH)
        assert reply.status == 201 and reply.json["changes"][0]["tag"] == "coco#prod#2"
        assert write_server.get("/api/models/coco").json["stages"] == {"dev": ["v2024.1.0"], "prod": ["v2024.1.0"]}
    finally:
        stop_server(other)


# -- stage order and pushing ----------------------------------------------------------------------

def test_stages_come_in_the_configured_order_then_by_name(ordered_server):
    """alpha got dev then prod, beta staging, dev, prod (and a hand-made qa): each lists them as `.gto`
    does, then the unlisted ones by name; without a `.gto`, by name."""
    models = {m["name"]: m for m in ordered_server.get("/api/models").json["models"]}
    assert list(models["alpha"]["stages"]) == ["dev", "prod"]
    assert list(models["beta"]["stages"]) == ["dev", "staging", "prod", "qa"]
    assert list(models["gamma"]["stages"]) == ["prod", "staging"]
    assert ordered_server.get("/api/models").json["facets"]["stages"] == ["dev", "staging", "prod", "qa"]
    beta = ordered_server.get("/api/models/beta").json
    assert list(beta["stages"]) == ["dev", "staging", "prod", "qa"]
    assert [g["label"].split()[0] for g in beta["get"]] == ["latest", "dev", "staging", "prod", "qa"]
    assert list(beta["gto"]["stage"]) == ["dev", "staging", "prod"]  # GTO's shape: the configured stages


def test_a_write_pushes_to_the_repositorys_push_remote_and_says_so(ordered_server, ordered_registries):
    origin = ordered_registries.paths["origin"]
    reply = ordered_server.post("/api/models/delta/assign", {"stage": "staging", "version": "v1.0.0"}, AUTH)
    assert reply.status == 201, reply.text
    [change] = reply.json["changes"]
    assert change["tag"] == "delta#staging#2" and change["pushed"] is True and change["pushed_to"] == "origin"
    assert reply.json["push"] == "pushed to origin"
    assert git(origin, "tag", "-l", "delta#staging#2").strip() == "delta#staging#2"  # on the remote itself

    reply = ordered_server.post("/api/models/epsilon/unassign", {"stage": "staging", "version": "v0.1.0"}, AUTH)
    assert reply.status == 201, reply.text
    [change] = reply.json["changes"]
    assert change["pushed"] is False and change["pushed_to"] is None
    assert reply.json["push"] == "not pushed (no push remote configured)"


def test_a_rejected_push_is_reported_and_leaves_no_local_tag(ordered_server, ordered_registries):
    origin, ordered = ordered_registries.paths["origin"], ordered_registries.paths["ordered"]
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    try:
        reply = ordered_server.post("/api/models/beta/unassign", {"stage": "qa", "version": "v1.0.0"}, AUTH)
    finally:
        hook.unlink()
    error = assert_error(reply, 502, "remote_error")
    assert "origin" in error["message"] and "tags are frozen today" in error["message"], "git's reason is said"
    assert git(ordered, "tag", "-l", "beta#qa!*").strip() == "", "a tag the remote refused is not kept"
    assert list(ordered_server.get("/api/models/beta").json["stages"]) == ["dev", "staging", "prod", "qa"]
