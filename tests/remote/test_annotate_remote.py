"""annotate/remove on a remote registry: a commit made with git plumbing (no checkout) on the
remote's default branch or on `--branch`, pushed at once, keeping the file's comments."""

from __future__ import annotations

import yaml

from .conftest import ARTIFACTS_A, ARTIFACTS_B
from .helpers import files_under, git, ok, only_mirror, tagreg

HEADER = "# Models of the churn team: keep this comment"
INLINE = "type: model  # what kind of thing m is"


def _changed_files(server, old: str, new: str) -> list[str]:
    return server.git("diff", "--name-only", old, new).split()


def _no_checkout(cache_dir, work) -> None:
    assert not list(work.iterdir()), "annotating a remote wrote into the current folder"
    leftovers = [p for p in files_under(cache_dir) if p.endswith("artifacts.yaml")]
    assert leftovers == [], f"a work tree was checked out in the cache: {leftovers}"


def test_annotate_on_a_remote_commits_on_the_default_branch(server, cache_dir, work):
    main, other = server.rev("main"), server.rev("other")
    out = ok(tagreg(work, "annotate", "m", "--path", "models/m2.bin", "-r", server.url))

    new = server.rev("main")
    assert new != main
    assert server.rev(f"{new}^") == main
    assert out == f"Updated the annotation of 'm' in artifacts.yaml and committed it as {new[:7]}\n"
    assert server.git("log", "-1", "--format=%an <%ae>|%s", new).strip() == "Tester <t@example.com>|Annotate m"
    assert _changed_files(server, main, new) == ["artifacts.yaml"]
    text = server.show("main:artifacts.yaml").decode()
    assert text.startswith(HEADER + "\n")
    assert INLINE in text
    data = yaml.safe_load(text)
    assert data["m"] == {"type": "model", "path": "models/m2.bin"}
    assert data == {**yaml.safe_load(ARTIFACTS_B), "m": data["m"]}  # the rest is untouched
    assert list(data) == list(yaml.safe_load(ARTIFACTS_B))  # and in its order
    assert server.rev("other") == other
    assert git(only_mirror(cache_dir), "rev-parse", "main").strip() == new
    _no_checkout(cache_dir, work)
    # The next reader sees the new path.
    assert ok(tagreg(work, "describe", "m", "--path", "-r", server.file_url)) == "models/m2.bin\n"


def test_annotate_on_a_remote_branch(server, cache_dir, work):
    main, other = server.rev("main"), server.rev("other")
    out = ok(tagreg(work, "annotate", "newmodel", "--type", "model", "--path", "models/new.bin",
                    "--branch", "other", "-r", server.url))

    new = server.rev("other")
    assert server.rev(f"{new}^") == other
    assert server.rev("main") == main
    assert f"committed it as {new[:7]}" in out
    text = server.show("other:artifacts.yaml").decode()
    assert text.startswith(ARTIFACTS_B), "the existing entries and comments were rewritten"
    assert yaml.safe_load(text)["newmodel"] == {"type": "model", "path": "models/new.bin"}
    _no_checkout(cache_dir, work)


def test_annotate_on_a_remote_that_moved_since_it_was_cached(server, cache_dir, work, tmp_path):
    ok(tagreg(work, "show", "-r", server.url))  # the mirror now has main at C
    theirs = server.commit_file("main", {"NOTES.md": "someone else's change\n"}, "their change", tmp_path)

    ok(tagreg(work, "annotate", "m", "--description", "churn model", "-r", server.url))

    new = server.rev("main")
    assert server.rev(f"{new}^") == theirs, "the annotation commit does not build on the server's branch"
    assert server.show("main:NOTES.md") == b"someone else's change\n"
    assert yaml.safe_load(server.show("main:artifacts.yaml"))["m"]["description"] == "churn model"


def test_remove_on_a_remote(server, cache_dir, work):
    main = server.rev("main")
    out = ok(tagreg(work, "remove", "lfsm", "-r", server.url))

    new = server.rev("main")
    assert server.rev(f"{new}^") == main
    assert f"Removed the annotation of 'lfsm' from artifacts.yaml and committed it as {new[:7]}" in out
    text = server.show("main:artifacts.yaml").decode()
    assert text.startswith(ARTIFACTS_A)
    data = yaml.safe_load(text)
    assert "lfsm" not in data and set(data) == set(yaml.safe_load(ARTIFACTS_B)) - {"lfsm"}
    _no_checkout(cache_dir, work)
