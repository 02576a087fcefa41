"""Hostile repository content: YAML bombs, bad files in history, paths that leave the repository,
values of the wrong type. A bad file costs only the commit it is in; a write never leaves the repo."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import pytest

from tagreg import api

TIMEOUT = 20  # seconds: the old code hung for minutes on a bomb; fail fast instead
MEMORY = 1 << 30  # bytes of address space for a command: a bomb dies of MemoryError, not the machine


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def tagreg(cwd, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m tagreg ARGS` with a deadline and a memory ceiling."""
    try:
        return subprocess.run([sys.executable, "-m", "tagreg", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT, preexec_fn=_limit_memory, env={**os.environ, **(env or {})},
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tagreg {' '.join(args)} did not finish in {TIMEOUT} s")


def ok(cwd, *args: str) -> subprocess.CompletedProcess:
    result = tagreg(cwd, *args)
    assert result.returncode == 0, f"tagreg {' '.join(args)}:\n{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr and "Unexpected error" not in result.stderr
    return result


def one_line_error(cwd, *args: str) -> str:
    result = tagreg(cwd, *args)
    assert result.returncode == 1, f"tagreg {' '.join(args)} should fail:\n{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr and "Unexpected error" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("❌")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def warnings(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("⚠")]


def commit(repo, message: str, files: dict[str, str | bytes]) -> str:
    for name, content in files.items():
        target = repo.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        repo.git("add", name)
    repo.git("commit", "-q", "-m", message)
    return repo.git("rev-parse", "HEAD").strip()


GOOD = "m:\n  type: model\n  path: model.pkl\n"


def bomb(field: str, indent: str = "  ") -> str:
    """A 'billion laughs': nine aliases deep, 9**9 leaves once expanded, a few hundred bytes."""
    anchors = ['&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    anchors += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return f"{indent}path: model.pkl\n{indent}x-anchors: [{', '.join(anchors)}]\n{indent}{field}: *a8\n"


def history(repo, bad_file: str, bad: str | bytes) -> dict[str, str]:
    """m@v1.0.0 (in prod) at a good commit, m@v1.1.0 at a commit whose bad_file holds bad."""
    good = commit(repo, "good", {"artifacts.yaml": GOOD, "model.pkl": "weights\n"})
    repo.tag("m@v1.0.0", "HEAD", "Registering artifact m version v1.0.0")
    repo.tag("m#prod#1", "HEAD", "Assigning stage prod to artifact m version v1.0.0")
    files = {bad_file: bad}
    if bad_file != "artifacts.yaml":
        files["artifacts.yaml"] = ""
    broken = commit(repo, "bad", files)
    repo.tag("m@v1.1.0", "HEAD", "Registering artifact m version v1.1.0")
    return {"good": good, "bad": broken}


# -- YAML bombs ------------------------------------------------------------------------------


BOMBS = {
    "custom": ("artifacts.yaml", "m:\n" + bomb("custom")),
    "labels": ("artifacts.yaml", "m:\n" + bomb("labels")),
    "description": ("artifacts.yaml", "m:\n" + bomb("description")),
    "dvc meta": ("dvc.yaml", "artifacts:\n  m:\n" + bomb("meta", "    ")),
}


@pytest.fixture(params=list(BOMBS))
def bombed(request, repo):
    """The bomb is at m@v1.1.0's commit, which is HEAD."""
    file, text = BOMBS[request.param]
    repo.shas = history(repo, file, text)
    repo.bad_file = file
    return repo


def test_a_bomb_is_refused_quickly_and_costs_only_its_commit(bombed):
    shown = ok(bombed.path, "show", "m", "--json")
    assert [v["version"] for v in json.loads(shown.stdout)] == ["v1.1.0", "v1.0.0"]
    [warning] = warnings(shown)
    assert bombed.bad_file in warning and bombed.shas["bad"][:7] in warning
    events = ok(bombed.path, "events", "--json")
    annotations = {e["tag"]: e["annotation"] for e in json.loads(events.stdout)}
    assert annotations["m@v1.0.0"]["path"] == "model.pkl"
    assert annotations["m@v1.1.0"] is None
    assert ok(bombed.path, "which", "m", "prod").stdout == "v1.0.0\n"


@pytest.fixture
def custom_bomb(repo):
    repo.shas = history(repo, "artifacts.yaml", BOMBS["custom"][1])
    return repo


@pytest.mark.parametrize("args, out", [
    (["show"], "m"),
    (["show", "m"], "v1.0.0"),
    (["describe", "m@v1.0.0", "--path"], "model.pkl"),
    (["check-ref", "m@v1.1.0", "--json"], "registration"),
    (["events"], "m@v1.1.0"),
    (["get", "m#prod", "--print-path"], "model.pkl"),
    (["which", "m", "prod"], "v1.0.0"),
    (["history"], "m@v1.1.0"),
    (["latest", "m"], "v1.1.0"),
])
def test_every_read_survives_a_bomb(custom_bomb, args, out):
    result = ok(custom_bomb.path, *args)
    assert out in result.stdout


def test_a_bomb_at_the_work_tree_is_one_clear_line(custom_bomb):
    line = one_line_error(custom_bomb.path, "describe", "m")
    assert "artifacts.yaml" in line and "aliases expand it to more than" in line
    assert "not valid YAML" not in line, "a bound is said in its own words"
    line = one_line_error(custom_bomb.path, "annotate", "m", "--type", "model")
    assert "artifacts.yaml" in line
    assert ok(custom_bomb.path, "get", "m@v1.0.0", "-o", "out.pkl").returncode == 0
    assert (custom_bomb.path / "out.pkl").read_text() == "weights\n"


def test_doctor_reports_a_bomb(custom_bomb):
    result = tagreg(custom_bomb.path, "doctor")
    assert "Traceback" not in result.stderr
    assert any("artifacts.yaml" in line and custom_bomb.shas["bad"][:7] in line and "alias" in line
               for line in result.stdout.splitlines()), result.stdout


def test_a_bomb_in_the_config_is_one_clear_line(repo):
    commit(repo, "config", {".gto": bomb("enrichments", indent="").replace("path: model.pkl\n", "")})
    line = one_line_error(repo.path, "show")
    assert ".gto" in line


API_READ = """
import json, sys
from tagreg import api
r = api.Repository(sys.argv[1])
versions = api.show(r, "m")
print(json.dumps({"paths": {v.version: v.annotation.path if v.annotation else None for v in versions},
                  "warnings": [[w.file, w.commit, w.reason] for w in r.warnings]}))
"""


def test_the_api_reads_around_a_bomb(custom_bomb):
    try:  # in a process of its own, with a deadline and a memory ceiling, as the CLI's
        proc = subprocess.run([sys.executable, "-c", API_READ, str(custom_bomb.path)], capture_output=True,
                              text=True, timeout=TIMEOUT, preexec_fn=_limit_memory, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the API read did not finish in {TIMEOUT} s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout)
    assert found["paths"] == {"v1.0.0": "model.pkl", "v1.1.0": None}
    [[file, sha, reason]] = found["warnings"]
    assert (file, sha) == ("artifacts.yaml", custom_bomb.shas["bad"])
    assert "alias" in reason


def test_the_cache_keeps_a_bomb_s_reason_not_its_expansion(custom_bomb, tmp_path):
    cache = tmp_path / "cache"
    for _ in range(2):  # the second run reads the reason from the cache: the same warning
        result = tagreg(custom_bomb.path, "show", "m", env={"TAGREG_CACHE_DIR": str(cache)})
        assert result.returncode == 0 and len(warnings(result)) == 1 and "alias" in warnings(result)[0]
    stored = list((cache / "annotations").iterdir())
    assert stored and all(entry.stat().st_size < 4096 for entry in stored)


def test_a_huge_blob_is_counted_through_not_held(repo):
    from tagreg.git import Git

    big = "m:\n  path: model.pkl\n  description: '" + "x" * (3 << 20) + "'\n"
    shas = history(repo, "artifacts.yaml", big)
    found = Git(repo.path).read_objects_within([f"{shas['bad']}:artifacts.yaml", f"{shas['good']}:artifacts.yaml",
                                                shas["good"], "HEAD:missing"], 1 << 20)
    assert found[f"{shas['bad']}:artifacts.yaml"] == len(big)
    assert found[f"{shas['good']}:artifacts.yaml"] == GOOD.encode()
    assert found[shas["good"]].startswith(b"tree ") and found["HEAD:missing"] is None
    result = ok(repo.path, "show", "m")
    assert any("larger than" in line and shas["bad"][:7] in line for line in warnings(result)), result.stderr


def test_bounds_can_be_raised(repo):
    text = "m:\n  path: model.pkl\n  custom: " + "[" * 120 + "]" * 120 + "\n"
    commit(repo, "deep", {"artifacts.yaml": text})
    assert "nested more than 100" in one_line_error(repo.path, "describe", "m")
    result = tagreg(repo.path, "describe", "m", "--path", env={"TAGREG_YAML_MAX_DEPTH": "200"})
    assert (result.returncode, result.stdout) == (0, "model.pkl\n")


@pytest.mark.parametrize("text", [
    "m:\n  path: model.pkl\n  custom:\n" + "".join("  " * (i + 2) + "a:\n" for i in range(150)) + "  " * 152 + "x\n",
    "m:\n  path: model.pkl\n  custom: " + "[" * 990 + "]" * 990 + "\n",
    "m:\n  path: model.pkl\n  custom: &loop [*loop]\n",
    "m:\n  path: model.pkl\n  custom: '" + "x" * (1 << 20) + "'\n",
])
def test_deep_recursive_and_big_files_cost_only_their_commit(repo, text):
    shas = history(repo, "artifacts.yaml", text)
    result = ok(repo.path, "show", "m", "--json")
    assert len(json.loads(result.stdout)) == 2
    assert any(shas["bad"][:7] in line for line in warnings(result)), result.stderr
    line = one_line_error(repo.path, "describe", "m")
    assert "artifacts.yaml" in line


def test_ordinary_aliases_still_work(repo):
    text = ("defaults: &defaults\n  type: model\n  labels: [a, b]\n"
            "m:\n  <<: *defaults\n  path: model.pkl\n  custom: {shared: &s [1, 2, 3], again: *s}\n")
    commit(repo, "aliases", {"artifacts.yaml": text})
    result = ok(repo.path, "describe", "m", "--json")
    assert json.loads(result.stdout) == {"type": "model", "path": "model.pkl", "labels": ["a", "b"],
                                         "custom": {"shared": [1, 2, 3], "again": [1, 2, 3]},
                                         "source": "artifacts.yaml"}


# -- one bad file is one bad file -------------------------------------------------------------


BAD_FILES = {
    "invalid utf-8": b"m:\n  path: \xff\xfe model.pkl\n",
    "invalid yaml": "m:\n  path: [unclosed\n",
    "not a mapping": "- a\n- b\n",
    "bad name": "a:b:\n  path: x\n",
}


@pytest.fixture(params=list(BAD_FILES))
def bad_history(request, repo):
    """m@v1.1.0's commit has a bad artifacts.yaml; HEAD (a later commit) is good again."""
    repo.shas = history(repo, "artifacts.yaml", BAD_FILES[request.param])
    commit(repo, "fixed", {"artifacts.yaml": GOOD})
    return repo


def test_a_bad_file_in_history_costs_only_its_commit(bad_history):
    path, bad = bad_history.path, bad_history.shas["bad"][:7]
    assert ok(path, "which", "m", "prod").stdout == "v1.0.0\n"
    assert ok(path, "check-ref", "m@v1.0.0", "--path").stdout == "model.pkl\n"
    checked = ok(path, "check-ref", "m@v1.1.0", "--json")
    assert json.loads(checked.stdout)["version"] == "v1.1.0"
    shown = ok(path, "show", "m")
    assert "v1.1.0" in shown.stdout and "v1.0.0" in shown.stdout
    [warning] = warnings(shown)  # once, though the commit was read for two purposes
    assert "artifacts.yaml" in warning and bad in warning
    assert ok(path, "describe", "m@v1.0.0", "--path").stdout == "model.pkl\n"
    assert "No annotation found" in one_line_error(path, "describe", "m@v1.1.0")
    assert ok(path, "describe", "m", "--path").stdout == "model.pkl\n"  # the work tree is good
    events = json.loads(ok(path, "events", "--json").stdout)
    assert {e["tag"]: e["annotation"] is not None for e in events} == \
        {"m@v1.0.0": True, "m#prod#1": True, "m@v1.1.0": False}
    assert ok(path, "get", "m@v1.0.0", "--print-path").stdout == "model.pkl\n"
    assert "m@v1.1.0" in ok(path, "history").stdout
    doctor = tagreg(path, "doctor")
    assert any("artifacts.yaml" in line and bad in line for line in doctor.stdout.splitlines()), doctor.stdout


def test_the_api_carries_the_warning(bad_history):
    r = api.Repository(bad_history.path)
    found = api.which(r, "m", "prod")
    assert found is not None and found.version == "v1.0.0"
    api.show(r, "m")
    assert [(w.file, w.commit) for w in r.warnings] == [("artifacts.yaml", bad_history.shas["bad"])]


def test_a_bad_file_at_head_warns_and_the_table_shows(repo):
    shas = history(repo, "artifacts.yaml", BAD_FILES["invalid utf-8"])
    result = ok(repo.path, "show")
    assert "m" in result.stdout
    [warning] = warnings(result)
    assert shas["bad"][:7] in warning
    again = ok(repo.path, "show")  # from the view cache: the warning still shows
    assert warnings(again) == [warning]


def test_annotate_refuses_a_bad_work_tree_file(repo):
    history(repo, "artifacts.yaml", BAD_FILES["invalid utf-8"])
    before = (repo.path / "artifacts.yaml").read_bytes()
    assert "artifacts.yaml" in one_line_error(repo.path, "annotate", "m", "--type", "model")
    assert "artifacts.yaml" in one_line_error(repo.path, "remove", "m")
    assert "artifacts.yaml" in one_line_error(repo.path, "describe", "m")
    assert (repo.path / "artifacts.yaml").read_bytes() == before


def test_annotate_on_another_branch_refuses_a_bad_file(repo):
    history(repo, "artifacts.yaml", BAD_FILES["invalid utf-8"])
    repo.git("checkout", "-q", "-b", "other", "m@v1.0.0")
    line = one_line_error(repo.path, "annotate", "m", "--type", "model", "--rev", "main")
    assert "artifacts.yaml" in line


# -- writes stay inside the repository ---------------------------------------------------------


@pytest.mark.parametrize("index", ["../victim.yaml", "{tmp}/victim.yaml", ".git/config", "a/../../x.yaml"])
def test_an_index_outside_the_repository_is_refused(repo, tmp_path, index):
    commit(repo, "config", {".gto": f"index: {index.format(tmp=tmp_path)}\n"})
    config = (repo.path / ".git" / "config").read_text()
    line = one_line_error(repo.path, "annotate", "m", "--path", "x")
    assert "index" in line
    assert not (tmp_path / "victim.yaml").exists()
    assert not (tmp_path / "x.yaml").exists()
    assert (repo.path / ".git" / "config").read_text() == config


@pytest.mark.parametrize("name", ["../victim:m", "sub/./x:m", ".git:m", "a/.git:m", "sub/../..:m",
                                  ".GIT/hooks:m"])
def test_a_name_outside_the_repository_is_refused(repo, tmp_path, name):
    (tmp_path / "victim").mkdir()
    line = one_line_error(repo.path, "annotate", name, "--path", "x")
    assert "dvc.yaml" in line or "Invalid value" in line
    assert not (tmp_path / "victim" / "dvc.yaml").exists()
    assert not (repo.path / ".git" / "dvc.yaml").exists() and not (repo.path / "a").exists()
    line = one_line_error(repo.path, "annotate", name, "--path", "x", "--rev", "main", "--commit")
    assert repo.git("log", "--oneline").count("\n") == 1  # no commit was made on main


def test_a_symlinked_folder_out_of_the_repository_is_refused(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo.path / "sub").symlink_to(outside)
    line = one_line_error(repo.path, "annotate", "sub:m", "--path", "x")
    assert "sub/dvc.yaml" in line
    assert not (outside / "dvc.yaml").exists()


def test_a_symlinked_annotation_file_out_of_the_repository_is_refused(repo, tmp_path):
    victim = tmp_path / "victim.yaml"
    victim.write_text("precious: {}\n")
    (repo.path / "artifacts.yaml").symlink_to(victim)
    line = one_line_error(repo.path, "annotate", "m", "--path", "x")
    assert "artifacts.yaml" in line
    assert victim.read_text() == "precious: {}\n"


def test_a_symlinked_folder_inside_the_repository_is_fine(repo):
    (repo.path / "real").mkdir()
    (repo.path / "sub").symlink_to("real")
    ok(repo.path, "annotate", "sub:m", "--path", "x")
    assert "m:" in (repo.path / "real" / "dvc.yaml").read_text()


# -- values of the wrong type ------------------------------------------------------------------


WRONG = {
    "repo number": "m:\n  path: model.pkl\n  repo: 12345\n",
    "path with NUL": 'm:\n  path: "model\\0.pkl"\n',
    "labels number": "m:\n  path: model.pkl\n  labels: 5\n",
    "labels nested": "m:\n  path: model.pkl\n  labels: [[a]]\n",
    "type list": "m:\n  path: model.pkl\n  type: [a, b]\n",
    "description mapping": "m:\n  path: model.pkl\n  description: {a: 1}\n",
    "rev list": "m:\n  path: model.pkl\n  repo: https://example.com/x.git\n  rev: [1]\n",
    "entry list": "m: [1, 2]\n",
}


@pytest.mark.parametrize("text", list(WRONG.values()), ids=list(WRONG))
def test_a_value_of_the_wrong_type_in_history_is_a_warning(repo, text):
    shas = history(repo, "artifacts.yaml", text)
    commit(repo, "fixed", {"artifacts.yaml": GOOD})
    result = ok(repo.path, "show", "m")
    assert any(shas["bad"][:7] in line for line in warnings(result)), result.stderr
    line = one_line_error(repo.path, "get", "m@v1.1.0", "--print-path")
    assert "no annotated path" in line
    assert ok(repo.path, "get", "m@v1.0.0", "--print-path").stdout == "model.pkl\n"


@pytest.mark.parametrize("text", list(WRONG.values()), ids=list(WRONG))
def test_a_value_of_the_wrong_type_in_the_work_tree_is_one_clear_line(repo, text):
    commit(repo, "wrong", {"artifacts.yaml": text})
    assert "artifacts.yaml" in one_line_error(repo.path, "describe", "m")


@pytest.mark.parametrize("config", ["index: [a, b]\n", "index: 'a\\0b'\n", "stages: 5\n", "enrichments: 5\n"])
def test_a_config_value_of_the_wrong_type_is_one_clear_line(repo, config):
    commit(repo, "config", {".gto": config})
    assert ".gto" in one_line_error(repo.path, "show")


# -- the operator's own YAML files go through the same loader ----------------------------------


@pytest.mark.parametrize("content, reason", [
    (b"repos: [\xff]\n", "UTF-8"),
    (bomb("repos", indent="").replace("path: model.pkl\n", "").encode(), "alias"),
])
def test_registries_yaml_is_read_within_bounds(tmp_path, content, reason):
    from tagreg.server import settings as S

    (tmp_path / "registries.yaml").write_bytes(content)
    with pytest.raises(S.SettingsError) as caught:
        S.load("registries.yaml", cwd=tmp_path)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("content, reason", [
    (b"repos: [\xff]\n", "UTF-8"),
    (bomb("repos", indent="").replace("path: model.pkl\n", "").encode(), "alias"),
])
def test_watch_yaml_is_read_within_bounds(tmp_path, content, reason):
    (tmp_path / "watch.yaml").write_bytes(content)
    line = one_line_error(tmp_path, "watch", "--once", "--config", "watch.yaml")
    assert reason in line


@pytest.mark.parametrize("fields", [{"path": "model\0.pkl"}, {"path": "a\nb"}, {"path": 5}, {"description": ["x"]}])
def test_the_api_refuses_values_that_could_not_be_read_back(repo, fields):
    from tagreg.errors import UserError

    with pytest.raises(UserError, match="must be"):
        api.annotate(repo.path, "m", **fields)
    assert not (repo.path / "artifacts.yaml").exists()
