"""Writes on a remote registry push at once; on a local clone `--push` pushes to origin or `--remote`."""

from __future__ import annotations

import pytest

from .helpers import git, ok, only_mirror, tag_objects, tagreg, tags_of

# (command, tags it adds on the server, tags it removes from the server)
EVENTS = {
    "register": (["register", "m"], {"m@v0.0.3"}, set()),
    "assign": (["assign", "m", "--stage", "staging", "--version", "v0.0.2"], {"m#staging#2"}, set()),
    "unassign": (["deprecate", "m", "v0.0.1", "prod"], {"m#prod!#2"}, set()),
    "deregister": (["deprecate", "m", "v0.0.2"], {"m@v0.0.2!"}, set()),
    "deprecate": (["deprecate", "m"], {"m@deprecated"}, set()),
    "delete": (["deprecate", "bundle", "--delete"], set(), {"bundle@v0.0.1"}),
    "delete-version": (["deprecate", "m", "v0.0.1", "--delete"], set(), {"m@v0.0.1", "m#prod#1"}),
}


def _pushed_lines(tag: str, deleted: bool = False, remote: str = "origin") -> str:
    if deleted:
        return f"Running `git push --delete {remote} {tag}`\nSuccessfully deleted git tag {tag} on remote.\n"
    return f"Running `git push {remote} {tag}`\nSuccessfully pushed git tag {tag} on remote.\n"


@pytest.mark.parametrize("event", list(EVENTS))
def test_write_on_a_remote_pushes_the_tag_at_once(server, cache_dir, work, event):
    args, added, removed = EVENTS[event]
    before = server.tags()
    out = ok(tagreg(work, *args, "-r", server.url))

    assert server.tags() == (before | added) - removed
    for tag in added:
        assert _pushed_lines(tag) in out, out
        assert server.tagger(tag) == "Tester <t@example.com>"  # made by this user, not by the server
    for tag in removed:
        assert f"Deleted git tag '{tag}'" in out
        assert _pushed_lines(tag, deleted=True) in out, out
    assert "To push the changes upstream" not in out
    # The mirror holds exactly what the server holds.
    assert tag_objects(only_mirror(cache_dir)) == server.tag_objects()
    assert not list(work.iterdir())


def test_registered_tag_on_a_remote_points_at_the_default_branch_head(server, work):
    ok(tagreg(work, "register", "m", "--version", "v1.0.0", "-r", server.url))
    assert server.rev("m@v1.0.0") == server.rev("main")
    assert server.git("cat-file", "-t", "m@v1.0.0").strip() == "tag"  # annotated
    # Another user reading the server sees it.
    assert ok(tagreg(work, "latest", "m", "-r", server.file_url)) == "v1.0.0\n"


def _clone(server, tmp_path, name="clone"):
    path = tmp_path / name
    git(tmp_path, "clone", "-q", "--", server.url, str(path))
    return path


@pytest.mark.parametrize("event", ["assign", "delete-version"])
def test_push_from_a_local_clone_pushes_to_origin(server, tmp_path, event):
    args, added, removed = EVENTS[event]
    clone = _clone(server, tmp_path)
    before = server.tags()
    out = ok(tagreg(clone, *args, "--push"))

    assert server.tags() == (before | added) - removed
    assert tags_of(clone) == server.tags()
    for tag in added:
        assert _pushed_lines(tag) in out, out
    for tag in removed:
        assert _pushed_lines(tag, deleted=True) in out, out


def test_push_to_a_named_remote(server, make_server, tmp_path):
    upstream = make_server()
    clone = _clone(server, tmp_path)
    git(clone, "remote", "add", "upstream", upstream.url)
    git(clone, "fetch", "-q", "upstream")
    before_origin, before_upstream = server.tags(), upstream.tags()

    out = ok(tagreg(clone, "register", "m", "--push", "--remote", "upstream"))

    assert upstream.tags() == before_upstream | {"m@v0.0.3"}
    assert server.tags() == before_origin, "--remote upstream pushed to origin"
    assert _pushed_lines("m@v0.0.3", remote="upstream") in out, out


def test_local_write_without_push_stays_local(server, tmp_path):
    clone = _clone(server, tmp_path)
    before = server.tags()
    out = ok(tagreg(clone, "register", "m"))
    assert "m@v0.0.3" in tags_of(clone)
    assert server.tags() == before
    assert "To push the changes upstream, run:\n    git push origin m@v0.0.3\n" in out
