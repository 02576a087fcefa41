"""The policy's verdict in CI: `check-ref --format` carries it (policy, policy_reason, signature,
signed_by), `--policy` fails after writing it, the action fails the step on a refused tag (its
outputs set all the same, for `continue-on-error`), and the documented workflows never build or
deploy a tag the policy refuses and say why. Real repositories, real SSH keys; each job starts
from actions/checkout's (or the GitLab runner's) own fetch commands, which leave the clone
without origin/HEAD: the action (and the recipe) must set it, or no policy would be found."""

from __future__ import annotations

import json
import re
import subprocess
from types import SimpleNamespace

import pytest

from tagreg import api

from .cireaders import parse_github_output
from .support import git, run_tagreg
from .test_check_ref_formats import KEYS, all_formats
from .test_ci_docs import (
    ACTION,
    GITHUB,
    GITLAB,
    actions_checkout,
    failed_jobs,
    files_under,
    load,
    run_action_steps,
    run_github_workflow,
    run_gitlab_pipeline,
)

POLICY = """\
stages:
  prod:
    signed: true
    who: [alice@example.com]
signers:
  ssh: .tagreg/allowed_signers
"""

REFUSED = ("'churn#prod#3' is not in effect: policy rule 'signed' of stage 'prod': the tag is not signed; sign it "
           "(--sign) with a key listed in the policy's signers; policy rule 'who' of stage 'prod': "
           "'mallory@example.com' may not change prod; ask one of 'alice@example.com'")


@pytest.fixture
def governed(reg, tmp_path, monkeypatch):
    """origin (reg): on main a policy (prod: signed by alice) and alice's SSH key, churn annotated.
    `push(kind)` makes the next tag of the story, as its author would push it:
    registration (v0.0.1), alice's signed prod#1, a second model's registration (v0.0.2), mallory's
    unsigned prod#3 of it (a bypass with plain git), and a foreign release tag."""
    from conftest import need

    need("ssh-keygen")
    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(keys / "alice")],
                   check=True)
    reg.annotate({"churn": {"type": "model", "path": "models/churn.pkl"}},
                 {".tagreg/policy.yaml": POLICY, "models/churn.pkl": "model one\n",
                  ".tagreg/allowed_signers": f"alice@example.com {(keys / 'alice.pub').read_text()}"})
    reg.c1 = reg.head()

    def by(who: str, name: str, message: str, ref: str = "HEAD", sign: bool = False) -> str:
        reg.tick()
        monkeypatch.setenv("GIT_COMMITTER_EMAIL", f"{who}@example.com")
        monkeypatch.setenv("GIT_COMMITTER_NAME", who)
        signing = ("-c", "gpg.format=ssh", "-c", f"user.signingKey={keys / 'alice.pub'}") if sign else ()
        reg.git(*signing, "tag", "-s" if sign else "-a", "-m", message, name, ref)
        return name

    def push(kind: str) -> str:
        if kind == "registration":
            return by("bob", "churn@v0.0.1", "Registering artifact churn version v0.0.1")
        if kind == "allowed":
            return by("alice", "churn#prod#1", "Assigning stage prod to artifact churn version v0.0.1", sign=True)
        if kind == "second":
            reg.c2 = reg.commit("model two", {"models/churn.pkl": "model two\n"})
            return by("bob", "churn@v0.0.2", "Registering artifact churn version v0.0.2")
        if kind == "refused":
            return by("mallory", "churn#prod#3", "Assigning stage prod to artifact churn version v0.0.2")
        assert kind == "foreign"
        return by("bob", "v1.0.0", "a release")

    reg.push = push
    return reg


@pytest.fixture
def story(governed, tmp_path):
    """Every push of the story made; a clone of origin (which knows origin/HEAD, as `git clone`
    does): kind -> tag, and the clone as `.clone`."""
    tags = {kind: governed.push(kind) for kind in ("registration", "allowed", "second", "refused", "foreign")}
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(governed.path), str(clone))
    return SimpleNamespace(tags=tags, clone=clone, origin=governed)


EVENT = dict.fromkeys(["event", "name", "version", "stage", "type", "path", "description", "event_stage"], "")


def test_every_format_carries_the_verdict(story, tmp_path):
    churn = {"name": "churn", "type": "model", "path": "models/churn.pkl", "description": ""}
    want = {
        "registration": {**EVENT, **churn, "event": "registration", "version": "v0.0.1",
                         "policy": "allowed", "policy_reason": "", "signature": "none", "signed_by": ""},
        "allowed": {**EVENT, **churn, "event": "assignment", "version": "v0.0.1", "stage": "prod",
                    "event_stage": "prod", "policy": "allowed", "policy_reason": "", "signature": "good",
                    "signed_by": "alice@example.com"},
        # not in effect: no event to act on, and why
        "refused": {**EVENT, "policy": "refused", "policy_reason": REFUSED, "signature": "none", "signed_by": ""},
        "foreign": {**EVENT, "policy": "none", "policy_reason": "", "signature": "", "signed_by": ""},
    }
    for kind, values in want.items():
        for fmt, (result, got) in all_formats(SimpleNamespace(path=story.clone), story.tags[kind], tmp_path,
                                              KEYS).items():
            assert result.returncode == 0, (kind, fmt, result.stderr)
            assert got == values, (kind, fmt)
            assert list(got) == KEYS, (kind, fmt)


def test_policy_and_strict_fail_after_writing_the_outputs(story, tmp_path):
    out = tmp_path / "github_output"
    out.write_text("")
    refused = run_tagreg(story.clone, "check-ref", f"refs/tags/{story.tags['refused']}", "--policy", "--format",
                         "github", env={"GITHUB_OUTPUT": str(out)})
    assert refused.returncode == 1 and refused.stderr == f"❌ {REFUSED}\n", "one line: no notice besides"
    written = parse_github_output(out.read_text())
    assert (written["policy"], written["policy_reason"], written["event"]) == ("refused", REFUSED, "")
    strict = run_tagreg(story.clone, "check-ref", story.tags["refused"], "--strict", "--format", "json")
    assert strict.returncode == 1 and json.loads(strict.stdout)["policy"] == "refused"
    assert strict.stderr == f"❌ {REFUSED}\n", "the reason, not 'not a registry event'"
    plain = run_tagreg(story.clone, "check-ref", story.tags["refused"], "--policy")
    assert (plain.returncode, plain.stdout) == (1, "")  # GTO's forms: nothing printed, exit 1
    allowed = run_tagreg(story.clone, "check-ref", story.tags["allowed"], "--policy", "--strict", "--format", "json")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["policy"] == "allowed"
    reported = run_tagreg(story.clone, "check-ref", story.tags["refused"], "--format", "json")
    assert reported.returncode == 0 and json.loads(reported.stdout)["policy"] == "refused", "only reported"


def test_no_policy_reads_the_raw_registry_and_consults_none(story):
    raw = run_tagreg(story.clone, "check-ref", story.tags["refused"], "--format", "json", "--no-policy")
    assert raw.returncode == 0, raw.stderr
    values = json.loads(raw.stdout)
    assert (values["event"], values["version"], values["policy"], values["signature"]) == (
        "assignment", "v0.0.2", "none", "")


def test_the_api_gives_the_same_verdict(story, tmp_path):
    refused = api.tag_verdict(story.clone, story.tags["refused"])
    assert (refused.policy, refused.reason, refused.refused) == ("refused", REFUSED, True)
    assert [b.rule for b in refused.breaches] == ["signed", "who"]
    allowed = api.tag_verdict(story.clone, "refs/tags/churn#prod#1")
    assert (allowed.policy, allowed.signature, allowed.signed_by) == ("allowed", "good", "alice@example.com")
    assert api.tag_verdict(api.Repository(story.clone, policy=False), story.tags["refused"]).policy == "none"
    later = tmp_path / "no-policy"
    git(tmp_path, "clone", "-q", "--no-checkout", str(story.origin.path), str(later))
    git(story.origin.path, "rm", "-q", ".tagreg/policy.yaml")
    git(story.origin.path, "commit", "-q", "-m", "no policy")
    git(later, "fetch", "-q", "origin")
    assert api.tag_verdict(later, "churn#prod#3").policy == "none"  # the policy is gone from origin/main
    with pytest.raises(api.RegistryError, match=re.escape("there is no policy to check 'churn#prod#3' against: no "
                                                          ".tagreg/policy.yaml at origin/main")):
        api.tag_verdict(later, "churn#prod#3", required=True)


def test_a_clone_that_does_not_know_origin_head_says_how_to_tell_it(story, tmp_path):
    """actions/checkout's clone: no origin/HEAD, no local branch. `--policy` cannot find the policy
    and says why in one line (reads would find none: the action sets origin/HEAD first)."""
    work = actions_checkout(story.origin.path, story.tags["refused"], tmp_path / "work", {"fetch-depth": 0})
    git(work, "fetch", "-q", "--force", "--tags", "origin")
    result = run_tagreg(work, "check-ref", story.tags["refused"], "--policy")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "`git remote set-head origin --auto` sets it" in result.stderr
    doctor = run_tagreg(work, "doctor", "--offline")
    assert "origin's default branch is not known here" in doctor.stdout, doctor.stdout
    git(work, "remote", "set-head", "origin", "--auto")
    assert "origin's default branch is not known here" not in run_tagreg(work, "doctor", "--offline").stdout
    assert run_tagreg(work, "check-ref", story.tags["refused"], "--policy").stderr.splitlines()[-1] == f"❌ {REFUSED}"


# -- the action ----------------------------------------------------------------------------------


def test_the_action_fails_on_a_refused_tag_and_still_sets_the_verdict(story, ci, tmp_path):
    action = load(ACTION)
    for depth in (1, 0):
        tag = story.tags["refused"]
        work = actions_checkout(story.origin.path, tag, tmp_path / f"refused{depth}", {"fetch-depth": depth})
        failed, outputs, log = run_action_steps(action, work, f"refs/tags/{tag}", ci, tmp_path, {"pull": "true"})
        assert failed, "policy: true (the default) fails the step"
        assert (outputs["policy"], outputs["policy_reason"], outputs["event"]) == ("refused", REFUSED, "")
        assert log[-1].stdout == f"::error title=tagreg policy::{REFUSED}\n", "the reason, as an annotation"
        assert "pull" not in "".join(p.stdout for p in log), "the step failed before anything was pulled"
    work = actions_checkout(story.origin.path, story.tags["refused"], tmp_path / "report", {"fetch-depth": 0})
    failed, outputs, log = run_action_steps(action, work, f"refs/tags/{story.tags['refused']}", ci, tmp_path,
                                            {"policy": "false"})
    assert not failed, [p.stderr for p in log]
    assert outputs["policy"] == "refused" and outputs["event"] == "", "policy: false only reports it"


def test_the_action_passes_an_allowed_signed_tag_with_its_signer(story, ci, tmp_path):
    tag = story.tags["allowed"]
    work = actions_checkout(story.origin.path, tag, tmp_path / "work")
    failed, outputs, log = run_action_steps(load(ACTION), work, f"refs/tags/{tag}", ci, tmp_path)
    assert not failed, [p.stderr for p in log]
    assert {k: outputs[k] for k in ("event", "stage", "policy", "signature", "signed_by")} == {
        "event": "assignment", "stage": "prod", "policy": "allowed", "signature": "good",
        "signed_by": "alice@example.com"}


# -- the documented workflows --------------------------------------------------------------------


def test_the_github_workflow_deploys_what_the_policy_allows_and_reports_what_it_refuses(governed, ci, tmp_path):
    workflow, action = load(GITHUB), load(ACTION)
    ran = {}
    for kind in ("registration", "allowed", "second", "refused"):
        tag = governed.push(kind)
        (tmp_path / kind).mkdir()
        results = ran[kind] = run_github_workflow(workflow, action, governed.path, tag, ci, tmp_path / kind)
        assert results["check"][3]["policy"] == ("refused" if kind == "refused" else "allowed"), kind
    deployed = ran["allowed"]
    assert failed_jobs(deployed) == {} and deployed["deploy"][0] and not deployed["refused"][0]
    assert set(files_under(deployed["deploy"][2] / "deploy" / "churn").values()) == {"model one\n"}
    bypass = ran["refused"]
    assert not bypass["deploy"][0] and not bypass["build"][0], "a refused tag is acted on by no job"
    failed = failed_jobs(bypass)
    assert list(failed) == ["refused"] and f"not acted on: {REFUSED}" in failed["refused"]


def test_the_gitlab_pipeline_deploys_what_the_policy_allows_and_reports_what_it_refuses(governed, ci, tmp_path):
    import yaml

    pipeline = yaml.safe_load(GITLAB.read_text())
    ran = {}
    for kind in ("registration", "allowed", "second", "refused"):
        tag = governed.push(kind)
        (tmp_path / kind).mkdir()
        ran[kind] = run_gitlab_pipeline(pipeline, governed.path, tag, ci, tmp_path / kind)
    deployed = ran["allowed"]
    assert deployed["dotenv"]["policy"] == "allowed" and deployed["refused"][0].returncode == 0
    assert set(files_under(deployed["deploy"][1] / "deploy" / "churn").values()) == {"model one\n"}
    bypass = ran["refused"]
    assert bypass["dotenv"]["policy"] == "refused" and bypass["dotenv"]["event"] == ""
    refused, _ = bypass["refused"]
    assert refused.returncode == 1 and f"not acted on: {REFUSED}" in refused.stdout
    deploy, deploy_dir = bypass["deploy"]
    assert deploy.returncode == 0 and "not an assignment to prod" in deploy.stdout
    assert not (deploy_dir / "deploy").exists(), "model two is never deployed"


def test_a_tagger_cannot_forge_the_actions_annotation(governed, ci, tmp_path):
    """The refusal names the tagger's e-mail, which whoever made the tag wrote: a `%0A` in it must
    not become a line break that starts a workflow command of its own (GitHub decodes %0A)."""
    for kind in ("registration", "allowed", "second"):
        governed.push(kind)
    commit = governed.head()
    body = (f"object {commit}\ntype commit\ntag churn#prod#3\n"
            "tagger Mallory <m%0A::error::forged@example.com> 1700000000 +0000\n\n"
            "Assigning stage prod to artifact churn version v0.0.2\n")
    forged = subprocess.run(["git", "hash-object", "-t", "tag", "-w", "--stdin"], cwd=governed.path, input=body,
                            capture_output=True, text=True, check=True).stdout.strip()
    governed.git("update-ref", "refs/tags/churn#prod#3", forged)
    work = actions_checkout(governed.path, "churn#prod#3", tmp_path / "work")
    failed, outputs, log = run_action_steps(load(ACTION), work, "refs/tags/churn#prod#3", ci, tmp_path)
    assert failed and outputs["policy"] == "refused"
    assert "'m%0A::error::forged@example.com' may not change prod" in outputs["policy_reason"]
    annotation = log[-1].stdout
    assert annotation.count("\n") == 1 and annotation.startswith("::error title=tagreg policy::")
    assert "m%250A::error::forged@example.com" in annotation, "% is escaped, so GitHub shows it as written"
