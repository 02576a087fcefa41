"""The tag grammar: tag names, artifact names and shortcuts read and written exactly as GTO does."""

from __future__ import annotations

import json
import os
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tagreg.tags import (
    ACTIONS,
    ASSIGNMENT,
    CREATION,
    DEPRECATION,
    DEREGISTRATION,
    REGISTRATION,
    UNASSIGNMENT,
    GrammarError,
    ParsedTag,
    Shortcut,
    check_name,
    check_stage,
    format_tag,
    is_fullname,
    is_name,
    message_for,
    parse_shortcut,
    parse_tag,
    ref_patterns,
)

# The conftest's autouse fixture only sets environment variables, so sharing it across the examples
# of one hypothesis test is safe.
hsettings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- Strategies, written from GTO's documented grammar (not from tags.py's regexes) ----------------

ALNUM = string.ascii_letters + string.digits

names = st.one_of(
    st.sampled_from(ALNUM),  # single-character names are valid
    st.builds(
        lambda first, middle, last: first + middle + last,
        st.sampled_from(ALNUM),
        st.text(ALNUM + "-_/", max_size=10),
        st.sampled_from(ALNUM),
    ),
)
dirnames = st.text(ALNUM + "-_./", min_size=1, max_size=12)
fullnames = st.one_of(names, st.builds(lambda d, n: f"{d}:{n}", dirnames, names))

numbers = st.integers(min_value=0, max_value=10**6).map(str)  # no leading zeros
prerelease_ids = st.one_of(
    numbers, st.text(ALNUM + "-", min_size=1, max_size=6).filter(lambda s: not s.isdigit())
)
build_ids = st.text(ALNUM + "-", min_size=1, max_size=6)  # leading zeros allowed in build metadata
versions = st.builds(
    lambda major, minor, patch, pre, build: f"v{major}.{minor}.{patch}"
    + (f"-{'.'.join(pre)}" if pre else "")
    + (f"+{'.'.join(build)}" if build else ""),
    numbers,
    numbers,
    numbers,
    st.lists(prerelease_ids, max_size=3),
    st.lists(build_ids, max_size=3),
)
stages = names
counters = st.none() | st.integers(min_value=0, max_value=10**9)


# --- Round trips ----------------------------------------------------------------------------------


def assert_round_trip(tag: str, expected: ParsedTag) -> None:
    assert parse_tag(f"refs/tags/{tag}") == expected  # the full refname, as git lists it
    if not tag.startswith("refs/tags/"):  # see test_short_tag_names_starting_with_refs_tags
        assert parse_tag(tag) == expected


@pytest.mark.parametrize("event", [REGISTRATION, DEREGISTRATION])
@hsettings
@given(name=fullnames, version=versions, counter=counters)
def test_version_events_round_trip(event, name, version, counter):
    tag = format_tag(name, event, version=version, counter=counter)
    assert_round_trip(tag, ParsedTag(name, event, version=version, counter=counter))


@pytest.mark.parametrize("event", [ASSIGNMENT, UNASSIGNMENT])
@hsettings
@given(name=fullnames, stage=stages, counter=counters)
def test_stage_events_round_trip(event, name, stage, counter):
    tag = format_tag(name, event, stage=stage, counter=counter)
    assert_round_trip(tag, ParsedTag(name, event, stage=stage, counter=counter))


@hsettings
@given(name=fullnames, counter=counters)
def test_deprecation_round_trips(name, counter):
    tag = format_tag(name, DEPRECATION, counter=counter)
    assert_round_trip(tag, ParsedTag(name, DEPRECATION, counter=counter))


@hsettings
@given(name=fullnames, version=versions, stage=stages, counter=counters)
def test_tag_names_never_contain_the_colon(name, version, stage, counter):
    """In a tag the monorepo ':' is written as '=', everything else of the name is kept verbatim."""
    for tag in (
        format_tag(name, REGISTRATION, version=version, counter=counter),
        format_tag(name, ASSIGNMENT, stage=stage, counter=counter),
    ):
        assert ":" not in tag
        assert tag.startswith(name.replace(":", "="))


@hsettings
@given(st.text())
def test_any_text_parses_to_a_tag_or_none_never_an_error(text):
    parsed = parse_tag(text)
    assert parsed is None or isinstance(parsed, ParsedTag)


# --- format_tag writes what GTO writes -------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (("dir/sub:clf", REGISTRATION, "v1.0.0-rc.1+b2", None, None), "dir/sub=clf@v1.0.0-rc.1+b2"),
        (("dir/sub:clf", UNASSIGNMENT, None, "prod", 3), "dir/sub=clf#prod!#3"),
        (("m", REGISTRATION, "v1.2.3", None, None), "m@v1.2.3"),
        (("m", REGISTRATION, "v0.0.2", None, 5), "m@v0.0.2#5"),
        (("m", DEREGISTRATION, "v0.0.2", None, None), "m@v0.0.2!"),
        (("m", DEREGISTRATION, "v1.2.3", None, 7), "m@v1.2.3!#7"),
        (("m", ASSIGNMENT, None, "prod", 1), "m#prod#1"),
        (("m", ASSIGNMENT, None, "dev", None), "m#dev"),
        (("m", UNASSIGNMENT, None, "prod", 4), "m#prod!#4"),
        (("m", UNASSIGNMENT, None, "prod", None), "m#prod!"),
        (("m", DEPRECATION, None, None, None), "m@deprecated"),
        (("m", DEPRECATION, None, None, 6), "m@deprecated#6"),
        (("models/churn", REGISTRATION, "v1.0.0", None, None), "models/churn@v1.0.0"),
        (("a.b:m", ASSIGNMENT, None, "team/prod", 2), "a.b=m#team/prod#2"),
    ],
)
def test_format_tag_matches_gto(args, expected):
    name, event, version, stage, counter = args
    assert format_tag(name, event, version=version, stage=stage, counter=counter) == expected


@pytest.mark.parametrize(
    "name, event, version, stage, message",
    [
        ("a.b", REGISTRATION, "v1.0.0", None, "Invalid value 'a.b'."),
        ("m", REGISTRATION, "1.0.0", None, "Version '1.0.0' is not valid. Example of valid version: 'v1.0.0'"),
        ("m", REGISTRATION, "V1.0.0", None, "Version 'V1.0.0' is not valid."),
        ("m", DEREGISTRATION, "v1.0", None, "Version 'v1.0' is not valid."),
        ("m", REGISTRATION, None, None, "Version 'None' is not valid."),
        ("m", ASSIGNMENT, None, "pr#od", "Invalid value 'pr#od'."),
        ("m", UNASSIGNMENT, None, None, "Invalid value ''."),
        ("m", CREATION, None, None, "Cannot write a tag for event 'creation'"),
    ],
)
def test_format_tag_refuses_what_gto_refuses(name, event, version, stage, message):
    with pytest.raises(GrammarError) as excinfo:
        format_tag(name, event, version=version, stage=stage)
    assert str(excinfo.value).startswith(message)


@pytest.mark.parametrize(
    "name, event, version, stage, counter",
    [
        ("m", REGISTRATION, "v1.0.0", None, -1),  # 'm@v1.0.0#-1'
        ("m\n", REGISTRATION, "v1.0.0", None, None),  # '$' also matches before a final newline
        ("m", REGISTRATION, "v1.0.0\n", None, 3),
        ("m", ASSIGNMENT, None, "prod\n", None),  # 'm#prod\n' reads back as stage 'prod'
    ],
)
def test_format_tag_either_refuses_or_writes_a_readable_tag(name, event, version, stage, counter):
    try:
        tag = format_tag(name, event, version=version, stage=stage, counter=counter)
    except GrammarError:
        return
    assert parse_tag(tag) == ParsedTag(name, event, version=version, stage=stage, counter=counter)


# --- parse_tag -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag, expected",
    [
        ("dir/sub=clf#prod!#3", ParsedTag("dir/sub:clf", UNASSIGNMENT, stage="prod", counter=3)),
        ("old@v1.0.0!", ParsedTag("old", DEREGISTRATION, version="v1.0.0")),
        ("m@v0.0.2#5", ParsedTag("m", REGISTRATION, version="v0.0.2", counter=5)),
        ("m#prod#1", ParsedTag("m", ASSIGNMENT, stage="prod", counter=1)),
        ("m@deprecated", ParsedTag("m", DEPRECATION)),
        ("m@created", ParsedTag("m", CREATION)),
        ("m@created#3", ParsedTag("m", CREATION, counter=3)),
        ("a@v0.0.1", ParsedTag("a", REGISTRATION, version="v0.0.1")),
        ("models/churn@v1.0.0", ParsedTag("models/churn", REGISTRATION, version="v1.0.0")),
        ("a.b=m@v1.0.0", ParsedTag("a.b:m", REGISTRATION, version="v1.0.0")),
        ("m#team/prod#1", ParsedTag("m", ASSIGNMENT, stage="team/prod", counter=1)),
        ("m@v1.0.0#0", ParsedTag("m", REGISTRATION, version="v1.0.0", counter=0)),
        ("m@v1.0.0#007", ParsedTag("m", REGISTRATION, version="v1.0.0", counter=7)),
        ("refs/tags/m#prod!", ParsedTag("m", UNASSIGNMENT, stage="prod")),
    ],
)
def test_parse_tag(tag, expected):
    assert parse_tag(tag) == expected


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "v1.0.0",
        "foreign-tag",
        "x@v1.0",
        "x@V1.0.0",
        "x@1.0.0",
        "x@v01.0.0",
        "x@v1.0.0-01",  # leading zero in a numeric prerelease identifier
        "x@v1.0.0+",
        "x@latest",
        "a#b#c#d",
        "_bad@v1.0.0",
        "bad-@v1.0.0",
        "a.b@v1.0.0",  # '.' is allowed in the dir part only
        "a:b@v1.0.0",  # tags spell the monorepo separator '='
        "a=b=c@v1.0.0",
        "=m@v1.0.0",
        "@v1.0.0",
        "#prod",
        "x@",
        "x#",
        "x@v1.0.0!!",
        "x#prod!!",
        "x@deprecated!",
        "x@created!",
        "x@v1.0.0#",
        "x@v1.0.0#-1",
        "x@v1.0.0#1#2",
        "x#prod#a",
        "x#pr.od",
        "user@example.com",
        "issue #12",
        "#12",
        "release@2024",
        "fix #3",
        "v1.0.0@m",
    ],
)
def test_foreign_tags_parse_to_none(tag):
    assert parse_tag(tag) is None


def test_short_tag_names_starting_with_refs_tags_are_read_as_full_refnames():
    """`refs/tags/m` and `refs/tags/:m` are valid artifact names; only their full refnames are unambiguous."""
    full = ParsedTag("refs/tags/m", REGISTRATION, version="v1.0.0")
    assert parse_tag("refs/tags/refs/tags/m@v1.0.0") == full
    assert parse_tag("refs/tags/m@v1.0.0") == ParsedTag("m", REGISTRATION, version="v1.0.0")
    assert parse_tag("refs/tags/=m@deprecated") is None  # the tag of artifact 'refs/tags/:m'


# --- Names and stages ------------------------------------------------------------------------------

GTO_INVALID_NAME = (
    "Invalid value '{}'. Only letters, numbers, '_', '-', '/' are allowed. "
    "Value must be of len >= 2 and must start and end with a letter or a number."
)


@pytest.mark.parametrize("value", ["a", "Z", "7", "ab", "a-b", "a_b", "a/b", "models/churn", "A1-b_c/d9"])
def test_valid_simple_names(value):
    assert is_name(value)
    assert is_fullname(value)
    assert check_name(value) == value
    assert check_stage(value) == value


@pytest.mark.parametrize(
    "value", ["dir:m", "dir/sub:clf", "a.b:m", "../x:m", "-x_:m", "d/:m", "path/to.dir/x:a-b"]
)
def test_valid_monorepo_names(value):
    assert is_fullname(value)
    assert check_name(value) == value
    assert not is_name(value)
    with pytest.raises(GrammarError):
        check_stage(value)


@pytest.mark.parametrize(
    "value",
    [
        "", "-a", "a-", "_a", "a_", "/a", "a/", "a.b", "a b", "a@b", "a#b", "a!b", "a=b", "é",
        ":m", "dir:", "a:b:c", "dir:a.b", "dir:-m", "d=ir:m",
    ],
)
def test_invalid_names_are_refused_with_gtos_message(value):
    assert not is_fullname(value)
    assert not is_name(value)
    with pytest.raises(GrammarError) as excinfo:
        check_name(value)
    assert str(excinfo.value) == GTO_INVALID_NAME.format(value)
    with pytest.raises(GrammarError) as excinfo:
        check_stage(value)
    assert str(excinfo.value) == GTO_INVALID_NAME.format(value)


@hsettings
@given(fullnames)
def test_generated_names_are_valid(name):
    assert check_name(name) == name
    assert is_name(name) == (":" not in name)


# --- Shortcuts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("m", Shortcut("m")),
        ("dir/sub:clf", Shortcut("dir/sub:clf")),
        ("m@latest", Shortcut("m", version="latest")),
        ("m@greatest", Shortcut("m", version="greatest")),
        ("m@v1.2.3", Shortcut("m", version="v1.2.3")),
        ("m@v1.0.0-rc.1+b2", Shortcut("m", version="v1.0.0-rc.1+b2")),
        ("m#prod", Shortcut("m", stage="prod")),
        ("dir:m#prod", Shortcut("dir:m", stage="prod")),
        ("a.b:m@latest", Shortcut("a.b:m", version="latest")),
    ],
)
def test_parse_shortcut(value, expected):
    assert parse_shortcut(value) == expected


def test_latest_and_greatest_mean_the_same():
    assert parse_shortcut("m@latest").latest
    assert parse_shortcut("m@greatest").latest
    assert not parse_shortcut("m@v1.2.3").latest
    assert not parse_shortcut("m#prod").latest
    assert not parse_shortcut("m").latest


@pytest.mark.parametrize(
    "value",
    [
        "", "a.b", "m@", "m#", "m@v1.2", "m@1.2.3", "m@LATEST", "m@newest", "@latest", "#prod",
        "m#prod#1", "m@v1.0.0!", "m@deprecated", "dir=m#prod", "m#pr.od", "a:b:c@latest",
    ],
)
def test_invalid_shortcuts_parse_to_none(value):
    assert parse_shortcut(value) is None


# --- Default tag messages --------------------------------------------------------------------------

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "event, name, version, stage, expected",
    [
        (REGISTRATION, "m", "v0.0.1", None, "Registering artifact m version v0.0.1"),
        (
            REGISTRATION, "dir/sub:clf", "v1.0.0-rc.1+b2", None,
            "Registering artifact dir/sub:clf version v1.0.0-rc.1+b2",
        ),
        (DEREGISTRATION, "m", "v0.0.2", None, "Deregistering artifact m version v0.0.2"),
        (ASSIGNMENT, "m", "v0.0.1", "prod", "Assigning stage prod to artifact m version v0.0.1"),
        (ASSIGNMENT, "m", SHA, "dev", f"Assigning stage dev to artifact m version {SHA}"),
        (UNASSIGNMENT, "m", "v0.0.1", "prod", "Unassigning stage 'prod' to artifact 'm' version 'v0.0.1'"),
        (DEPRECATION, "dir:m", None, None, "Deprecating artifact 'dir:m'"),
    ],
)
def test_message_for_matches_gto(event, name, version, stage, expected):
    assert message_for(event, name, version=version, stage=stage) == expected


def test_there_is_no_message_for_creation():
    with pytest.raises(GrammarError):
        message_for(CREATION, "m")


# --- ref_patterns against a real git for-each-ref --------------------------------------------------


def all_tags_of(name: str) -> set[str]:
    """One tag of every event kind, with and without counter, for artifact name."""
    return {
        format_tag(name, REGISTRATION, version="v1.0.0"),
        format_tag(name, REGISTRATION, version="v1.1.0-rc.1+b2", counter=1),
        format_tag(name, DEREGISTRATION, version="v1.0.0"),
        format_tag(name, DEREGISTRATION, version="v1.0.0", counter=2),
        format_tag(name, ASSIGNMENT, stage="prod"),
        format_tag(name, ASSIGNMENT, stage="prod", counter=3),
        format_tag(name, UNASSIGNMENT, stage="prod"),
        format_tag(name, UNASSIGNMENT, stage="prod", counter=4),
        format_tag(name, DEPRECATION),
        format_tag(name, DEPRECATION, counter=5),
    }


ARTIFACTS = ["m", "m2", "dir:m", "models/m"]
# Tags that the patterns of `m` also list; none of them is a registry tag, so parse_tag drops them.
FOREIGN_M_TAGS = {"m@foo", "m#a#b", "m@v1.0"}
OTHER_TAGS = {"v1.0.0", "m", "foreign-tag", "mm@v1.0.0", "dir=m2@v1.0.0"}


def for_each_ref(repo, patterns: list[str]) -> set[str]:
    return set(repo.git("for-each-ref", "--format=%(refname:strip=2)", *patterns).split())


@pytest.fixture
def tagged_repo(repo):
    for name in ARTIFACTS:
        for tag in all_tags_of(name):
            repo.tag(tag, message=f"tag {tag}")
    for tag in FOREIGN_M_TAGS | OTHER_TAGS:
        repo.tag(tag, message="not ours")
    return repo


@pytest.mark.parametrize("name", ARTIFACTS)
def test_ref_patterns_list_exactly_the_tags_of_one_artifact(tagged_repo, name):
    listed = for_each_ref(tagged_repo, ref_patterns(name))
    ours = all_tags_of(name)
    # `m@*` does not list `m2@...`, `mm@...`, `models/m@...` or `dir=m@...`: git matches the
    # patterns with WM_PATHNAME, so '*' never crosses '/', and the '@'/'#' right after the name
    # stops prefixes of other names. What else is listed are foreign tags starting with `m@`/`m#`.
    extra = FOREIGN_M_TAGS if name == "m" else set()
    assert listed == ours | extra
    assert {t for t in listed if parse_tag(t) is not None} == ours
    assert all(parse_tag(t).name == name for t in ours)


def test_ref_patterns_list_tags_of_stages_with_a_slash(repo):
    tags = {
        format_tag("m", ASSIGNMENT, stage="team/prod", counter=1),
        format_tag("m", UNASSIGNMENT, stage="team/prod"),
    }
    for tag in tags:
        repo.tag(tag, message="stage with a slash")
    assert for_each_ref(repo, ref_patterns("m")) == tags


# --- Differential check against the real gto ------------------------------------------------------

GTO_BIN = os.environ.get("TAGREG_GTO_BIN")

TOKENS = [
    "m", "a", "Z9", "v", "0", "1", "01", ".", "-", "_", "/", "=", ":", "@", "#", "!", "+",
    "rc", "deprecated", "created", "latest", "v1.0.0", "v0.1.2-rc.1", "+b2", "refs/tags/",
]


def mangled_tags():
    valid = st.one_of(
        st.builds(
            format_tag, fullnames, st.sampled_from([REGISTRATION, DEREGISTRATION]), version=versions, counter=counters
        ),
        st.builds(format_tag, fullnames, st.sampled_from([ASSIGNMENT, UNASSIGNMENT]), stage=stages, counter=counters),
        st.builds(format_tag, fullnames, st.just(DEPRECATION), counter=counters),
    )
    mutated = st.builds(
        lambda tag, i, token: tag[: i % (len(tag) + 1)] + token + tag[i % (len(tag) + 1):],
        valid,
        st.integers(min_value=0),
        st.sampled_from(TOKENS),
    )
    joined = st.lists(st.sampled_from(TOKENS), max_size=8).map("".join)
    return st.one_of(valid, mutated, joined)


@pytest.fixture(scope="module")
def gto_parser(tmp_path_factory):
    """One gto process answers every `gto parse-tag` of the module (a gto start costs about a second,
    and parse-tag keeps no state between calls)."""
    from differential.harness import Server, clean_env, find_gto, make_home

    root = tmp_path_factory.mktemp("gto-parse")
    server = Server(find_gto(), root, clean_env(make_home(root / "home")))
    yield server
    server.close()


def gto_parse(gto_parser, tag: str) -> dict | None:
    result = gto_parser.run(["parse-tag", "--", tag])
    if result.rc != 0:
        assert "Cannot parse tag name" in result.err, result.err
        return None
    return json.loads(result.out)


def as_gto_dict(parsed: ParsedTag | None) -> dict | None:
    """What `gto parse-tag` prints for the same tag."""
    if parsed is None:
        return None
    result = {"name": parsed.name}
    if parsed.version is not None:
        result["version"] = parsed.version
    if parsed.stage is not None:
        result["stage"] = parsed.stage
    if parsed.event in ACTIONS:  # GTO gives NAME@created no action
        result["action"] = ACTIONS[parsed.event]
    if parsed.counter is not None:
        result["counter"] = parsed.counter
    return result


@pytest.mark.differential
@pytest.mark.skipif(not GTO_BIN, reason="set TAGREG_GTO_BIN to a gto 1.10.1 executable")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mangled_tags())
def test_parse_tag_agrees_with_gto(gto_parser, tag):
    # Deliberate difference: tagreg strips `refs/tags/`, GTO reads it as part of a name.
    assume(not tag.startswith("refs/tags/"))
    assert as_gto_dict(parse_tag(tag)) == gto_parse(gto_parser, tag)


def test_version_key_orders_as_semver_2_precedence():
    """The ordering example of semver.org, plus build metadata being ignored (as python-semver)."""
    from tagreg.tags import bump, version_key

    ordered = ["v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta", "v1.0.0-beta", "v1.0.0-beta.2",
               "v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0", "v1.0.1", "v1.1.0", "v2.0.0", "v10.0.0"]
    assert sorted(ordered[1::2] + ordered[::2], key=version_key) == ordered  # a key that orders nothing fails
    assert version_key("v1.0.0+b1") == version_key("v1.0.0+b2") == version_key("v1.0.0")
    assert bump("v1.2.3-rc.1+b", "patch") == "v1.2.4"
    assert bump("v1.2.3", "minor") == "v1.3.0"
    assert bump("v1.2.3", "major") == "v2.0.0"
    assert bump(None, "patch") == "v0.0.1"


# --- tags.py's patterns agree with GTO's own ------------------------------------------------------
# GTO 1.10.1's gto/constants.py, verbatim but for the anchors (`^...$` there; fullmatch here, since
# `$` also accepts a trailing newline, which git cannot store in a tag name). tags.py writes the same
# grammar without capturing GTO's unnamed groups.

import re  # noqa: E402

from tagreg import tags as T  # noqa: E402

_gto_dirname = "[a-zA-Z0-9-_./]+"
_gto_name = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
_gto_semver = (
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-]"
    r"[0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+"
    r"(?:\.[0-9a-zA-Z-]+)*))?"
)
_gto_fullname = f"(?P<dirname>{_gto_dirname}:)?(?P<name>{_gto_name})"
_gto_fullname_in_tag = _gto_fullname.replace(":", "=")
_SPEC = {
    "NAME": re.compile(_gto_name),
    "FULLNAME": re.compile(_gto_fullname),
    "VERSION": re.compile(f"v{_gto_semver}"),
    "TAG": re.compile(
        f"(?P<artifact>{_gto_fullname_in_tag})(((#(?P<stage>{_gto_name})|@(?P<version>v{_gto_semver}))(?P<cancel>!?))"
        f"|@((?P<deprecated>deprecated)|(?P<created>created)))(#(?P<counter>[0-9]+))?"
    ),
    "SHORTCUT": re.compile(
        f"(?P<artifact>{_gto_fullname})(#(?P<stage>{_gto_name})|@(?P<version>latest|greatest|v{_gto_semver}))"
    ),
}
# Characters the grammar treats specially, a few it refuses, and non-ASCII digits (`\d` takes them).
_ALPHABET = "av0123.-+!#@=:/_xZ9\u0663\u00b2 \n" + "deprecatd" + "lgs"


def _expected_tag(tag):
    m = _SPEC["TAG"].fullmatch(tag)
    if m is None:
        return None
    artifact, stage, version, cancel, deprecated, counter = m.group(
        "artifact", "stage", "version", "cancel", "deprecated", "counter")
    name = artifact.replace("=", ":")
    count = int(counter) if counter is not None else None
    if version:
        return (name, DEREGISTRATION if cancel else REGISTRATION, version, None, count)
    if stage:
        return (name, UNASSIGNMENT if cancel else ASSIGNMENT, None, stage, count)
    return (name, DEPRECATION if deprecated else CREATION, None, None, count)


valid_tags = st.builds(
    lambda name, kind, version, stage, cancel, counter: (
        T.tag_prefix(name)
        + {"v": f"@{version}", "s": f"#{stage}", "d": "@deprecated", "c": "@created"}[kind]
        + ("!" if cancel and kind in "vs" else "")
        + (f"#{counter}" if counter is not None else "")),
    fullnames, st.sampled_from("vsdc"), versions, stages, st.booleans(), counters)


@st.composite
def near_tags(draw):
    """Valid tags with a few characters inserted, replaced or removed: near misses."""
    tag = draw(valid_tags)
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(tag)))
        op = draw(st.sampled_from("insert replace delete"))
        c = draw(st.sampled_from(_ALPHABET + "\u0663\u00b2" * 4))  # digits `re` and str disagree on, often
        if op == "insert":
            tag = tag[:i] + c + tag[i:]
        elif op == "replace":
            tag = tag[:i] + c + tag[i + 1:]
        else:
            tag = tag[:i] + tag[i + 1:]
    return tag


# tags.py matches with these same patterns now: a few hundred near misses show a difference
@settings(max_examples=300)
@given(st.one_of(near_tags(), st.text(_ALPHABET, max_size=16)))
def test_tag_parser_agrees_with_the_grammar(tag):
    assert T.tag_fields(tag) == _expected_tag(tag)


@settings(max_examples=300)
@given(st.one_of(near_tags(), versions, fullnames, st.text(_ALPHABET, max_size=14)))
def test_name_version_and_shortcut_tests_agree_with_the_grammar(text):
    assert T.is_name(text) == bool(_SPEC["NAME"].fullmatch(text))
    assert T.is_fullname(text) == bool(_SPEC["FULLNAME"].fullmatch(text))
    assert T.is_version(text) == bool(_SPEC["VERSION"].fullmatch(text))
    m = _SPEC["SHORTCUT"].fullmatch(text)
    expected = (Shortcut(text) if _SPEC["FULLNAME"].fullmatch(text)
                else Shortcut(m.group("artifact"), version=m.group("version"), stage=m.group("stage")) if m else None)
    assert parse_shortcut(text) == expected


@given(versions)
def test_version_key_reads_the_groups_of_the_grammar(version):
    m = _SPEC["VERSION"].fullmatch(version)
    assert T.version_key(version)[:3] == (int(m["major"]), int(m["minor"]), int(m["patch"]))


@pytest.mark.parametrize("text, ok", [
    ("v1.2.3", True), ("v01.2.3", False), ("v1.2", False), ("v1.2.3-", False), ("v1.2.3+", False),
    ("v1.2.3-rc.1+build.7", True), ("v1.2.3-01", False), ("v1.2.3-01a", True), ("v1.2.3+01", True),
    ("v1\u0663.0.0", True), ("v\u0663.0.0", False), ("v1.2.3-\u0663a", True), ("v1.2.3-a\u0663", False),
    ("v1.2.3-a..b", False), ("v1.2.3+a+b", False), ("V1.2.3", False), ("v1.2.3\n", False),
])
def test_version_examples(text, ok):
    assert T.is_version(text) is ok
    assert bool(_SPEC["VERSION"].fullmatch(text)) is ok


@pytest.mark.parametrize("tag", ["m#prod#\u00b2", "m#prod#\u0663", "m@v1\u00b2.0.0", "m@v1\u0663.0.0#1",
                                 "m@v1.0.0-1\u00b2", "m@v1.0.0-\u0663\u0663", "m@v1.0.0-\u0663x!#2", "m#\u0663",
                                 "m@v1.0.0-\u00b2a", "m@v1.0.0-\u0663a"])
def test_digits_beyond_ascii(tag):
    assert T.tag_fields(tag) == _expected_tag(tag)
