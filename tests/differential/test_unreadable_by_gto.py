"""Repositories GTO 1.10.1 refuses to read, a deliberate difference: tagreg reads them and lets
`tagreg doctor` point at the problem. A `NAME@created` tag makes every GTO read fail; two versions
registered on one commit make GTO fail as soon as something looks a version up by that commit (a
stage tag there, or an artifacts.yaml entry there) -- without that, GTO reads them and so must tagreg."""

import json

import pytest

from .harness import Read, assert_same, build, commit, git, raw_git

pytestmark = pytest.mark.differential

CREATED = [
    commit("c1", {"m.txt": "1\n"}),
    raw_git("tag", "-a", "m@v0.0.1", "-m", "Registering artifact m version v0.0.1"),
    raw_git("tag", "-a", "m#prod#1", "-m", "Assigning stage prod to artifact m version v0.0.1"),
    raw_git("tag", "-a", "m@created", "-m", "made by hand"),
]
TWO_ON_ONE_READABLE = [
    commit("c1", {"m.txt": "1\n"}),
    raw_git("tag", "-a", "old@v1.0.0", "-m", "Registering artifact old version v1.0.0"),
    raw_git("tag", "-a", "old@v1.0.1", "-m", "Registering artifact old version v1.0.1"),
    raw_git("tag", "-a", "ok@v0.0.1", "-m", "Registering artifact ok version v0.0.1"),
]
TWO_ON_ONE = TWO_ON_ONE_READABLE + [
    raw_git("tag", "-a", "old#prod#1", "-m", "Assigning stage prod to artifact old version v1.0.1"),
]

READS = [Read(["show", "--json"]), Read(["history", "--json"]), Read(["show", "m", "--json"]),
         Read(["show", "old", "--json"]), Read(["show", "ok", "--json"]), Read(["check-ref", "m@created", "--json"]),
         Read(["doctor"], "text")]
READABLE_READS = [Read(["show", "--json"]), Read(["show", "-d", "--json"]), Read(["history", "--json"]),
                  Read(["show", "old", "--json"]), Read(["show", "old", "--plain"], "text"),
                  Read(["show", "old@latest", "--json"]), Read(["check-ref", "old@v1.0.0", "--json"])]


def _delete_tag(tag):
    def before(built):
        git(built.path, "tag", "-d", tag, env=built.env)
    return before


def _build_created(root, tools):
    # the same reads again once the @created tag is gone: tagreg must read the repository as if it never was
    return build("tagreg", CREATED, READS, root, tools,
                 extra_read_sets=[(_delete_tag("m@created"), READS, lambda built: None, "without: ")])


SCENARIOS = {
    "gto-unreadable-created": _build_created,
    "gto-unreadable-two-on-one": lambda root, tools: build("tagreg", TWO_ON_ONE, READS, root, tools),
    "two-on-one-readable": lambda root, tools: build("tagreg", TWO_ON_ONE_READABLE, READABLE_READS, root, tools),
}


@pytest.fixture(scope="module")
def created(builds):
    return builds.get("gto-unreadable-created")


@pytest.fixture(scope="module")
def two_on_one(builds):
    return builds.get("gto-unreadable-two-on-one")


@pytest.fixture(scope="module")
def two_on_one_readable(builds):
    return builds.get("two-on-one-readable")


# -- NAME@created ------------------------------------------------------------------------------


def test_gto_fails_on_created_tag(created):
    gto, _ = created.reads["show --json"]
    assert gto.rc == 1 and "Unexpected error: 'action'" in gto.err


@pytest.mark.parametrize("read", ["show --json", "history --json", "show m --json"])
def test_tagreg_reads_as_if_created_tag_was_not_there(created, read):
    _, tagreg = created.reads[read]
    gto_without, _ = created.reads["without: " + read]
    assert tagreg.rc == 0, tagreg.err
    assert gto_without.rc == 0, gto_without.err
    assert json.loads(tagreg.out) == json.loads(gto_without.out)


def test_check_ref_of_created_tag_says_nothing(created):
    _, tagreg = created.reads["check-ref m@created --json"]
    assert (tagreg.rc, tagreg.out) == (0, "")


def test_doctor_mentions_created_tag(created):
    _, tagreg = created.reads["doctor"]
    assert "m@created" in tagreg.out + tagreg.err


# -- two versions on one commit ------------------------------------------------------------------


def test_gto_fails_on_two_versions_on_one_commit_with_a_stage_tag(two_on_one):
    gto, _ = two_on_one.reads["show --json"]
    assert gto.rc == 1
    assert "Multiple versions are not allowed on the same Git commit" in " ".join(gto.err.split())


@pytest.mark.parametrize("read", ["show --json", "history --json", "show old --json", "show ok --json"])
def test_tagreg_reads_two_versions_on_one_commit(two_on_one, read):
    _, tagreg = two_on_one.reads[read]
    assert tagreg.rc == 0, tagreg.err
    assert json.loads(tagreg.out)


def test_tagreg_shows_the_versions_the_stage_and_the_other_artifact(two_on_one):
    _, tagreg = two_on_one.reads["show --json"]
    registry = json.loads(tagreg.out)
    assert registry["ok"]["version"] == "v0.0.1"
    assert registry["old"]["version"] == "v1.0.1"
    assert registry["old"]["stage"]["prod"] in ("v1.0.0", "v1.0.1")
    _, history = two_on_one.reads["history --json"]
    assert {e["ref"] for e in json.loads(history.out)} == {"old@v1.0.0", "old@v1.0.1", "ok@v0.0.1", "old#prod#1"}


def test_doctor_mentions_two_versions_on_one_commit(two_on_one):
    _, tagreg = two_on_one.reads["doctor"]
    text = tagreg.out + tagreg.err
    assert "old" in text and "v1.0.0" in text and "v1.0.1" in text


@pytest.mark.parametrize("read", [pytest.param(r, id=r.id) for r in READABLE_READS])
def test_two_versions_on_one_commit_without_stage_tag_read_the_same(two_on_one_readable, read):
    gto, tagreg = two_on_one_readable.reads[read.id]
    assert_same(read.args, read.kind, gto, tagreg)
