"""Credentials in URLs never appear in output, error messages or the cache folder's names."""

from __future__ import annotations

import json
import socket

import pytest
import yaml

from .helpers import error_line, git, ok, tagreg

SECRET = "s3cr3tpass"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def _names_in(folder) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*")] if folder.exists() else []


FAILING_URLS = {
    "http, nothing listening": lambda d: f"http://user:{SECRET}@127.0.0.1:{_closed_port()}/x.git",
    "https, nothing listening": lambda d: f"https://user:{SECRET}@127.0.0.1:{_closed_port()}/x.git",
    "file, no repository": lambda d: f"file://user:{SECRET}@/nonexistent/x.git",
    "git daemon, user in URL": lambda d: f"git://user:{SECRET}@127.0.0.1:{d.port}/x.git",
}


CASES = [(kind, ["show"]) for kind in FAILING_URLS] + [
    ("http, nothing listening", ["register", "m"]),
    ("http, nothing listening", ["get", "m#prod"]),
]


@pytest.mark.parametrize("kind, command", CASES, ids=[f"{k}: {c[0]}" for k, c in CASES])
def test_failing_url_with_credentials_is_not_shown(daemon, cache_dir, work, kind, command):
    url = FAILING_URLS[kind](daemon)
    result = tagreg(work, *command, "-r", url)
    line = error_line(result)
    assert SECRET not in result.stdout + result.stderr, line
    assert "***" in line or "user" not in line  # the URL is named, with its credentials masked
    assert not [n for n in _names_in(cache_dir) if SECRET in n]


def test_credentials_never_shown_when_reading_and_writing(server, cache_dir, work):
    url = f"file://user:{SECRET}@{server.path}"
    outputs = [
        tagreg(work, "show", "-r", url),
        tagreg(work, "register", "m", "-r", url),
        tagreg(work, "annotate", "m", "--description", "x", "-r", url),
        tagreg(work, "cache", "list"),
        tagreg(work, "cache", "list", "--json"),
    ]
    for result in outputs:
        ok(result)
        assert SECRET not in result.stdout + result.stderr
    assert "m@v0.0.3" in server.tags()
    listing = outputs[3].stdout
    assert str(server.path) in listing  # the URL is listed, without its credentials
    [entry] = json.loads(outputs[4].stdout)
    assert SECRET not in entry["url"] and entry["url"].endswith(str(server.path))
    names = _names_in(cache_dir)
    assert names and not [n for n in names if SECRET in n]


def test_push_failure_from_a_clone_does_not_show_credentials(server, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--", server.url, str(clone))
    git(clone, "remote", "set-url", "origin", f"http://user:{SECRET}@127.0.0.1:{_closed_port()}/x.git")
    result = tagreg(clone, "register", "m", "--push")
    error_line(result)
    assert SECRET not in result.stdout + result.stderr


def test_link_to_a_source_with_credentials_stores_and_shows_none(server, repo):
    url = f"file://user:{SECRET}@{server.path}"
    result = tagreg(repo.path, "link", url, "models/m.bin", "linked", "--rev", "m@v0.0.1", "--commit")
    ok(result)
    assert SECRET not in result.stdout + result.stderr
    text = (repo.path / "artifacts.yaml").read_text()
    assert SECRET not in text
    assert yaml.safe_load(text)["linked"]["repo"] == f"file://{server.path}"
