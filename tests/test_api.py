"""The Python API (`tagreg.api`): what deployment scripts call. It returns plain records, raises
on user mistakes, and never prints (checked at the file-descriptor level, so a git message leaking
to the terminal counts too)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest
from conftest import run_tagreg

from tagreg import api, gto_json, state
from tagreg.errors import UserError

EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC


class Clock:
    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.now = EPOCH
        self.tick()

    def tick(self):
        self.now += 60
        self.monkeypatch.setenv("GIT_COMMITTER_DATE", f"{self.now} +0000")
        self.monkeypatch.setenv("GIT_AUTHOR_DATE", f"{self.now} +0000")


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def tag(repo, clock, name, message, ref="HEAD"):
    clock.tick()
    repo.tag(name, ref, message)


@pytest.fixture
def model(repo, clock, tmp_path, monkeypatch):
    """model: v0.0.1 (dev, prod) at c1, v0.1.0 at c2 (staging); annotated in artifacts.yaml.

    The current directory is elsewhere: the API must use the path it is given.
    """
    repo.commit("c1", {"artifacts.yaml": "model:\n  type: model\n  path: models/m.pkl\n  description: First\n"})
    repo.c1 = repo.git("rev-parse", "HEAD").strip()
    tag(repo, clock, "model@v0.0.1", "Registering artifact model version v0.0.1")
    tag(repo, clock, "model#prod#1", "Assigning stage prod to artifact model version v0.0.1")
    tag(repo, clock, "model#dev#2", "Assigning stage dev to artifact model version v0.0.1")
    clock.tick()
    repo.commit("c2", {"artifacts.yaml": "model:\n  type: model\n  path: models/m.pkl\n  description: Second\n"})
    repo.c2 = repo.git("rev-parse", "HEAD").strip()
    tag(repo, clock, "model@v0.1.0", "Registering artifact model version v0.1.0")
    tag(repo, clock, "model#staging#3", "Assigning stage staging to artifact model version v0.1.0")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return repo


@pytest.fixture
def silent(capfd):
    """Fails the test if anything was printed to stdout or stderr."""
    yield
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def is_record_instance(value) -> bool:
    """A plain dataclass: fields as attributes, a readable repr, ==, and dataclasses.asdict."""
    return (dataclasses.is_dataclass(value) and not isinstance(value, type)
            and repr(value).startswith(type(value).__name__ + "(")
            and isinstance(dataclasses.asdict(value), dict) and value == dataclasses.replace(value))


# -- reading ---------------------------------------------------------------------------------


def test_show_registry(model, silent):
    view = api.show(model.path)
    assert is_record_instance(view)
    assert view.stages == ["dev", "prod", "staging"]
    (artifact,) = view.artifacts
    assert is_record_instance(artifact)
    assert artifact.name == "model"
    assert artifact.latest == "v0.1.0"
    assert artifact.registered is True and artifact.active is True
    assert artifact.stages == {"dev": ["v0.0.1"], "prod": ["v0.0.1"], "staging": ["v0.1.0"]}


def test_show_accepts_str_paths(model, silent):
    assert [a.name for a in api.show(str(model.path)).artifacts] == ["model"]


def test_show_name(model, silent):
    versions = api.show(model.path, "model")
    assert all(is_record_instance(v) for v in versions)
    assert [v.version for v in versions] == ["v0.1.0", "v0.0.1"]
    newest, oldest = versions
    assert newest.commit == model.c2 and oldest.commit == model.c1
    assert newest.in_stages == ["staging"]
    assert sorted(oldest.in_stages) == ["dev", "prod"]
    assert oldest.ref == "model@v0.0.1"
    assert oldest.registered is True and oldest.active is True
    assert oldest.author == "Tester" and oldest.author_email == "t@example.com"
    assert oldest.created_at == datetime.fromtimestamp(EPOCH + 120, timezone.utc)


def test_show_shortcuts(model, silent):
    assert [v.version for v in api.show(model.path, "model@latest")] == ["v0.1.0"]
    assert [v.version for v in api.show(model.path, "model@v0.0.1")] == ["v0.0.1"]
    assert [v.version for v in api.show(model.path, "model#prod")] == ["v0.0.1"]
    assert api.show(model.path, "model#staging") == api.show(model.path, "model@v0.1.0")


def test_show_deprecated_option(model, clock, silent):
    tag(model, clock, "model@deprecated", "Deprecating artifact 'model'")
    assert api.show(model.path).artifacts == []
    (artifact,) = api.show(model.path, deprecated=True).artifacts
    assert artifact.active is False


def test_history(model, silent):
    entries = api.history(model.path)
    assert all(is_record_instance(e) for e in entries)
    assert [e.ref for e in entries] == ["model#staging#3", "model@v0.1.0", "model#dev#2", "model#prod#1",
                                        "model@v0.0.1"]
    newest = entries[0]
    assert (newest.artifact, newest.event, newest.version, newest.stage) == ("model", "assignment", "v0.1.0",
                                                                             "staging")
    assert newest.commit == model.c2
    assert newest.message == "Assigning stage staging to artifact model version v0.1.0"
    assert newest.created_at == datetime.fromtimestamp(newest.timestamp, timezone.utc)
    assert [e.ref for e in api.history(model.path, "model", ascending=True)] == [e.ref for e in entries[::-1]]
    assert api.history(model.path, "other") == []


def test_check_ref(model, silent):
    (info,) = api.check_ref(model.path, "model#prod#1")
    assert is_record_instance(info)
    assert (info.event, info.name, info.version, info.stage, info.commit) == (
        "assignment", "model", "v0.0.1", "prod", model.c1)
    assert info.annotation.path == "models/m.pkl"
    assert info.annotation.description == "First"
    (info,) = api.check_ref(model.path, "refs/tags/model@v0.1.0")
    assert (info.event, info.version, info.stage) == ("registration", "v0.1.0", None)
    assert api.check_ref(model.path, "HEAD") == []
    assert api.check_ref(model.path, "nosuch@v1.0.0") == []


def test_latest(model, silent):
    found = api.latest(model.path, "model")
    assert is_record_instance(found)
    assert (found.version, found.ref) == ("v0.1.0", "model@v0.1.0")


def test_latest_without_registered_versions(repo, clock, silent):
    sha = repo.git("rev-parse", "HEAD").strip()
    tag(repo, clock, "m#dev#1", f"Assigning stage dev to artifact m version {sha}")
    assert api.latest(repo.path, "m") is None


def test_which(model, silent):
    found = api.which(model.path, "model", "prod")
    assert is_record_instance(found)
    assert found.version == "v0.0.1"
    assert found.commit == model.c1


def test_which_of_a_known_empty_stage_is_none_and_of_an_unknown_stage_an_error(model, clock, silent):
    tag(model, clock, "other@v1.0.0", "Registering artifact other version v1.0.0")
    assert api.which(model.path, "other", "prod") is None  # a stage of the registry, empty for other
    assert api.show(model.path, "other#prod") == []
    assert api.find_versions_in_stage(model.path, "other", "prod") == []
    for call in (lambda: api.which(model.path, "model", "prdo"), lambda: api.show(model.path, "model#prdo"),
                 lambda: api.find_versions_in_stage(model.path, "model", "prdo"),
                 lambda: api.describe(model.path, "model#prdo"), lambda: api.get("model#prdo", repo=model.path)):
        with pytest.raises(api.RegistryError) as info:
            call()
        assert str(info.value) == ("Unknown stage 'prdo' (the registry's stages: dev, prod, staging); "
                                   "did you mean 'prod'?")


def test_unknown_artifact_error_names_the_close_one(model, silent):
    with pytest.raises(api.RegistryError, match=r"^Cannot find artifact 'modle'; did you mean 'model'\?$"):
        api.which(model.path, "modle", "prod")


def test_a_new_artifact_close_to_an_existing_one_is_a_warning_of_the_repository(model, silent):
    r = api.Repository(model.path)
    (registered, assigned) = api.assign(r, "modle", "prod")
    assert (registered.tag, assigned.tag) == ("modle@v0.0.1", "modle#prod#1")  # written all the same
    assert [w.message for w in r.take_warnings()] == ["'modle' is a new artifact; did you mean 'model'?"]
    api.register(r, "modle", ref=model.c1)  # not new any more
    api.register(r, "model2", ref=model.c1)  # a new artifact that differs by a digit is meant
    assert r.take_warnings() == []
    assert api.show(r).bad_files == []


def test_find_versions_in_stage(model, clock, silent):
    found = api.find_versions_in_stage(model.path, "model", "staging")
    assert [v.version for v in found] == ["v0.1.0"]
    assert all(is_record_instance(v) for v in found)
    tag(model, clock, "model#staging#4", "Assigning stage staging to artifact model version v0.0.1", model.c1)
    assert [v.version for v in api.find_versions_in_stage(model.path, "model", "staging")] == ["v0.0.1"]
    with pytest.raises(api.RegistryError, match=r"^Unknown stage 'qa'"):  # no artifact was ever in qa
        api.find_versions_in_stage(model.path, "model", "qa")


def test_describe(model, silent):
    note = api.describe(model.path, "model@v0.0.1")
    assert is_record_instance(note)
    assert (note.type, note.path, note.description) == ("model", "models/m.pkl", "First")
    assert api.describe(model.path, "model").description == "Second"
    assert api.describe(model.path, "model#prod").description == "First"
    assert api.describe(model.path, "model", rev="HEAD~1").description == "First"


def test_stages(model, silent):
    assert api.stages(model.path) == ["dev", "prod", "staging"]


def test_answers_are_the_registrys_domain_objects(model, silent):
    """No copies of the registry's objects: versions are `state.Version`s, events `state.Event`s,
    with the names scripts read on them."""
    newest, oldest = api.show(model.path, "model")
    assert isinstance(oldest, state.Version)
    assert (oldest.author, oldest.author_email, oldest.ref) == ("Tester", "t@example.com", "model@v0.0.1")
    assert oldest.message == "Registering artifact model version v0.0.1"
    assert (oldest.registered, oldest.active, oldest.discovered) == (True, True, False)
    assert oldest.annotation.description == "First" and newest.annotation.description == "Second"
    assert sorted(oldest.stages) == ["dev", "prod"]  # the registry's stages of the version
    assert api.assignment_ref(oldest, "prod") == "model#prod#1"
    entries = api.history(model.path, "model")
    assert all(type(e) is state.Event for e in entries)
    (info,) = api.check_ref(model.path, "model#prod#1")
    assert isinstance(info, state.Event)
    assert (info.tag, info.ref, info.artifact, info.name) == ("model#prod#1", "model#prod#1", "model", "model")
    assert info.created_at == datetime.fromtimestamp(EPOCH + 180, timezone.utc)


def test_stages_a_version_is_in_follow_the_options_of_each_answer(model, clock, silent):
    """v0.1.0 takes prod; v0.0.1 keeps its assignment but is not shown in prod unless --vs -1 asks."""
    tag(model, clock, "model#prod#4", "Assigning stage prod to artifact model version v0.1.0", model.c2)
    r = api.Repository(model.path)
    one = api.show_versions(r, "model")
    every = api.show_versions(r, "model", vs=-1)
    assert [sorted(v.in_stages) for v in one] == [["prod", "staging"], ["dev"]]
    assert [sorted(v.in_stages) for v in every] == [["prod", "staging"], ["dev", "prod"]]


def test_to_gto_is_what_the_json_of_the_cli_prints(model, silent):
    """One way to GTO's JSON: the API's `.to_gto()` and `gto_json` are what `--json` prints."""
    def printed(*args):
        result = run_tagreg(model.path, *args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert api.show(model.path).to_gto() == printed("show")
    assert [v.to_gto() for v in api.show(model.path, "model")] == printed("show", "model")
    assert api.check_ref(model.path, "model#prod#1")[0].to_gto() == printed("check-ref", "model#prod#1")
    assert [gto_json.history_row(e) for e in api.history(model.path)] == printed("history")


def test_an_annotation_prints_in_the_shape_of_each_output(repo, silent):
    """One `Annotation.to_dict`, four outputs, each with its own keys in its own order."""
    repo.commit("c1", {"artifacts.yaml": "m:\n  type: model\n  path: m.bin\n  virtual: false\n  labels: [a]\n"
                                         "  description: D\n  custom: {k: 1}\n  repo: https://example.com/w.git\n"
                                         "  rev: v2\n"})
    api.register(repo.path, "m")
    note = api.describe(repo.path, "m")
    assert list(note.to_dict()) == ["type", "path", "virtual", "labels", "description", "custom", "source", "repo",
                                    "rev"]
    (commit,) = api.show(repo.path, "m")[0].to_gto()["enrichments"]
    assert list(commit["enrichments"][0]["artifact"]) == ["type", "path", "virtual", "labels", "description", "custom"]
    assert note.to_dict(only_set=True) == {"type": "model", "path": "m.bin", "virtual": False, "labels": ["a"],
                                           "description": "D", "custom": {"k": 1}, "source": "artifacts.yaml",
                                           "repo": "https://example.com/w.git", "rev": "v2"}
    bare = api.describe(repo.path, "m", rev="HEAD")
    bare.virtual, bare.labels, bare.custom, bare.repo, bare.rev = True, [], None, None, "v2"
    assert bare.to_dict(only_set=True) == {"type": "model", "path": "m.bin", "description": "D",
                                           "source": "artifacts.yaml", "rev": "v2"}


# -- writing ---------------------------------------------------------------------------------


def test_register(model, clock, silent):
    clock.tick()
    model.commit("c3")
    head = model.git("rev-parse", "HEAD").strip()
    change = api.register(model.path, "model")
    assert is_record_instance(change)
    assert (change.tag, change.event, change.name, change.version, change.commit) == (
        "model@v0.1.1", "registration", "model", "v0.1.1", head)
    assert change.deleted is False and change.pushed is False
    assert "model@v0.1.1" in model.tags()


def test_register_explicit_version_and_ref(repo, silent):
    first = repo.git("rev-parse", "HEAD").strip()
    repo.commit("c2")
    change = api.register(repo.path, "m", ref="HEAD~1", version="v2.0.0")
    assert (change.tag, change.commit) == ("m@v2.0.0", first)


def test_assign(model, clock, silent):
    changes = api.assign(model.path, "model", "prod", version="v0.1.0")
    assert [c.tag for c in changes] == ["model#prod#4"]
    assert all(is_record_instance(c) for c in changes)
    assert (changes[0].event, changes[0].stage, changes[0].version, changes[0].commit) == (
        "assignment", "prod", "v0.1.0", model.c2)
    clock.tick()
    model.commit("c3")
    changes = api.assign(model.path, "model", "dev")  # registers HEAD first
    assert [(c.tag, c.event) for c in changes] == [("model@v0.1.1", "registration"), ("model#dev#5", "assignment")]


def test_assign_refuses_a_version_other_than_the_refs(model, silent):
    before = model.tags()
    with pytest.raises(api.RegistryError, match=r"^Can't register 'v0.0.1', since 'v0.1.0' is registered already "
                                                "at this ref$"):
        api.assign(model.path, "model", "s2", ref="HEAD", version="v0.0.1")
    with pytest.raises(api.RegistryError, match=r"^You either need to supply version name or skip registration$"):
        api.assign(model.path, "model", "s2", ref="HEAD", version="v0.2.0", skip_registration=True)
    assert model.tags() == before


def _rolled_forward(model, clock):
    """prod: v0.0.1 (#1), then v0.1.0 (#4)."""
    clock.tick()
    api.assign(model.path, "model", "prod", version="v0.1.0")
    assert api.which(model.path, "model", "prod").version == "v0.1.0"


def test_assign_an_older_version_of_a_stage_is_a_rollback(model, clock, silent):
    _rolled_forward(model, clock)
    clock.tick()
    (change,) = api.assign(model.path, "model", "prod", version="v0.0.1")
    assert (change.tag, change.commit) == ("model#prod#5", model.c1)
    assert api.which(model.path, "model", "prod").version == "v0.0.1"
    with pytest.raises(api.RegistryError, match=r"^Version 'v0.0.1' is already the current version in stage 'prod'"):
        api.assign(model.path, "model", "prod", version="v0.0.1")


def test_rollback(model, clock, silent):
    _rolled_forward(model, clock)
    clock.tick()
    change = api.rollback(model.path, "model", "prod")
    assert is_record_instance(change)
    assert (change.tag, change.event, change.name, change.stage, change.version, change.commit, change.replaced) == (
        "model#prod#5", "assignment", "model", "prod", "v0.0.1", model.c1, "v0.1.0")
    assert change.pushed is False
    assert api.which(model.path, "model", "prod").version == "v0.0.1"
    clock.tick()
    # the version before the current one is v0.1.0 again: a second rollback undoes the first
    change = api.rollback(model.path, "model", "prod", message="back again")
    assert (change.tag, change.version, change.replaced) == ("model#prod#6", "v0.1.0", "v0.0.1")
    assert model.git("tag", "-l", "--format=%(contents:subject)", "model#prod#6").strip() == "back again"


@pytest.mark.parametrize("stage, message", [
    ("dev", "^Nothing to roll back to: no version of 'model' other than v0.0.1 is still assigned to stage 'dev'$"),
    ("qa", "^Stage 'qa' was never assigned to a version of 'model': nothing to roll back$"),
])
def test_rollback_with_nothing_to_roll_back_to(model, silent, stage, message):
    before = model.tags()
    with pytest.raises(api.RegistryError, match=message):
        api.rollback(model.path, "model", stage)
    assert model.tags() == before


def test_rollback_skips_unassigned_and_deregistered_versions(model, clock, silent):
    _rolled_forward(model, clock)  # prod: v0.0.1, then v0.1.0
    clock.tick()
    api.deprecate(model.path, "model", version="v0.0.1", stage="prod")  # v0.0.1 taken out of prod by hand
    with pytest.raises(api.RegistryError, match=r"^Nothing to roll back to: no version of 'model' other than v0.1.0"):
        api.rollback(model.path, "model", "prod")
    clock.tick()
    api.deprecate(model.path, "model", version="v0.1.0", stage="prod")
    with pytest.raises(api.RegistryError, match=r"^Stage 'prod' of 'model' is empty: nothing to roll back$"):
        api.rollback(model.path, "model", "prod")


def test_rollback_of_an_unknown_artifact(repo, silent):
    with pytest.raises(api.RegistryError, match=r"^Cannot find artifact 'nomodel'$"):
        api.rollback(repo.path, "nomodel", "prod")


def test_deprecate(model, clock, silent):
    (change,) = api.deprecate(model.path, "model", version="v0.0.1", stage="prod")
    assert (change.tag, change.event) == ("model#prod!#4", "unassignment")
    clock.tick()
    (change,) = api.deprecate(model.path, "model", version="v0.0.1")
    assert (change.tag, change.event) == ("model@v0.0.1!", "deregistration")
    clock.tick()
    (change,) = api.deprecate(model.path, "model")
    # without a ref, the deprecation tags the commit of the newest event (the deregistration, at c1)
    assert (change.tag, change.event, change.commit) == ("model@deprecated", "deprecation", model.c1)


def test_deprecate_delete(model, silent):
    changes = api.deprecate(model.path, "model", version="v0.0.1", stage="prod", delete=True)
    assert [(c.tag, c.deleted) for c in changes] == [("model#prod#1", True)]
    assert "model#prod#1" not in model.tags()


def test_a_gto_style_call_fails_loudly_instead_of_doing_something_else(model, silent):
    """gto.api takes (repo, name, stage, version): a 4th positional of `assign` once read as a ref
    registered a new version at an app's release tag `v0.0.1` and assigned it. Now it is refused,
    and nothing is written."""
    model.tag("v0.0.1", "HEAD", "app release")  # not a registry tag
    before = model.tags()
    with pytest.raises(TypeError):
        api.assign(model.path, "model", "prod", "v0.0.1")  # type: ignore[misc]
    with pytest.raises(TypeError):
        api.deprecate(model.path, "model", "v0.0.1", "prod")  # type: ignore[misc]
    with pytest.raises(TypeError):
        api.register(model.path, "model", "v0.0.1")  # type: ignore[misc]
    assert model.tags() == before


def test_everything_after_the_required_arguments_is_keyword_only(model):
    """Every function of `tagreg.api`: the repository and the artifact (or what the call is about)
    by position, every option by keyword, so a call written for another order fails loudly."""
    import inspect

    subjects = {"repo", "name"}  # positional even where they have a default (`show(repo, name)`)
    loose = []
    for attr in api.__all__:
        function = getattr(api, attr)
        if not inspect.isfunction(function):
            continue
        for parameter in inspect.signature(function).parameters.values():
            if (parameter.default is not inspect.Parameter.empty and parameter.name not in subjects
                    and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD):
                loose.append(f"{attr}({parameter.name})")
    assert loose == []


def test_annotate_and_remove(repo, silent):
    change = api.annotate(repo.path, "m", type="model", path="m.pkl", labels=["a", "b"], custom={"k": "v"},
                          description="Mine")
    assert is_record_instance(change)
    assert change.file == "artifacts.yaml"
    assert change.commit is None
    assert (repo.path / "artifacts.yaml").exists()
    change = api.annotate(repo.path, "dir/sub:clf", path="clf.pkl", commit=True)
    assert change.file == "dir/sub/dvc.yaml"
    assert change.commit == repo.git("rev-parse", "HEAD").strip()
    note = api.describe(repo.path, "dir/sub:clf")
    assert note.path == "clf.pkl"
    change = api.remove(repo.path, "m")
    assert change.file == "artifacts.yaml"
    assert "m:" not in (repo.path / "artifacts.yaml").read_text()


# -- errors: raised, not printed -------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: api.register(p, "bad name"), "Invalid value 'bad name'"),
        (lambda p: api.register(p, "model"), "'model' is already registered in this commit with version 'v0.1.0'"),
        (lambda p: api.assign(p, "model", "prod", version="v9.9.9"), "Version 'v9.9.9' is not registered"),
        (lambda p: api.show(p, "nomodel"), "Cannot find artifact 'nomodel'"),
        (lambda p: api.deprecate(p, "model", version="v0.0.1", stage="qa"),
         "Stage 'qa' is not assigned to a version 'v0.0.1'"),
        (lambda p: api.register(p, "model", ref="nosuchref"), "nosuchref"),
        (lambda p: api.latest(p, "nomodel"), "Cannot find artifact 'nomodel'"),
    ],
)
def test_user_errors_raise_without_printing(model, silent, call, message):
    before = model.tags()
    with pytest.raises(UserError) as info:
        call(model.path)
    assert message in str(info.value)
    assert model.tags() == before


def test_not_a_repository_raises(tmp_path, silent):
    with pytest.raises(UserError) as info:
        api.show(tmp_path)
    assert "not a git repository" in str(info.value)


# --- An artifact's tags read while git opens the repository -------------------------------------


def test_prefetched_tags_are_the_artifacts_tags(model, clock):
    tag(model, clock, "model-b@v1.0.0", "Registering artifact model-b version v1.0.0")  # a similar name
    early = api.Repository(model.path, prefetch="model")
    assert early.tags("model") == api.Repository(model.path).tags("model")
    assert {t.tag for t in early.registry("model").artifacts["model"].events} == {
        "model@v0.0.1", "model#prod#1", "model#dev#2", "model@v0.1.0", "model#staging#3"}


@pytest.mark.parametrize("hint", ["model", "bad name!", "model@latest", "", None])
def test_prefetch_in_a_folder_that_is_no_repository(tmp_path, hint):
    with pytest.raises(api.RegistryError, match="is not a git repository"):
        api.Repository(tmp_path, prefetch=hint)


@pytest.mark.parametrize("call", [
    lambda p: api.show(p, "model@latest"), lambda p: api.show(p, "model#prod"), lambda p: api.history(p, "model"),
    lambda p: api.check_ref(p, "refs/tags/model#prod#1"), lambda p: api.check_ref(p, "model@v0.1.0"),
    lambda p: api.which(p, "model", "prod"), lambda p: api.latest(p, "model"),
])
def test_reads_about_one_artifact_give_what_a_plain_read_gives(model, call):
    repo = api.Repository(model.path)  # an opened repository: the read does not prefetch
    assert call(model.path) == call(repo)


@pytest.mark.parametrize("bad", ["bad name!", "model#", "@v1.0.0", "m@created#x"])
def test_reads_with_bad_names_still_refuse_them_as_before(model, bad):
    with pytest.raises(UserError):
        api.show(model.path, bad)
    assert api.check_ref(model.path, bad) == []
