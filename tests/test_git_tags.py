"""Reading every tag of a big registry with one `for-each-ref` per core (git.split_tag_patterns):
the parts, one after the other, must be exactly git's one listing."""

from __future__ import annotations

import subprocess

import pytest

from tagreg.api import Repository
from tagreg.git import Git, split_tag_patterns

NAMES = ["a@v1.0.0", "a#prod#1", "a-b@v0.0.1", "ab@v1.0.0", "B@v1.0.0", "Zeta@v0.0.1", "9x@v1.0.0", "0@v2.0.0",
         "dir/sub=m@v1.0.0", "dir/sub=m#prod#2", "d@deprecated", "m#team/prod#3", "q#dev!#4", "v1.0", "x@created"]


def make_tags(repo, names):
    """Annotated tags by fast-import (seconds for thousands), plus one lightweight tag."""
    commit = repo.git("rev-parse", "HEAD").strip()
    stream = "".join(
        f"tag {name}\nfrom {commit}\ntagger T <t@example.com> {1700000000 + i} +0100\ndata {len(name)}\n{name}\n"
        for i, name in enumerate(names))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.path, input=stream.encode(), check=True)
    repo.git("tag", "light", commit)


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 20])
def test_parts_read_in_order_are_gits_listing(repo, parts):
    make_tags(repo, NAMES + [f"{c}{i}@v0.{i}.0" for i in range(30) for c in "acegikmoqsuwy"])
    git = Git(repo.path)
    groups = split_tag_patterns(git.list_tags(), parts)
    assert 1 <= len(groups) <= parts
    found = []
    for patterns in groups:
        found += git.tags(patterns)
    assert found == git.tags()
    if parts > 1:
        assert len(groups) > 1  # the split happened


def test_names_that_do_not_start_with_a_letter_or_digit_read_in_one_part(repo):
    make_tags(repo, NAMES + ["_odd@v1.0.0"])
    git = Git(repo.path)
    assert split_tag_patterns(git.list_tags(), 4) == [["refs/tags"]]


def test_a_big_registry_reads_the_same_in_parts(repo, monkeypatch):
    names = [f"m{i % 97}-{i}@v1.0.{i}" for i in range(2100)]  # above the size where parts start
    make_tags(repo, names)
    monkeypatch.setattr("tagreg.api.repository.cores", lambda: 2)
    r = Repository(repo.path)
    r.prefetch()
    assert len(r._pending[""]) == 2
    assert r.tags() == Git(repo.path).tags()


def test_lean_tags_are_the_tags_without_tagger_and_message(repo):
    make_tags(repo, NAMES)
    git = Git(repo.path)
    full, lean = git.tags(), git.tags_lean()
    assert [t._replace(tagger="", tagger_email="", message="") for t in full] == lean
    assert any(t.message for t in full) and not any(t.message or t.tagger for t in lean)
