"""The commands that read the registry: show, history, latest, which, stages, check-ref, doctor,
plus --version, --help, demo and shell completion.

Registries are made with plain `git tag -a` and GTO's messages, one tag a minute (GIT_COMMITTER_DATE),
so expected tables can be written out in full. The expectations follow real runs of GTO 1.10.1 on
the same tags (see ../shared/research/gto-spec.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import run_tagreg

EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC
NOTHING = "Nothing found in the current workspace\n"



class Registry:
    """A repository with a clock: every commit, tag and command happens a minute after the last."""

    def __init__(self, repo, monkeypatch):
        self.repo = repo
        self.path = repo.path
        self.monkeypatch = monkeypatch
        self.now = EPOCH
        self.tick()

    def tick(self, seconds: int = 60) -> None:
        self.now += seconds
        self.monkeypatch.setenv("GIT_COMMITTER_DATE", f"{self.now} +0000")
        self.monkeypatch.setenv("GIT_AUTHOR_DATE", f"{self.now} +0000")

    def run(self, *args, **kwargs):
        return self.repo.run(*args, **kwargs)

    def ok(self, *args, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, f"tagreg {args} failed: {result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stdout

    def json(self, *args):
        return json.loads(self.ok(*args, "--json"))

    def fail(self, *args) -> str:
        result = self.run(*args)
        assert result.returncode == 1, f"tagreg {args} should fail: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("❌ "), result.stderr
        return lines[0]

    def git(self, *args) -> str:
        return self.repo.git(*args)

    def commit(self, message: str = "commit", files: dict | None = None) -> str:
        self.tick()
        return self.repo.commit(message, files)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def tag(self, name: str, ref: str = "HEAD", message: str = "hand-made tag") -> None:
        self.tick()
        self.repo.tag(name, ref, message)

    def lightweight(self, name: str, ref: str = "HEAD") -> None:
        self.repo.tag(name, ref)

    def registered(self, name, version, ref="HEAD"):
        self.tag(f"{name.replace(':', '=')}@{version}", ref, f"Registering artifact {name} version {version}")

    def deregistered(self, name, version, ref="HEAD"):
        self.tag(f"{name}@{version}!", ref, f"Deregistering artifact {name} version {version}")

    def assigned(self, name, stage, counter, version, ref="HEAD"):
        self.tag(f"{name}#{stage}#{counter}", ref, f"Assigning stage {stage} to artifact {name} version {version}")

    def unassigned(self, name, stage, counter, version, ref="HEAD"):
        self.tag(f"{name}#{stage}!#{counter}", ref,
                 f"Unassigning stage '{stage}' to artifact '{name}' version '{version}'")

    def deprecated(self, name, ref="HEAD"):
        self.tag(f"{name}@deprecated", ref, f"Deprecating artifact '{name}'")


@pytest.fixture
def reg(repo, monkeypatch):
    return Registry(repo, monkeypatch)


def at(minutes: int) -> str:
    """The table timestamp of the tag made `minutes` minutes after EPOCH."""
    return f"2026-01-01 00:{minutes:02d}:00+00:00"


def iso(minutes: int) -> str:
    return f"2026-01-01T00:{minutes:02d}:00+00:00"


@pytest.fixture
def model(reg):
    """GTO's example: prod→v0.1.0 then prod→v0.0.1; dev→v0.0.1; staging→v0.1.1 (one tag a minute)."""
    reg.c1 = reg.head()
    reg.registered("model", "v0.0.1")  # 00:02
    reg.c2 = reg.commit("c2")  # 00:03
    reg.registered("model", "v0.1.0")  # 00:04
    reg.assigned("model", "prod", 1, "v0.1.0")  # 00:05
    reg.assigned("model", "prod", 2, "v0.0.1", reg.c1)  # 00:06
    reg.assigned("model", "dev", 3, "v0.0.1", reg.c1)  # 00:07
    reg.c3 = reg.commit("c3")  # 00:08
    reg.registered("model", "v0.1.1")  # 00:09
    reg.assigned("model", "staging", 4, "v0.1.1")  # 00:10
    return reg


# -- show: the registry --------------------------------------------------------------------------


def test_show_table(model):
    assert model.ok("show") == (
        "╒════════╤══════════╤════════╤═════════╤════════════╕\n"
        "│ name   │ latest   │ #dev   │ #prod   │ #staging   │\n"
        "╞════════╪══════════╪════════╪═════════╪════════════╡\n"
        "│ model  │ v0.1.1   │ v0.0.1 │ v0.0.1  │ v0.1.1     │\n"
        "╘════════╧══════════╧════════╧═════════╧════════════╛\n"
    )


def test_show_plain(model):
    assert model.ok("show", "--plain") == (
        "name    latest    #dev    #prod    #staging\n"
        "model   v0.1.1    v0.0.1  v0.0.1   v0.1.1\n"
    )


def test_show_json(model):
    out = model.ok("show", "--json")
    assert out.startswith('{\n    "model": {\n        "version": "v0.1.1",\n')  # 4-space indent, GTO's key order
    assert json.loads(out) == {
        "model": {
            "version": "v0.1.1",
            "stage": {"dev": "v0.0.1", "prod": "v0.0.1", "staging": "v0.1.1"},
            "registered": True,
            "active": True,
        }
    }


def test_show_empty_registry(reg):
    assert reg.ok("show") == NOTHING
    assert reg.json("show") == {}


def test_show_rows_sorted_by_name_and_unregistered_annotated_artifacts_starred(reg):
    reg.commit("annotations", {"artifacts.yaml": "rf:\n  type: model\n  path: rf.pkl\n"})
    reg.registered("zeta", "v1.0.0")
    reg.registered("alpha", "v0.0.1")
    assert reg.ok("show", "--plain") == (
        "name    latest\n"
        "alpha   v0.0.1\n"
        "*rf     -\n"
        "zeta    v1.0.0\n"
    )
    assert reg.json("show")["rf"] == {"version": None, "stage": {}, "registered": False, "active": True}


# -- show NAME ------------------------------------------------------------------------------------


def test_show_name_table(model):
    assert model.ok("show", "model") == (
        "╒════════════╤═══════════╤═══════════╤═══════════════════════════╤══════════════╕\n"
        "│ artifact   │ version   │ stage     │ created_at                │ ref          │\n"
        "╞════════════╪═══════════╪═══════════╪═══════════════════════════╪══════════════╡\n"
        f"│ model      │ v0.1.1    │ staging   │ {at(9)} │ model@v0.1.1 │\n"
        f"│ model      │ v0.1.0    │           │ {at(4)} │ model@v0.1.0 │\n"
        f"│ model      │ v0.0.1    │ dev, prod │ {at(2)} │ model@v0.0.1 │\n"
        "╘════════════╧═══════════╧═══════════╧═══════════════════════════╧══════════════╛\n"
    )


def test_show_name_plain(model):
    assert model.ok("show", "model", "--plain") == (
        "artifact    version    stage      created_at                 ref\n"
        f"model       v0.1.1     staging    {at(9)}  model@v0.1.1\n"
        f"model       v0.1.0                {at(4)}  model@v0.1.0\n"
        f"model       v0.0.1     dev, prod  {at(2)}  model@v0.0.1\n"
    )


VERSION_KEYS = ["artifact", "commit_hexsha", "version", "enrichments", "registrations", "deregistrations", "stages",
                "is_active", "activated_at", "created_at", "author", "author_email", "message", "ref", "discovered"]
STAGE_KEYS = ["artifact", "commit_hexsha", "version", "stage", "assignments", "unassignments", "is_active",
              "activated_at", "created_at", "author", "author_email", "message", "ref"]
EVENT_KEYS = ["priority", "addition", "artifact", "created_at", "author", "author_email", "message", "commit_hexsha",
              "tag", "version"]


def test_show_name_json_shape(model):
    versions = model.json("show", "model")
    assert [v["version"] for v in versions] == ["v0.1.1", "v0.1.0", "v0.0.1"]
    for v in versions:
        assert list(v) == VERSION_KEYS
    oldest = versions[2]
    assert oldest["commit_hexsha"] == model.c1
    assert oldest["is_active"] is True and oldest["discovered"] is False
    assert oldest["created_at"] == iso(2)
    assert oldest["author"] == "Tester" and oldest["author_email"] == "t@example.com"
    assert oldest["message"] == "Registering artifact model version v0.0.1"
    assert oldest["ref"] == "model@v0.0.1"
    (registration,) = oldest["registrations"]
    assert list(registration) == EVENT_KEYS  # no "event" key in registrations
    assert registration["priority"] == 3 and registration["tag"] == "model@v0.0.1"
    assert oldest["deregistrations"] == []
    assert [s["stage"] for s in oldest["stages"]] == ["dev", "prod"]
    prod = oldest["stages"][1]
    assert list(prod) == STAGE_KEYS
    assert prod["ref"] == "model#prod#2" and prod["is_active"] is True and prod["activated_at"] == iso(6)
    (assignment,) = prod["assignments"]
    assert list(assignment) == [*EVENT_KEYS, "stage", "event"]
    assert assignment["event"] == "assignment" and assignment["priority"] == 5
    assert assignment["message"] == "Assigning stage prod to artifact model version v0.0.1"
    (enrichment,) = oldest["enrichments"]
    assert enrichment["priority"] == 0 and enrichment["commit_hexsha"] == model.c1
    assert enrichment["enrichments"] == []
    assert enrichment["committer"] == "Tester"


def test_show_name_json_includes_annotation_enrichment(reg):
    reg.commit("annotations", {"artifacts.yaml": (
        "rf:\n  type: model\n  path: models/rf.pkl\n  labels: [tabular]\n  description: Random forest\n"
        "  custom:\n    a: 1\n"
    )})
    reg.registered("rf", "v1.0.0")
    (version,) = reg.json("show", "rf")
    assert version["enrichments"][0]["enrichments"] == [{
        "source": "gto",
        "artifact": {"type": "model", "path": "models/rf.pkl", "virtual": True, "labels": ["tabular"],
                     "description": "Random forest", "custom": {"a": 1}},
    }]


def test_show_unknown_artifact(model):
    assert model.fail("show", "forecast") == "❌ Cannot find artifact 'forecast'"


# -- shortcuts and field printers -----------------------------------------------------------------


def test_show_latest_and_greatest(model):
    assert model.ok("show", "model@latest", "--ref") == "model@v0.1.1\n"
    assert model.ok("show", "model@greatest", "--version") == "v0.1.1\n"


def test_show_exact_version(model):
    assert model.ok("show", "model@v0.1.0", "--plain") == (
        "artifact    version    stage    created_at                 ref\n"
        f"model       v0.1.0              {at(4)}  model@v0.1.0\n"
    )
    assert model.ok("show", "model@v9.9.9") == NOTHING


def test_show_stage_shortcut(model):
    assert model.ok("show", "model#prod", "--version") == "v0.0.1\n"
    assert model.ok("show", "model#dev", "--version") == "v0.0.1\n"


def test_latest_is_greatest_semver_not_newest(reg):
    reg.registered("m", "v1.0.0")
    reg.commit("c2")
    reg.registered("m", "v0.5.0")
    assert reg.ok("show", "m@latest", "--version") == "v1.0.0\n"
    assert reg.json("show")["m"]["version"] == "v1.0.0"


def test_field_printers(model):
    assert model.ok("show", "--name") == "model\n"
    assert model.ok("show", "model", "--version") == "v0.1.1\nv0.1.0\nv0.0.1\n"
    assert model.ok("show", "model", "--stage") == "staging\n\ndev, prod\n"
    assert model.ok("show", "model", "--ref") == "model@v0.1.1\nmodel@v0.1.0\nmodel@v0.0.1\n"


def test_field_printers_that_do_not_apply(model):
    assert model.fail("show", "--version") == \
        "❌ Cannot apply --version to the registry table: it needs a NAME (show NAME --version)"
    assert model.fail("show", "--ref") == \
        "❌ Cannot apply --ref to the registry table: it needs a NAME (show NAME --ref)"
    assert model.fail("show", "model", "--name") == \
        "❌ Cannot apply --name to the versions of one artifact: it lists the registry's names (show --name)"
    assert "Only one output format allowed" in model.fail("show", "--json", "--plain")


def test_type_and_label_filters(reg):
    reg.commit("annotations", {"artifacts.yaml": (
        "model:\n  type: model\n  labels: [tabular, prod-ready]\n"
        "data:\n  type: dataset\n  labels: [tabular]\n"
        "other:\n  type: model\n"
    )})
    for name in ("model", "data", "other"):
        reg.registered(name, "v1.0.0")
    assert reg.ok("show", "--type", "dataset", "--name") == "data\n"
    assert sorted(reg.json("show", "--label", "tabular")) == ["data", "model"]
    assert reg.ok("show", "--label", "tabular", "--label", "prod-ready", "--name") == "model\n"


def test_deprecated_artifacts_are_hidden_unless_asked(reg):
    reg.registered("old", "v0.0.1")
    reg.deprecated("old")
    reg.registered("new", "v0.0.1")
    assert reg.ok("show", "--name") == "new\n"
    assert reg.ok("show", "old") == NOTHING
    shown = reg.json("show", "--deprecated")
    assert shown["old"] == {"version": "v0.0.1", "stage": {}, "registered": True, "active": False}
    assert reg.ok("show", "old", "-d", "--version") == "v0.0.1\n"


def test_event_after_deprecation_reactivates(reg):
    reg.registered("old", "v0.0.1")
    reg.deprecated("old")
    reg.commit("c2")
    reg.registered("old", "v0.0.2")
    assert reg.json("show")["old"]["active"] is True


def test_show_name_deprecated_flag_lists_deregistered_versions(reg):
    reg.registered("m", "v0.0.1")
    reg.deregistered("m", "v0.0.1")
    assert reg.ok("show", "m") == NOTHING
    assert reg.ok("show", "m", "-d", "--version") == "v0.0.1\n"  # as GTO 1.10.1 does


def test_registered_only_hides_unregistered_commits(reg):
    sha = reg.head()
    reg.assigned("sr", "dev", 1, sha)  # assigned with --sr: the commit has no version
    reg.commit("c2")
    reg.registered("sr", "v0.0.1")
    reg.assigned("sr", "prod", 2, "v0.0.1")
    assert reg.json("show")["sr"] == {"version": "v0.0.1", "stage": {"dev": sha, "prod": "v0.0.1"},
                                      "registered": True, "active": True}
    header, row = reg.ok("show", "--plain").splitlines()  # (a sha of digits only is right-aligned)
    assert header.split() == ["name", "latest", "#dev", "#prod"]
    assert row.split() == ["sr", "v0.0.1", sha[:7], "v0.0.1"]
    assert reg.json("show", "--ro")["sr"]["stage"] == {"dev": None, "prod": "v0.0.1"}
    assert reg.ok("show", "sr", "--ro", "--version") == "v0.0.1\n"


# -- which version is in a stage (spec §3.2) ------------------------------------------------------


def test_stage_winner_is_the_newest_assignment(model):
    assert model.json("show")["model"]["stage"]["prod"] == "v0.0.1"


def test_sort_semver_picks_the_greatest_version(model):
    assert model.json("show", "--sort", "semver")["model"]["stage"]["prod"] == "v0.1.0"


def test_versions_per_stage(model):
    assert model.json("show", "--vs", "-1")["model"]["stage"]["prod"] == "v0.0.1, v0.1.0"
    assert model.json("show", "--vs", "2", "--sort", "semver")["model"]["stage"]["prod"] == "v0.1.0, v0.0.1"
    assert model.ok("show", "model", "--vs", "-1", "--stage") == "staging\nprod\ndev, prod\n"


def test_assignments_per_version(model):
    assert model.json("show", "--av", "0")["model"]["stage"] == {"dev": None, "prod": None, "staging": None}
    # --av 1 keeps each version's first active assignment: v0.0.1 keeps prod (00:06), not dev (00:07)
    assert model.json("show", "--av", "1")["model"]["stage"] == {"dev": None, "prod": "v0.0.1",
                                                                "staging": "v0.1.1"}


def test_sort_semver_keeps_version_rows_in_semver_order(model):
    assert model.ok("show", "model", "--sort", "semver", "--stage") == "staging\nprod\ndev\n"


def test_invalid_sort_is_a_usage_error(model):
    result = model.run("show", "--sort", "newest")
    assert result.returncode == 2
    assert "Invalid value for '--sort'" in result.stderr


def test_unassigning_falls_back_to_the_previous_assignment(model):
    model.unassigned("model", "prod", 5, "v0.0.1", model.c1)
    assert model.json("show")["model"]["stage"]["prod"] == "v0.1.0"
    assert model.ok("which", "model", "prod") == "v0.1.0\n"


def test_deregistered_version_disappears_with_its_stages(model):
    model.deregistered("model", "v0.1.1", model.c3)
    assert model.json("show")["model"] == {  # staging is no longer a used stage, as in GTO
        "version": "v0.1.0", "stage": {"dev": "v0.0.1", "prod": "v0.0.1"}, "registered": True, "active": True,
    }
    assert model.ok("show", "model", "--version") == "v0.1.0\nv0.0.1\n"


# -- history --------------------------------------------------------------------------------------


def test_history_table(model):
    c1, c2, c3 = model.c1[:7], model.c2[:7], model.c3[:7]
    rows = [
        f"{at(10)}  model       assignment    v0.1.1     staging  {c3}   model#staging#4",
        f"{at(9)}  model       registration  v0.1.1     -        {c3}   model@v0.1.1",
        f"{at(7)}  model       assignment    v0.0.1     dev      {c1}   model#dev#3",
        f"{at(6)}  model       assignment    v0.0.1     prod     {c1}   model#prod#2",
        f"{at(5)}  model       assignment    v0.1.0     prod     {c2}   model#prod#1",
        f"{at(4)}  model       registration  v0.1.0     -        {c2}   model@v0.1.0",
        f"{at(2)}  model       registration  v0.0.1     -        {c1}   model@v0.0.1",
    ]
    header = "timestamp                  artifact    event         version    stage    commit    ref"
    assert model.ok("history", "--plain") == "\n".join([header, *rows]) + "\n"
    assert model.ok("history", "--plain", "--ascending") == "\n".join([header, *rows[::-1]]) + "\n"
    fancy = model.ok("history")
    assert fancy.startswith("╒═══")
    assert "│ timestamp                 │ artifact   │ event        │" in fancy


def test_history_json(model):
    entries = model.json("history")
    assert len(entries) == 7
    for entry in entries:
        assert list(entry) == ["timestamp", "artifact", "event", "priority", "version", "stage", "commit", "author",
                               "author_email", "message", "ref"]
    assert entries[0] == {
        "timestamp": iso(10), "artifact": "model", "event": "assignment", "priority": 5, "version": "v0.1.1",
        "stage": "staging", "commit": model.c3, "author": "Tester", "author_email": "t@example.com",
        "message": "Assigning stage staging to artifact model version v0.1.1", "ref": "model#staging#4",
    }
    assert entries[-1]["stage"] is None and entries[-1]["event"] == "registration"
    ascending = model.json("history", "--asc")
    assert ascending == entries[::-1]


def test_history_event_kinds(reg):
    reg.registered("m", "v0.0.1")
    reg.assigned("m", "prod", 1, "v0.0.1")
    reg.unassigned("m", "prod", 2, "v0.0.1")
    reg.deregistered("m", "v0.0.1")
    reg.deprecated("m")
    entries = reg.json("history", "m")
    assert [(e["event"], e["priority"]) for e in entries] == [
        ("deprecation", 2), ("deregistration", 4), ("unassignment", 6), ("assignment", 5), ("registration", 3)]
    assert entries[0]["version"] is None and entries[0]["stage"] is None


def test_history_same_second_orders_by_event_kind(reg):
    reg.registered("m", "v0.0.1")
    reg.repo.tag("m#prod#1", "HEAD", "Assigning stage prod to artifact m version v0.0.1")  # same second
    assert [e["event"] for e in reg.json("history")] == ["assignment", "registration"]
    assert [e["event"] for e in reg.json("history", "--ascending")] == ["registration", "assignment"]


def test_history_of_one_artifact(model):
    model.registered("other", "v5.0.0")
    assert {e["artifact"] for e in model.json("history", "model")} == {"model"}
    assert [e["ref"] for e in model.json("history", "other")] == ["other@v5.0.0"]


def test_history_unknown_name(model):
    assert model.ok("history", "nomodel") == NOTHING


# -- latest, which --------------------------------------------------------------------------------


def test_latest(model):
    assert model.ok("latest", "model") == "v0.1.1\n"
    assert model.ok("latest", "model", "--ref") == "model@v0.1.1\n"


def test_which(model):
    assert model.ok("which", "model", "prod") == "v0.0.1\n"
    assert model.ok("which", "model", "prod", "--ref") == "model#prod#2\n"


def test_unknown_stage_is_an_error_with_the_close_stage(model):
    line = "❌ Unknown stage 'prdo' (the registry's stages: dev, prod, staging); did you mean 'prod'?"
    for args in (["which", "model", "prdo"], ["which", "model", "prdo", "--ref"], ["show", "model#prdo"],
                 ["show", "model#prdo", "--json"], ["show", "model#prdo", "--version"],
                 ["describe", "model#prdo"], ["get", "model#prdo"]):
        result = model.run(*args)
        assert (result.returncode, result.stdout) == (1, ""), args
        assert result.stderr.splitlines() == [line], args
    assert model.fail("which", "model", "nostage") == (
        "❌ Unknown stage 'nostage' (the registry's stages: dev, prod, staging)")


def test_a_stage_any_artifact_used_is_known_even_when_empty(model):
    model.registered("other", "v1.0.0")
    assert model.ok("show", "model#staging", "--version") == "v0.1.1\n"
    for args in (["which", "other", "staging"], ["show", "other#staging", "--version"]):
        result = model.run(*args)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), args  # GTO's answer, piped
    assert model.ok("show", "other#prod") == NOTHING
    assert model.json("show", "other#prod") == []
    model.deregistered("model", "v0.1.1")  # staging is empty now, and still a stage the registry used
    assert model.ok("which", "model", "staging") == ""
    assert model.json("show", "model#staging") == []


def test_unknown_stage_with_allowed_stages_in_the_config(model):
    model.commit("config", {".gto": "stages: [dev, qa, prod]\n"})
    assert model.ok("which", "model", "qa") == ""  # allowed, never used: known and empty
    assert model.ok("which", "model", "staging") == "v0.1.1\n"  # not listed, but a version is in it
    assert model.fail("which", "model", "prdo") == (
        "❌ Unknown stage 'prdo' (the allowed stages: dev, qa, prod); did you mean 'prod'?")


def test_unknown_stage_in_a_registry_without_stages(reg):
    reg.registered("m", "v0.0.1")
    assert reg.fail("which", "m", "prod") == "❌ Unknown stage 'prod' (no stage has been assigned in this registry)"


def test_empty_stage_is_said_on_a_terminal(model):
    """On a terminal the empty answer of a known stage says why on stderr; stdout stays GTO's (empty)."""
    import os
    import pty

    model.registered("other", "v1.0.0")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "tagreg", "which", "other", "prod"], cwd=model.path,
                              stdout=subprocess.PIPE, stderr=follower, text=True, check=False)
        os.close(follower)
        follower = None
        err = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: Linux says EIO
                break
            if not chunk:
                break
            err += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert err.decode().splitlines() == ["No version of 'other' is in stage 'prod'"]


def test_unknown_artifact_says_the_close_name(model):
    model.registered("dir/sub:clf", "v1.0.0")
    for args, line in [
        (["show", "modle"], "❌ Cannot find artifact 'modle'; did you mean 'model'?"),
        (["show", "Model", "--json"], "❌ Cannot find artifact 'Model'; did you mean 'model'?"),
        (["show", "modle#prod"], "❌ Cannot find artifact 'modle'; did you mean 'model'?"),
        (["which", "modle", "prod"], "❌ Cannot find artifact 'modle'; did you mean 'model'?"),
        (["latest", "modle"], "❌ Cannot find artifact 'modle'; did you mean 'model'?"),
        (["get", "modle#prod"], "❌ Cannot find artifact 'modle'; did you mean 'model'?"),
        (["describe", "modle@latest"], "❌ Cannot find artifact 'modle'; did you mean 'model'?"),
        (["describe", "modle"], "❌ No annotation found for 'modle'; did you mean 'model'?"),
        (["show", "clf"], "❌ Cannot find artifact 'clf'; did you mean 'dir/sub:clf'?"),
        (["show", "dir/sub:cfl"], "❌ Cannot find artifact 'dir/sub:cfl'; did you mean 'dir/sub:clf'?"),
        (["show", "forecast"], "❌ Cannot find artifact 'forecast'"),  # nothing close: GTO's line as it is
    ]:
        assert model.fail(*args) == line, args


def test_history_of_an_unknown_artifact_says_the_close_name(model):
    result = model.run("history", "modle")
    assert (result.returncode, result.stdout) == (0, NOTHING)  # GTO's answer
    assert result.stderr.splitlines() == ["⚠️ no artifact 'modle'; did you mean 'model'?"]
    assert model.run("history", "forecast").stderr == ""


def test_show_stage_ref_seed_spelling(model):
    assert model.ok("show", "model#staging", "--ref") == "model@v0.1.1\n"


# -- stages ---------------------------------------------------------------------------------------


def test_stages_without_config(model):
    assert model.ok("stages") == "dev\nprod\nstaging\n"  # the used ones
    assert model.json("stages", "--allowed") is None


def test_stages_with_config(model):
    model.commit("config", {".gto": "stages: [dev, qa, prod]\n"})
    assert model.ok("stages") == "dev\nqa\nprod\n"
    assert model.json("stages", "--allowed") == ["dev", "qa", "prod"]
    assert model.json("stages", "--used") == ["dev", "prod", "staging"]
    assert model.fail("stages", "--allowed", "--used") == '❌ Either "allowed" or "used" can be set'


def test_config_stages_are_the_table_columns(model):
    model.commit("config", {".gto": "stages: [dev, qa, prod]\n"})
    assert model.json("show")["model"]["stage"] == {"dev": "v0.0.1", "qa": None, "prod": "v0.0.1"}


def test_stages_read_from_environment(model):
    assert model.ok("stages", env={"GTO_STAGES": '["prod", "canary"]'}) == "prod\ncanary\n"


# -- check-ref ------------------------------------------------------------------------------------


@pytest.fixture
def events(reg):
    reg.commit("annotations", {"artifacts.yaml": (
        "m:\n  type: model\n  path: models/m.pkl\n  description: The model\n"
    )})
    reg.sha = reg.head()
    reg.registered("m", "v0.0.1")
    reg.assigned("m", "prod", 1, "v0.0.1")
    reg.unassigned("m", "prod", 2, "v0.0.1")
    reg.deregistered("m", "v0.0.1")
    reg.deprecated("m")
    return reg


def test_check_ref_text_for_every_event(events):
    expected = {
        "m@v0.0.1": '✅  Version "v0.0.1" of artifact "m" was registered\n',
        "m#prod#1": '✅  Stage "prod" was assigned to version "v0.0.1" of artifact "m"\n',
        "m#prod!#2": '✅  Stage "prod" was unassigned from version "v0.0.1" of artifact "m"\n',
        "m@v0.0.1!": '✅  Version "v0.0.1" of artifact "m" was deregistered\n',
        "m@deprecated": '✅  Artifact "m" was deprecated\n',
    }
    for tag, line in expected.items():
        assert events.ok("check-ref", tag) == line, tag


def test_check_ref_json(events):
    data = events.json("check-ref", "m#prod#1")
    assert data == {
        "artifact": "m", "created_at": iso(4), "author": "Tester", "author_email": "t@example.com",
        "message": "Assigning stage prod to artifact m version v0.0.1", "commit_hexsha": events.sha,
        "tag": "m#prod#1", "version": "v0.0.1", "stage": "prod", "event": "assignment",
    }
    assert list(data) == ["artifact", "created_at", "author", "author_email", "message", "commit_hexsha", "tag",
                          "version", "stage", "event"]
    registration = events.json("check-ref", "m@v0.0.1")
    assert "stage" not in registration and registration["event"] == "registration"


def test_check_ref_accepts_full_ref_name(events):
    assert events.ok("check-ref", "refs/tags/m#prod#1", "--stage") == "prod\n"


def test_check_ref_field_flags(events):
    assert events.ok("check-ref", "m#prod#1", "--name") == "m\n"
    assert events.ok("check-ref", "m#prod#1", "--version") == "v0.0.1\n"
    assert events.ok("check-ref", "m#prod#1", "--event") == "assignment\n"
    assert events.ok("check-ref", "m@v0.0.1", "--stage") == ""
    assert events.ok("check-ref", "m@deprecated", "--version") == ""


def test_check_ref_annotation_fields(events):
    assert events.ok("check-ref", "m@v0.0.1", "--path") == "models/m.pkl\n"
    assert events.ok("check-ref", "m#prod#1", "--type") == "model\n"
    assert events.ok("check-ref", "m@v0.0.1", "--description") == "The model\n"


@pytest.mark.parametrize("ref", ["release-1", "lw@v1.0.0", "HEAD", "m@v9.9.9"])
def test_check_ref_of_other_refs_prints_nothing(events, ref):
    events.tag("release-1", "HEAD", "a release of someone else")
    events.lightweight("lw@v1.0.0")
    result = events.run("check-ref", ref)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# -- doctor ---------------------------------------------------------------------------------------


def test_doctor_no_issues(model):
    out = model.ok("doctor")
    assert out.rstrip("\n").endswith("✅  No issues found")
    assert model.ok("doctor", "--strict").rstrip("\n").endswith("✅  No issues found")


def test_doctor_reports_tags_it_ignores(reg):
    reg.registered("m", "v0.0.1")
    reg.commit("c2")
    reg.tag("m@v1.0", "HEAD", "made by hand")  # looks like a version, is not SemVer
    reg.tag("m@created", "HEAD", "made by an old tool")  # parses, means nothing (GTO crashes on it)
    reg.lightweight("m@v2.0.0")  # a registry tag name, but not annotated
    reg.tag("release-1", "HEAD", "someone else's tag")
    result = reg.run("doctor")
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stdout.splitlines() if "m@v1.0" in line or "m@created" in line
                or "m@v2.0.0" in line]
    assert len(problems) == 3, result.stdout
    assert "release-1" not in result.stdout
    assert "No issues found" not in result.stdout
    strict = reg.run("doctor", "--strict")
    assert strict.returncode == 1
    assert strict.stdout == result.stdout


def test_doctor_reports_two_versions_on_one_commit(reg):
    reg.registered("m", "v1.0.0")
    reg.registered("m", "v1.0.1")
    result = reg.run("doctor")
    assert "Traceback" not in result.stderr
    assert "v1.0.0" in result.stdout and "v1.0.1" in result.stdout
    assert "No issues found" not in result.stdout
    assert reg.run("doctor", "--strict").returncode == 1


def test_doctor_reports_annotation_path_missing_at_the_version_commit(reg):
    reg.commit("annotations", {"artifacts.yaml": "m:\n  path: models/m.pkl\n", "models/m.pkl": "weights"})
    reg.registered("m", "v0.0.1")
    reg.git("rm", "-q", "models/m.pkl")
    reg.commit("drop the file")
    reg.registered("m", "v0.0.2")
    result = reg.run("doctor")
    assert "models/m.pkl" in result.stdout
    assert "v0.0.2" in result.stdout
    assert "v0.0.1" not in result.stdout  # the file is there at v0.0.1's commit
    assert reg.run("doctor", "--strict").returncode == 1


# -- --version, --help ----------------------------------------------------------------------------


def test_version(reg):
    import tagreg

    out = reg.ok("--version")
    assert tagreg.__version__ in out
    assert "tagreg" in out


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_do_not_import_the_api(reg, args):
    code = (
        "import sys\n"
        f"sys.argv = ['tagreg'] + {args!r}\n"
        "from tagreg.cli import main\n"
        "try:\n"
        f"    main({args!r}, prog_name='tagreg')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('tagreg.api', 'tagreg.state', 'tagreg.git', 'ruamel.yaml', 'yaml', 'tabulate',\n"
        "                      'semver') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=reg.path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_help_lists_the_commands(reg):
    out = reg.ok("--help")
    for command in ("register", "assign", "deprecate", "annotate", "remove", "describe", "show", "history",
                    "latest", "which", "stages", "check-ref", "doctor", "demo"):
        assert command in out, command


# -- demo -----------------------------------------------------------------------------------------


def test_demo_builds_a_registry_that_show_lists(tmp_path):
    result = run_tagreg(tmp_path, "demo", "example")
    assert result.returncode == 0, result.stderr
    target = tmp_path / "example"
    assert str(target) in result.stdout
    shown = run_tagreg(target, "show", "--json", "-d")
    assert shown.returncode == 0, shown.stderr
    registry = json.loads(shown.stdout)
    assert {"churn", "segment", "reviews", "legacy-scorer"} <= set(registry)
    assert registry["legacy-scorer"]["active"] is False  # the demo deprecates one artifact
    assert any(v for a in registry.values() for v in a["stage"].values())  # some stage is assigned
    history = json.loads(run_tagreg(target, "history", "--json").stdout)
    assert {e["event"] for e in history} >= {"registration", "assignment", "deprecation"}


def test_demo_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("mine")
    result = run_tagreg(tmp_path, "demo", "busy")
    assert result.returncode == 1
    assert result.stderr.startswith("❌ ")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["file.txt"]


# -- shell completion -----------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script(reg, shell):
    out = reg.ok(env={"_TAGREG_COMPLETE": f"{shell}_source"})
    assert "_TAGREG_COMPLETE" in out
    assert f"{shell}_complete" in out


def test_completion_of_artifact_names(model):
    model.registered("other", "v1.0.0")
    out = model.ok(env={"_TAGREG_COMPLETE": "bash_complete", "COMP_WORDS": "tagreg show ", "COMP_CWORD": "2"})
    assert sorted(out.split()) == ["plain,model", "plain,other"]
    out = model.ok(env={"_TAGREG_COMPLETE": "bash_complete", "COMP_WORDS": "tagreg show mo", "COMP_CWORD": "2"})
    assert out.split() == ["plain,model"]


def test_completion_of_stages(model):
    out = model.ok(env={"_TAGREG_COMPLETE": "bash_complete", "COMP_WORDS": "tagreg assign model --stage ",
                        "COMP_CWORD": "4"})
    assert sorted(out.split()) == ["plain,dev", "plain,prod", "plain,staging"]


def test_doctor_suggests_packing_when_loose_tag_refs_dominate(reg, monkeypatch):
    import importlib

    D = importlib.import_module("tagreg.api.doctor")  # the module (tagreg.api.doctor is also its function)
    monkeypatch.setattr(D, "LOOSE_TAGS", 5)
    reg.registered("m", "v0.0.1")
    for n in range(1, 7):
        reg.tag(f"m#dev#{n}", "HEAD", "assign")  # `git tag` writes a loose ref each
    hint = [c for c in D.doctor(reg.path) if "git pack-refs --all" in c.message]
    assert [(c.level, c.message) for c in hint] == [
        ("warning", "7 tags are loose refs (0 packed), which slows every read of the tags: run `git pack-refs --all`")]
    reg.git("pack-refs", "--all")
    assert not [c for c in D.doctor(reg.path) if "pack-refs" in c.message]
