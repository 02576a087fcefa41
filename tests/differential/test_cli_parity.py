"""Issue 13, "the CLI where GTO's answer is the right one", run against gto itself: a repository
before its first commit (and HEAD on an orphan branch), field printers of an empty answer, a bad
`--sort`/`--simple` value, `parse-tag --key`. Then the differences the README's compatibility
section lists, each shown with both tools' output: a deprecated artifact after a later annotated
commit, `activated_at` after a deregistration and a new registration, whole versions in the
registry table, links (GTO reads the annotation but not its `repo`/`rev`), and unwrapped messages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from .harness import (
    TAG_BASE,
    Built,
    Read,
    Result,
    assert_same,
    build,
    clean_env,
    cli,
    commit,
    git,
    make_home,
    run_reads,
)

pytestmark = pytest.mark.differential

# -- a repository with no commits ------------------------------------------------------------

EMPTY_READS = [
    Read(["show"], "text"), Read(["show", "--plain"], "text"), Read(["show", "--json"]),
    Read(["show", "--name"], "text"), Read(["show", "--ref"], "text"), Read(["show", "--version"], "text"),
    Read(["show", "--stage"], "text"),
    Read(["show", "m"], "text"), Read(["show", "m@latest"], "text"), Read(["show", "m", "--json"]),
    Read(["show", "m@v0.0.1"], "text"), Read(["show", "m#prod"], "text"), Read(["show", "m", "--ref"], "text"),
    Read(["history"], "text"), Read(["history", "--json"]), Read(["history", "m"], "text"),
    Read(["check-ref", "m@v0.0.1", "--json"]),
]
# doctor's report opens with each tool's version and settings: compared by its verdict (last line, exit code)
DOCTOR_READS = [Read(["doctor"], "text"), Read(["doctor", "--strict"], "text")]


def _build_empty(root, tools) -> Built:
    """`git init`, nothing else."""
    env = clean_env(make_home(root / "home"))
    path = root / "repo"
    path.mkdir()
    git(path, "init", "-q", env=env)
    built = Built("none", path, env, [], {}, {}, {})
    run_reads(built, EMPTY_READS + DOCTOR_READS, tools)
    return built


# -- a registry: GTO's answers where it is right, and the differences on purpose ----------------

LINKED = "linked:\n  type: model\n  path: models/churn.pkl\n  repo: https://github.com/acme/churn.git\n  rev: v2.3.0\n"
LONG = "a" * 60  # a name that makes GTO's "Cannot find artifact" message longer than 80 columns

MAIN = [
    commit("c1", {"m.txt": "1\n"}),
    cli("register", "m", "--version", "v1.11.111"),
    cli("assign", "m", "--version", "v1.11.111", "--stage", "production"),
    cli("register", "r"),
    cli("deprecate", "r", "v0.0.1"),
    cli("register", "r", "--version", "v0.0.1", "--simple", "false"),
    commit("c2", {"artifacts.yaml": LINKED}),
    cli("register", "linked"),
]

BAD_CHOICES = [
    ["show", "--sort", "bogus"], ["show", "--sort=Semver"], ["show", "m", "--sort", "bogus"],
    ["register", "m", "--simple", "bogus"], ["register", "m", "--simple", "TRUE"],
    ["assign", "m", "--stage", "prod", "--simple", "bogus"],
    ["deprecate", "m", "--simple", "bogus"], ["deprecate", "m", "v1.11.111", "--simple", "bogus"],
    ["deprecate", "m", "v1.11.111", "production", "--simple", "bogus"],
]
PARSED_TAGS = ["m@v0.0.1", "m@v0.0.1!", "dir/sub=clf#prod!#3", "m#prod#2", "m@deprecated", "m@deprecated#4",
               "m@created", "nope"]
KEYS = ["name", "version", "stage", "action", "counter", ""]
PARSE_READS = [Read(["parse-tag", tag, f"--key={key}"], "text") for tag in PARSED_TAGS for key in KEYS]

MAIN_READS = (
    [Read(args, "usage") for args in BAD_CHOICES] + PARSE_READS + [
        Read(["show"], "text"), Read(["show", "--plain"], "text"), Read(["show", "--json"]),
        Read(["show", "m"], "text"), Read(["show", "m", "--json"]), Read(["show", "m", "--version"], "text"),
        Read(["show", "r", "--json"]), Read(["history", "r", "--json"]),
        Read(["show", "linked", "--json"]), Read(["show", "linked", "--plain"], "text"),
        Read(["check-ref", "linked@v0.0.1", "--json"]),
        Read(["show", LONG], "text"),
    ]
)
ORPHAN_READS = [Read(["show", "--json"]), Read(["show", "-d", "--json"]), Read(["show", "m", "--json"]),
                Read(["show", "m@latest", "--json"]), Read(["show", "m", "--plain"], "text"),
                Read(["show", "m#production", "--json"]), Read(["show", "linked", "--json"]),
                Read(["history", "--json"])]


def _orphan(built: Built) -> None:
    """HEAD on a branch with no commit yet: the tags are all there, no annotation at HEAD."""
    git(built.path, "checkout", "-q", "--orphan", "fresh", env=built.env)
    git(built.path, "rm", "-rfq", ".", env=built.env)


def _back(built: Built) -> None:
    git(built.path, "checkout", "-q", "-f", "main", env=built.env)


def _build_main(root, tools) -> Built:
    return build("tagreg", MAIN, MAIN_READS, root, tools,
                 extra_read_sets=[(_orphan, ORPHAN_READS, _back, "orphan: ")])


# -- only deprecated artifacts; then a commit that annotates one -----------------------------------

DEPRECATED = [commit("c1", {"d.txt": "1\n"}), cli("register", "d"), cli("deprecate", "d")]
FIELDS = ["--ref", "--version", "--stage", "--name"]
DEPRECATED_READS = [Read(["show", f], "text") for f in FIELDS] + [
    Read(["show", "d", "--name"], "text"), Read(["show", "d@v9.9.9", "--name"], "text"),
    Read(["show", "-d", "--ref"], "text"), Read(["show", "d", "-d", "--name"], "text"),
    Read(["show", "--json"]), Read(["show", "d", "--json"]),
]
ANNOTATED_READS = [Read(["show", "--json"]), Read(["show", "-d", "--json"]), Read(["show", "d", "--json"]),
                   Read(["show"], "text")]


def _annotate_later(built: Built) -> None:
    """A commit dated after every tag that annotates the deprecated artifact."""
    (built.path / "artifacts.yaml").write_text("d:\n  type: model\n")
    git(built.path, "add", "artifacts.yaml", env=built.env)
    when = f"{TAG_BASE + 86400} +0000"
    git(built.path, "commit", "-q", "-m", "annotate d", env={**built.env, "GIT_COMMITTER_DATE": when,
                                                              "GIT_AUTHOR_DATE": when})


def _build_deprecated(root, tools) -> Built:
    return build("tagreg", DEPRECATED, DEPRECATED_READS, root, tools,
                 extra_read_sets=[(_annotate_later, ANNOTATED_READS, lambda built: None, "annotated: ")])


SCENARIOS = {"parity-empty": _build_empty, "parity-main": _build_main, "parity-deprecated": _build_deprecated}


@pytest.fixture(scope="module")
def empty(builds):
    return builds.get("parity-empty")


@pytest.fixture(scope="module")
def main(builds):
    return builds.get("parity-main")


@pytest.fixture(scope="module")
def deprecated(builds):
    return builds.get("parity-deprecated")


def _params(reads: list[Read], prefix: str = ""):
    return [pytest.param(prefix + r.id, r, id=prefix + r.id) for r in reads]


# -- GTO's answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("key, read", _params(EMPTY_READS))
def test_a_repository_without_commits_reads_as_in_gto(empty, key, read):
    gto, tagreg = empty.reads[key]
    assert_same(read.args, read.kind, gto, tagreg)


def test_doctor_finds_nothing_wrong_with_a_repository_without_commits(empty):
    """Nothing is wrong with a new repository: GTO says so (exit 0), and so does tagreg, --strict too."""
    gto, _ = empty.reads["doctor"]
    assert gto.rc == 0 and gto.out.splitlines()[-1] == "✅  No issues found", (gto.out, gto.err)
    for read in DOCTOR_READS:
        _, tagreg = empty.reads[read.id]
        assert (tagreg.rc, tagreg.out.splitlines()[-1], tagreg.err) == (0, gto.out.splitlines()[-1], ""), read.id
        assert "no commits" not in tagreg.out


def test_gto_answers_an_empty_repository_as_its_tests_assert(empty):
    assert empty.reads["show"][0].out == "Nothing found in the current workspace\n"
    assert json.loads(empty.reads["show --json"][0].out) == {}
    assert "Cannot find artifact 'm'" in empty.reads["show m@latest"][0].err


@pytest.mark.parametrize("key, read", _params(ORPHAN_READS, "orphan: "))
def test_head_on_an_orphan_branch_reads_as_in_gto(main, key, read):
    gto, tagreg = main.reads[key]
    assert gto.rc == 0, gto.err  # GTO reads the tags: there is something to compare
    assert_same(read.args, read.kind, gto, tagreg)


def _without_prog(result: Result, prog: str) -> tuple[int, str, str]:
    """click's usage error with the program's name taken out."""
    err = result.err.replace(f"Usage: {prog} ", "Usage: PROG ").replace(f"Try '{prog} ", "Try 'PROG ")
    return result.rc, result.out, err


@pytest.mark.parametrize("args", BAD_CHOICES, ids=[" ".join(a) for a in BAD_CHOICES])
def test_a_bad_choice_gets_gtos_usage_error(main, args):
    gto, tagreg = main.reads[" ".join(args)]
    assert gto.rc == 2 and "Only one of [" in gto.err
    assert _without_prog(tagreg, "tagreg") == _without_prog(gto, "gto")


def test_the_bad_choices_wrote_nothing(main):
    assert sorted(main.tags) == ["linked@v0.0.1", "m#production#1", "m@v1.11.111", "r@v0.0.1", "r@v0.0.1!",
                                 "r@v0.0.1#1"]


@pytest.mark.parametrize("key, read", _params(PARSE_READS))
def test_parse_tag_key(main, key, read):
    gto, tagreg = main.reads[key]
    if gto.rc == 1 and "Unexpected error" in gto.err:  # GTO's KeyError: tagreg names the key and the tag's keys
        wanted = read.args[2].partition("=")[2]
        assert " ".join(gto.err.split()).startswith(f"❌ Unexpected error: '{wanted}'")
        assert tagreg.rc == 1 and tagreg.out == ""
        assert tagreg.err.startswith(f"❌ Tag '{read.args[1]}' has no '{wanted}' (it has: ")
        return
    assert_same(read.args, read.kind, gto, tagreg)


@pytest.mark.parametrize("key, read", _params(DEPRECATED_READS))
def test_fields_of_an_empty_answer_read_as_in_gto(deprecated, key, read):
    gto, tagreg = deprecated.reads[key]
    if gto.rc == 1:  # "Cannot apply --name": tagreg's message goes on to say what to do
        assert (tagreg.rc, tagreg.out) == (1, "")
        assert tagreg.err.startswith(gto.err.rstrip("\n")), (gto.err, tagreg.err)
        return
    assert_same(read.args, read.kind, gto, tagreg)


# -- the differences on purpose (README: Compatibility with GTO) ---------------------------------


def test_deprecated_stays_deprecated_after_a_later_annotated_commit(deprecated):
    gto, tagreg = deprecated.reads["annotated: show --json"]
    assert json.loads(gto.out) == {"d": {"version": "v0.0.1", "stage": {}, "registered": True, "active": True}}
    assert json.loads(tagreg.out) == {}  # only an event of the registry brings an artifact back
    gto, tagreg = deprecated.reads["annotated: show -d --json"]
    assert json.loads(gto.out)["d"]["active"] is True and json.loads(tagreg.out)["d"]["active"] is False
    gto, tagreg = deprecated.reads["annotated: show d --json"]
    assert json.loads(gto.out) and json.loads(tagreg.out) == []


def _iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, timezone(timedelta(hours=2))).isoformat()


def test_activated_at_of_a_version_registered_again_is_the_new_registration(main):
    gto, tagreg = main.reads["show r --json"]
    [g], [t] = json.loads(gto.out), json.loads(tagreg.out)
    first, again = main.tag_times["r@v0.0.1"], main.tag_times["r@v0.0.1#1"]
    assert g["activated_at"] == _iso(first)  # GTO: the first registration, though a deregistration followed
    assert t["activated_at"] == _iso(again)
    assert {**g, "activated_at": None} == {**t, "activated_at": None}  # and nothing else differs
    assert_same(["history", "r", "--json"], "json", *main.reads["history r --json"])


def test_the_registry_table_shows_whole_versions(main):
    gto, tagreg = main.reads["show --plain"]
    assert "v1.11.1 " in gto.out and "v1.11.111" not in gto.out  # GTO cuts every version to 7 characters
    cells = [[c.replace("v1.11.1", "v1.11.111") for c in line.split()] for line in gto.out.splitlines()]
    assert [line.split() for line in tagreg.out.splitlines()] == cells  # the columns widen, nothing else
    assert "v1.11.111" in main.reads["show"][1].out and "v1.11.111" not in main.reads["show"][0].out
    assert_same(["show", "--json"], "json", *main.reads["show --json"])  # JSON has them whole in both
    assert_same(["show", "m"], "text", *main.reads["show m"])  # as has `show NAME`
    assert_same(["show", "m", "--version"], "text", *main.reads["show m --version"])


def test_gto_reads_a_link_without_its_repo_and_rev(main):
    for key, kind in (("show linked --json", "json"), ("show linked --plain", "text"),
                      ("check-ref linked@v0.0.1 --json", "json")):
        gto, tagreg = main.reads[key]
        assert_same(key.split(), kind, gto, tagreg)
    gto, _ = main.reads["show linked --json"]
    [version] = json.loads(gto.out)
    [annotation] = version["enrichments"][0]["enrichments"]
    assert annotation["artifact"]["path"] == "models/churn.pkl"
    assert "repo" not in annotation["artifact"] and "rev" not in annotation["artifact"]
    assert annotation["artifact"]["virtual"] is True  # GTO: a path not in the registry's own tree


def test_messages_are_not_wrapped(main):
    gto, tagreg = main.reads[f"show {LONG}"]
    assert_same(["show", LONG], "text", gto, tagreg)  # the same words
    assert len(gto.err.splitlines()) > 1  # GTO wraps at 80 columns
    assert tagreg.err == f"❌ Cannot find artifact '{LONG}'\n"
