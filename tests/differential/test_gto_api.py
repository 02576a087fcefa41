"""`tagreg.gto.api` against GTO 1.10.1's `gto.api`: the same calls on the same repositories give
the same answers (objects field by field, with their properties and dumps; dicts as dicts, key
order included) and the same exceptions (class names, hierarchy and messages).

Reads run on repositories made with plain git (tags as GTO writes them, dated a minute apart):
a registry with every kind of event, one with a `.gto` config, an empty one, one without tags,
a folder that is no repository, a missing path, and a `file://` URL of a bare clone. Writes run
on twin repositories (the same commits, so the same shas): every call once through gto in its
venv (`_gto_api_driver.py`, which also sets the tagger date gto writes) and once through
`tagreg.gto.api` in this process (GIT_COMMITTER_DATE); their answers, the tags each wrote and
the registries they leave must agree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

import tagreg.gto.api
import tagreg.gto.constants
import tagreg.gto.exceptions

from ._gto_api_driver import run_calls
from .harness import IDENTITY, TAG_BASE, clean_env, git, make_home, read_tags

pytestmark = pytest.mark.differential

DRIVER = Path(__file__).with_name("_gto_api_driver.py")
COMMIT_BASE = 1735689600  # 2025-01-01T00:00:00Z


def P(key: str) -> dict:
    """The repository (path or URL) named key, in a call."""
    return {"$path": key}


def SORT(value: str) -> dict:
    return {"$enum": "VersionSort", "value": value}


class Call:
    """One call of a `gto.api` function, with the time of the tags it writes."""

    def __init__(self, fn: str, *args, time: int | None = None, module: str = "api", **kwargs):
        self.fn, self.args, self.kwargs, self.time, self.module = fn, list(args), kwargs, time, module

    def to_json(self) -> dict:
        return {"fn": self.fn, "args": self.args, "kwargs": self.kwargs, "time": self.time, "module": self.module}

    @property
    def id(self) -> str:
        def shown(value):
            if isinstance(value, dict) and "$path" in value:
                return value["$path"]
            if isinstance(value, dict) and "$enum" in value:
                return value["value"]
            return repr(value)
        parts = [shown(a) for a in self.args] + [f"{k}={shown(v)}" for k, v in self.kwargs.items()]
        where = "" if self.module == "api" else f"{self.module}."
        return f"{where}{self.fn}({', '.join(parts)})"


# -- repositories ------------------------------------------------------------------------------


class Builder:
    """A repository made with plain git: commits with fixed dates (the same shas in every copy) and
    annotated tags dated a minute apart."""

    def __init__(self, path: Path, env: dict, bare: bool = False):
        self.path, self.env, self.commits, self.clock = path, env, 0, TAG_BASE - 86400
        path.mkdir(parents=True)
        git(path, "init", "-q", *(["--bare"] if bare else []), env=env)

    def commit(self, message: str, files: dict | None = None) -> str:
        for name, content in (files or {}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            git(self.path, "add", name, env=self.env)
        self.commits += 1
        when = f"{COMMIT_BASE + self.commits * 86400} +0100"
        git(self.path, "commit", "-q", "--allow-empty", "-m", message,
            env={**self.env, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when,
                 "GIT_AUTHOR_NAME": "Alice Author", "GIT_AUTHOR_EMAIL": "alice@example.com"})
        return git(self.path, "rev-parse", "HEAD", env=self.env).strip()

    def tag(self, name: str, message: str | None, ref: str = "HEAD") -> None:
        self.clock += 60
        if message is None:
            git(self.path, "tag", name, ref, env=self.env)
        else:
            git(self.path, "tag", "-a", name, "-m", message, ref,
                env={**self.env, "GIT_COMMITTER_DATE": f"{self.clock} +0000"})


M_V1 = "m:\n  type: model\n  path: models/m.pkl\n  labels: [tabular, prod-ready]\n  description: First\n" \
       "  custom: {owner: risk}\n"
M_V2 = M_V1.replace("First", "Second")
HEAD_INDEX = M_V2 + "rf:\n  type: model\n  path: rf.pkl\n"


def build_main(b: Builder) -> None:
    """m: v0.0.1 (c1), v0.1.0 (c2), v1.0.0-rc.1 (c3, deregistered); prod assigned v0.0.1, then
    v0.1.0, then v0.0.1 again (by time v0.0.1 wins, by SemVer v0.1.0); dev assigned and
    unassigned; staging. old: deprecated. dir/sub:clf: a monorepo name. sr: a commit assigned
    without a version. rf: annotated at HEAD only. Plus a foreign and a lightweight tag."""
    b.commit("c1", {"artifacts.yaml": M_V1})
    b.tag("m@v0.0.1", "Registering artifact m version v0.0.1")
    b.tag("m#prod#1", "Assigning stage prod to artifact m version v0.0.1")
    b.tag("m#dev#2", "Assigning stage dev to artifact m version v0.0.1")
    b.tag("old@v0.0.1", "Registering artifact old version v0.0.1")
    b.tag("old#prod#1", "Assigning stage prod to artifact old version v0.0.1")
    b.commit("c2", {"artifacts.yaml": M_V2})
    b.tag("m@v0.1.0", "Registering artifact m version v0.1.0")
    b.tag("m#staging#3", "Assigning stage staging to artifact m version v0.1.0")
    b.tag("m#prod#4", "Assigning stage prod to artifact m version v0.1.0")
    b.tag("dir/sub=clf@v1.0.0", "Registering artifact dir/sub:clf version v1.0.0")
    b.tag("dir/sub=clf#prod#1", "Assigning stage prod to artifact dir/sub:clf version v1.0.0")
    head = git(b.path, "rev-parse", "HEAD", env=b.env).strip()
    b.tag("sr#dev#1", f"Assigning stage dev to artifact sr version {head}")
    b.tag("old@deprecated", "Deprecating artifact 'old'", "HEAD~1")
    b.commit("c3", {"artifacts.yaml": HEAD_INDEX})
    b.tag("m@v1.0.0-rc.1", "Registering artifact m version v1.0.0-rc.1")
    b.tag("m#prod#5", "Assigning stage prod to artifact m version v0.0.1", "HEAD~2")
    b.tag("m#dev!#6", "Unassigning stage 'dev' to artifact 'm' version 'v0.0.1'", "HEAD~2")
    b.tag("m@v1.0.0-rc.1!", "Deregistering artifact m version v1.0.0-rc.1")
    b.tag("v1.0.0", "an app release, not a registry tag")
    b.tag("lw@v1.0.0", None)


def build_config(b: Builder) -> None:
    b.commit("c1", {".gto": "stages: [dev, prod]\n"})
    b.tag("c@v0.0.1", "Registering artifact c version v0.0.1")
    b.tag("c#prod#1", "Assigning stage prod to artifact c version v0.0.1")


# Every exception of gto.exceptions, with arguments for its constructor.
EXCEPTIONS = [
    ("GTOException", ["a message"]), ("GTOException", [""]), ("NotFound", ["x"]), ("NoRepo", ["/p"]),
    ("WrongConfig", ["/p/.gto"]), ("WrongArtifactsYaml", []), ("NoFile", ["p"]), ("UnknownType", ["t", ["a", "b"]]),
    ("ArtifactExists", ["n"]), ("ArtifactNotFound", ["n"]), ("PathIsUsed", ["t", "n", "p"]),
    ("VersionRequired", ["n"]), ("ManyVersions", ["n", ["v1", "v2"]]), ("VersionAlreadyRegistered", ["v1"]),
    ("VersionExistsForCommit", ["m", "v1"]), ("UnknownStage", ["s", ["dev", "prod"]]),
    ("NoActiveAssignment", ["s", "n"]), ("NoStageForVersion", ["a", "v", "s"]), ("RefNotFound", ["r"]),
    ("AmbiguousArg", ["x"]), ("InvalidVersion", ["x"]), ("IncomparableVersions", ["a", "b"]),
    ("UnknownAction", ["x"]), ("MissingArg", ["x"]), ("WrongArgs", ["x"]), ("InvalidTagName", ["t"]),
    ("TagExists", ["t"]), ("TagNotFound", ["t"]), ("ValidationError", ["x"]), ("NotImplementedInGTO", ["x"]),
]

READS = [
    # the modules: functions and their parameters, exception classes and their bases
    Call("$signatures"), Call("$classes", module="exceptions"),
    *[Call(enum, value, module="constants") for enum, value in (
        ("Action", "create"), ("Action", "deprecate"), ("Action", "deregister"), ("Action", "register"),
        ("Action", "assign"), ("Action", "unassign"), ("Action", "promote"), ("VersionSort", "semver"),
        ("VersionSort", "timestamp"))],
    *[Call(name, *args, module="exceptions") for name, args in EXCEPTIONS],
    # stages
    Call("get_stages", P("main")), Call("get_stages", P("main"), allowed=True),
    Call("get_stages", P("main"), used=True),
    Call("get_stages", P("main"), True, True), Call("get_stages", P("config")),
    Call("get_stages", P("config"), allowed=True), Call("get_stages", P("config"), used=True),
    # describe
    Call("describe", P("main"), "m"), Call("describe", P("main"), "m", rev="HEAD~2"), Call("describe", P("main"), "rf"),
    Call("describe", P("main"), "m@v0.0.1"), Call("describe", P("main"), "m#prod"),
    Call("describe", P("main"), "m@latest"),
    Call("describe", P("main"), "m@v9.9.9"), Call("describe", P("main"), "m#staging"),
    Call("describe", P("main"), "m@v0.0.1", rev="HEAD"), Call("describe", P("main"), "nope"),
    Call("describe", P("main"), "m", rev="nosuchref"),
    # parse_tag
    *[Call("parse_tag", t) for t in ("m@v0.0.1", "m@v0.0.1!", "m#prod#3", "m#prod!#4", "m@deprecated",
                                     "m@deprecated#2", "m@v1.0.0#7", "dir/sub=clf@v1.0.0-rc.1+b2", "m@created",
                                     "nope", "v1.0.0", "m#prod", "refs/tags/m@v0.0.1")],
    # find_latest_version
    Call("find_latest_version", P("main"), "m"), Call("find_latest_version", P("main"), "m", all=True),
    Call("find_latest_version", P("main"), "m", registered=False),
    Call("find_latest_version", P("main"), "m", True, False),
    Call("find_latest_version", P("main"), "sr"), Call("find_latest_version", P("main"), "sr", registered=False),
    Call("find_latest_version", P("main"), "sr", all=True, registered=False),
    Call("find_latest_version", P("main"), "rf"), Call("find_latest_version", P("main"), "rf", registered=False),
    Call("find_latest_version", P("main"), "old"), Call("find_latest_version", P("main"), "dir/sub:clf"),
    Call("find_latest_version", P("main"), "nope"),
    # find_versions_in_stage
    Call("find_versions_in_stage", P("main"), "m", "prod"),
    Call("find_versions_in_stage", P("main"), "m", "prod", versions_per_stage=-1),
    Call("find_versions_in_stage", P("main"), "m", "prod", versions_per_stage=2),
    Call("find_versions_in_stage", P("main"), "m", "prod", versions_per_stage=0),
    Call("find_versions_in_stage", P("main"), "m", "prod", 1, -1),
    Call("find_versions_in_stage", P("main"), "m", "prod", assignments_per_version=0),
    Call("find_versions_in_stage", P("main"), "m", "staging", registered_only=True),
    Call("find_versions_in_stage", P("main"), "m", "dev"), Call("find_versions_in_stage", P("main"), "m", "nostage"),
    Call("find_versions_in_stage", P("main"), "nope", "prod"), Call("find_versions_in_stage", P("main"), "sr", "dev"),
    Call("find_versions_in_stage", P("main"), "sr", "dev", registered_only=True),
    Call("find_versions_in_stage", P("main"), "old", "prod"),
    Call("find_versions_in_stage", P("main"), "dir/sub:clf", "prod"),
    Call("find_versions_in_stage", P("main"), "m", "prod", versions_per_stage=-2),
    # check_ref
    *[Call("check_ref", P("main"), ref) for ref in (
        "m#prod#1", "m@v0.0.1", "refs/tags/m@v0.1.0", "m#dev!#6", "m@v1.0.0-rc.1!", "old@deprecated", "sr#dev#1",
        "dir/sub=clf#prod#1", "v1.0.0", "lw@v1.0.0", "nosuch@v1.0.0", "HEAD", "m#prod")],
    # show: the registry
    Call("show", P("main")), Call("show", P("main"), deprecated=True), Call("show", P("main"), registered_only=True),
    Call("show", P("main"), versions_per_stage=-1), Call("show", P("main"), assignments_per_version=0),
    Call("show", P("main"), sort=SORT("semver")), Call("show", P("main"), sort=SORT("timestamp"), versions_per_stage=2),
    Call("show", P("main"), table=True), Call("show", P("main"), table=True, truncate_hexsha=True),
    Call("show", P("main"), None, True), Call("show", P("config")), Call("show", P("config"), table=True),
    # show: versions
    Call("show", P("main"), "m"), Call("show", P("main"), "m", deprecated=True),
    Call("show", P("main"), "m", registered_only=True), Call("show", P("main"), "m", versions_per_stage=-1),
    Call("show", P("main"), "m", assignments_per_version=1), Call("show", P("main"), "m", sort=SORT("semver")),
    Call("show", P("main"), "m", table=True), Call("show", P("main"), "m", table=True, truncate_hexsha=True),
    Call("show", P("main"), "m@latest"), Call("show", P("main"), "m@greatest"), Call("show", P("main"), "m@v0.0.1"),
    Call("show", P("main"), "m@v9.9.9"), Call("show", P("main"), "m#prod"), Call("show", P("main"), "m#nostage"),
    Call("show", P("main"), "m#prod", sort=SORT("semver")), Call("show", P("main"), "nope"),
    Call("show", P("main"), "bad name"), Call("show", P("main"), "old"),
    Call("show", P("main"), "old", deprecated=True),
    Call("show", P("main"), "sr"), Call("show", P("main"), "sr", table=True, truncate_hexsha=True),
    Call("show", P("main"), "rf"), Call("show", P("main"), "rf", table=True), Call("show", P("main"), "dir/sub:clf"),
    # history
    Call("history", P("main")), Call("history", P("main"), "m"), Call("history", P("main"), "m", ascending=True),
    Call("history", P("main"), "m", True), Call("history", P("main"), table=True),
    Call("history", P("main"), "sr", table=True, truncate_hexsha=True), Call("history", P("main"), "nope"),
    Call("history", P("main"), "nope", table=True), Call("history", P("main"), "bad name"),
    Call("history", P("main"), "old"), Call("history", P("main"), "rf"),
    # a registry without commits, one without tags, no repository, no such path
    *[Call(fn, P("empty"), *args) for fn, args in (
        ("show", ()), ("show", ("m",)), ("history", ()), ("get_stages", ()), ("check_ref", ("m@v0.0.1",)),
        ("find_latest_version", ("m",)), ("find_versions_in_stage", ("m", "prod")), ("register", ("m", "HEAD")))],
    Call("describe", P("empty"), "m"), Call("describe", P("empty"), "m", rev="HEAD"),
    Call("history", P("empty"), "m"), Call("show", P("empty"), table=True),
    *[Call(fn, P("nothing"), *args) for fn, args in (
        ("show", ()), ("show", ("m",)), ("history", ()), ("get_stages", ()), ("describe", ("m",)),
        ("check_ref", ("m@v0.0.1",)), ("find_latest_version", ("m",)), ("find_versions_in_stage", ("m", "prod")),
        ("show", ("m@latest",)), ("history", ("m",)))],
    *[Call(fn, P(where), *args) for where in ("notgit", "missing") for fn, args in (
        ("show", ()), ("show", ("m",)), ("history", ()), ("get_stages", ()), ("check_ref", ("m@v0.0.1",)),
        ("find_latest_version", ("m",)), ("find_versions_in_stage", ("m", "prod")))],
    # a remote registry
    Call("show", P("url")), Call("show", P("url"), "m"), Call("history", P("url"), "m"),
    Call("find_versions_in_stage", P("url"), "m", "prod"), Call("find_latest_version", P("url"), "m"),
    Call("check_ref", P("url"), "m#prod#5"), Call("get_stages", P("url")), Call("describe", P("url"), "m@v0.0.1"),
    Call("history", P("url")), Call("show", P("url"), table=True), Call("show", P("url"), "m", table=True),
    Call("check_ref", P("url"), "v1.0.0"), Call("check_ref", P("url"), "nosuch@v1.0.0"),
    Call("get_stages", P("url"), used=True), Call("describe", P("url"), "m"), Call("describe", P("url"), "nope"),
    Call("find_versions_in_stage", P("url"), "m", "dev"), Call("find_latest_version", P("url"), "nope"),
    Call("show", P("url"), "nope"),
]


# -- running both ------------------------------------------------------------------------------


def run_gto(python: str, paths: dict, calls: list[Call], env: dict, cwd: Path) -> list[dict]:
    """The calls through gto.api, in gto's venv."""
    request = json.dumps({"paths": {k: str(v) for k, v in paths.items()}, "calls": [c.to_json() for c in calls]})
    proc = subprocess.run([python, str(DRIVER)], input=request.encode(), capture_output=True, env=env, cwd=cwd,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the gto.api driver failed: {proc.stderr.decode()[-3000:]}")
    return json.loads(proc.stdout)


@contextmanager
def isolated(home: Path, extra: dict | None = None):
    """This process's environment as the gto driver's: its own HOME, git config and identity (and
    extra)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith(("GTO_", "TAGREG_", "GIT_")):
                mp.delenv(key)
        for key, value in {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                           "XDG_CACHE_HOME": str(home / ".cache"), "GIT_CONFIG_NOSYSTEM": "1", "TZ": "UTC",
                           **IDENTITY, **(extra or {})}.items():
            mp.setenv(key, value)
        yield


def run_tagreg(paths: dict, calls: list[Call], home: Path, extra: dict | None = None) -> list[dict]:
    """The calls through tagreg.gto.api, in this process, the tagger date set by GIT_COMMITTER_DATE
    (extra: more environment, e.g. TAGREG_GTO_EXACT)."""
    def set_time(when):
        if when is None:
            os.environ.pop("GIT_COMMITTER_DATE", None)
        else:
            os.environ["GIT_COMMITTER_DATE"] = f"{when} +0000"

    modules = {"api": tagreg.gto.api, "exceptions": tagreg.gto.exceptions, "constants": tagreg.gto.constants}
    with isolated(home, extra):
        return run_calls(modules, {k: str(v) for k, v in paths.items()}, [c.to_json() for c in calls], set_time)


_TMP_CLONE = re.compile(r"Failed to clone repo '(.*?)' to '.*'")


def comparable(answer: dict) -> dict:
    """An answer without what is bound to differ: the temporary folder gto clones a URL into."""
    if "raised" in answer:
        answer = {**answer, "raised": {**answer["raised"],
                                       "message": _TMP_CLONE.sub(r"Failed to clone repo '\1' to '<tmp>'",
                                                                 answer["raised"]["message"])}}
    return answer


def differences(gto, tagreg, path: str = "") -> list[str]:
    """Where two answers differ: each place as a path, with both values (at most 20)."""
    if type(gto) is not type(tagreg):
        return [f"{path or '.'}: gto {json.dumps(gto)[:300]} / tagreg {json.dumps(tagreg)[:300]}"]
    if isinstance(gto, dict):
        keys = list(dict.fromkeys([*gto, *tagreg]))
        return [d for k in keys for d in differences(gto.get(k, "<missing>"), tagreg.get(k, "<missing>"),
                                                      f"{path}.{k}")][:20]
    if isinstance(gto, list):
        if len(gto) != len(tagreg):
            return [f"{path}: gto has {len(gto)} items, tagreg {len(tagreg)}: gto {json.dumps(gto)[:600]} / "
                    f"tagreg {json.dumps(tagreg)[:600]}"]
        return [d for i, (g, t) in enumerate(zip(gto, tagreg)) for d in differences(g, t, f"{path}[{i}]")][:20]
    return [] if gto == tagreg else [f"{path}: gto {json.dumps(gto)} / tagreg {json.dumps(tagreg)}"]


def assert_same(call: Call, gto: dict, tagreg: dict) -> None:
    found = differences(comparable(gto), comparable(tagreg))
    assert not found, f"{call.id} differs:\n" + "\n".join(found)


@pytest.fixture(scope="module")
def reads(gto_tool, tmp_path_factory):
    """Every read's answer from both tools."""
    if gto_tool.python is None:
        pytest.skip("gto's interpreter is unknown: the gto.api driver needs it")
    root = tmp_path_factory.mktemp("gto-api-reads")
    env = clean_env(make_home(root / "home"))
    paths: dict[str, object] = {}
    for key, recipe in (("main", build_main), ("config", build_config), ("nothing", lambda b: b.commit("c1"))):
        builder = Builder(root / key, env)
        recipe(builder)
        paths[key] = builder.path
    Builder(root / "empty", env)
    (root / "notgit").mkdir()
    paths.update(empty=root / "empty", notgit=root / "notgit", missing=root / "missing")
    git(root, "clone", "-q", "--bare", str(root / "main"), str(root / "main.git"), env=env)
    paths["url"] = f"file://{root / 'main.git'}"
    gto = run_gto(gto_tool.python, paths, READS, env, root)
    tagreg = run_tagreg(paths, READS, make_home(root / "tagreg-home"))
    return dict(zip([c.id for c in READS], zip(gto, tagreg, strict=True), strict=True))


def _without_second(answer: dict) -> dict:
    """answer with the second item of its list (of its table's rows) left out."""
    result = answer["result"]
    rows = result["$tuple"][0] if isinstance(result, dict) else result
    rows = rows[:1] + rows[2:]
    return {**answer, "result": {"$tuple": [rows, *result["$tuple"][1:]]} if isinstance(result, dict) else rows}


def _with_scm_errors(answer: dict) -> dict:
    """gto.exceptions' classes with scmrepo's, which tagreg.gto.exceptions also has (GTO lets them through)."""
    scm = [["SCMError", ["Exception", "BaseException"]], ["RevError", ["SCMError", "Exception", "BaseException"]],
           ["CloneError", ["SCMError", "Exception", "BaseException"]]]
    items = sorted(answer["result"]["items"] + scm)
    return {**answer, "result": {**answer["result"], "items": items}}


# Where tagreg answers otherwise on purpose: GTO's answer as tagreg gives it instead (README, "Migrating
# from GTO's Python API").
DELIBERATE = {
    "exceptions.$classes()": _with_scm_errors,
    # GTO lists a commit assigned without a version twice (once as a 'discovered' version of its own)
    "find_latest_version(main, 'sr', all=True, registered=False)": _without_second,
    "show(main, 'sr')": _without_second,
    "show(main, 'sr', table=True, truncate_hexsha=True)": _without_second,
    # GTO crashes (AttributeError) on a commit without artifacts.yaml; tagreg finds no annotation
    "describe(nothing, 'm')": lambda answer: {"result": None, "stdout": ""},
}


@pytest.mark.parametrize("call", READS, ids=lambda c: c.id)
def test_read(reads, call):
    gto, tagreg = reads[call.id]
    if call.id in DELIBERATE:
        assert differences(gto, tagreg)
        gto = DELIBERATE[call.id](gto)
    assert_same(call, gto, tagreg)


def test_every_deliberate_difference_is_a_read():
    assert set(DELIBERATE) <= {c.id for c in READS}


# -- a DVC-annotated registry: what GTO reads, under the switch ---------------------------------

DVC_YAML = "artifacts:\n  m:\n    path: m.pkl\n    type: model\n    desc: in dvc.yaml\n  only:\n    path: o.pkl\n"
SUB_DVC_YAML = "artifacts:\n  clf:\n    path: clf.pkl\n    type: model\n"
DVC_READS = [
    Call("show", P("dvc")), Call("show", P("dvc"), table=True), Call("show", P("dvc"), "m"),
    Call("show", P("dvc"), "only"), Call("show", P("dvc"), "sub:clf"), Call("history", P("dvc")),
    Call("describe", P("dvc"), "a"),
    Call("describe", P("dvc"), "m"), Call("describe", P("dvc"), "only"), Call("describe", P("dvc"), "sub:clf"),
    Call("find_latest_version", P("dvc"), "only", registered=False), Call("check_ref", P("dvc"), "m#prod#1"),
    Call("find_versions_in_stage", P("dvc"), "m", "prod"),
]


def test_a_dvc_annotated_registry_reads_as_gto_under_the_switch(gto_tool, tmp_path_factory):
    """GTO 1.10.1 reads no dvc.yaml: `TAGREG_GTO_EXACT=1` makes tagreg.gto.api answer as gto.api does
    on a DVC-annotated registry; without it, tagreg's enrichments and `*name` artifacts show (README,
    "Compatibility with GTO")."""
    if gto_tool.python is None:
        pytest.skip("gto's interpreter is unknown: the gto.api driver needs it")
    root = tmp_path_factory.mktemp("gto-api-dvc")
    env = clean_env(make_home(root / "home"))
    b = Builder(root / "dvc", env)
    # an artifacts.yaml too: GTO's describe crashes on a commit without one (a difference of its own)
    b.commit("c1", {"dvc.yaml": DVC_YAML, "sub/dvc.yaml": SUB_DVC_YAML, "artifacts.yaml": "a:\n  path: a.bin\n"})
    b.tag("m@v0.0.1", "Registering artifact m version v0.0.1")
    b.tag("m#prod#1", "Assigning stage prod to artifact m version v0.0.1")
    b.tag("sub=clf@v0.0.1", "Registering artifact sub:clf version v0.0.1")
    paths = {"dvc": b.path}
    gto = run_gto(gto_tool.python, paths, DVC_READS, env, root)
    exact = run_tagreg(paths, DVC_READS, make_home(root / "exact-home"), {"TAGREG_GTO_EXACT": "1"})
    for call, g, t in zip(DVC_READS, gto, exact, strict=True):
        assert_same(call, g, t)
    default = run_tagreg(paths, DVC_READS, make_home(root / "tagreg-home"))
    differ = {c.id for c, g, t in zip(DVC_READS, gto, default, strict=True) if differences(g, t)}
    assert {"show(dvc)", "show(dvc, 'only')", "describe(dvc, 'm')", "describe(dvc, 'sub:clf')"} <= differ


# -- writes on twin repositories ---------------------------------------------------------------


def timed(calls: list[Call]) -> list[Call]:
    """calls, each writing its tags a minute after the one before."""
    for i, call in enumerate(calls):
        call.time = TAG_BASE + 60 * (i + 1)
    return calls


WRITES = timed([
    Call("register", P("twin"), "w", "HEAD~2", stdout=True),
    Call("register", P("twin"), "w", "HEAD~1", "v0.2.0", "custom message", author="Alice",
         author_email="alice@example.com"),
    Call("register", P("twin"), "w", "HEAD", bump_minor=True),
    Call("register", P("twin"), "w", "HEAD"),
    Call("register", P("twin"), "x", "HEAD", version="v1.0"),
    Call("register", P("twin"), "x", "HEAD", version="v0.1.0", bump_major=True),
    Call("register", P("twin"), "x", "HEAD", bump_patch=True),
    Call("register", P("twin"), "bad name", "HEAD"),
    Call("register", P("twin"), "w", "nosuchref"),
    Call("register", P("twin"), "x", "HEAD~2", version="v0.2.0"),
    Call("register", P("twin"), "s", "HEAD", simple=False),
    Call("assign", P("twin"), "w", "prod", "v0.0.1", stdout=True),
    Call("assign", P("twin"), "w", "prod", version="v0.2.0", message="to prod"),
    Call("assign", P("twin"), "w", "prod", version="v0.2.0"),
    Call("assign", P("twin"), "w", "prod", version="v0.2.0", force=True),
    Call("assign", P("twin"), "w", "dev", ref="HEAD", simple=True),
    Call("assign", P("twin"), "w", "dev", ref="HEAD", simple=True, force=True),
    Call("assign", P("twin"), "w", "staging"),
    Call("assign", P("twin"), "w", "staging", "v0.0.1", "HEAD"),
    Call("assign", P("twin"), "w", "staging", version="v9.9.9"),
    Call("assign", P("twin"), "w", "staging", version="v1.0"),
    Call("assign", P("twin"), "w", "bad#stage", version="v0.0.1"),
    Call("assign", P("twin"), "w", "staging", ref="HEAD~1", name_version="v0.9.0"),
    Call("assign", P("twin"), "w", "staging", ref="HEAD", name_version="v0.9.0", skip_registration=True),
    Call("assign", P("twin"), "w", "staging", ref="HEAD", name_version="0.9"),
    Call("assign", P("twin"), "w", "staging", ref="nosuchref"),
    Call("assign", P("twin"), "sr", "dev", ref="HEAD", skip_registration=True, author="Bob"),
    Call("unassign", P("twin"), "w", version="v0.2.0", stage="prod", stdout=True),
    Call("unassign", P("twin"), "w", "HEAD~2", stage="prod", message="out of prod", simple=True),
    Call("unassign", P("twin"), "w", version="v0.2.0", stage="prod"),
    Call("unassign", P("twin"), "w", version="v0.3.0", stage="prod"),
    Call("unassign", P("twin"), "w", version="v9.9.9", stage="prod"),
    Call("unassign", P("twin"), "nope", version="v0.0.1", stage="prod"),
    Call("unassign", P("twin"), "w", "HEAD", "v0.3.0", "dev"),
    Call("unassign", P("twin"), "w", version="v0.3.0"),
    Call("unassign", P("twin"), "sr", ref="HEAD", stage="dev"),
    Call("deregister", P("twin"), "w", version="v0.3.0", stdout=True),
    Call("deregister", P("twin"), "w", version="v0.3.0"),
    Call("deregister", P("twin"), "w", version="v0.3.0", force=True),
    Call("deregister", P("twin"), "w", version="v0.3.0", force=True, simple=False),
    Call("deregister", P("twin"), "w", version="v9.9.9", force=True),
    Call("deregister", P("twin"), "w", "HEAD~1", message="gone", simple=False),
    Call("deregister", P("twin"), "w", version="v9.9.9"),
    Call("deregister", P("twin"), "nope", version="v0.0.1"),
    Call("deregister", P("twin"), "sr", ref="HEAD"),
    Call("deregister", P("twin"), "w"),
    Call("deprecate", P("twin"), "w", stdout=True),
    Call("deprecate", P("twin"), "w"),
    Call("deprecate", P("twin"), "w", force=True),
    Call("deprecate", P("twin"), "w", force=True, simple=True),
    Call("deprecate", P("twin"), "nope"),
    Call("deprecate", P("twin"), "sr", ref="nosuchref"),
    Call("deprecate", P("twin"), "sr", "HEAD~1", "bye"),
    # deleting tags instead of cancelling them
    Call("register", P("twin"), "z", "HEAD~1"),
    Call("assign", P("twin"), "z", "prod", version="v0.0.1"),
    Call("unassign", P("twin"), "z", version="v0.0.1", stage="prod", delete=True),
    Call("assign", P("twin"), "z", "prod", version="v0.0.1"),
    Call("deregister", P("twin"), "z", version="v0.0.1", delete=True),
    Call("register", P("twin"), "z2", "HEAD~1"),
    Call("deprecate", P("twin"), "z2", delete=True),
    # pushing, and a remote registry (every write pushed)
    Call("register", P("twin"), "p", "HEAD", push=True),
    Call("register", P("twin-url"), "r", "HEAD"),
    Call("assign", P("twin-url"), "r", "prod", version="v0.0.1"),
    Call("unassign", P("twin-url"), "r", version="v0.0.1", stage="prod"),
    Call("register", P("twin-url"), "r", "HEAD~1"),
    Call("deregister", P("twin-url"), "r", version="v0.0.2"),
    Call("deprecate", P("twin-url"), "r"),
    # what both tools read afterwards
    Call("show", P("twin")), Call("show", P("twin"), deprecated=True), Call("show", P("twin"), "w", deprecated=True),
    Call("history", P("twin")), Call("find_versions_in_stage", P("twin"), "w", "prod"),
    Call("show", P("twin-url"), deprecated=True), Call("history", P("twin-url")),
])


def build_twin(root: Path, env: dict) -> tuple[Path, Path, Path]:
    """A repository with three commits and an origin, and a bare one for a URL."""
    b = Builder(root / "twin", env)
    for message in ("c1", "c2", "c3"):
        b.commit(message, {"m.txt": f"{message}\n"})
    origin = Builder(root / "origin.git", env, bare=True).path
    git(b.path, "remote", "add", "origin", str(origin), env=env)
    git(root, "clone", "-q", "--bare", str(b.path), str(root / "url.git"), env=env)
    return b.path, origin, root / "url.git"


def tags_of(path: Path, env: dict) -> dict[str, tuple]:
    """Every tag: kind, commit, tagger (name and e-mail), message and date."""
    tags, times = read_tags(path, env)
    return {name: (*info, times.get(name)) for name, info in tags.items()}


def on_twins(gto_tool, tmp_path_factory, calls: list[Call], gto_calls: list[Call] | None = None) -> dict:
    """Each tool's answers to calls (gto's to gto_calls if given), each on its twin, and the tags each
    twin (its origin, its URL's repository) has afterwards: {tool: (answers, {where: tags})}."""
    if gto_tool.python is None:
        pytest.skip("gto's interpreter is unknown: the gto.api driver needs it")
    out = {}
    for tool in ("gto", "tagreg"):
        root = tmp_path_factory.mktemp(f"gto-api-{tool}")
        env = clean_env(make_home(root / "home"))
        twin, origin, url = build_twin(root, env)
        paths = {"twin": twin, "twin-url": f"file://{url}"}
        if tool == "gto":
            answers = run_gto(gto_tool.python, paths, gto_calls or calls, env, root)
        else:
            answers = run_tagreg(paths, calls, make_home(root / "tagreg-home"))
        out[tool] = (answers, {where: tags_of(path, env) for where, path in
                               (("twin", twin), ("origin", origin), ("url", url))})
    return out


@pytest.fixture(scope="module")
def writes(gto_tool, tmp_path_factory):
    """Both tools' answers to WRITES, each on its twin, and the tags left."""
    return on_twins(gto_tool, tmp_path_factory, WRITES)


def test_twins_have_the_same_commits(tmp_path):
    env = clean_env(make_home(tmp_path / "home"))
    first, second = build_twin(tmp_path / "a", env)[0], build_twin(tmp_path / "b", env)[0]
    assert git(first, "rev-parse", "HEAD", env=env) == git(second, "rev-parse", "HEAD", env=env)


@pytest.mark.parametrize("index", range(len(WRITES)), ids=[f"{i:02d} {c.id}" for i, c in enumerate(WRITES)])
def test_write(writes, index):
    assert_same(WRITES[index], writes["gto"][0][index], writes["tagreg"][0][index])


WRITTEN = {
    "twin": ["p@v0.0.1", "s@v0.0.1#1", "sr#dev#1", "sr@deprecated", "w#dev", "w#prod!", "w#prod!#4", "w#prod!#5",
             "w#prod#1", "w#prod#2", "w#prod#3", "w@deprecated", "w@deprecated#8", "w@v0.0.1", "w@v0.2.0",
             "w@v0.2.0!#7", "w@v0.3.0", "w@v0.3.0!", "w@v0.3.0!#6", "x@v0.2.0"],
    "origin": ["p@v0.0.1"],
    "url": ["r#prod!#2", "r#prod#1", "r@deprecated", "r@v0.0.1", "r@v0.0.2", "r@v0.0.2!"],
}


@pytest.mark.parametrize("where", ["twin", "origin", "url"])
def test_written_tags(writes, where):
    """The same tags, at the same commits, by the same tagger, with the same messages and dates."""
    gto, tagreg = writes["gto"][1][where], writes["tagreg"][1][where]
    assert sorted(gto) == WRITTEN[where]
    assert tagreg == gto


ROLLBACK = timed([
    Call("register", P("twin"), "m", "HEAD~1"), Call("register", P("twin"), "m", "HEAD"),
    Call("assign", P("twin"), "m", "prod", "v0.0.1"), Call("assign", P("twin"), "m", "prod", "v0.0.2"),
    Call("assign", P("twin"), "m", "prod", "v0.0.1"),  # back to v0.0.1: a rollback
    Call("find_versions_in_stage", P("twin"), "m", "prod"),  # v0.0.2, the greater one, in both
    Call("show", P("twin")),  # v0.0.1, the newest assignment, in both
])


def test_a_rollback_needs_no_force(gto_tool, tmp_path_factory):
    """Assigning a stage a version it had before is a rollback: GTO refuses it unless forced
    ("already in stage"); tagreg writes, without force, the tag GTO writes with force."""
    forced = Call("assign", P("twin"), "m", "prod", "v0.0.1", force=True, time=ROLLBACK[4].time)
    both = on_twins(gto_tool, tmp_path_factory, ROLLBACK, gto_calls=[*ROLLBACK[:5], forced, *ROLLBACK[5:]])
    gto, tagreg = both["gto"][0], both["tagreg"][0]
    refused = gto.pop(4)["raised"]
    assert refused["$raised"][0] == "WrongArgs" and "is already in stage 'prod'" in refused["message"]
    for call, gto_answer, tagreg_answer in zip(ROLLBACK, gto, tagreg, strict=True):
        assert_same(call, gto_answer, tagreg_answer)
    assert both["tagreg"][1] == both["gto"][1]


def test_assign_that_registers_dates_the_assignment_after_the_registration(gto_tool, tmp_path_factory):
    """`assign` of an unregistered commit writes two tags: GTO in the same second, tagreg one second
    apart (its writes never tie), and with `author` GTO names its default identity as the tagger of
    the registration, tagreg the author; otherwise the same tags and answers."""
    calls = timed([Call("assign", P("twin"), "m", "prod", ref="HEAD", name_version="v1.0.0"),
                   Call("assign", P("twin"), "n", "dev", ref="HEAD~1", author="Bob")])
    both = on_twins(gto_tool, tmp_path_factory, calls)
    gto_tags, tagreg_tags = both["gto"][1]["twin"], both["tagreg"][1]["twin"]
    assert sorted(gto_tags) == ["m#prod#1", "m@v1.0.0", "n#dev#1", "n@v0.0.1"]
    for call, tag in zip(calls, ("m#prod#1", "n#dev#1"), strict=True):
        assert tagreg_tags[tag][:-1] == gto_tags[tag][:-1]
        assert tagreg_tags[tag][-1] == gto_tags[tag][-1] + 1 == call.time + 1
        text = json.dumps(both["gto"][0][calls.index(call)])
        for before, after in zip(_iso(call.time), _iso(call.time + 1), strict=True):
            text = text.replace(before, after)
        assert_same(call, json.loads(text), both["tagreg"][0][calls.index(call)])
    assert tagreg_tags["m@v1.0.0"] == gto_tags["m@v1.0.0"]
    gto_tag, tagreg_tag = gto_tags["n@v0.0.1"], tagreg_tags["n@v0.0.1"]
    assert (gto_tag[2], tagreg_tag[2]) == ("Tester <t@example.com>", "Bob <t@example.com>")
    assert tagreg_tag[:2] + tagreg_tag[3:] == gto_tag[:2] + gto_tag[3:]


def _iso(when: int) -> tuple[str, str]:
    """A Unix time in UTC as Python writes it, and as pydantic writes it in JSON."""
    from datetime import datetime, timezone

    text = datetime.fromtimestamp(when, timezone.utc).isoformat()
    return text, text.replace("+00:00", "Z")


def test_writes_tagreg_refuses(gto_tool, tmp_path_factory):
    """Two writes GTO makes and tagreg refuses (loudly, writing nothing): an unassignment of a stage
    the version never had (GTO writes it when forced), and a stage for a deregistered version."""
    calls = timed([Call("register", P("twin"), "m", "HEAD"),
                   Call("unassign", P("twin"), "m", version="v0.0.1", stage="prod", force=True),
                   Call("deregister", P("twin"), "m", version="v0.0.1"),
                   Call("assign", P("twin"), "m", "prod", "v0.0.1")])
    both = on_twins(gto_tool, tmp_path_factory, calls)
    gto, tagreg = both["gto"][0], both["tagreg"][0]
    assert [a["result"]["fields"]["tag"] for a in gto] == ["m@v0.0.1", "m#prod!#1", "m@v0.0.1!", "m#prod#2"]
    assert [(a["raised"]["$raised"][0], a["raised"]["message"]) for a in (tagreg[1], tagreg[3])] == [
        ("WrongArgs", "Stage 'prod' is not assigned to a version 'v0.0.1'"),
        ("WrongArgs", "Version 'v0.0.1' is not registered")]
    assert sorted(both["tagreg"][1]["twin"]) == ["m@v0.0.1", "m@v0.0.1!"]
