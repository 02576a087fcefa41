"""A link is pinned only when its `rev:` names one commit for good: a commit id (full or
abbreviated) or a tag of the source repository. A branch, HEAD, or anything else git resolves
(`v1.0~1`, a remote-tracking ref) moves: `link` writes it and warns, `doctor` warns (so
`doctor --strict` fails), and a link with no rev at all still reads the source's HEAD, with a
warning on every `get`. The rule is checked in the source repository, as git reads the rev there."""

from __future__ import annotations

import pytest
import yaml

from .helpers import error_line, git, ok

V1 = b"model v1\n"
V2 = b"model v2\n"


@pytest.fixture
def source_work(tmp_path):
    """models/src.bin: V1 at the annotated tag v1.0 (and the lightweight tag `light`), V2 on main."""
    work = tmp_path / "source-work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "models").mkdir()
    (work / "models" / "src.bin").write_bytes(V1)
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "v1")
    git(work, "tag", "-a", "v1.0", "-m", "release 1.0")
    git(work, "tag", "light")
    (work / "models" / "src.bin").write_bytes(V2)
    git(work, "commit", "-q", "-am", "v2")
    # a branch whose name spells the start of v1.0's commit id: git reads the branch
    git(work, "branch", git(work, "rev-parse", "v1.0^{commit}")[:8], "main")
    return work


@pytest.fixture
def source(make_server, source_work):
    return make_server(source=source_work, name="source")


def v1_id(source_work, length: int = 40) -> str:
    return git(source_work, "rev-parse", "v1.0^{commit}").strip()[:length]


PINNED = {"annotated tag": "v1.0", "lightweight tag": "light", "full tag ref": "refs/tags/v1.0",
          "commit id": 40, "abbreviated commit id": 7}
MOVING = {"branch": ("main", "is a branch"), "HEAD": ("HEAD", "names the checked-out commit"),
          "relative": ("v1.0~0", "is neither a tag nor a commit id"),
          "branch named like a commit id": (8, "is a branch")}


def _rev(source_work, rev) -> str:
    return v1_id(source_work, rev) if isinstance(rev, int) else rev


def _doctor(repo, *args) -> tuple[int, list[str]]:
    proc = repo.run("doctor", *args)
    assert "Traceback" not in proc.stderr
    return proc.returncode, [line for line in proc.stdout.splitlines() if line.startswith(("❌", "⚠️"))]


@pytest.mark.parametrize("kind", list(PINNED))
def test_a_pinned_rev_links_quietly_and_passes_doctor_strict(repo, source, source_work, kind):
    rev = _rev(source_work, PINNED[kind])
    result = repo.run("link", source.url, "models/src.bin", "m", "--rev", rev, "--commit")
    ok(result)
    assert result.stderr == ""
    assert _doctor(repo, "--strict") == (0, [])


@pytest.mark.parametrize("kind", list(MOVING))
def test_a_moving_rev_is_linked_with_a_warning_and_flagged_by_doctor(repo, source, source_work, kind):
    rev, reason = MOVING[kind]
    rev = _rev(source_work, rev)
    result = repo.run("link", source.url, "models/src.bin", "m", "--rev", rev, "--commit")
    ok(result)
    assert yaml.safe_load((repo.path / "artifacts.yaml").read_text())["m"]["rev"] == rev  # written as asked
    assert result.stderr.splitlines() == [
        f"⚠️ rev '{rev}' {reason} in {source.url}: the link moves with it, and `get` delivers whatever it "
        "names then; pin a tag or a commit id for a fixed artifact"]

    code, problems = _doctor(repo)
    assert code == 0  # a warning: the link works
    assert problems == [f"⚠️ m: link to '{source.url}': rev '{rev}' {reason} there, so the link moves with it: "
                        "pin a tag or a commit id (`tagreg link ... --rev REV`)"]
    assert _doctor(repo, "--strict") == (1, problems)


def test_the_rule_is_read_in_a_local_source_too(repo, source_work):
    """A local folder as the source: its own branches and tags, as git reads them there."""
    result = repo.run("link", str(source_work), "models/src.bin", "m", "--rev", "main", "--commit")
    ok(result)
    assert "rev 'main' is a branch in" in result.stderr
    git(source_work, "update-ref", "refs/remotes/origin/main", "main")
    result = repo.run("link", str(source_work), "models/src.bin", "o", "--rev", "origin/main", "--commit")
    ok(result)
    assert "rev 'origin/main' is the ref refs/remotes/origin/main (not a tag) in" in result.stderr
    ok(repo.run("link", str(source_work), "models/src.bin", "n", "--rev", "v1.0", "--commit"))
    code, problems = _doctor(repo, "--strict")
    assert code == 1 and [p.split(":")[0] for p in problems] == ["⚠️ m", "⚠️ o"]


def test_a_link_on_a_remote_registry_warns_too(make_server, source, repo, work):
    central = make_server(source=repo.path, name="central")
    result = repo.run("link", source.url, "models/src.bin", "m", "--rev", "main", "-r", central.url)
    ok(result)
    assert f"rev 'main' is a branch in {source.url}" in result.stderr


def test_a_missing_rev_is_still_refused(repo, source):
    assert "nosuch" in error_line(repo.run("link", source.url, "models/src.bin", "m", "--rev", "nosuch"))
    assert not (repo.path / "artifacts.yaml").exists()


def test_get_through_a_link_without_rev_reads_head_and_says_so(repo, source, tmp_path):
    (repo.path / "artifacts.yaml").write_text(yaml.safe_dump({"m": {"path": "models/src.bin", "repo": source.url}}))
    repo.git("add", "artifacts.yaml")
    repo.git("commit", "-q", "-m", "an unpinned link, by hand")
    ok(repo.run("register", "m"))

    result = repo.run("get", "m@v0.0.1", "-o", str(tmp_path / "got.bin"))
    ok(result)
    assert (tmp_path / "got.bin").read_bytes() == V2  # the source's HEAD, as before
    assert result.stderr.splitlines() == [
        f"⚠️ the link of 'm' has no rev: reading HEAD of {source.url}, which moves (pin a tag or a commit id "
        "with `tagreg link ... --rev REV`)"]
    code, problems = _doctor(repo)
    assert code == 1 and len(problems) == 1 and "has no pinned rev" in problems[0]
