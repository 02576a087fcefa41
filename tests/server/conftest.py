"""Fixtures for the server tests: registries in temporary folders, live servers over them, and
Debian's Chromium driven by Playwright (skipped with a reason when missing, unless CI=true)."""

from __future__ import annotations

import pytest

from .support import (
    CHROMIUM_ARGS,
    TOKEN,
    Registries,
    build_ordered_registries,
    build_registries,
    find_chromium,
    freeze_clock,
    start_server,
    stop_server,
    unavailable,
)


@pytest.fixture(scope="module")
def registries(tmp_path_factory) -> Registries:
    """Three registries: vision and nlp (local folders), fraud (a remote, by file:// URL)."""
    return build_registries(tmp_path_factory.mktemp("registries"))


@pytest.fixture(scope="module")
def server(registries):
    """A read-only server over the three registries."""
    s = start_server(registries, "--config", str(registries.config), wait_for=3)
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def write_registries(tmp_path_factory) -> Registries:
    """The same three registries, for tests that change them."""
    return build_registries(tmp_path_factory.mktemp("write-registries"))


@pytest.fixture(scope="module")
def write_server(write_registries):
    """A server started with --write and TAGREG_TOKEN."""
    s = start_server(write_registries, "--config", str(write_registries.config), "--write", token=TOKEN, wait_for=3)
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def ordered_registries(tmp_path_factory) -> Registries:
    """A registry whose stages were assigned out of the configured order (it pushes to a bare
    origin), and one with no `.gto` (and no push remote): see build_ordered_registries."""
    return build_ordered_registries(tmp_path_factory.mktemp("ordered"))


@pytest.fixture(scope="module")
def ordered_server(ordered_registries):
    """A --write server over ordered_registries."""
    s = start_server(ordered_registries, "--config", str(ordered_registries.config), "--write", token=TOKEN,
                     wait_for=2)
    yield s
    stop_server(s)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright (no browser download)."""
    executable = find_chromium()
    if executable is None:
        unavailable("chromium not found: install it with `apt-get install chromium` (or set TAGREG_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install -e '.[tests]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) and page; console errors and dialogs (accepted) are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
    pg = context.new_page()
    freeze_clock(pg)
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.accept()))  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))  # type: ignore[attr-defined]
    yield pg
    context.close()


