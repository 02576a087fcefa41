"""A push the server refuses (a pre-receive hook), or that cannot reach it: one line saying what
failed, exit 1, and no local tag (or branch move) left behind that the server does not have."""

from __future__ import annotations

import pytest

from .helpers import error_line, git, ok, only_mirror, tag_objects, tagreg, tags_of

REFUSE = "#!/bin/sh\necho 'policy: registry changes need a review' >&2\nexit 1\n"

WRITES = {
    "register": ["register", "m"],
    "assign": ["assign", "m", "--stage", "staging", "--version", "v0.0.2"],
    "unassign": ["deprecate", "m", "v0.0.1", "prod"],
    "deprecate": ["deprecate", "m"],
    "delete": ["deprecate", "bundle", "--delete"],
}


def _says_it_was_refused(line: str) -> None:
    assert "declined" in line or "refused" in line or "rejected" in line, line


@pytest.mark.parametrize("write", list(WRITES))
def test_refused_write_on_a_remote_leaves_nothing_behind(server, cache_dir, work, write):
    server.hook("pre-receive", REFUSE)  # refuses pushes only: the mirror is still made
    before = server.tag_objects()

    line = error_line(tagreg(work, *WRITES[write], "-r", server.url))

    _says_it_was_refused(line)
    assert server.tag_objects() == before
    assert tag_objects(only_mirror(cache_dir)) == before, "the mirror kept a tag the server refused"


def test_refused_annotate_on_a_remote_leaves_the_mirror_as_the_server(server, cache_dir, work):
    server.hook("pre-receive", REFUSE)
    main = server.rev("main")

    line = error_line(tagreg(work, "annotate", "m", "--path", "models/m3.bin", "-r", server.url))

    _says_it_was_refused(line)
    assert server.rev("main") == main
    assert git(only_mirror(cache_dir), "rev-parse", "main").strip() == main


def test_refused_push_from_a_local_clone_leaves_no_tag(server, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--", server.url, str(clone))
    server.hook("pre-receive", REFUSE)
    before_server, before_clone = server.tag_objects(), tag_objects(clone)

    line = error_line(tagreg(clone, "assign", "m", "--stage", "staging", "--version", "v0.0.2", "--push"))

    _says_it_was_refused(line)
    assert "m#staging#2" in line
    assert server.tag_objects() == before_server
    assert tag_objects(clone) == before_clone, "the refused tag was left in the local clone"


def test_push_to_an_unreachable_remote_leaves_no_tag(server, tmp_path, daemon):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--", server.url, str(clone))
    git(clone, "remote", "set-url", "origin", daemon.url("no-such-repository.git"))
    before = tags_of(clone)

    line = error_line(tagreg(clone, "register", "m", "--push"))

    assert "m@v0.0.3" in line
    assert tags_of(clone) == before


def test_write_on_a_remote_that_is_gone_changes_nothing(server, cache_dir, work):
    ok(tagreg(work, "show", "-r", server.url))
    mirror = only_mirror(cache_dir)
    before = tag_objects(mirror)
    server.path.rename(server.path.with_name(server.name + ".gone"))
    try:
        line = error_line(tagreg(work, "register", "m", "-r", server.url))
        assert server.name in line
        assert tag_objects(mirror) == before
    finally:
        server.path.with_name(server.name + ".gone").rename(server.path)


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound, then closed."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_push_without_a_remote_says_there_is_none(tmp_path):
    """git's reason, not the last line of its advice ('and the repository exists.')."""
    repo = tmp_path / "alone"
    git(tmp_path, "init", "-q", str(repo))
    (repo / "artifacts.yaml").write_text("m:\n  path: m.bin\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "m")
    ok(tagreg(repo, "register", "m"))

    line = error_line(tagreg(repo, "assign", "m", "--version", "v0.0.1", "--stage", "prod", "--push"))

    assert "'origin' does not appear to be a git repository" in line, line
    assert "and the repository exists" not in line, line
    assert tags_of(repo) == {"m@v0.0.1"}


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_push_to_a_closed_port_says_the_connection_was_refused(server, tmp_path, scheme):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--", server.url, str(clone))
    git(clone, "remote", "set-url", "origin", f"{scheme}://127.0.0.1:{_closed_port()}/x.git")

    line = error_line(tagreg(clone, "register", "m", "--push"))

    assert "127.0.0.1" in line and ("Connection refused" in line or "Couldn't connect" in line), line
    assert not line.rstrip().endswith(":"), line


def test_reading_a_closed_port_says_the_connection_was_refused(work):
    line = error_line(tagreg(work, "show", "-r", f"git://127.0.0.1:{_closed_port()}/x.git"))

    assert "unable to connect to 127.0.0.1" in line and "Connection refused" in line, line
