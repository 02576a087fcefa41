"""Links: a central registry lists artifacts whose files live in other repositories; get, describe
and check-ref follow the link; `doctor --strict` fails on unpinned or broken links."""

from __future__ import annotations

import pytest
import yaml

from .helpers import error_line, files_under, git, ok, tagreg

SOURCE_V1 = b"\x89source model v1\x00\xff"
SOURCE_V2 = b"\x89source model v2\x00\xff"


@pytest.fixture
def source(make_server, tmp_path):
    """A source repository (served): models/src.bin at tag v1.0, changed afterwards on main."""
    work = tmp_path / "source-work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "models").mkdir()
    (work / "models" / "src.bin").write_bytes(SOURCE_V1)
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "v1")
    git(work, "tag", "-a", "v1.0", "-m", "release 1.0")
    (work / "models" / "src.bin").write_bytes(SOURCE_V2)
    git(work, "commit", "-q", "-am", "v2")
    return make_server(source=work, name="source")


def _commit_artifacts(repo, data: dict) -> None:
    (repo.path / "artifacts.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    repo.git("add", "artifacts.yaml")
    repo.git("commit", "-q", "-m", "links by hand")


def test_link_register_assign_and_get_through_the_link(repo, source, tmp_path):
    out = ok(repo.run("link", source.url, "models/src.bin", "churn", "--rev", "v1.0", "--type", "model",
                      "--commit"))
    assert "Linked 'churn'" in out and "committed it as" in out
    assert repo.git("status", "--porcelain").strip() == ""
    data = yaml.safe_load((repo.path / "artifacts.yaml").read_text())
    assert data["churn"] == {"type": "model", "path": "models/src.bin", "repo": source.url, "rev": "v1.0"}

    ok(repo.run("register", "churn"))
    ok(repo.run("assign", "churn", "--stage", "prod", "--version", "v0.0.1"))

    out = ok(repo.run("get", "churn#prod", "-o", str(tmp_path / "got" / "src.bin")))
    assert (tmp_path / "got" / "src.bin").read_bytes() == SOURCE_V1  # the pinned rev, not the source's HEAD
    assert source.url in out
    v1 = source.rev("v1.0")
    assert ok(repo.run("get", "churn#prod", "--print-rev")) == v1 + "\n"
    assert ok(repo.run("get", "churn#prod", "--print-path")) == "models/src.bin\n"

    described = yaml.safe_load(ok(repo.run("describe", "churn#prod")))
    assert described["repo"] == source.url and described["rev"] == "v1.0"
    assert described["path"] == "models/src.bin"
    assert ok(repo.run("check-ref", "churn#prod#1", "--path")) == "models/src.bin\n"
    assert ok(repo.run("check-ref", "churn@v0.0.1", "--path")) == "models/src.bin\n"
    assert ok(repo.run("doctor", "--strict")).rstrip().endswith("No issues found")

    from tagreg import api

    assert api.open("churn", stage="prod", repo=str(repo.path)).read() == SOURCE_V1


def test_link_on_a_remote_registry(make_server, source, repo, work, tmp_path):
    central = make_server(source=repo.path, name="central")
    main = central.rev("main")
    # A remote registry links over the network (a file:// link would read the reader's disk).
    ok(tagreg(work, "link", source.url, "models/src.bin", "churn", "--rev", "v1.0", "-r", central.url))
    assert central.rev("main^") == main  # committed on the server's default branch, and pushed
    assert yaml.safe_load(central.show("main:artifacts.yaml"))["churn"]["rev"] == "v1.0"
    ok(tagreg(work, "register", "churn", "-r", central.url))
    ok(tagreg(work, "get", "churn@latest", "-r", central.url))
    assert files_under(work) == {"src.bin": SOURCE_V1}


def test_link_to_a_missing_path_is_refused(repo, source):
    line = error_line(repo.run("link", source.url, "models/nope.bin", "churn", "--rev", "v1.0", "--commit"))
    assert "models/nope.bin" in line
    assert not (repo.path / "artifacts.yaml").exists()
    assert repo.git("rev-list", "--count", "HEAD").strip() == "1"


def _doctor_problems(repo) -> tuple[int, list[str]]:
    proc = repo.run("doctor", "--strict")
    assert "Traceback" not in proc.stderr
    return proc.returncode, [line for line in proc.stdout.splitlines() if line.startswith(("❌", "⚠️"))]


GOOD = {"path": "models/src.bin", "rev": "v1.0"}
BROKEN = {
    "unpinned": ({"path": "models/src.bin"}, "rev"),
    "no-repo": ({"path": "models/src.bin", "rev": "v1.0", "repo": "NOREPO"}, "does-not-exist"),
    "no-rev": ({"path": "models/src.bin", "rev": "v9.9"}, "v9.9"),
    "no-path": ({"path": "models/missing.bin", "rev": "v1.0"}, "models/missing.bin"),
}


def _link(source, daemon, fields: dict) -> dict:
    out = {"type": "model", "repo": source.url, **fields}
    if out["repo"] == "NOREPO":
        out["repo"] = daemon.url("does-not-exist.git")
    return out


@pytest.mark.parametrize("problem", list(BROKEN))
def test_doctor_strict_fails_on_a_broken_link(repo, source, daemon, problem):
    fields, named = BROKEN[problem]
    if problem == "unpinned":  # made by `link`, then the rev dropped by hand
        ok(repo.run("link", source.url, "models/src.bin", problem, "--rev", "v1.0", "--commit"))
        data = yaml.safe_load((repo.path / "artifacts.yaml").read_text())
        del data[problem]["rev"]
    else:
        data = {problem: _link(source, daemon, fields)}
    _commit_artifacts(repo, data)

    code, problems = _doctor_problems(repo)

    assert code == 1
    assert len(problems) == 1, problems
    assert problem in problems[0] and named in problems[0], problems[0]


def test_doctor_strict_reports_each_broken_link_on_its_own_line(repo, source, daemon):
    data = {name: _link(source, daemon, fields) for name, (fields, _) in BROKEN.items()}
    data["good"] = _link(source, daemon, GOOD)
    _commit_artifacts(repo, data)

    code, problems = _doctor_problems(repo)

    assert code == 1
    assert len(problems) == len(BROKEN), problems
    for name, (_, named) in BROKEN.items():
        [line] = [p for p in problems if f"{name}:" in p]
        assert named in line
    assert not [p for p in problems if "good" in p]


def test_doctor_strict_passes_on_a_good_link(repo, source, daemon):
    _commit_artifacts(repo, {"good": _link(source, daemon, GOOD)})
    ok(repo.run("register", "good"))
    code, problems = _doctor_problems(repo)
    assert (code, problems) == (0, [])
