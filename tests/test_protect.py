"""`tagreg protect --print github|gitlab`: the host's rules that back the policy, as the request
bodies of the hosts' APIs, checked against the schemas the hosts publish (vendored in tests/data,
no network), and the tag patterns checked against the hosts' matching."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from copy import deepcopy
from fnmatch import fnmatchcase
from pathlib import Path

import jsonschema_rs
import pytest
from conftest import git, run_tagreg
from hypothesis import given, settings
from hypothesis import strategies as st

from tagreg import policy as P
from tagreg import protect
from tagreg import tags as T
from tagreg import yaml as Y

DATA = Path(__file__).parent / "data"

POLICY = """\
defaults:
  branches: [main]
stages:
  prod:
    promotes_from: staging
    signed: true
    who: [alice@example.com]
  staging:
    who: ["*@example.com"]
"""


@pytest.fixture
def clone(tmp_path, repo):
    """A clone of origin (repo), whose main holds POLICY."""
    repo.commit("policy", {".tagreg/policy.yaml": POLICY})
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(path))
    return path


def github_validator():
    """The request body of GitHub's `repos/create-repo-ruleset`, as its OpenAPI description says."""
    document = json.loads((DATA / "github-create-repo-ruleset.json").read_text())
    body = "#/paths/~1repos~1%7Bowner%7D~1%7Brepo%7D~1rulesets/post/requestBody/content/application~1json/schema"
    return jsonschema_rs.Draft202012Validator({**document, "$ref": body})


def gitlab_validator(endpoint: str):
    """The body of GitLab's `POST /projects/:id/ENDPOINT`, from its documented attributes."""
    document = json.loads((DATA / "gitlab-protected-refs.schema.json").read_text())
    return jsonschema_rs.Draft202012Validator({**document, "$ref": f"#/$defs/{endpoint}"})


def printed(cwd, host: str, *args: str) -> dict:
    result = run_tagreg(cwd, "protect", "--print", host, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_name(rulesets: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in rulesets}


def test_github_rulesets_are_valid_request_bodies(clone):
    found = printed(clone, "github")
    assert list(found) == ["rulesets"]
    validator = github_validator()
    for ruleset in found["rulesets"]:
        validator.validate(ruleset)
    rulesets = by_name(found["rulesets"])
    assert list(rulesets) == [
        "tagreg: stage prod, for everyone", "tagreg: stage prod, who may change it",
        "tagreg: stage staging, for everyone", "tagreg: stage staging, who may change it",
        "tagreg: other stages, for everyone",
        "tagreg: removals, for everyone", "tagreg: removals, who may change it",
        "tagreg: policy branch main"]
    prod = rulesets["tagreg: stage prod, for everyone"]
    assert prod["target"] == "tag" and prod["enforcement"] == "active" and prod["bypass_actors"] == []
    assert prod["conditions"]["ref_name"]["include"] == [
        "refs/tags/**/*#prod", "refs/tags/**/*#prod#*", "refs/tags/**/*#prod!", "refs/tags/**/*#prod!#*"]
    # signed: nobody skips the signatures (a ruleset's bypass actors skip all of its rules), nobody deletes
    assert [r["type"] for r in prod["rules"]] == ["update", "deletion", "required_signatures"]
    assert [r["type"] for r in rulesets["tagreg: stage prod, who may change it"]["rules"]] == ["creation"]
    assert [r["type"] for r in rulesets["tagreg: stage staging, for everyone"]["rules"]] == ["update"]
    assert [r["type"] for r in rulesets["tagreg: stage staging, who may change it"]["rules"]] == [
        "creation", "deletion"]
    branch = rulesets["tagreg: policy branch main"]
    assert branch["target"] == "branch" and branch["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
    rules = {r["type"]: r for r in branch["rules"]}
    assert list(rules) == ["deletion", "non_fast_forward", "pull_request"]
    assert rules["pull_request"]["parameters"]["required_approving_review_count"] == 1
    assert rules["pull_request"]["parameters"]["require_last_push_approval"] is True


def test_githubs_schema_refuses_a_wrong_rule_type_or_a_missing_field(clone):
    validator = github_validator()
    good = printed(clone, "github")["rulesets"]
    wrong_type = deepcopy(good[0])
    wrong_type["rules"][0]["type"] = "creations"
    missing = deepcopy(good[0])
    del missing["enforcement"]
    wrong_enforcement = deepcopy(good[0])
    wrong_enforcement["enforcement"] = "enabled"
    wrong_actor = deepcopy(good[0])
    wrong_actor["bypass_actors"] = [{"actor_id": 1, "actor_type": "Email"}]
    review = deepcopy(good[-1])
    del review["rules"][2]["parameters"]["required_review_thread_resolution"]
    for bad in (wrong_type, missing, wrong_enforcement, wrong_actor, review):
        assert not validator.is_valid(bad), bad
    assert all(validator.is_valid(r) for r in good)


def test_gitlab_bodies_are_valid_request_bodies(clone):
    found = printed(clone, "gitlab")
    assert list(found) == ["protected_tags", "protected_branches"]
    tags, branches = gitlab_validator("protected_tags"), gitlab_validator("protected_branches")
    for body in found["protected_tags"]:
        tags.validate(body)
    for body in found["protected_branches"]:
        branches.validate(body)
    levels = {body["name"]: body["create_access_level"] for body in found["protected_tags"]}
    assert levels == {"*#prod": 40, "*#prod#*": 40, "*#prod!": 40, "*#prod!#*": 40,
                      "*#staging": 40, "*#staging#*": 40, "*#staging!": 40, "*#staging!#*": 40,
                      "*@v*!": 40, "*@v*!#*": 40, "*@deprecated": 40, "*@deprecated#*": 40}
    assert found["protected_branches"] == [
        {"name": "main", "push_access_level": 0, "merge_access_level": 40, "allow_force_push": False}]
    assert not tags.is_valid({"name": "*#prod", "create_access_level": 50})
    assert not tags.is_valid({"create_access_level": 40})
    assert not tags.is_valid({"name": "*#prod", "push_access_level": 40})
    assert not branches.is_valid({"name": "main", "allowed_to_push": [{"email": "alice@example.com"}]})


def test_notes_say_what_to_fill_in_and_what_the_host_cannot_check(clone):
    result = run_tagreg(clone, "protect", "--print", "github")
    err = result.stderr
    assert err.startswith("8 rulesets backing origin/main:.tagreg/policy.yaml\n")
    assert ("'tagreg: stage prod, who may change it': its bypass_actors are to be whoever pushes these tags for "
            "alice@example.com") in err
    assert "'tagreg: removals, who may change it': its bypass_actors are to be whoever pushes these tags for " \
           "alice@example.com, *@example.com" in err
    assert "GitHub knows accounts, not e-mails" in err
    assert "GitHub cannot check branches, promotes_from:" in err
    gitlab = run_tagreg(clone, "protect", "--print", "gitlab").stderr
    assert "GitLab cannot require signed tags" in gitlab
    assert "not protected: other stages" in gitlab  # a `*#*` for Developers would loosen prod and staging


def test_output_dir_writes_a_file_per_request_and_prints_the_commands(clone, tmp_path):
    out = tmp_path / "host rules"
    result = run_tagreg(clone, "protect", "--print", "github", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# 8 rulesets for origin/main:.tagreg/policy.yaml, in ")
    commands = [shlex.split(line) for line in lines[1:]]
    assert len(commands) == 8
    documents = printed(clone, "github")["rulesets"]
    for command, body in zip(commands, documents):
        assert command[:5] == ["gh", "api", "repos/{owner}/{repo}/rulesets", "--method", "POST"]
        assert command[5] == "--input" and json.loads(Path(command[6]).read_text()) == body
    assert min(p.name for p in (out / "rulesets").iterdir()) == "01-stage-prod-everyone.json"

    again = run_tagreg(clone, "protect", "--print", "github", "--output-dir", str(out))
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1
    assert "01-stage-prod-everyone.json' exists; use --force to overwrite it" in again.stderr
    assert run_tagreg(clone, "protect", "--print", "github", "--output-dir", str(out), "--force").returncode == 0

    gitlab = run_tagreg(clone, "protect", "--print", "gitlab", "-o", str(tmp_path / "gl"))
    first = shlex.split(gitlab.stdout.splitlines()[2])
    assert first[:3] == ["glab", "api", "projects/:id/protected_tags"]
    assert json.loads(Path(first[-1]).read_text()) == {"name": "*#prod", "create_access_level": 40}
    assert "--data @FILE" in gitlab.stdout.splitlines()[1]  # the curl line


def test_output_dir_never_follows_a_symlink_out(clone, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "rulesets")
    result = run_tagreg(clone, "protect", "--print", "github", "--output-dir", str(out), "--force")
    assert result.returncode == 1
    assert "refusing to write into" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(elsewhere.iterdir()) == []


def test_no_policy_is_one_line(repo):
    result = run_tagreg(repo.path, "protect", "--print", "github")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.strip().endswith("there is no policy to protect: no .tagreg/policy.yaml at main")
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_host_is_clicks_choice_error(clone):
    result = run_tagreg(clone, "protect", "--print", "bitbucket")
    assert result.returncode == 2 and "'bitbucket' is not one of 'github', 'gitlab'" in result.stderr


def test_the_policy_ref_names_the_branch_to_protect(clone, repo):
    repo.git("checkout", "-q", "-b", "release")
    repo.commit("release policy", {".tagreg/policy.yaml": "stages:\n  prod:\n    who: [bob@example.com]\n"})
    git(clone, "fetch", "-q")
    found = by_name(printed(clone, "github", "--policy-ref", "origin/release")["rulesets"])
    assert list(found) == ["tagreg: stage prod, for everyone", "tagreg: stage prod, who may change it",
                           "tagreg: removals, for everyone", "tagreg: removals, who may change it",
                           "tagreg: policy branch release"]
    assert found["tagreg: policy branch release"]["conditions"]["ref_name"]["include"] == ["refs/heads/release"]

    git(clone, "tag", "policy-v1", "origin/release")
    result = run_tagreg(clone, "protect", "--print", "github", "--policy-ref", "policy-v1")
    assert "policy branch" not in result.stdout
    assert "the policy is not read from a branch: protect the ref it is read from yourself" in result.stderr


def test_defaults_govern_the_stages_the_policy_does_not_name(clone, repo):
    repo.commit("defaults", {".tagreg/policy.yaml": "defaults:\n  who: [ops@example.com]\nstages:\n  dev:\n"
                                                    "    who: []\n  prod:\n    signed: true\n"})
    git(clone, "pull", "-q")
    other = by_name(printed(clone, "github")["rulesets"])["tagreg: other stages, who may change it"]
    assert other["conditions"]["ref_name"]["include"] == ["refs/tags/**/*#*", "refs/tags/**/*#*/**/*"]
    assert other["conditions"]["ref_name"]["exclude"][:2] == ["refs/tags/**/*@*", "refs/tags/**/*#dev"]
    assert "refs/tags/**/*#prod!#*" in other["conditions"]["ref_name"]["exclude"]
    gitlab = printed(clone, "gitlab")["protected_tags"]
    assert {"name": "*#*", "create_access_level": 40} in gitlab  # as strict as every named stage: kept


def test_notes_quote_the_policy_escaped(clone, repo):
    hostile = 'stages:\n  prod:\n    who: ["x\\u001b[2J\\nfake line@example.com"]\n'  # ESC, a newline
    repo.commit("hostile", {".tagreg/policy.yaml": hostile})
    git(clone, "pull", "-q")
    result = run_tagreg(clone, "protect", "--print", "github")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and "x\\x1b[2J\\x0afake line@example.com" in result.stderr
    assert not any(line.startswith("fake line") for line in result.stderr.splitlines())


# -- the patterns, as each host matches them ------------------------------------------------------

def github_matches(pattern: str, ref: str) -> bool:
    """Ruby's `File.fnmatch(pattern, ref, File::FNM_PATHNAME)`, which GitHub's rulesets use: `*` and
    `?` stay within a folder and do not match a leading `.`, `**/` is any number of folders (checked
    against Ruby itself by test_the_model_is_rubys_fnmatch)."""
    out = []
    segments = pattern.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**" and not last:
            out.append(r"(?:(?!\.)[^/]*/)*")
            continue
        for j, ch in enumerate(segment):
            if ch in "*?":
                out.append((r"(?!\.)" if j == 0 else "") + ("[^/]*" if ch == "*" else "[^/]"))
            else:
                out.append(re.escape(ch))
        out.append("" if last else "/")
    return re.fullmatch("".join(out), ref) is not None


def github_covers(ruleset: dict, ref: str) -> bool:
    condition = ruleset["conditions"]["ref_name"]
    return (any(github_matches(p, ref) for p in condition["include"])
            and not any(github_matches(p, ref) for p in condition["exclude"]))


def gitlab_covers(body: dict, tag: str) -> bool:
    """GitLab's wildcard: `*` matches anything, `/` too (its RefMatcher); nothing else is special."""
    return fnmatchcase(tag, body["name"])


ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
names = st.builds(lambda a, mid, b: a + mid + b, st.sampled_from(ALNUM), st.text(ALNUM + "-_/", max_size=8),
                  st.sampled_from(ALNUM)).filter(T.is_name)
fullnames = st.one_of(names, st.builds(lambda d, n: f"{d}:{n}", st.sampled_from(["models", "a/b", "x-y"]), names))
stages = st.one_of(st.sampled_from(["prod", "staging", "dev", "prod/eu", "eu/prod", "preprod", "prod-1"]), names)
versions = st.sampled_from(["v1.0.0", "v0.0.1", "v2.1.0-rc.1+build.5"])
counters = st.none() | st.integers(min_value=0, max_value=999)
events = st.one_of(
    st.builds(lambda n, s, c: T.format_tag(n, T.ASSIGNMENT, stage=s, counter=c), fullnames, stages, counters),
    st.builds(lambda n, s, c: T.format_tag(n, T.UNASSIGNMENT, stage=s, counter=c), fullnames, stages, counters),
    st.builds(lambda n, v, c: T.format_tag(n, T.REGISTRATION, version=v, counter=c), fullnames, versions, counters),
    st.builds(lambda n, v, c: T.format_tag(n, T.DEREGISTRATION, version=v, counter=c), fullnames, versions, counters),
    st.builds(lambda n, c: T.format_tag(n, T.DEPRECATION, counter=c), fullnames, counters),
)

GOVERNED = P.parse(Y.load(b"defaults:\n  who: [ops@example.com]\nstages:\n  prod:\n    signed: true\n"
                          b"  prod/eu:\n    who: [eu@example.com]\n"), "test")


def governs(scope: str, tag: str) -> bool:
    """What the policy says changes scope: a stage's own events, the unnamed stages', removals."""
    parsed = T.parse_tag(tag)
    assert parsed is not None
    if scope == "removals":
        return parsed.event in (T.DEREGISTRATION, T.DEPRECATION)
    if parsed.event not in (T.ASSIGNMENT, T.UNASSIGNMENT):
        return False
    return parsed.stage not in GOVERNED.stages if scope == "other stages" else parsed.stage == scope


@settings(max_examples=400, deadline=None)
@given(tag=events)
def test_github_patterns_cover_exactly_the_tags_that_change_a_scope(tag):
    ref = f"refs/tags/{tag}"
    for ruleset in protect.github(GOVERNED, "main").documents()["rulesets"]:
        title = re.fullmatch(r"tagreg: (?:stage )?(.+), (?:for everyone|who may change it)", ruleset["name"])
        if title is not None:
            assert github_covers(ruleset, ref) == governs(title[1], tag), (ruleset["name"], tag)


@settings(max_examples=400, deadline=None)
@given(tag=events)
def test_gitlab_wildcards_cover_the_tags_that_change_a_scope(tag):
    bodies = protect.gitlab(GOVERNED, "main").documents()["protected_tags"]
    for scope in ("prod", "prod/eu", "removals"):
        globs = protect.REMOVAL_GLOBS if scope == "removals" else protect.stage_globs(scope)
        assert any(gitlab_covers(b, tag) for b in bodies if b["name"] in globs) == governs(scope, tag), (scope, tag)
    if governs("other stages", tag):  # `*#*`, which GitLab cannot narrow (it also holds NAME@vX.Y.Z#N)
        assert gitlab_covers({"name": "*#*"}, tag)


def test_the_model_is_rubys_fnmatch():
    """github_matches against Ruby's own File.fnmatch (when Ruby is installed), on every pattern
    `protect` writes and tags of every kind."""
    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed")
    patterns = sorted({p for r in protect.github(GOVERNED, "main").documents()["rulesets"]
                       for key in ("include", "exclude") for p in r["conditions"]["ref_name"][key]})
    refs = [f"refs/tags/{t}" for t in (
        "churn#prod#3", "churn#prod", "m/churn#prod!#4", "a/b=c#prod/eu", "a#prod/eu#2", "x#eu/prod#1", "x#preprod#1",
        "churn@v1.0.0", "churn@v1.0.0#5", "d/e@v1.0.0-rc.1+b.2!", "churn@v1.0.0!#6", "churn@deprecated",
        "a/b@deprecated#7", "v1.0.0", "release/1.0", "x#dev#1", "x#team/dev")]
    script = ("require 'json'; c = JSON.parse(STDIN.read); "
              "puts JSON.generate(c['p'].map { |p| c['r'].map { |r| File.fnmatch(p, r, File::FNM_PATHNAME) } })")
    answer = subprocess.run(["ruby", "-e", script], input=json.dumps({"p": patterns, "r": refs}),
                            capture_output=True, text=True, check=True).stdout
    assert json.loads(answer) == [[github_matches(p, r) for r in refs] for p in patterns]


def test_the_api_gives_what_the_cli_prints(clone):
    from tagreg import api

    rules = api.host_rules(clone, "github")
    assert rules.source == "origin/main:.tagreg/policy.yaml"
    assert rules.documents() == printed(clone, "github")
    with pytest.raises(api.RegistryError, match="unknown Git host 'bitbucket'"):
        api.host_rules(clone, "bitbucket")
