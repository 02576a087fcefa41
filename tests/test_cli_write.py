"""The commands that change the registry: register, assign, deprecate, annotate/remove, and describe.

Every test runs `tagreg` as a user would (a subprocess in a real git repository) and checks what
the user sees: the lines printed, the tags created (name, kind, commit, message, tagger), the
annotation files written. Preconditions are made with plain `git tag -a` and the messages GTO
writes, so a test does not depend on other tagreg commands working.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC
PUSH_HINT = "To push the changes upstream, run:\n    git push origin {}\n"
DELETE_HINT = "To push the changes upstream, run:\n    git push --delete origin {}\n"



def load_yaml(text: str):
    return YAML(typ="safe", pure=True).load(text)


class Registry:
    """A repository with a clock: every tag and command happens a minute after the previous one."""

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

    # -- running tagreg --

    def run(self, *args, **kwargs):
        self.tick()
        return self.repo.run(*args, **kwargs)

    def ok(self, *args, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, f"tagreg {args} failed: {result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stdout

    def fail(self, *args, **kwargs) -> str:
        """Run a command that must be refused; returns its one stderr line."""
        before = self.snapshot()
        result = self.run(*args, **kwargs)
        assert result.returncode == 1, f"tagreg {args} should fail: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("❌ "), result.stderr
        assert self.snapshot() == before, "a refused command changed the repository"
        return lines[0]

    # -- git --

    def git(self, *args) -> str:
        return self.repo.git(*args)

    def commit(self, message: str = "commit", files: dict | None = None) -> str:
        self.tick()
        return self.repo.commit(message, files)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def tag(self, name: str, ref: str = "HEAD", message: str = "hand-made tag", **identity) -> None:
        """An annotated tag made with plain git (identity: GIT_COMMITTER_NAME=... overrides)."""
        self.tick()
        import os

        saved = {key: os.environ.get(key) for key in identity}
        os.environ.update(identity)
        try:
            self.repo.tag(name, ref, message)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def lightweight(self, name: str, ref: str = "HEAD") -> None:
        self.repo.tag(name, ref)

    def tags(self) -> list[str]:
        return self.repo.tags()

    def tag_commit(self, tag: str) -> str:
        return self.git("rev-parse", f"refs/tags/{tag}^{{commit}}").strip()

    def tag_info(self, tag: str) -> dict:
        fmt = "%(objecttype)%00%(taggername)%00%(taggeremail)%00%(taggerdate:raw)%00%(contents)"
        kind, name, email, date, contents = self.git("for-each-ref", f"--format={fmt}", f"refs/tags/{tag}").split("\0")
        return {"kind": kind, "tagger": f"{name} {email}", "date": date, "message": contents.strip("\n"),
                "commit": self.tag_commit(tag)}

    def snapshot(self):
        return (
            self.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/tags"),
            self.git("rev-parse", "HEAD"),
            self.git("status", "--porcelain"),
        )

    # -- GTO-style events made by hand --

    def registered(self, name: str, version: str, ref: str = "HEAD", **identity) -> None:
        self.tag(f"{name.replace(':', '=')}@{version}", ref, f"Registering artifact {name} version {version}",
                 **identity)

    def assigned(self, name: str, stage: str, counter: int, version: str, ref: str = "HEAD") -> None:
        self.tag(f"{name}#{stage}#{counter}", ref, f"Assigning stage {stage} to artifact {name} version {version}")

    def unassigned(self, name: str, stage: str, counter: int, version: str, ref: str = "HEAD") -> None:
        self.tag(f"{name}#{stage}!#{counter}", ref,
                 f"Unassigning stage '{stage}' to artifact '{name}' version '{version}'")


@pytest.fixture
def reg(repo, monkeypatch):
    return Registry(repo, monkeypatch)


# -- register --------------------------------------------------------------------------------


def test_register_first_version_is_v0_0_1(reg):
    out = reg.ok("register", "model")
    assert out == "Created git tag 'model@v0.0.1' that registers version\n" + PUSH_HINT.format("model@v0.0.1")
    assert reg.tags() == ["model@v0.0.1"]
    info = reg.tag_info("model@v0.0.1")
    assert info["kind"] == "tag"  # annotated
    assert info["message"] == "Registering artifact model version v0.0.1"
    assert info["tagger"] == "Tester <t@example.com>"
    assert info["date"] == f"{reg.now} +0000"
    assert info["commit"] == reg.head()


def test_register_bumps_patch_of_the_greatest_active_version(reg):
    first = reg.head()
    reg.registered("model", "v1.0.0", first)
    reg.commit("c2")
    reg.registered("model", "v0.5.0")  # newer, but smaller
    reg.commit("c3")
    reg.registered("model", "v2.0.0")
    reg.tag("model@v2.0.0!", "HEAD", "Deregistering artifact model version v2.0.0")  # not active any more
    reg.commit("c4")
    out = reg.ok("register", "model")
    assert out.startswith("Created git tag 'model@v1.0.1' that registers version\n")
    assert reg.tag_commit("model@v1.0.1") == reg.head()


@pytest.mark.parametrize(
    "flag, expected",
    [("--bump-patch", "v0.1.4"), ("--bump-minor", "v0.2.0"), ("--bump-major", "v1.0.0")],
)
def test_register_bump_flags(reg, flag, expected):
    reg.registered("model", "v0.1.3")
    reg.commit("c2")
    out = reg.ok("register", "model", flag)
    assert out.startswith(f"Created git tag 'model@{expected}' that registers version\n")
    assert reg.tags() == sorted(["model@v0.1.3", f"model@{expected}"])


def test_register_bump_drops_prerelease(reg):
    reg.registered("model", "v1.2.0-rc.1")
    reg.commit("c2")
    reg.ok("register", "model", "--bump-minor")
    assert "model@v1.3.0" in reg.tags()


@pytest.mark.parametrize("version", ["v1.0.0-rc.1+b2"])
def test_register_explicit_version(reg, version):
    out = reg.ok("register", "model", "--version", version)
    assert out.startswith(f"Created git tag 'model@{version}' that registers version\n")
    assert reg.tag_info(f"model@{version}")["message"] == f"Registering artifact model version {version}"


def test_register_rev_option_seed_spelling(reg):
    first = reg.head()
    reg.commit("c2")
    reg.ok("register", "model", "--rev", first)
    assert reg.tag_commit("model@v0.0.1") == first


def test_register_ref_positional(reg):
    first = reg.head()
    reg.git("branch", "old")
    reg.commit("c2")
    reg.ok("register", "model", "HEAD~1")
    assert reg.tag_commit("model@v0.0.1") == first
    reg.commit("c3")
    reg.ok("register", "model", "main")  # a branch name
    assert reg.tag_commit("model@v0.0.2") == reg.head()


def test_register_message_option(reg):
    reg.ok("register", "model", "-m", "First model trained on the 2025 data")
    assert reg.tag_info("model@v0.0.1")["message"] == "First model trained on the 2025 data"


def test_register_simple_false_adds_counter(reg):
    reg.assigned("model", "dev", 4, "abc")  # any counted tag of model raises the counter
    reg.commit("c2")
    out = reg.ok("register", "model", "--simple", "false")
    assert out == "Created git tag 'model@v0.0.1#5' that registers version\n" + PUSH_HINT.format("'model@v0.0.1#5'")
    assert reg.tag_info("model@v0.0.1#5")["message"] == "Registering artifact model version v0.0.1"


def test_register_monorepo_name_push_hint_is_bare(reg):
    out = reg.ok("register", "dir/sub:clf", "--version", "v1.0.0-rc.1+b2")
    assert out == (
        "Created git tag 'dir/sub=clf@v1.0.0-rc.1+b2' that registers version\n"
        + PUSH_HINT.format("dir/sub=clf@v1.0.0-rc.1+b2")
    )
    assert reg.tag_info("dir/sub=clf@v1.0.0-rc.1+b2")["message"] == (
        "Registering artifact dir/sub:clf version v1.0.0-rc.1+b2"
    )


def test_register_refuses_an_already_registered_commit(reg):
    reg.registered("model", "v0.0.1")
    err = reg.fail("register", "model")
    assert err.startswith("❌ 'model' is already registered in this commit with version 'v0.0.1'")
    err = reg.fail("register", "model", "--version", "v0.0.7")
    assert err.startswith("❌ 'model' is already registered in this commit with version 'v0.0.1'")


def test_register_refuses_an_existing_version_and_says_who_registered_it(reg):
    reg.registered("model", "v0.0.1", GIT_COMMITTER_NAME="Alice", GIT_COMMITTER_EMAIL="alice@example.com")
    reg.commit("c2")
    err = reg.fail("register", "model", "--version", "v0.0.1")
    assert err.startswith("❌ Version 'v0.0.1' already was registered")
    assert "Alice" in err


def test_register_a_deregistered_commit_only_gets_its_version_back_and_says_why(reg):
    reg.registered("m", "v0.0.1")
    reg.tag("m@v0.0.1!", "HEAD", "Deregistering artifact m version v0.0.1")
    err = reg.fail("register", "m", "--version", "v0.0.5")
    assert err == ("❌ For this REF you can only register v0.0.1: this commit was registered as v0.0.1 "
                   "(deregistered since), and a commit keeps its one version")
    out = reg.ok("register", "m", "--simple", "false")
    assert out.startswith("Created git tag 'm@v0.0.1#1' that registers version\n")


def test_register_force_with_another_version_is_refused_not_ignored(reg):
    reg.registered("m", "v0.0.1")
    err = reg.fail("register", "m", "--force", "--version", "v0.0.7")
    assert err == ("❌ For this REF you can only register v0.0.1: this commit is registered as v0.0.1, "
                   "and a commit keeps its one version")
    out = reg.ok("register", "m", "--force", "--simple", "false")
    assert out.startswith("Created git tag 'm@v0.0.1#1' that registers version\n")


@pytest.mark.parametrize("version", ["v01.0.0", "latest"])
def test_register_invalid_version(reg, version):
    err = reg.fail("register", "model", "--version", version)
    assert err == f"❌ Supplied version '{version}' cannot be parsed"


@pytest.mark.parametrize("args", [["--version", "v1.0.0", "--bump-minor"]])
def test_register_version_and_bump_together(reg, args):
    reg.registered("model", "v0.0.1")
    reg.commit("c2")
    err = reg.fail("register", "model", *args)
    assert err == "❌ Need to specify either version or single bump argument"


@pytest.mark.parametrize("flag", ["--bump-major", "--bump-minor", "--bump-patch"])
def test_register_bump_on_first_version(reg, flag):
    err = reg.fail("register", "model", flag)
    assert err == "❌ Can't apply bump, because this is the first version being registered"


# -- assign / promote ------------------------------------------------------------------------


def test_assign_by_version(reg):
    first = reg.head()
    reg.registered("model", "v0.0.1")
    reg.commit("c2")
    out = reg.ok("assign", "model", "--version", "v0.0.1", "--stage", "prod")
    assert out == (
        "Created git tag 'model#prod#1' that assigns stage to version 'v0.0.1'\n" + PUSH_HINT.format("'model#prod#1'")
    )
    info = reg.tag_info("model#prod#1")
    assert info["kind"] == "tag"
    assert info["commit"] == first
    assert info["message"] == "Assigning stage prod to artifact model version v0.0.1"
    assert info["tagger"] == "Tester <t@example.com>"


def test_promote_is_assign(reg):
    reg.registered("model", "v0.0.1")
    out = reg.ok("promote", "model", "--version", "v0.0.1", "--stage", "dev")
    assert out.startswith("Created git tag 'model#dev#1' that assigns stage to version 'v0.0.1'\n")


def test_assign_by_ref(reg):
    first = reg.head()
    reg.registered("model", "v0.0.1")
    reg.commit("c2")
    reg.registered("model", "v0.0.2")
    out = reg.ok("assign", "model", "HEAD~1", "--stage", "dev")
    assert out.startswith("Created git tag 'model#dev#1' that assigns stage to version 'v0.0.1'\n")
    assert reg.tag_commit("model#dev#1") == first
    assert reg.tags() == ["model#dev#1", "model@v0.0.1", "model@v0.0.2"]


def test_assign_registers_an_unregistered_commit_first(reg):
    reg.registered("model", "v0.0.1")
    reg.commit("c2")
    out = reg.ok("assign", "model", "--stage", "staging")
    assert out == (
        "Created git tag 'model@v0.0.2' that registers version\n"
        + PUSH_HINT.format("model@v0.0.2")
        + "Created git tag 'model#staging#1' that assigns stage to version 'v0.0.2'\n"
        + PUSH_HINT.format("'model#staging#1'")
    )
    assert reg.tag_commit("model@v0.0.2") == reg.head()
    assert reg.tag_commit("model#staging#1") == reg.head()
    assert reg.tag_info("model@v0.0.2")["message"] == "Registering artifact model version v0.0.2"


def test_assign_ref_and_version_names_the_new_version(reg):
    out = reg.ok("assign", "model", "HEAD", "--version", "v1.0.0", "--stage", "dev")
    assert "Created git tag 'model@v1.0.0' that registers version\n" in out
    assert "Created git tag 'model#dev#1' that assigns stage to version 'v1.0.0'\n" in out
    assert reg.tags() == ["model#dev#1", "model@v1.0.0"]


def test_assign_skip_registration_names_the_version_by_commit(reg):
    sha = reg.head()
    out = reg.ok("assign", "model", "--stage", "dev", "--sr")
    assert out == (
        f"Created git tag 'model#dev#1' that assigns stage to version '{sha}'\n" + PUSH_HINT.format("'model#dev#1'")
    )
    assert reg.tags() == ["model#dev#1"]
    assert reg.tag_info("model#dev#1")["message"] == f"Assigning stage dev to artifact model version {sha}"


def test_assign_skip_registration_long_spelling(reg):
    reg.ok("assign", "model", "--stage", "dev", "--skip-registration")
    assert reg.tags() == ["model#dev#1"]


def test_assign_already_in_stage_needs_force(reg):
    reg.registered("model", "v0.1.0")
    reg.assigned("model", "prod", 1, "v0.1.0")
    err = reg.fail("assign", "model", "--version", "v0.1.0", "--stage", "prod")
    assert err == (
        "❌ Version 'v0.1.0' is already the current version in stage 'prod'. "
        "Use the '--force' flag to create a new Git tag nevertheless."
    )
    out = reg.ok("assign", "model", "--version", "v0.1.0", "--stage", "prod", "--force")
    assert out.startswith("Created git tag 'model#prod#2' that assigns stage to version 'v0.1.0'\n")


def _two_in_prod(reg):
    """v0.0.1 then v0.0.2 assigned to prod (v0.0.2 is the current one); returns their commits."""
    first = reg.head()
    reg.registered("churn", "v0.0.1")
    reg.assigned("churn", "prod", 1, "v0.0.1")
    second = reg.commit("c2")
    reg.registered("churn", "v0.0.2")
    reg.assigned("churn", "prod", 2, "v0.0.2")
    return first, second


def test_assign_an_earlier_version_of_the_stage_is_a_rollback(reg):
    first, _ = _two_in_prod(reg)
    out = reg.ok("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    assert out.startswith("Created git tag 'churn#prod#3' that assigns stage to version 'v0.0.1'\n")
    assert reg.tag_commit("churn#prod#3") == first
    assert reg.ok("which", "churn", "prod").strip() == "v0.0.1"
    # by ref too: HEAD is v0.0.2, which is no longer the current one
    out = reg.ok("assign", "churn", "HEAD", "--stage", "prod")
    assert out.startswith("Created git tag 'churn#prod#4' that assigns stage to version 'v0.0.2'\n")


def test_assign_the_current_version_of_the_stage_is_refused_naming_it(reg):
    _two_in_prod(reg)
    expected = ("❌ Version 'v0.0.2' is already the current version in stage 'prod'. "
                "Use the '--force' flag to create a new Git tag nevertheless.")
    assert reg.fail("assign", "churn", "--version", "v0.0.2", "--stage", "prod") == expected
    assert reg.fail("assign", "churn", "HEAD", "--stage", "prod") == expected


def test_assign_ref_with_another_version_than_the_refs_is_refused(reg):
    reg.registered("m", "v0.0.1")
    reg.commit("c2")
    reg.registered("m", "v0.0.2")
    err = reg.fail("assign", "m", "HEAD", "--version", "v0.0.1", "--stage", "s2")
    assert err == "❌ Can't register 'v0.0.1', since 'v0.0.2' is registered already at this ref"
    err = reg.fail("assign", "m", "HEAD", "--version", "v0.0.3", "--stage", "s2")
    assert err == "❌ Can't register 'v0.0.3', since 'v0.0.2' is registered already at this ref"
    # naming the version the ref has is what the ref means anyway (GTO refuses this too; tagreg assigns)
    out = reg.ok("assign", "m", "HEAD", "--version", "v0.0.2", "--stage", "s2")
    assert out.startswith("Created git tag 'm#s2#1' that assigns stage to version 'v0.0.2'\n")


@pytest.mark.parametrize("ref", [["HEAD"], ["HEAD~1"]])
def test_assign_skip_registration_with_a_version_is_refused(reg, ref):
    reg.registered("m", "v0.0.1")
    reg.commit("c2")
    err = reg.fail("assign", "m", *ref, "--sr", "--version", "v0.0.3", "--stage", "dev")
    assert err == "❌ You either need to supply version name or skip registration"


def test_rollback_assigns_the_version_before_the_current_one(reg):
    first, _ = _two_in_prod(reg)
    out = reg.ok("rollback", "churn", "prod")
    assert out == ("Rolled back 'prod' of churn from v0.0.2 to v0.0.1\n"
                   "Created git tag 'churn#prod#3' that assigns stage to version 'v0.0.1'\n"
                   + PUSH_HINT.format("'churn#prod#3'"))
    info = reg.tag_info("churn#prod#3")
    assert (info["commit"], info["message"]) == (first, "Assigning stage prod to artifact churn version v0.0.1")
    assert reg.ok("which", "churn", "prod") == "v0.0.1\n"
    out = reg.ok("rollback", "churn", "prod", "-m", "v0.0.1 was fine after all: no")
    assert out.startswith("Rolled back 'prod' of churn from v0.0.1 to v0.0.2\n")
    assert reg.tag_info("churn#prod#4")["message"] == "v0.0.1 was fine after all: no"
    assert reg.ok("which", "churn", "prod") == "v0.0.2\n"


def test_rollback_pushes_with_push(reg, tmp_path):
    _two_in_prod(reg)
    remote = tmp_path / "remote.git"
    reg.git("init", "-q", "--bare", str(remote))
    reg.git("remote", "add", "origin", str(remote))
    out = reg.ok("rollback", "churn", "prod", "--push")
    assert "Running `git push origin churn#prod#3`\nSuccessfully pushed git tag churn#prod#3 on remote.\n" in out
    assert reg.repo.git("ls-remote", "--tags", str(remote), "churn#prod#3").strip()


@pytest.mark.parametrize("args, message", [
    (["churn", "prod"], "❌ Cannot find artifact 'churn'"),
    (["m", "prod"],
     "❌ Nothing to roll back to: no version of 'm' other than v0.0.1 is still assigned to stage 'prod'"),
    (["m", "prdo"], "❌ Stage 'prdo' was never assigned to a version of 'm': nothing to roll back"),
    (["m", "bad#stage"], None),
])
def test_rollback_refusals_are_one_line(reg, args, message):
    reg.registered("m", "v0.0.1")
    reg.assigned("m", "prod", 1, "v0.0.1")
    err = reg.fail("rollback", *args)
    if message is not None:
        assert err == message


def test_rollback_of_an_empty_stage(reg):
    reg.registered("m", "v0.0.1")
    reg.assigned("m", "prod", 1, "v0.0.1")
    reg.unassigned("m", "prod", 2, "v0.0.1")
    assert reg.fail("rollback", "m", "prod") == "❌ Stage 'prod' of 'm' is empty: nothing to roll back"


def test_writes_on_an_unknown_artifact_say_the_close_name(reg):
    reg.registered("churn", "v0.0.1")
    reg.assigned("churn", "prod", 1, "v0.0.1")
    assert reg.fail("rollback", "chrun", "prod") == "❌ Cannot find artifact 'chrun'; did you mean 'churn'?"
    assert reg.fail("deprecate", "chrun") == "❌ Cannot find artifact 'chrun'; did you mean 'churn'?"
    assert reg.fail("deprecate", "chrun", "v0.0.1") == "❌ No versions found for 'chrun'; did you mean 'churn'?"
    assert reg.fail("deprecate", "chrun", "v0.0.1", "prod") == "❌ No versions found for 'chrun'; did you mean 'churn'?"
    assert reg.fail("deprecate", "forecast") == "❌ Cannot find artifact 'forecast'"  # nothing close: GTO's line


def test_rollback_stage_not_allowed_by_config(reg):
    reg.commit("config", {".gto": "stages: [dev, prod]\n"})
    reg.registered("m", "v0.0.1")
    assert reg.fail("rollback", "m", "qa") == "❌ Stage 'qa' is not allowed; allowed stages are: dev, prod"


def test_assign_again_after_unassign_needs_no_force(reg):
    reg.registered("model", "v0.1.0")
    reg.assigned("model", "prod", 1, "v0.1.0")
    reg.unassigned("model", "prod", 2, "v0.1.0")
    out = reg.ok("assign", "model", "--version", "v0.1.0", "--stage", "prod")
    assert out.startswith("Created git tag 'model#prod#3' ")


def test_assign_simple_true_has_no_counter(reg):
    reg.registered("model", "v0.0.1")
    out = reg.ok("assign", "model", "--version", "v0.0.1", "--stage", "dev", "--simple", "true")
    assert out.startswith("Created git tag 'model#dev' that assigns stage to version 'v0.0.1'\n")
    assert PUSH_HINT.format("'model#dev'") in out


def test_counter_is_shared_by_every_event_kind_and_counts_lightweight_tags(reg):
    first = reg.head()
    reg.registered("m", "v0.0.1")
    reg.assigned("m", "prod", 1, "v0.0.1")
    reg.unassigned("m", "prod", 2, "v0.0.1")
    reg.lightweight("m#dev#6")  # ignored as an event, but its name still counts
    reg.tag("m#qa", "HEAD", "Assigning stage qa to artifact m version v0.0.1")  # no counter: counts nothing
    reg.lightweight("mm#prod#50")  # other artifacts' counters do not count
    reg.assigned("other", "prod", 40, "v0.0.1")
    reg.tag("dir=m#prod#60", "HEAD", "Assigning stage prod to artifact dir:m version v0.0.1")

    out = reg.ok("assign", "m", "--version", "v0.0.1", "--stage", "prod")
    assert out.startswith("Created git tag 'm#prod#7' ")
    out = reg.ok("deprecate", "m", "v0.0.1", "prod")
    assert out.startswith("Created git tag 'm#prod!#8' ")
    reg.commit("c2")
    out = reg.ok("register", "m", "--simple", "false")
    assert out.startswith("Created git tag 'm@v0.0.2#9' ")
    out = reg.ok("deprecate", "m", "--force")
    assert out.startswith("Created git tag 'm@deprecated#10' ")
    assert reg.tag_commit("m#prod#7") == first


def test_assign_stage_not_allowed_by_config(reg):
    reg.commit("config", {".gto": "stages: [dev, prod]\n"})
    reg.registered("model", "v0.0.1")
    reg.commit("c3")  # unregistered HEAD: nothing may be registered when the stage is refused
    err = reg.fail("assign", "model", "--stage", "staging")
    assert err == "❌ Stage 'staging' is not allowed; allowed stages are: dev, prod"
    err = reg.fail("assign", "model", "--version", "v0.0.1", "--stage", "staging")
    assert err == "❌ Stage 'staging' is not allowed; allowed stages are: dev, prod"
    reg.ok("assign", "model", "--version", "v0.0.1", "--stage", "prod")
    assert reg.tags() == ["model#prod#1", "model@v0.0.1"]


def test_assign_unknown_version(reg):
    reg.registered("model", "v0.0.1")
    err = reg.fail("assign", "model", "--version", "v9.9.9", "--stage", "prod")
    assert err == "❌ Version 'v9.9.9' is not registered"


# -- deprecate -------------------------------------------------------------------------------


def test_deprecate_version_stage_unassigns(reg):
    first = reg.head()
    reg.registered("model", "v0.0.1")
    reg.assigned("model", "prod", 1, "v0.0.1")
    reg.commit("c2")
    out = reg.ok("deprecate", "model", "v0.0.1", "prod")
    assert out == (
        "Created git tag 'model#prod!#2' that unassigns stage from version 'v0.0.1'\n"
        + PUSH_HINT.format("'model#prod!#2'")
    )
    info = reg.tag_info("model#prod!#2")
    assert info["commit"] == first
    assert info["message"] == "Unassigning stage 'prod' to artifact 'model' version 'v0.0.1'"
    assert reg.tags() == ["model#prod!#2", "model#prod#1", "model@v0.0.1"]  # nothing deleted


def test_unassign_twice_is_allowed(reg):
    reg.registered("model", "v0.0.1")
    reg.assigned("model", "prod", 1, "v0.0.1")
    reg.unassigned("model", "prod", 2, "v0.0.1")
    out = reg.ok("deprecate", "model", "v0.0.1", "prod")
    assert out.startswith("Created git tag 'model#prod!#3' ")


def test_deprecate_version_deregisters(reg):
    reg.registered("model", "v0.0.1")
    reg.assigned("model", "prod", 1, "v0.0.1")
    out = reg.ok("deprecate", "model", "v0.0.1")
    assert out == "Created git tag 'model@v0.0.1!' that deregisters version\n" + PUSH_HINT.format("'model@v0.0.1!'")
    assert reg.tag_info("model@v0.0.1!")["message"] == "Deregistering artifact model version v0.0.1"
    assert reg.tags() == ["model#prod#1", "model@v0.0.1", "model@v0.0.1!"]


def test_deprecate_artifact_tags_the_newest_event_commit(reg):
    first = reg.head()
    reg.registered("model", "v0.0.1")
    reg.commit("c2")
    out = reg.ok("deprecate", "model")
    assert out == "Created git tag 'model@deprecated' that deprecates artifact\n" + PUSH_HINT.format("model@deprecated")
    info = reg.tag_info("model@deprecated")
    assert info["commit"] == first
    assert info["message"] == "Deprecating artifact 'model'"
    assert reg.tags() == ["model@deprecated", "model@v0.0.1"]


def test_deprecate_artifact_tags_head_when_head_annotates_it_and_is_newest(reg):
    # GTO counts the commits of annotations as events: HEAD's annotation of the artifact is newer
    # than its registration, so the deprecation goes there (as `gto deprecate` writes it).
    reg.commit("c1")  # dated by the registry's clock, as the version's commit counts too
    reg.registered("model", "v0.0.1")
    head = reg.commit("c2: annotate", {"artifacts.yaml": "model:\n  path: model.pkl\n"})
    reg.ok("deprecate", "model")
    assert reg.tag_commit("model@deprecated") == head


def test_deprecate_artifact_tags_the_newest_event_when_newer_than_the_annotated_head(reg):
    first = reg.commit("c1")
    reg.registered("model", "v0.0.1")
    reg.commit("c2: annotate", {"artifacts.yaml": "model:\n  path: model.pkl\n"})
    reg.assigned("model", "prod", 1, "v0.0.1", ref="HEAD~1")  # after the commit
    reg.ok("deprecate", "model")
    assert reg.tag_commit("model@deprecated") == first


def test_deprecate_artifact_at_ref(reg):
    reg.registered("model", "v0.0.1")
    reg.commit("c2")
    reg.ok("deprecate", "model", "--ref", "HEAD")
    assert reg.tag_commit("model@deprecated") == reg.head()


def test_deprecate_twice(reg):
    reg.registered("model", "v0.0.1")
    reg.tag("model@deprecated", "HEAD", "Deprecating artifact 'model'")
    err = reg.fail("deprecate", "model")
    assert err == "❌ Artifact was deprecated already"


def test_deregister_twice(reg):
    sha = reg.head()
    reg.registered("model", "v0.0.1")
    reg.tag("model@v0.0.1!", "HEAD", "Deregistering artifact model version v0.0.1")
    err = reg.fail("deprecate", "model", "v0.0.1")
    assert err == f"❌ The version at ref '{sha}' was deregistered already"


def test_unassign_a_stage_never_assigned(reg):
    reg.registered("model", "v0.0.1")
    reg.assigned("model", "prod", 1, "v0.0.1")
    err = reg.fail("deprecate", "model", "v0.0.1", "dev")
    assert err == "❌ Stage 'dev' is not assigned to a version 'v0.0.1'"


@pytest.mark.parametrize("args", [["v9.9.9"], ["v9.9.9", "prod"]])
def test_deprecate_unknown_version(reg, args):
    reg.registered("model", "v0.0.1")
    reg.assigned("model", "prod", 1, "v0.0.1")
    err = reg.fail("deprecate", "model", *args)
    assert "v9.9.9" in err


def test_a_new_artifact_close_to_an_existing_one_is_written_with_a_warning(reg):
    reg.registered("churn", "v0.0.1")
    reg.assigned("churn", "prod", 1, "v0.0.1")
    result = reg.run("assign", "chrun", "--stage", "prod")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Created git tag 'chrun@v0.0.1' that registers version\n")
    assert result.stderr.splitlines() == ["⚠️ 'chrun' is a new artifact; did you mean 'churn'?"]
    assert {"chrun@v0.0.1", "chrun#prod#1"} <= set(reg.tags())
    reg.commit("c2")
    result = reg.run("register", "Churn")
    assert (result.returncode, result.stderr.splitlines()) == (
        0, ["⚠️ 'Churn' is a new artifact; did you mean 'churn' or 'chrun'?"])  # closest first
    result = reg.run("register", "chrun")  # an artifact now: no warning
    assert (result.returncode, result.stderr) == (0, "")


def test_annotating_a_new_artifact_close_to_an_existing_one_warns(reg):
    reg.registered("churn", "v0.0.1")
    result = reg.run("annotate", "chrun", "--type", "model")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["⚠️ 'chrun' is a new artifact; did you mean 'churn'?"]
    assert "chrun:" in (reg.path / "artifacts.yaml").read_text()
    result = reg.run("annotate", "churn", "--type", "model")  # an artifact already: no warning
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("name", ["churn2", "churn-xgboost", "forecast"])
def test_a_new_artifact_not_a_typo_of_another_has_no_warning(reg, name):
    reg.registered("churn", "v0.0.1")
    reg.registered("churn1", "v0.0.1")
    reg.commit("c2")
    result = reg.run("register", name)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_new_artifact_declared_in_an_annotation_file_has_no_warning(reg):
    reg.registered("churn", "v0.0.1")
    reg.commit("annotate", {"artifacts.yaml": "chrun:\n  path: chrun.pkl\n"})  # named on purpose
    result = reg.run("register", "chrun")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_new_stage_close_to_a_used_one_is_written_with_a_warning(reg):
    reg.registered("churn", "v0.0.1")
    reg.assigned("churn", "prod", 1, "v0.0.1")
    result = reg.run("assign", "churn", "--version", "v0.0.1", "--stage", "prdo")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["⚠️ 'prdo' is a new stage; did you mean 'prod'?"]
    assert "churn#prdo#2" in reg.tags()


def test_deprecate_version_of_unknown_artifact(reg):
    err = reg.fail("deprecate", "nomodel", "v0.0.1")
    assert err == "❌ No versions found for 'nomodel'"


def test_deprecate_unknown_artifact(reg):
    err = reg.fail("deprecate", "nomodel")
    assert err == "❌ Cannot find artifact 'nomodel'"


def test_deprecate_invalid_version(reg):
    reg.registered("model", "v0.0.1")
    reg.commit("c2")
    err = reg.fail("deprecate", "model", "HEAD~1", "dev")
    assert err == "❌ Version 'HEAD~1' is not valid. Example of valid version: 'v1.0.0'"


def _delete_fixture(reg):
    reg.registered("m", "v0.0.1")
    reg.assigned("m", "prod", 1, "v0.0.1")
    reg.unassigned("m", "prod", 2, "v0.0.1")
    reg.assigned("m", "dev", 3, "v0.0.1")
    reg.commit("c2")
    reg.registered("m", "v0.0.2")
    reg.assigned("m", "prod", 4, "v0.0.2")
    reg.registered("other", "v0.0.1")
    reg.tag("release-1", "HEAD", "a tag of someone else")


def test_delete_stage_tags(reg):
    _delete_fixture(reg)
    out = reg.ok("deprecate", "m", "v0.0.1", "prod", "--delete")
    assert out == (
        "Deleted git tag 'm#prod#1'\n" + DELETE_HINT.format("'m#prod#1'")
        + "Deleted git tag 'm#prod!#2'\n" + DELETE_HINT.format("'m#prod!#2'")
    )
    assert reg.tags() == ["m#dev#3", "m#prod#4", "m@v0.0.1", "m@v0.0.2", "other@v0.0.1", "release-1"]


def test_delete_version_tags(reg):
    _delete_fixture(reg)
    out = reg.ok("deprecate", "m", "v0.0.2", "-d")
    assert out == (
        "Deleted git tag 'm@v0.0.2'\n" + DELETE_HINT.format("m@v0.0.2")
        + "Deleted git tag 'm#prod#4'\n" + DELETE_HINT.format("'m#prod#4'")
    )
    assert reg.tags() == ["m#dev#3", "m#prod!#2", "m#prod#1", "m@v0.0.1", "other@v0.0.1", "release-1"]


def test_delete_artifact_tags(reg):
    _delete_fixture(reg)
    out = reg.ok("deprecate", "m", "--delete")
    deleted = [line.split("'")[1] for line in out.splitlines() if line.startswith("Deleted git tag")]
    assert sorted(deleted) == ["m#dev#3", "m#prod!#2", "m#prod#1", "m#prod#4", "m@v0.0.1", "m@v0.0.2"]
    assert deleted[0] == "m@v0.0.1"  # oldest first
    assert reg.tags() == ["other@v0.0.1", "release-1"]


def test_nothing_is_deleted_without_delete(reg):
    _delete_fixture(reg)
    before = reg.tags()
    reg.ok("deprecate", "m", "v0.0.2", "prod")
    reg.ok("deprecate", "m", "v0.0.2")
    reg.ok("deprecate", "m")
    assert reg.tags() == sorted(before + ["m#prod!#5", "m@v0.0.2!", "m@deprecated"])


# -- annotate / remove -----------------------------------------------------------------------

ANNOTATIONS = """\
# Artifacts of this repository. Keep this comment.
zeta:
  type: model  # the first one
  path: models/zeta.pkl
alpha:
  path: models/alpha.pkl
"""


def test_annotate_keeps_comments_and_key_order(reg):
    reg.commit("annotations", {"artifacts.yaml": ANNOTATIONS})
    out = reg.ok("annotate", "alpha", "--type", "model", "--description", "The alpha model")
    assert "alpha" in out and "artifacts.yaml" in out
    text = (reg.path / "artifacts.yaml").read_text()
    assert text == ANNOTATIONS + "  type: model\n  description: The alpha model\n"
    reg.ok("annotate", "beta", "--path", "b.pkl")
    text = (reg.path / "artifacts.yaml").read_text()
    assert text.startswith(ANNOTATIONS)
    assert list(load_yaml(text)) == ["zeta", "alpha", "beta"]


def test_annotate_creates_the_file(reg):
    reg.ok("annotate", "model", "--type", "model", "--path", "models/m.pkl")
    assert load_yaml((reg.path / "artifacts.yaml").read_text()) == {
        "model": {"type": "model", "path": "models/m.pkl"}
    }
    assert reg.git("log", "--format=%s") == "initial\n"  # no commit without --commit


def test_annotate_labels_and_custom(reg):
    reg.ok("annotate", "model", "--label", "tabular", "--label", "prod-ready", "--custom", "owner=ml-team",
           "--custom", "epochs=10")
    entry = load_yaml((reg.path / "artifacts.yaml").read_text())["model"]
    assert entry["labels"] == ["tabular", "prod-ready"]
    assert entry["custom"] == {"owner": "ml-team", "epochs": "10"}


def test_annotate_commit_commits_only_the_annotation_file(reg):
    reg.commit("files", {"other.txt": "one\n", "notes.txt": "a\n"})
    (reg.path / "other.txt").write_text("two\n")
    reg.git("add", "other.txt")  # staged by the user, not theirs to commit
    (reg.path / "notes.txt").write_text("b\n")  # modified, not staged
    before = reg.head()
    out = reg.ok("annotate", "model", "--path", "m.pkl", "--commit")
    after = reg.head()
    assert after != before
    assert reg.git("rev-parse", "HEAD~1").strip() == before
    assert reg.git("show", "--name-only", "--format=", "HEAD").split() == ["artifacts.yaml"]
    assert after[:7] in out
    assert reg.git("diff", "--cached", "--name-only").split() == ["other.txt"]
    assert sorted(reg.git("status", "--porcelain").splitlines()) == [" M notes.txt", "M  other.txt"]
    committed = load_yaml(reg.git("show", "HEAD:artifacts.yaml"))
    assert committed == {"model": {"path": "m.pkl"}}


def test_annotate_monorepo_name_writes_dvc_yaml(reg):
    reg.commit("dvc", {"dir/sub/dvc.yaml": "# pipeline\nstages:\n  train:\n    cmd: python train.py\n"})
    reg.ok("annotate", "dir/sub:clf", "--path", "model.pkl", "--type", "model", "--description", "A classifier",
           "--label", "nlp", "--custom", "framework=sklearn")
    text = (reg.path / "dir/sub/dvc.yaml").read_text()
    assert text.startswith("# pipeline\nstages:\n")
    assert load_yaml(text) == {
        "stages": {"train": {"cmd": "python train.py"}},
        "artifacts": {"clf": {"path": "model.pkl", "type": "model", "desc": "A classifier", "labels": ["nlp"],
                              "meta": {"framework": "sklearn"}}},
    }
    assert not (reg.path / "artifacts.yaml").exists()


def test_remove_deletes_only_that_entry(reg):
    reg.commit("annotations", {"artifacts.yaml": ANNOTATIONS})
    out = reg.ok("remove", "alpha")
    assert "alpha" in out
    assert (reg.path / "artifacts.yaml").read_text() == (
        "# Artifacts of this repository. Keep this comment.\n"
        "zeta:\n  type: model  # the first one\n  path: models/zeta.pkl\n"
    )


def test_remove_with_commit(reg):
    reg.commit("annotations", {"artifacts.yaml": ANNOTATIONS})
    reg.ok("remove", "zeta", "--commit")
    assert reg.git("show", "--name-only", "--format=", "HEAD").split() == ["artifacts.yaml"]
    assert list(load_yaml(reg.git("show", "HEAD:artifacts.yaml"))) == ["alpha"]
    assert reg.git("status", "--porcelain") == ""


def test_remove_unknown_annotation(reg):
    reg.commit("annotations", {"artifacts.yaml": ANNOTATIONS})
    err = reg.fail("remove", "nomodel")
    assert "nomodel" in err


# -- describe --------------------------------------------------------------------------------


@pytest.fixture
def described(reg):
    """model: path old.pkl at v0.0.1 (in prod), new.pkl at v0.0.2 and HEAD."""
    reg.commit("v1", {"artifacts.yaml": (
        "model:\n  type: model\n  path: models/old.pkl\n  description: The first model\n"
        "  labels: [tabular]\n  custom:\n    owner: alice\n"
    )})
    reg.registered("model", "v0.0.1")
    reg.assigned("model", "prod", 1, "v0.0.1")
    reg.commit("v2", {"artifacts.yaml": "model:\n  type: model\n  path: models/new.pkl\n  description: Retrained\n"})
    reg.registered("model", "v0.0.2")
    return reg


def test_describe_name_prints_yaml_at_head(described):
    data = load_yaml(described.ok("describe", "model"))
    assert data["path"] == "models/new.pkl"
    assert data["type"] == "model"
    assert data["description"] == "Retrained"


def test_describe_version_reads_that_versions_commit(described):
    data = load_yaml(described.ok("describe", "model@v0.0.1"))
    assert data["path"] == "models/old.pkl"
    assert data["description"] == "The first model"
    assert data["labels"] == ["tabular"]
    assert data["custom"] == {"owner": "alice"}


def test_describe_stage_and_latest(described):
    assert described.ok("describe", "model#prod", "--path") == "models/old.pkl\n"
    assert described.ok("describe", "model@latest", "--path") == "models/new.pkl\n"


def test_describe_rev_seed_spelling(described):
    assert described.ok("describe", "model", "--rev", "HEAD~1", "--path") == "models/old.pkl\n"


def test_describe_field_flags(described):
    assert described.ok("describe", "model", "--type") == "model\n"
    assert described.ok("describe", "model@v0.0.1", "--description") == "The first model\n"


def test_describe_several_field_flags_print_one_line_each_in_a_fixed_order(described):
    """path, type, description: always in that order, whatever the order given, one line each (a
    field with no value is an empty line, so `read` and line numbers still match)."""
    assert described.ok("describe", "model@v0.0.1", "--path", "--type") == "models/old.pkl\nmodel\n"
    assert described.ok("describe", "model@v0.0.1", "--description", "--type", "--path") == \
        "models/old.pkl\nmodel\nThe first model\n"
    described.ok("annotate", "bare", "--path", "b.bin")
    assert described.ok("describe", "bare", "--type", "--path") == "b.bin\n\n"


def test_describe_json(described):
    data = json.loads(described.ok("describe", "model@v0.0.1", "--json"))
    assert data["path"] == "models/old.pkl"
    assert data["type"] == "model"
    assert data["description"] == "The first model"
    assert data["labels"] == ["tabular"]


def test_describe_reads_dvc_yaml(reg):
    reg.commit("dvc", {"dvc.yaml": (
        "stages:\n  train:\n    cmd: python train.py\n"
        "artifacts:\n  clf:\n    path: models/clf.pkl\n    type: model\n    desc: A classifier\n"
        "    labels: [nlp, prod]\n    meta:\n      framework: sklearn\n"
    )})
    data = json.loads(reg.ok("describe", "clf", "--json"))
    assert data["path"] == "models/clf.pkl"
    assert data["type"] == "model"
    assert data["description"] == "A classifier"
    assert data["labels"] == ["nlp", "prod"]
    assert data["custom"] == {"framework": "sklearn"}


def test_describe_reads_subfolder_dvc_yaml_for_monorepo_names(reg):
    reg.commit("dvc", {
        "sub/dvc.yaml": "artifacts:\n  clf:\n    path: clf.pkl\n    type: model\n    desc: Sub classifier\n",
        "dvc.yaml": "artifacts:\n  clf:\n    path: root.pkl\n",
    })
    reg.registered("sub:clf", "v1.0.0")
    assert reg.ok("describe", "sub:clf", "--path") == "sub/clf.pkl\n"  # as check-ref --path and get find it
    assert reg.ok("describe", "sub:clf@v1.0.0", "--description") == "Sub classifier\n"
    assert reg.ok("describe", "clf", "--path") == "root.pkl\n"


@given(st.text(max_size=20) | st.sampled_from(["churn@v1.0.0", "churn#prod#3", "dir/sub=m#dev!#2", "it's", ""]))
def test_push_hints_quote_tags_as_shlex_does(tag):
    """The push hints quote a tag as one shell word."""
    import shlex

    from tagreg.cli.render import push_hint

    assert push_hint(tag) == f"To push the changes upstream, run:\n    git push origin {shlex.quote(tag)}"
    assert push_hint(tag, delete=True).endswith(f"\n    git push --delete origin {shlex.quote(tag)}")


# -- registering HEAD with uncommitted annotation edits ----------------------------------------

@pytest.fixture
def annotated(reg):
    reg.commit("model", {"artifacts.yaml": "m:\n  type: model\n  path: models/m.bin\n", "models/m.bin": "v1\n"})
    reg.commit("docs", {"README.md": "docs\n"})
    return reg


@pytest.mark.parametrize("staged", [False, True])
def test_register_head_warns_when_its_annotation_file_has_uncommitted_changes(annotated, staged):
    """The version is HEAD as committed: the edit (staged or not) is not in it, and the user is told."""
    (annotated.path / "artifacts.yaml").write_text("m:\n  type: model\n  path: models/m2.bin\n")
    if staged:
        annotated.git("add", "artifacts.yaml")
    result = annotated.run("register", "m")
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "artifacts.yaml" in line]
    assert len(warning) == 1 and "uncommitted changes" in warning[0] and "m@v0.0.1" in warning[0], result.stderr
    assert annotated.git("rev-parse", "m@v0.0.1^{commit}").strip() == annotated.head()


def test_register_head_warns_about_an_uncommitted_annotation_of_a_new_artifact(annotated):
    annotated.ok("annotate", "fresh", "--path", "models/fresh.bin")  # written, not committed
    result = annotated.run("register", "fresh")
    assert result.returncode == 0, result.stderr
    assert "artifacts.yaml" in result.stderr and "uncommitted changes" in result.stderr, result.stderr


def test_register_head_warns_when_the_artifact_file_has_uncommitted_changes(annotated):
    (annotated.path / "models" / "m.bin").write_text("retrained\n")
    result = annotated.run("register", "m")
    assert "models/m.bin" in result.stderr and "uncommitted changes" in result.stderr, result.stderr


def test_register_of_an_older_commit_or_a_clean_head_does_not_warn(annotated):
    assert annotated.run("register", "m").stderr == ""  # clean
    (annotated.path / "artifacts.yaml").write_text("m:\n  type: model\n  path: models/m2.bin\n")
    (annotated.path / "README.md").write_text("other edits are not about m\n")
    result = annotated.run("register", "m", "HEAD~1", "--version", "v1.0.0")
    assert result.returncode == 0 and result.stderr == "", result.stderr
