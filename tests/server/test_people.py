"""People in the server: personal tokens (hashed, scoped) in registries.yaml, writes tagged as the
person who signed in and signed with the server's key, the policy's `who` applied to them, and the
pages and API saying what each event's signature and the policy say. Real repositories, real SSH and
OpenPGP keys; the app in-process where the socket is not the point, `tagreg serve` where it is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import need

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')

from tagreg import api
from tagreg.server.people import hash_line

from .support import (
    TOKEN,
    Author,
    Registries,
    app_server,
    base_env,
    free_port,
    git,
    init_repo,
    start_server,
    stop_server,
)

ALICE = "alice-token-" + "a" * 40
BOB = "bob-token-" + "b" * 40
CAROL = "carol-token-" + "c" * 40
SERVER = "ml-registry"

POLICY = """\
stages:
  staging:
    who: ["*@example.com"]
  prod:
    promotes_from: staging
    signed: true
    who: [alice@example.com]
signers:
  ssh: .tagreg/allowed_signers
servers: [ml-registry]
"""


def people_yaml(*, bob: bool = True, signing: bool = True) -> str:
    out = [f"name: {SERVER}", "repos:", "  - models", "  - other", "tokens:",
           "  - name: Alice Doe", "    email: alice@example.com", f"    hash: {hash_line(ALICE)}",
           "  - name: Carol Moe", "    email: carol@elsewhere.org", f"    hash: {hash_line(CAROL)}"]
    if bob:
        out += ["  - name: Bob Roe", "    email: bob@example.com", f"    hash: {hash_line(BOB)}",
                "    scopes: {repos: [models], actions: [register, assign, unassign], stages: [dev, staging]}"]
    if signing:
        out += ["signing: {format: ssh, key: keys/server}"]
    return "\n".join(out) + "\n"


def build_governed(root: Path) -> Registries:
    """models: churn v1.0.0 and v1.1.0 registered, a policy on main naming the server's SSH key;
    other: a repository with no policy. Its config lists three people and the server's key."""
    need("ssh-keygen")
    home = root / "home"
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    keys = root / "keys"
    keys.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", SERVER, "-f", str(keys / "server")],
                   check=True)
    a = Author(home)
    models = init_repo(root / "models", home)
    a.commit(models, {"artifacts.yaml": "churn:\n  type: model\n  path: churn.pkl\n", "churn.pkl": "1",
                      ".gto": "stages: [dev, staging, prod]\n", ".tagreg/policy.yaml": POLICY,
                      ".tagreg/allowed_signers": f"{SERVER} {(keys / 'server.pub').read_text().strip()}\n"}, "Policy")
    git(models, "remote", "add", "origin", "https://github.com/acme/models.git")  # never fetched: main holds the policy
    with a.as_("Alice"):
        api.register(models, "churn", version="v1.0.0")
    a.commit(models, {"churn.pkl": "2"}, "Retrain")
    with a.as_("Alice"):
        api.register(models, "churn", version="v1.1.0")
    other = init_repo(root / "other", home)
    a.commit(other, {"artifacts.yaml": "fraud:\n  type: model\n  path: f.pkl\n", "f.pkl": "1"}, "Fraud")
    with a.as_("Alice"):
        api.register(other, "fraud", version="v0.1.0")
    config = root / "registries.yaml"
    config.write_text(people_yaml())
    return Registries(root, home, config, {"models": models, "other": other})


@pytest.fixture(scope="module")
def governed(tmp_path_factory) -> Registries:
    return build_governed(tmp_path_factory.mktemp("governed"))


@pytest.fixture
def app(governed):
    with app_server(governed, wait_for=2, token=TOKEN, write=True) as s:
        yield s


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l").split()


def tag_facts(repo: Path, tag: str) -> tuple[str, str, str]:
    """(tagger name, tagger e-mail, message without the signature) of tag."""
    fields = "%(taggername)%00%(taggeremail)%00%(contents:body)%00%(contents:subject)"
    out = git(repo, "tag", "-l", tag, f"--format={fields}")
    name, email, body, subject = out.rstrip("\n").split("\0")
    return name, email.strip("<>"), (subject + "\n\n" + body).strip()


def verify_tag(regs: Registries, tag: str) -> str:
    allowed = regs.root / "allowed_signers"
    allowed.write_text(f"{SERVER} {(regs.root / 'keys' / 'server.pub').read_text()}")
    proc = subprocess.run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag", tag],
                          cwd=regs.paths["models"], capture_output=True, text=True, env=base_env(regs.home))
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def run_verify(regs: Registries, name: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "tagreg", "verify", name, "--json"], cwd=regs.paths["models"],
                          capture_output=True, text=True, env=base_env(regs.home))
    assert proc.returncode == 0, proc.stderr
    return {e["tag"]: e for e in json.loads(proc.stdout)["events"]}


# -- tokens and scopes, without a server ---------------------------------------------------------

def test_a_token_is_found_by_its_hash_and_scopes_say_why_not():
    from tagreg.server import people as P

    alice = P.Person("Alice", "alice@example.com", P.digest(ALICE))
    bot = P.Person("Bot", "bot@example.com", P.digest(BOB), P.Scopes(repos=("nlp-*",), actions=("assign",),
                                                                     stages=("dev", "qa*")))
    assert P.find([alice, bot], ALICE) is alice and P.find([alice, bot], BOB) is bot
    assert P.find([alice, bot], ALICE + "x") is None and P.find([alice, bot], "") is None
    assert P.find([P.Person("Short", "s@example.com", P.digest("short"))], "short") is None  # under 32: never
    assert P.find([alice], "x" * (P.MAX_TOKEN_LENGTH + 1)) is None  # bounded before it is hashed
    assert P.parse_hash(hash_line(ALICE)) == P.digest(ALICE) == P.parse_hash(hash_line(ALICE).upper())
    for bad in (ALICE, "sha256:" + "0" * 63, "sha256:" + "g" * 64, "sha1:" + "0" * 40, ""):
        assert P.parse_hash(bad) is None
    assert alice.refusal("deprecate", "anything", ["prod"]) is None
    assert bot.refusal("assign", "nlp-sentiment", ["qa-eu"]) is None
    assert bot.refusal("assign", "vision", ["dev"]).endswith("repository 'vision' is not in its scope (repos: nlp-*)")
    assert bot.refusal("register", "nlp-x").endswith("'register' is not in its scope (actions: assign)")
    assert bot.refusal("assign", "nlp-x", ["prod"]).endswith("stage 'prod' is not in its scope (stages: dev, qa*)")
    assert "Bot <bot@example.com>" in bot.refusal("register", "nlp-x") and BOB not in repr(bot)
    for token, said in (("a" * 31, "too short"), ("a" * 32 + " b", "spaces"), ("a" * 40 + "\x00", "control")):
        with pytest.raises(P.TokenError, match=said):
            P.check_token(token)



def test_a_forged_or_oversized_sign_in_cookie_signs_no_one_in():
    """The cookie names who signed in: changing that part, the expiry or the signature, moving it
    to another session, or sending a huge one signs no one in (and costs no more than a length check)."""
    from tagreg.server import people as P
    from tagreg.server.security import Guard

    alice = P.Person("Alice", "alice@example.com", P.digest(ALICE))
    bob = P.Person("Bob", "bob@example.com", P.digest(BOB))
    guard = Guard(TOKEN, write=True, people=[alice, bob])
    sid = guard.new_sid()
    cookie = guard.auth_cookie(sid, alice)
    assert guard.signed_in(sid, cookie) is alice
    expires, who, signature = cookie.split(".")
    bobs_who = guard.auth_cookie(sid, bob).split(".")[1]
    for forged in (f"{expires}.{bobs_who}.{signature}",  # another person, same signature
                   f"{int(expires) + 3600}.{who}.{signature}",  # a later expiry
                   f"{expires}.admin.{signature}",  # the admin
                   f"{expires}.{who}.{'0' * len(signature)}",
                   cookie + "." + "x" * 300, "x" * 10_000, "", "..", "1.2"):
        assert guard.signed_in(sid, forged) is None, forged
    assert guard.signed_in(guard.new_sid(), cookie) is None  # bound to its session
    assert Guard(TOKEN, write=True, people=[bob]).signed_in(sid, cookie) is None  # Alice's token removed


# -- writes as the person, signed by the server --------------------------------------------------

def test_a_person_writes_as_themselves_signed_by_the_server_and_verify_agrees(app, governed):
    models = governed.paths["models"]
    reply = app.post("/api/models/churn/assign", {"repo": "models", "stage": "staging", "version": "v1.0.0"},
                     bearer(ALICE))
    assert reply.status == 201, reply.text
    [staging] = reply.json["changes"]
    reply = app.post("/api/models/churn/assign", {"repo": "models", "stage": "prod", "version": "v1.0.0",
                                                  "message": "Ship it"}, bearer(ALICE))
    assert reply.status == 201, reply.text  # signed by the server, vouching for Alice: prod's who and signed hold
    [prod] = reply.json["changes"]
    for change, message in ((staging, "Assigning stage staging to artifact churn version v1.0.0"),
                            (prod, "Ship it")):
        assert tag_facts(models, change["tag"]) == ("Alice Doe", "alice@example.com",
                                                    f"{message}\n\nTagreg-Server: {SERVER}")
        assert f'Good "git" signature for {SERVER}' in verify_tag(governed, change["tag"])
    audit = run_verify(governed, "churn")
    for change in (staging, prod):
        event = audit[change["tag"]]
        assert event["author_email"] == "alice@example.com" and event["allowed"] is True
        assert event["signature"]["state"] == "good" and event["signature"]["principal"] == SERVER
    # The model's answer says the same, per event.
    model = app.get("/api/models/churn?repo=models").json
    row = next(r for r in model["history"] if r["ref"] == prod["tag"])
    assert row["author"] == "Alice Doe" and row["signature"]["state"] == "good"
    assert row["signature"]["principal"] == SERVER and row["verdict"] == {"allowed": True, "breaches": []}
    assert model["policy"]["stages"]["prod"] == {"promotes_from": ["staging"], "signed": True,
                                                 "who": ["alice@example.com"]}
    assert model["policy"]["servers"] == [SERVER] and model["not_in_effect"] == []


def test_a_write_outside_the_tokens_scope_is_403_and_tags_nothing(app, governed):
    models, other = governed.paths["models"], governed.paths["other"]
    before = tags(models), tags(other)
    for path, body, said in [
        ("/api/models/churn/assign", {"repo": "models", "stage": "prod", "version": "v1.1.0"},
         "stage 'prod' is not in its scope (stages: dev, staging)"),
        ("/api/models/churn/deprecate", {"repo": "models"}, "'deprecate' is not in its scope (actions: register, "
                                                            "assign, unassign)"),
        ("/api/models/fraud/register", {"repo": "other"}, "repository 'other' is not in its scope (repos: models)"),
    ]:
        reply = app.post(path, body, bearer(BOB))
        assert reply.status == 403, reply.text
        error = reply.json["error"]
        assert error["code"] == "out_of_scope"
        assert error["message"] == f"the token of Bob Roe <bob@example.com> may not do this: {said}"
    assert (tags(models), tags(other)) == before
    reply = app.post("/api/models/churn/assign", {"repo": "models", "stage": "dev", "version": "v1.1.0"}, bearer(BOB))
    assert reply.status == 201, reply.text  # within the scope
    assert tag_facts(models, reply.json["changes"][0]["tag"])[:2] == ("Bob Roe", "bob@example.com")


def test_the_policys_who_applies_to_the_person_who_writes(app, governed):
    models = governed.paths["models"]
    before = tags(models)
    reply = app.post("/api/models/churn/assign", {"repo": "models", "stage": "staging", "version": "v1.1.0"},
                     bearer(CAROL))
    assert reply.status == 403, reply.text
    error = reply.json["error"]
    assert error["code"] == "policy_refused"
    assert re.fullmatch(r"refused 'churn#staging#\d+': policy rule 'who' of stage 'staging': 'carol@elsewhere.org' "
                        r"may not change staging; ask one of '\*@example.com'", error["message"]), error["message"]
    assert error["breaches"][0]["rule"] == "who" and error["breaches"][0]["stage"] == "staging"
    assert tags(models) == before  # the refused tag was taken back
    # The admin token writes with the server's own identity, still signed and named.
    reply = app.post("/api/models/churn/assign", {"repo": "models", "stage": "dev", "version": "v1.0.0"},
                     bearer(TOKEN))
    assert reply.status == 201, reply.text
    name, email, message = tag_facts(models, reply.json["changes"][0]["tag"])
    assert (name, email) == ("Web User", "web@example.com") and message.endswith(f"\n\nTagreg-Server: {SERVER}")


def test_no_header_or_field_of_the_request_sets_the_tagger(app, governed):
    models = governed.paths["models"]
    headers = {**bearer(BOB), "X-Forwarded-User": "alice@example.com", "X-Remote-User": "Alice Doe",
               "X-Tagreg-Tagger": "Alice Doe <alice@example.com>", "From": "alice@example.com",
               "X-Forwarded-Email": "alice@example.com"}
    reply = app.post("/api/models/churn/unassign", {"repo": "models", "version": "v1.1.0", "stage": "dev",
                                                    "author": "Alice Doe", "author_email": "alice@example.com"},
                     headers)
    assert reply.status == 422 and "author" in reply.json["error"]["message"]  # no such field
    reply = app.post("/api/models/churn/assign", {"repo": "models", "stage": "staging", "version": "v1.1.0"}, headers)
    assert reply.status == 201, reply.text
    assert tag_facts(models, reply.json["changes"][0]["tag"])[:2] == ("Bob Roe", "bob@example.com")


def test_a_tag_pushed_around_the_server_shows_as_not_in_effect(app, governed):
    models = governed.paths["models"]
    env = {**base_env(governed.home), "GIT_COMMITTER_NAME": "Mallory", "GIT_COMMITTER_EMAIL": "mallory@evil.test"}
    counter = 1 + max((int(t.rsplit("#", 1)[1]) for t in tags(models) if t.count("#") == 2), default=0)
    tag = f"churn#prod#{counter}"
    git(models, "tag", "-a", tag, "-m", "Assigning stage prod to artifact churn version v1.1.0",
        "churn@v1.1.0^{commit}", env=env)
    try:
        deadline = time.monotonic() + 30  # a tag made outside the server shows within about a second
        while True:
            model = app.get("/api/models/churn?repo=models").json
            found = [r for r in model["not_in_effect"] if r["ref"] == tag]
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert tag not in [r["ref"] for r in model["history"]]
        [row] = found
        assert row["author_email"] == "mallory@evil.test" and row["signature"]["state"] == "none"
        assert row["verdict"]["allowed"] is False
        assert {"signed", "who"} <= {b["rule"] for b in row["verdict"]["breaches"]}
        page = app.get("/models/churn?repo=models").text
        item = page[page.index(f'data-tag="{tag}"'):]
        item = item[:item.index("</li>")]
        assert 'data-signature="none"' in item and 'data-policy="refused"' in item
        assert "policy rule &#39;who&#39; of stage &#39;prod&#39;: &#39;mallory@evil.test&#39; may not change" in item
    finally:
        git(models, "tag", "-d", tag)


# -- the pages ----------------------------------------------------------------------------------

def sign_in(client, token: str, next_path: str = "/") -> None:
    page = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    reply = client.post("/login", data={"csrf": csrf, "next": next_path, "token": token}, follow_redirects=False)
    assert reply.status_code == 303, reply.text


def form(client, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_the_page_says_who_is_signed_in_and_why_a_button_is_disabled(app):
    client = app.client
    sign_in(client, BOB)
    page = client.get("/models/churn?repo=models").text
    assert '<span class="badge ok who" title="bob@example.com">Bob Roe</span>' in page
    assert "Tagged as <b>Bob Roe</b> &lt;bob@example.com&gt;, signed with the server's key." in page
    assert ('<li data-stage="prod">Not prod: the token of Bob Roe &lt;bob@example.com&gt; may not do this: stage '
            "&#39;prod&#39; is not in its scope (stages: dev, staging)</li>") in page
    assert '<li data-stage="staging">' not in page and '<li data-stage="dev">' not in page
    assert re.search(r'<p class="why" data-action="deprecate">You may not deprecate it: [^<]*'
                     r"&#39;deprecate&#39; is not in its scope", page)
    assert re.search(r'title="You may not unassign prod: [^"]*stage &#39;prod&#39; is not in its scope[^"]*" disabled',
                     page)
    # The policy of each stage.
    policy = page[page.index('<section class="card policy">'):]
    policy = policy[:policy.index("</section>")]
    assert "main:.tagreg/policy.yaml" in policy
    assert re.search(r'data-stage="prod"><ul class="rules">\s*<li>after staging</li>\s*<li>signed</li>\s*'
                     r"<li>by alice@example.com</li>", policy), policy
    client.cookies.clear()
    sign_in(client, CAROL)
    page = client.get("/models/churn?repo=models").text
    assert ('<li data-stage="staging">Not staging: policy rule &#39;who&#39; of stage &#39;staging&#39;: '
            "&#39;carol@elsewhere.org&#39; may not change staging</li>") in page
    assert '<li data-stage="dev">' not in page


def test_a_click_on_the_page_is_tagged_and_audited_as_the_person(app, governed):
    client = app.client
    sign_in(client, ALICE)
    reply = client.post("/actions/assign", data={
        "csrf": form(client, "/models/churn?repo=models"), "repo": "models", "name": "churn", "version": "v1.0.0",
        "stage": "staging", "message": "Looks good"}, follow_redirects=True)
    assert reply.status_code == 200 and "Done: churn#staging#" in reply.text, re.findall(r'class="flash[^>]*>[^<]*',
                                                                                        reply.text)
    tag = re.search(r"Done: (churn#staging#\d+)", reply.text).group(1)
    assert tag_facts(governed.paths["models"], tag) == ("Alice Doe", "alice@example.com",
                                                       f"Looks good\n\nTagreg-Server: {SERVER}")
    item = reply.text[reply.text.index(f'data-tag="{tag}"'):]
    item = item[:item.index("</li>")]
    assert "<b>Alice Doe</b>" in item and f"via {SERVER}" in item and "alice@example.com" in item
    assert 'data-signature="good"' in item and f"signed by {SERVER}" in item and 'data-policy="allowed"' in item
    assert '<div class="msg">Looks good</div>' in item  # the trailer is said, not shown as text
    events = app.get("/api/events?repo=models&limit=1").json["events"]
    assert (events[0]["ref"], events[0]["author"], events[0]["author_email"]) == (tag, "Alice Doe",
                                                                                 "alice@example.com")
    proc = subprocess.run([sys.executable, "-m", "tagreg", "history", "churn", "--json"], cwd=governed.paths["models"],
                          capture_output=True, text=True, env=base_env(governed.home), check=True)
    assert next(r for r in json.loads(proc.stdout) if r["ref"] == tag)["author"] == "Alice Doe"
    # A refusal by the policy is said on the page, in one line.
    client.cookies.clear()
    sign_in(client, CAROL)
    reply = client.post("/actions/assign", data={
        "csrf": form(client, "/models/churn?repo=models"), "repo": "models", "name": "churn", "version": "v1.1.0",
        "stage": "staging"}, follow_redirects=True)
    flash = re.search(r'<div class="flash error" role="alert">([^<]*)</div>', reply.text).group(1)
    assert "policy rule &#39;who&#39; of stage &#39;staging&#39;: &#39;carol@elsewhere.org&#39; may not change" in flash


# -- tokens: removed, malformed, never logged ----------------------------------------------------

def test_a_removed_token_no_longer_writes_nor_signs_in(governed):
    with app_server(governed, wait_for=2, token=TOKEN, write=True) as before:
        sign_in(before.client, BOB)
        cookies = dict(before.client.cookies)
        assert 'title="bob@example.com">Bob Roe</span>' in before.client.get("/models/churn?repo=models").text
    revoked = governed.root / "revoked.yaml"
    revoked.write_text(people_yaml(bob=False))
    with app_server(governed, wait_for=2, token=TOKEN, write=True, config=revoked) as after:
        reply = after.post("/api/models/churn/assign", {"repo": "models", "stage": "dev", "version": "v1.0.0"},
                           bearer(BOB))
        assert reply.status == 401 and reply.json["error"]["code"] == "unauthorized"
        for key, value in cookies.items():
            after.client.cookies.set(key, value)
        page = after.client.get("/models/churn?repo=models").text
        assert 'class="badge ok who"' not in page and ">Sign in</a>" in page  # the old cookie signs no one in
        csrf = form(after.client, "/login")  # a valid form of this browser session, but no one signed in
        reply = after.client.post("/actions/assign", data={"csrf": csrf, "repo": "models", "name": "churn",
                                                           "version": "v1.0.0", "stage": "dev"})
        assert reply.status_code == 401


def wait_for(condition, seconds: float = 30, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(every)


def test_a_token_removed_from_the_config_stops_working_without_a_restart(governed, tmp_path):
    config = tmp_path / "live.yaml"
    config.write_text(people_yaml().replace("- models", f"- {governed.paths['models']}")
                      .replace("- other", f"- {governed.paths['other']}").replace("keys/server",
                                                                                str(governed.root / "keys/server")))
    body = {"repo": "models", "stage": "dev"}

    def status(token: str) -> int:  # 401: not a token; 400: a token, and the body lacks a version
        return app.post("/api/models/churn/assign", body, bearer(token)).status

    with app_server(governed, wait_for=2, token=TOKEN, write=True, config=config) as app:
        sign_in(app.client, BOB)
        assert status(BOB) != 401 and 'title="bob@example.com">Bob Roe' in app.client.get("/").text
        config.write_text(config.read_text().replace("Bob Roe", "Robert Roe"))  # an edit: Bob's token stays
        wait_for(lambda: 'title="bob@example.com">Robert Roe' in app.client.get("/").text)
        broken = config.read_text()
        config.write_text(broken + "tokens_typo: 1\n")  # a file that does not read: no personal token works
        wait_for(lambda: 'class="badge ok who"' not in app.client.get("/").text)  # Bob is signed out
        assert status(ALICE) == 401 and status(TOKEN) != 401  # the admin's token still works
        config.write_text("\n".join(line for line in broken.splitlines() if "Robert" not in line
                                    and "bob@" not in line and hash_line(BOB) not in line and "scopes:" not in line)
                          + "\n")
        # Fixed, without Bob (each wrong token counts towards the limit of 5 a minute: poll slowly).
        wait_for(lambda: status(ALICE) != 401, every=0.6)
        assert status(BOB) == 401 and 'class="badge ok who"' not in app.client.get("/").text


@pytest.mark.parametrize("entry, said", [
    ("    hash: " + ALICE, "'hash' must be sha256: and 64 hex digits, the line `tagreg serve --hash-token` prints "
                          "(the token's hash, never the token itself)"),
    ("    hash: sha256:" + "0" * 63, "'hash' must be sha256: and 64 hex digits"),
    ("    hash: md5:" + "0" * 32, "'hash' must be sha256: and 64 hex digits"),
    ("    hash: " + hash_line(ALICE) + "\n    role: admin", "unknown key(s) role"),
    ("    hash: " + hash_line(ALICE) + "\n    scopes: {actions: [merge]}", "scopes: 'actions' has an unknown action "
                                                                     "'merge'"),
])
def test_a_bad_token_entry_stops_the_server_in_one_line(governed, tmp_path, entry, said):
    config = tmp_path / "registries.yaml"
    config.write_text(f"repos: [{governed.paths['models']}]\ntokens:\n  - name: Alice\n    email: a@example.com\n"
                      f"{entry}\n")
    proc = subprocess.run([sys.executable, "-m", "tagreg", "serve", "--config", str(config), "--write",
                           "--port", str(free_port())], capture_output=True, text=True, timeout=60,
                          env=base_env(governed.home))
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"❌ {config}: tokens[1]") or line.startswith("❌ registries.yaml: tokens[1]"), line
    assert said in line and ALICE not in line and "Traceback" not in proc.stderr


def test_hash_token_prints_the_line_to_paste_and_refuses_short_tokens(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "tagreg", "serve", "--hash-token"], input=ALICE + "\n",
                        capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout == f"hash: {hash_line(ALICE)}\n"
    assert re.fullmatch(r"hash: sha256:[0-9a-f]{64}\n", ok.stdout) and ALICE not in ok.stdout
    short = subprocess.run([sys.executable, "-m", "tagreg", "serve", "--hash-token"], input="short\n",
                           capture_output=True, text=True, cwd=tmp_path)
    assert short.returncode == 1 and short.stdout == ""
    assert short.stderr.strip().startswith("❌ the token is too short: use at least 32 random characters")


def test_tokens_are_never_logged_by_the_real_server(governed):
    server = start_server(governed, "--config", str(governed.config), "--write", token=TOKEN, wait_for=2)
    try:
        assert server.post("/api/models/churn/assign", {"repo": "models", "stage": "dev", "version": "v1.0.0"},
                           bearer(ALICE)).status in (201, 409)
        assert server.post("/api/models/churn/assign", {"repo": "models", "stage": "prod", "version": "v1.1.0"},
                           bearer(BOB)).status == 403
        assert server.post("/api/models/churn/assign", {"repo": "models", "stage": "dev"},
                           bearer(ALICE[:-1] + "z")).status == 401
        assert server.get("/login").status == 200
    finally:
        stop_server(server)
    logs = server.logs()
    assert "3 personal tokens and the admin token" in logs
    for secret in (ALICE, BOB, CAROL, TOKEN, ALICE[:-1] + "z", hash_line(ALICE)[7:], hash_line(BOB)[7:]):
        assert secret not in logs
    assert not re.search(r"[0-9a-f]{64}", logs)


# -- the server's key: OpenPGP too, none, or one it cannot use -----------------------------------

def test_without_a_signing_key_a_signed_stage_is_not_offered_and_refused(governed):
    config = governed.root / "unsigned.yaml"
    config.write_text(people_yaml(signing=False))
    models = governed.paths["models"]
    with app_server(governed, wait_for=2, token=TOKEN, write=True, config=config) as app:
        sign_in(app.client, ALICE)
        page = app.client.get("/models/churn?repo=models").text
        assert ('<li data-stage="prod">Not prod: policy rule &#39;signed&#39; of stage &#39;prod&#39;: it takes only '
                "signed tags, and this server has no signing key (`signing:` in its config)</li>") in page
        assert "Tagged as <b>Alice Doe</b> &lt;alice@example.com&gt;." in page
        before = tags(models)
        reply = app.post("/api/models/churn/assign", {"repo": "models", "stage": "prod", "version": "v1.1.0"},
                         bearer(ALICE))
        assert reply.status == 403 and reply.json["error"]["code"] == "policy_refused"
        assert "policy rule 'signed' of stage 'prod': the tag is not signed" in reply.json["error"]["message"]
        assert tags(models) == before


def test_a_signing_key_the_server_cannot_use_stops_it_in_one_line(governed, tmp_path):
    locked = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", str(locked)], check=True)
    for key, said in ((locked, "cannot sign with"), (tmp_path / "absent", "is not a file")):
        config = tmp_path / "registries.yaml"
        config.write_text(f"repos: [{governed.paths['models']}]\nsigning: {{format: ssh, key: {key}}}\n")
        proc = subprocess.run([sys.executable, "-m", "tagreg", "serve", "--config", str(config), "--port",
                               str(free_port())], capture_output=True, text=True, timeout=60,
                              env=base_env(governed.home))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith("❌ ") and "signing" in line and said in line, line


@pytest.fixture
def openpgp(tmp_path):
    """A registry whose policy takes tags signed by the server's OpenPGP key (ml-registry@example.com,
    a server that vouches for its taggers), and a config signing with that key's armored secret."""
    need("gpg")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    gnupg = tmp_path / "keymaker"
    gnupg.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(gnupg)]
    subprocess.run([*gpg, "--passphrase", "", "--quick-gen-key", "ML Registry <ml-registry@example.com>", "ed25519",
                    "sign", "1y"], check=True, capture_output=True)
    secret = subprocess.run([*gpg, "--armor", "--export-secret-keys"], capture_output=True, check=True).stdout
    public = subprocess.run([*gpg, "--armor", "--export"], capture_output=True, check=True).stdout.decode()
    (tmp_path / "server.asc").write_bytes(secret)
    a = Author(home)
    repo = init_repo(tmp_path / "pgp", home)
    a.commit(repo, {"artifacts.yaml": "churn:\n  type: model\n  path: churn.pkl\n", "churn.pkl": "1",
                    ".tagreg/policy.yaml": "stages:\n  prod:\n    signed: true\n    who: [alice@example.com]\n"
                                           "signers:\n  gpg: .tagreg/keys.asc\nservers: [ml-registry@example.com]\n",
                    ".tagreg/keys.asc": public}, "Policy")
    with a.as_("Alice"):
        api.register(repo, "churn", version="v1.0.0")
    config = tmp_path / "registries.yaml"
    config.write_text(f"name: {SERVER}\nrepos: [pgp]\ntokens:\n  - name: Alice Doe\n    email: alice@example.com\n"
                      f"    hash: {hash_line(ALICE)}\nsigning: {{format: openpgp, key: server.asc}}\n")
    yield Registries(tmp_path, home, config, {"pgp": repo})
    subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], check=False, capture_output=True)


def test_an_openpgp_server_key_signs_writes_that_verify_shows_good(openpgp, monkeypatch, tmp_path):
    own = tmp_path / "users-gnupg"  # the user's own keyring: neither read nor changed
    own.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(own))
    with app_server(openpgp, wait_for=1, write=True) as app:
        reply = app.post("/api/models/churn/assign", {"stage": "prod", "version": "v1.0.0"}, bearer(ALICE))
        assert reply.status == 201, reply.text
        [change] = reply.json["changes"]
        row = next(r for r in app.get("/api/models/churn").json["history"] if r["ref"] == change["tag"])
        assert row["signature"]["state"] == "good" and row["signature"]["principal"] == "ml-registry@example.com"
    assert list(own.iterdir()) == []
    repo = openpgp.paths["pgp"]
    assert tag_facts(repo, change["tag"])[:2] == ("Alice Doe", "alice@example.com")
    proc = subprocess.run([sys.executable, "-m", "tagreg", "verify", "churn", "--json", "--strict"], cwd=repo,
                          capture_output=True, text=True, env=base_env(openpgp.home))
    assert proc.returncode == 0, proc.stderr
    event = next(e for e in json.loads(proc.stdout)["events"] if e["tag"] == change["tag"])
    assert event["signature"]["state"] == "good" and event["signature"]["principal"] == "ml-registry@example.com"
    assert event["allowed"] is True and event["author_email"] == "alice@example.com"


def test_in_a_browser_the_model_page_shows_signatures_policy_and_why_not(governed, page):
    """Chromium on the real server, signed in as Bob: the timeline's signatures and verdicts, the
    policy card, and the buttons his token and the policy do not allow, disabled with the reason."""
    from .support import screenshot

    models = governed.paths["models"]
    env = {**base_env(governed.home), "GIT_COMMITTER_NAME": "Mallory", "GIT_COMMITTER_EMAIL": "mallory@evil.test"}
    git(models, "tag", "-a", "churn#prod#99", "-m", "Assigning stage prod to artifact churn version v1.1.0",
        "churn@v1.1.0^{commit}", env=env)
    server = start_server(governed, "--config", str(governed.config), "--write", token=TOKEN, wait_for=2)
    try:
        written = [server.post("/api/models/churn/assign", {"repo": "models", "stage": "dev", "version": version},
                               bearer(ALICE)).status for version in ("v1.1.0", "v1.0.0")]
        assert 201 in written, written  # one of them is not in dev already: signed by the server
        for stage in ("staging", "prod"):  # v1.0.0 in prod (already, when the tests above ran)
            reply = server.post("/api/models/churn/assign", {"repo": "models", "stage": stage, "version": "v1.0.0"},
                                bearer(ALICE))
            assert reply.status == 201 or "already the current version" in reply.text, reply.text
        page.goto(f"{server.url}/login?next=/models/churn?repo=models")
        page.fill("input[name=token]", BOB)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/models/churn?repo=models")
        assert page.locator(".session .who").inner_text() == "Bob Roe"
        refused = page.locator("li.ev.refused[data-tag='churn#prod#99']")
        assert refused.locator("[data-policy=refused]").inner_text().startswith("not in effect: breaks")
        assert refused.locator("[data-signature=none]").inner_text() == "unsigned"
        good = page.locator("li.ev:not(.refused) [data-signature=good]").first
        assert good.inner_text() == f"signed by {SERVER}"
        assert page.locator("button[title^='You may not unassign prod']").is_disabled()
        assert page.locator(".stages-barred li[data-stage=prod]").inner_text().startswith("Not prod: the token of Bob")
        assert page.locator("#deprecate-form button").is_disabled()  # its fieldset is
        assert page.console_errors == []  # type: ignore[attr-defined]
        page.locator("section.actions details").nth(2).evaluate("d => d.open = true")
        screenshot(page, "model-governed")
    finally:
        stop_server(server)
        git(models, "tag", "-d", "churn#prod#99")
