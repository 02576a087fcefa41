"""The pages, driven in headless Chromium against a live server: the models table over several
repositories, filters, search and sorting, a model page, the activity page, a narrow screen, HTML in
descriptions and tag messages shown as text, write actions with and without the token, and a
cross-site form post refused. The screenshots in docs/screenshots/ come from here."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')

from .support import SCREENSHOT_NOW, TOKEN, XSS_DESCRIPTION, XSS_MESSAGE, free_port, freeze_clock, git, screenshot


def rows(page) -> list[str]:
    """(name, repo) of each row of the models table, as text."""
    return page.locator("table.models tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('td.name a').textContent.trim() + ' ' +"
        " (r.querySelector('td[data-label=Repository]')?.textContent.trim() || ''))")


def sign_in(page, server, token: str = TOKEN, next_path: str = "/") -> None:
    page.goto(f"{server.url}/login?next={next_path}")
    page.fill("input[name=token]", token)
    page.click("#login-form button[type=submit]")


# -- reading ----------------------------------------------------------------------------------------

def test_models_table_across_repositories(server, page):
    page.goto(server.url + "/")
    assert page.title() == "Models · tagreg"
    assert page.locator(".sub").first.text_content().strip() == "9 models in 3 repositories"
    assert rows(page) == ["bert nlp", "coco vision", "fraud-score fraud", "guard nlp", "resnet fraud",
                          "resnet vision", "shared-embed nlp", "tokenizer nlp", "yolo vision"]
    resnet = page.locator("table.models tbody tr", has_text="Image classifier")
    assert resnet.locator("td[data-label=Latest]").text_content().strip() == "v1.1.0"
    assert resnet.locator("td[data-label=Stages]").inner_text().split() == ["staging", "v1.1.0", "prod", "v1.0.0"]
    assert resnet.locator("td[data-label=Labels]").inner_text().split() == ["cv", "production"]
    last = resnet.locator("td[data-label='Last event']").inner_text()
    assert "assigned staging to v1.1.0" in last and "Bob" in last
    assert "old-net" not in page.locator("table.models").inner_text()  # deprecated: hidden
    assert page.console_errors == []
    screenshot(page, "models")


def test_filters_search_and_sorting(server, page):
    page.goto(server.url + "/")
    page.select_option("select[name=repo]", "vision")  # applies at once (the small script submits)
    page.wait_for_url("**/?*repo=vision*")
    assert rows(page) == ["coco vision", "resnet vision", "yolo vision"]
    page.check("input[name=deprecated]")
    page.wait_for_url("**deprecated=1**")
    assert "old-net vision" in rows(page)
    assert page.locator("tr.deprecated .badge", has_text="deprecated").count() == 1
    page.click("text=Clear")
    page.select_option("select[name=stage]", "prod")
    page.wait_for_url("**stage=prod**")
    assert rows(page) == ["bert nlp", "resnet vision"]
    page.select_option("select[name=label]", "nlp")
    page.wait_for_url("**label=nlp**")
    assert rows(page) == ["bert nlp"]
    page.click("text=Clear")
    page.select_option("select[name=type]", "dataset")
    page.wait_for_url("**type=dataset**")
    assert rows(page) == ["coco vision"]
    page.click("text=Clear")
    page.fill("input[name=q]", "card fraud")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**q=card**")
    assert rows(page) == ["resnet fraud"]
    page.fill("input[name=q]", "zebra")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**q=zebra**")
    assert "No models match" in page.locator(".empty").inner_text()
    # Sorting: click a column header, click again for the other direction.
    page.goto(server.url + "/?repo=vision")
    page.click("th >> text=Latest")
    page.wait_for_url("**sort=latest**")
    assert [r.split()[0] for r in rows(page)] == ["yolo", "resnet", "coco"]  # v0.1.0 < v1.1.0 < v2024.1.0
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("LATEST")
    page.click("th >> text=Latest")
    page.wait_for_url("**order=desc**")
    assert [r.split()[0] for r in rows(page)] == ["coco", "resnet", "yolo"]


def test_filters_work_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + "/")
    page.select_option("select[name=repo]", "nlp")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**repo=nlp**")
    assert rows(page) == ["bert nlp", "guard nlp", "shared-embed nlp", "tokenizer nlp"]
    context.close()


def test_model_page(server, registries, page):
    from playwright.sync_api import expect  # the `page` fixture has it (or skips)

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(server.url + "/")
    page.click("tr:has-text('Image classifier') td.name a")
    page.wait_for_url("**/models/resnet?repo=vision")
    assert page.locator("h1").inner_text() == "resnet"
    assert page.locator(".lead").inner_text() == "Image classifier for product photos"
    versions = page.locator("table.versions tbody tr")
    assert versions.count() == 2
    first = versions.nth(0)
    assert first.locator("td[data-label=Version]").inner_text().strip() == "v1.1.0"
    assert first.locator("td[data-label=Stages]").inner_text().strip() == "staging"
    assert first.locator("td[data-label=Author]").inner_text().strip() == "Alice"
    commit = git(registries.paths["vision"], "rev-parse", "resnet@v1.1.0^{commit}").strip()
    link = first.locator("td[data-label=Commit] a")
    assert link.inner_text() == commit[:7]
    assert link.get_attribute("href") == f"https://github.com/acme/vision/commit/{commit}"
    timeline = page.locator("ol.timeline li")
    assert timeline.count() == 4
    assert timeline.nth(0).locator(".what").inner_text().split() == ["Bob", "assigned", "staging", "to", "v1.1.0"]
    assert "resnet#staging#2" in timeline.nth(0).locator(".meta").inner_text()
    facts = page.locator("dl.facts").inner_text()
    assert "models/resnet.pt" in facts and "artifacts.yaml" in facts
    command = "tagreg get resnet@latest -r https://github.com/acme/vision.git"
    assert page.locator(".copy code").first.inner_text() == command
    button = page.locator(".copy button").first
    page.clock.pause_at(SCREENSHOT_NOW)  # the page's timers wait: "Copied" stays until run_for below
    button.click()
    expect(button).to_have_text("Copied")  # once the clipboard's promise resolves: no fixed delay
    assert page.evaluate("navigator.clipboard.readText()") == command
    assert page.locator("section.actions").count() == 0  # read-only server: no forms at all
    screenshot(page, "model")
    page.clock.run_for(1500)
    expect(button).to_have_text("Copy")


def test_model_page_of_a_link_and_of_a_shared_name(server, page):
    page.goto(server.url + "/models/shared-embed")
    assert "https://github.com/acme/embeddings.git at v3.0.0" in page.locator("dl.facts").inner_text()
    page.goto(server.url + "/models/resnet")  # two repositories have a resnet
    assert page.locator("h1").inner_text() == "resnet"
    page.click("li:has-text('fraud') a")
    page.wait_for_url("**/models/resnet?repo=fraud")
    link = page.locator("table.versions td[data-label=Commit] a").first
    assert link.get_attribute("href").startswith("https://gitlab.com/acme/fraud/-/commit/")
    page.goto(server.url + "/models/nothing-here")
    assert page.locator("h1").inner_text() == "Not found"


def test_activity_page(server, page):
    page.goto(server.url + "/activity")
    items = page.locator("ol.timeline li")
    assert items.count() == 17
    assert items.nth(0).locator(".what").inner_text().split() == [
        "Frank", "registered", "resnet", "v0.1.0", "in", "fraud"]
    deprecation = page.locator("li.deprecation")
    assert deprecation.locator(".what").inner_text().split()[:3] == ["Dave", "deprecated", "old-net"]
    assert deprecation.locator(".msg").inner_text() == "Replaced by resnet"
    screenshot(page, "activity")
    page.select_option("select[name=event]", "assignment")
    page.wait_for_url("**event=assignment**")
    assert page.locator("ol.timeline li").count() == 5
    assert page.locator("ol.timeline li.assignment").count() == 5
    page.locator("ol.timeline li").nth(0).locator(".what a").click()
    page.wait_for_url("**/models/**")


def test_narrow_screen(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    freeze_clock(page)
    for path in ("/", "/models/resnet?repo=vision", "/activity"):
        page.goto(server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways: {width}px"
    page.goto(server.url + "/?repo=vision")
    assert page.locator("table.models thead").is_visible() is False or page.locator(
        "table.models thead").bounding_box()["x"] < 0  # headers move into each card
    screenshot(page, "models-narrow")
    context.close()


def test_html_in_descriptions_and_tag_messages_is_text(server, page):
    page.add_init_script("window.__xss = undefined")
    for path in ("/", "/models/guard", "/activity", "/?q=markup"):
        page.goto(server.url + path)
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("main script, main img").count() == 0
    assert page.dialogs == []
    page.goto(server.url + "/models/guard")
    assert page.locator(".lead").inner_text() == XSS_DESCRIPTION
    assert page.locator("ol.timeline .msg").inner_text() == XSS_MESSAGE
    page.goto(server.url + "/")
    assert XSS_DESCRIPTION in page.locator("table.models").inner_text()


@pytest.mark.parametrize("name,repo,stored", [
    ("resnet", "vision", "in the repository (committed at HEAD)"),  # a committed file: not "outside Git"
    ("tokenizer", "nlp", "in the repository (committed at HEAD)"),
    ("coco", "vision", "not found at HEAD"),  # annotated, never committed
    ("shared-embed", "nlp", "in another repository (the link source)"),
])
def test_model_page_says_where_the_artifact_is_stored(server, name, repo, stored):
    text = server.get(f"/models/{name}?repo={repo}").text
    assert f"<dt>Stored</dt><dd>{stored}</dd>" in text, text[text.find("<dt>Stored"):][:200]


def test_pages_send_a_content_security_policy(server):
    reply = server.get("/")
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert reply.headers["x-content-type-options"] == "nosniff"


# -- writing ---------------------------------------------------------------------------------------

def test_write_action_with_the_token(write_server, write_registries, page):
    page.goto(write_server.url + "/models/bert?repo=nlp")
    assert "Sign in" in page.locator("section.actions").inner_text()
    assert page.locator("section.actions form").count() == 0
    page.click("section.actions >> text=Sign in")
    page.fill("input[name=token]", "not-the-token")
    page.click("#login-form button[type=submit]")
    assert page.locator(".flash.error").inner_text() == "That is not a token this server takes."
    page.fill("input[name=token]", TOKEN)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/models/bert?repo=nlp")
    assert page.locator(".session .badge").inner_text() == "write access"
    form = page.locator("#assign-form")
    form.locator("select[name=version]").select_option("v2.0.0")
    form.locator("input[name=stage]").fill("staging")
    form.locator("input[name=message]").fill("Looks good <b>to me</b>")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.ok")
    assert page.locator(".flash.ok").inner_text() == "Done: bert#staging#2; not pushed (no push remote configured)"
    assert git(write_registries.paths["nlp"], "tag", "-l", "bert#staging#2", "--format=%(contents:subject)").strip() \
        == "Looks good <b>to me</b>"
    first = page.locator("table.versions tbody tr").nth(0)
    assert first.locator("td[data-label=Stages]").inner_text().split() == ["prod", "staging"]  # no .gto: by name
    assert page.locator("ol.timeline .msg").first.inner_text() == "Looks good <b>to me</b>"
    screenshot(page, "model-write")
    # A refused action says why on the page.
    form = page.locator("#assign-form")
    form.locator("input[name=stage]").fill("staging")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.error")
    assert "already the current version in stage 'staging'" in page.locator(".flash.error").inner_text()
    # Unassign from the versions table, then sign out.
    page.click("button[title='Unassign staging from v2.0.0']")
    page.wait_for_selector(".flash.ok")
    assert page.locator(".flash.ok").inner_text() == "Done: bert#staging!#3; not pushed (no push remote configured)"
    page.click("text=Sign out")
    page.goto(write_server.url + "/models/bert?repo=nlp")
    assert page.locator("section.actions form").count() == 0


def test_register_and_deprecate_from_the_page(write_server, write_registries, page):
    from .support import Author

    vision = write_registries.paths["vision"]
    commit = Author(write_registries.home).commit(vision, {"models/yolo.pt": "2"}, "Retrain yolo")
    sign_in(page, write_server, next_path="/models/yolo?repo=vision")
    page.wait_for_url("**/models/yolo?repo=vision")
    page.click("summary >> text=Register a version")
    form = page.locator("#register-form")
    form.locator("input[name=ref]").fill(commit[:10])
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.ok")
    assert page.locator(".flash.ok").inner_text() == "Done: yolo@v0.1.1; not pushed (no push remote configured)"
    newest = page.locator("table.versions tbody tr").nth(0)
    assert newest.locator("td[data-label=Version]").inner_text().strip() == "v0.1.1"
    page.click("summary >> text=Deprecate")
    page.locator("#deprecate-form button[type=submit]").click()
    page.wait_for_url("**/models/yolo?repo=vision&flash=Done%3A+yolo%40deprecated*")
    assert page.dialogs == ["Deprecate yolo? It disappears from the models list."]  # asked, and accepted
    assert page.locator(".flash.ok").inner_text() == "Done: yolo@deprecated; not pushed (no push remote configured)"
    assert git(vision, "tag", "-l", "yolo@deprecated").strip() == "yolo@deprecated"


def test_roll_back_a_stage_from_the_page(write_server, write_registries, page):
    vision = write_registries.paths["vision"]
    sign_in(page, write_server, next_path="/models/resnet?repo=vision")
    page.wait_for_url("**/models/resnet?repo=vision")
    assert page.locator("form.rollback").count() == 0  # prod and staging have had one version each
    form = page.locator("#assign-form")
    form.locator("select[name=version]").select_option("v1.1.0")
    form.locator("input[name=stage]").fill("prod")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.ok")
    # prod can go back to v1.0.0; staging still has nothing to go back to
    assert page.locator("form.rollback").evaluate_all("fs => fs.map(f => f.dataset.stage)") == ["prod"]
    button = page.locator("form.rollback[data-stage=prod] button")
    assert button.inner_text() == "Roll back prod to v1.0.0"
    button.click()
    page.wait_for_url("**/models/resnet?repo=vision&flash=Done*")
    assert page.dialogs == ["Roll back prod of resnet from v1.1.0 to v1.0.0?"]  # asked, and accepted
    done = page.locator(".flash.ok").inner_text()
    assert done.endswith("; not pushed (no push remote configured)"), done
    tag = done.removeprefix("Done: ").partition(";")[0]
    assert git(vision, "tag", "-l", tag, "--format=%(*objectname)").strip() == \
        git(vision, "rev-parse", "resnet@v1.0.0^{commit}").strip()
    assert page.locator("form.rollback[data-stage=prod] button").inner_text() == "Roll back prod to v1.1.0"


def test_write_action_without_the_token(write_server, write_registries, page):
    page.goto(write_server.url + "/models/tokenizer?repo=nlp")
    assert page.locator("section.actions form, #assign-form").count() == 0  # signed out: no forms
    page.goto(write_server.url + "/login")
    csrf = page.locator("#login-form input[name=csrf]").get_attribute("value")
    # A valid CSRF token, but no sign-in: refused, nothing tagged.
    reply = page.request.post(write_server.url + "/actions/assign", form={
        "csrf": csrf, "repo": "nlp", "name": "tokenizer", "version": "v0.0.1", "stage": "prod"})
    assert reply.status == 401
    assert "Sign in needed" in reply.text()
    assert git(write_registries.paths["nlp"], "tag", "-l", "tokenizer#*").strip() == ""


def test_read_only_server_refuses_page_actions(server, page):
    page.goto(server.url + "/login")
    assert "read-only" in page.locator("main").inner_text()
    reply = page.request.post(server.url + "/actions/deprecate", form={"repo": "nlp", "name": "bert"})
    assert reply.status == 403


class _Attacker(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def attacker(tmp_path):
    """Another site on 127.0.0.1 (a different port: same site for cookies, another origin)."""
    port = free_port()
    handler = lambda *a, **k: _Attacker(*a, directory=str(tmp_path), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


def test_cross_site_form_post_is_refused(write_server, write_registries, page, attacker, browser):
    folder, origin = attacker
    # The attacker gets a genuine CSRF token for a session of their own...
    own = browser.new_context()
    own_page = own.new_page()
    own_page.goto(write_server.url + "/login")
    stolen = own_page.locator("#login-form input[name=csrf]").get_attribute("value")
    own.close()
    # ...and lures a signed-in user to a page that posts a form to the dashboard.
    sign_in(page, write_server)
    page.wait_for_url(write_server.url + "/")
    for name, csrf in (("no-token.html", None), ("stolen-token.html", stolen)):
        field = f'<input type="hidden" name="csrf" value="{csrf}">' if csrf else ""
        Path(folder, name).write_text(
            f'<form id="f" method="post" action="{write_server.url}/actions/deprecate">{field}'
            '<input type="hidden" name="repo" value="nlp"><input type="hidden" name="name" value="bert"></form>'
            '<script>document.getElementById("f").submit()</script>')
        with page.expect_navigation(url=write_server.url + "/actions/deprecate"):
            page.goto(f"{origin}/{name}")
        assert page.locator("h1").inner_text() == "Not allowed"
        assert "did not come from this site" in page.locator("main").inner_text()
    assert git(write_registries.paths["nlp"], "tag", "-l", "bert@deprecated").strip() == ""
    # The user's own form still works afterwards.
    page.goto(write_server.url + "/models/bert?repo=nlp")
    assert page.locator("#deprecate-form").count() == 1


# -- stage order, confirmations, pushing ------------------------------------------------------------

def stage_names(cell) -> list[str]:
    """The stage names of the chips in a cell (without the versions shown in them)."""
    return cell.locator(".chip.stage").evaluate_all("chips => chips.map(c => c.firstChild.textContent.trim())")


def test_stage_badges_follow_the_configured_order_on_every_row(ordered_server, page):
    """alpha got dev then prod, beta staging, dev, prod and a hand-made qa: both rows (and the model
    page) list them as `.gto` does, then unlisted stages by name; without a `.gto`, by name."""
    page.goto(ordered_server.url + "/")
    row = {name: page.locator("table.models tbody tr", has=page.locator(f"td.name a:text-is('{name}')"))
           for name in ("alpha", "beta", "gamma")}
    assert stage_names(row["alpha"].locator("td[data-label=Stages]")) == ["dev", "prod"]
    assert stage_names(row["beta"].locator("td[data-label=Stages]")) == ["dev", "staging", "prod", "qa"]
    assert stage_names(row["gamma"].locator("td[data-label=Stages]")) == ["prod", "staging"]
    assert page.locator("select[name=stage] option").all_inner_texts()[1:] == [
        "in dev", "in staging", "in prod", "in qa"]
    page.goto(ordered_server.url + "/models/beta?repo=ordered")
    assert stage_names(page.locator(".model-head .badges")) == ["dev", "staging", "prod", "qa"]
    assert stage_names(page.locator("table.versions tbody tr").nth(0).locator("td[data-label=Stages]")) == [
        "dev", "staging", "prod", "qa"]
    assert [label.split()[0] for label in page.locator(".copy-label").all_inner_texts()] == [
        "latest", "dev", "staging", "prod", "qa"]


def test_unassigning_from_the_page_asks_first(ordered_server, ordered_registries, browser):
    """Cancelling the confirmation writes nothing; confirming unassigns (and says it was pushed)."""
    ordered, origin = ordered_registries.paths["ordered"], ordered_registries.paths["origin"]
    context = browser.new_context()
    page = context.new_page()
    answers, asked = [False, True], []

    def on_dialog(dialog):
        asked.append(dialog.message)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, ordered_server, next_path="/models/delta?repo=ordered")
    page.wait_for_url("**/models/delta?repo=ordered")
    before = git(ordered, "tag", "-l", "delta#*")
    button = page.locator("button[title='Unassign prod from v1.0.0']")
    button.click()
    assert asked == ["Unassign prod from delta v1.0.0?"]
    assert page.url.endswith("/models/delta?repo=ordered") and page.locator(".flash").count() == 0
    assert git(ordered, "tag", "-l", "delta#*") == before, "cancelled: nothing written"
    button.click()
    page.wait_for_selector(".flash.ok")
    assert len(asked) == 2
    assert page.locator(".flash.ok").inner_text() == "Done: delta#prod!#2; pushed to origin"
    assert git(ordered, "tag", "-l", "delta#prod!*").strip() == "delta#prod!#2"
    assert git(origin, "tag", "-l", "delta#prod!#2").strip() == "delta#prod!#2"
    assert stage_names(page.locator(".model-head .badges")) == []
    context.close()


def test_a_write_without_a_push_remote_says_it_was_not_pushed(ordered_server, ordered_registries, page):
    sign_in(page, ordered_server, next_path="/models/epsilon?repo=plain")
    page.wait_for_url("**/models/epsilon?repo=plain")
    assert "not pushed (no push remote configured)" in page.locator("section.actions").inner_text()
    form = page.locator("#assign-form")
    form.locator("input[name=stage]").fill("dev")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.ok")
    assert page.locator(".flash.ok").inner_text() == "Done: epsilon#dev#2; not pushed (no push remote configured)"
    page.goto(ordered_server.url + "/models/alpha?repo=ordered")
    assert "pushed to origin" in page.locator("section.actions").inner_text()
