"""The documented CI: action.yml, docs/ci/github-actions.yml and docs/ci/gitlab-ci.yml, run for real.

The workflows are read with PyYAML and their commands run with bash against clones of a real
registry, one push at a time, the way each host would run them:

- GitHub: the `check` job's action (action.yml) runs `tagreg check-ref "$REF" --format github` into a
  `$GITHUB_OUTPUT` file; the file is parsed like the runner parses it; the step outputs become the
  action's outputs, then the job's outputs (`${{ steps.tagreg.outputs.X }}`); each other job's `if:`
  is evaluated over `needs.check.outputs` and, if true, its `run:` steps run with their `env:`.
- GitLab: the `check` job writes registry.env with `--format dotenv`; it is parsed like GitLab parses
  a dotenv report and its variables are given to the other jobs' scripts.

`pip install` lines are skipped: the tagreg under test is on PATH.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .cireaders import parse_github_output, parse_gitlab_dotenv, unescape_dotenv
from .support import git

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"

DESCRIPTION = "Churn model\nit's \"v1\" $HOME `x`"
OUTPUT_KEYS = ["event", "name", "version", "stage", "type", "path", "description", "repo", "rev"]


# -- GitHub's expressions, the little of them the files use --------------------------------------


def lookup(path: str, context: dict) -> object:
    value: object = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""  # GitHub: a missing property is null, which prints as ''
        value = value[part]
    return value


def evaluate(expression: str, context: dict) -> object:
    """`a.b.c`, `'literal'`, `x == 'y'`, `x != 'y'`, `p && q`, with or without `${{ }}`."""
    expression = expression.strip()
    if expression.startswith("${{") and expression.endswith("}}"):
        expression = expression[3:-2].strip()
    if "&&" in expression:
        return all(evaluate(part, context) for part in expression.split("&&"))
    for op in ("==", "!="):
        if op in expression:
            left, right = (str(evaluate(side, context)) for side in expression.split(op, 1))
            return (left == right) if op == "==" else (left != right)
    if expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1].replace("''", "'")
    if expression in ("true", "false"):
        return expression == "true"
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w-]+)*", expression):
        raise AssertionError(f"the test's evaluator does not know {expression!r}")
    return lookup(expression, context)


def substitute(text: str, context: dict) -> str:
    """Replace every `${{ ... }}` in text (a value in `env:` or `with:`)."""
    def one(match):
        value = evaluate(match.group(0), context)
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    return re.sub(r"\$\{\{.*?\}\}", one, str(text))


# -- running commands like a CI runner -----------------------------------------------------------


@pytest.fixture
def ci(tmp_path):
    """An environment whose `tagreg` is the one under test."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tagreg").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tagreg "$@"\n')
    (bindir / "tagreg").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def bash(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """What `shell: bash` runs on GitHub (and close to GitLab's shell executor)."""
    path = cwd.parent / f"{cwd.name}-step.sh"
    path.write_text(script)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd=cwd, env=env,
                          check=False, capture_output=True, text=True)


def checkout(origin: Path, ref: str, where: Path) -> Path:
    """actions/checkout with fetch-depth: 0 (or GitLab with GIT_DEPTH 0): every tag and commit, the
    pushed tag checked out."""
    git(where.parent, "clone", "-q", str(origin), str(where))
    git(where, "checkout", "-q", "--detach", ref)
    return where


def is_install(line: str) -> bool:
    return "pip install" in line


# -- the registry the jobs run against -----------------------------------------------------------


@pytest.fixture
def origin(reg):
    """A registry where each test makes pushes (tags) one at a time; models/churn.pkl changes per
    version so the tests can tell which version a job wrote."""
    reg.annotate({"churn": {"type": "model", "path": "models/churn.pkl", "description": DESCRIPTION},
                  "lnk": {"type": "model", "path": "w.bin", "repo": "https://example.com/w.git", "rev": "v3"}},
                 {"models/churn.pkl": "model one\n"})
    reg.c1 = reg.head()
    return reg


def pushes(origin):
    """The pushes of a registry's life, with the job each must trigger (None: no job acts)."""
    yield origin.registered("churn", "v0.0.1"), "build", "model one\n"
    origin.commit("better model", {"models/churn.pkl": "model two\n"})
    yield origin.registered("churn", "v0.0.2"), "build", "model two\n"
    yield origin.assigned("churn", "staging", 1, "v0.0.2"), None, None
    yield origin.assigned("churn", "prod", 2, "v0.0.1", origin.c1), "deploy", "model one\n"
    yield origin.tag("v1.0.0", message="a release"), None, None
    yield origin.unassigned("churn", "prod", 3, "v0.0.1", origin.c1), None, None
    yield origin.deprecated("churn"), "cleanup", None


def files_under(path: Path) -> dict[str, str]:
    if path.is_file():
        return {".": path.read_text()}
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


# -- the action ----------------------------------------------------------------------------------


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data and "on" not in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def run_action(action: dict, work: Path, ref: str, env: dict, tmp_path: Path, inputs: dict | None = None):
    """Run action.yml's `run:` steps as GitHub runs a composite action; returns (outputs, log)."""
    github = {"ref": ref}
    values = {name: substitute(spec.get("default", ""), {"github": github})
              for name, spec in action.get("inputs", {}).items()}
    values.update(inputs or {})
    context = {"github": github, "inputs": values, "steps": {}}
    log = []
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python"), step
            continue
        if "if" in step and not evaluate(step["if"], context):
            continue
        assert step.get("shell") == "bash", "a composite action's run steps must name their shell"
        script = "\n".join(line for line in step["run"].splitlines() if not is_install(line))
        output_file = tmp_path / f"github_output_{len(list(tmp_path.glob('github_output_*')))}"
        output_file.write_text("")
        step_env = {**env, **{k: substitute(v, context) for k, v in (step.get("env") or {}).items()},
                    "GITHUB_OUTPUT": str(output_file), "GITHUB_ACTION_PATH": str(ROOT)}
        proc = bash(script, work, step_env)
        log.append(proc)
        if proc.returncode != 0:
            return None, log
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": parse_github_output(output_file.read_text())}
    outputs = {name: substitute(spec["value"], context) for name, spec in action["outputs"].items()}
    return outputs, log


def test_action_outputs_are_gtos_plus_repo_and_rev():
    action = load(ACTION)
    assert list(action["outputs"]) == OUTPUT_KEYS
    for key, spec in action["outputs"].items():
        assert spec["value"].replace(" ", "") == f"${{{{steps.check.outputs.{key}}}}}"
        assert spec.get("description")
    assert action["runs"]["using"] == "composite"
    (check,) = [s for s in action["runs"]["steps"] if s.get("id") == "check"]
    assert "tagreg check-ref" in check["run"] and "--format github" in check["run"]
    fetch = [s for s in action["runs"]["steps"] if "git fetch" in s.get("run", "")]
    assert fetch and "--tags" in fetch[0]["run"], "the action fetches every tag"


def test_action_check_step_runs(origin, ci, tmp_path):
    action = load(ACTION)
    origin.registered("churn", "v0.0.1")
    origin.assigned("churn", "prod", 1, "v0.0.1")
    origin.registered("lnk", "v0.0.1")
    origin.tag("v2.0.0", message="release")
    cases = {
        "churn#prod#1": {"event": "assignment", "name": "churn", "version": "v0.0.1", "stage": "prod",
                         "type": "model", "path": "models/churn.pkl", "description": DESCRIPTION, "repo": "",
                         "rev": ""},
        "lnk@v0.0.1": {"event": "registration", "name": "lnk", "version": "v0.0.1", "stage": "", "type": "model",
                       "path": "w.bin", "description": "", "repo": "https://example.com/w.git", "rev": "v3"},
        "v2.0.0": dict.fromkeys(OUTPUT_KEYS, ""),
    }
    for i, (tag, want) in enumerate(cases.items()):
        work = checkout(origin.path, tag, tmp_path / f"action{i}")
        outputs, log = run_action(action, work, f"refs/tags/{tag}", ci, tmp_path)
        assert outputs == want, (tag, [p.stderr for p in log])
        assert "Traceback" not in "".join(p.stderr for p in log)
    work = checkout(origin.path, "v2.0.0", tmp_path / "strict")
    outputs, log = run_action(action, work, "refs/tags/v2.0.0", ci, tmp_path, {"strict": "true"})
    assert outputs is None, "strict: a foreign tag fails the step"
    assert log[-1].returncode == 1 and len(log[-1].stderr.splitlines()) == 1
    work = checkout(origin.path, "churn#prod#1", tmp_path / "strict-ok")
    outputs, _ = run_action(action, work, "refs/tags/churn#prod#1", ci, tmp_path, {"strict": "true"})
    assert outputs == cases["churn#prod#1"]


# -- GitHub Actions workflow --------------------------------------------------------------------


def run_github_workflow(workflow: dict, action: dict, origin: Path, tag: str, env: dict, tmp_path: Path) -> dict:
    """Run the workflow for a push of tag; returns job -> (its `if:` was true, bash runs, work dir)."""
    jobs = workflow["jobs"]
    check = jobs["check"]
    work = checkout(origin, tag, tmp_path / "check")
    step_outputs = {}
    for step in check["steps"]:
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout"):
            assert step["with"]["fetch-depth"] == 0
        elif uses.endswith("tagreg@main"):  # this repository's action.yml
            outputs, log = run_action(action, work, f"refs/tags/{tag}", env, tmp_path)
            assert outputs is not None, [p.stderr for p in log]
            step_outputs[step["id"]] = {"outputs": outputs}
        else:
            raise AssertionError(f"unexpected step in the check job: {step}")
    needs = {"check": {"outputs": {k: substitute(v, {"steps": step_outputs})
                                   for k, v in check["outputs"].items()}}}
    results = {"check": (True, [], work, needs["check"]["outputs"])}
    for name, job in jobs.items():
        if name == "check":
            continue
        assert job["needs"] == "check"
        if not evaluate(job["if"], {"needs": needs}):
            results[name] = (False, [], None, None)
            continue
        work = checkout(origin, tag, tmp_path / name)
        runs = []
        for step in job["steps"]:
            if "uses" in step:
                assert step["uses"].startswith("actions/checkout") and step["with"]["fetch-depth"] == 0
                continue
            script = "\n".join(line for line in step["run"].splitlines() if not is_install(line))
            if not script.strip():
                continue
            step_env = {**env, **{k: substitute(v, {"needs": needs}) for k, v in (step.get("env") or {}).items()}}
            proc = bash(script, work, step_env)
            assert proc.returncode == 0, f"{name} failed on {tag}: {proc.stderr}"
            assert "Traceback" not in proc.stderr
            runs.append(proc)
        results[name] = (True, runs, work, None)
    return results


def test_github_actions_workflow_runs_the_right_job_for_each_push(origin, ci, tmp_path):
    workflow = load(GITHUB)
    action = load(ACTION)
    assert workflow["on"] == {"push": {"tags": ["*"]}}
    assert set(workflow["jobs"]) == {"check", "build", "deploy", "cleanup"}
    for i, (tag, job, content) in enumerate(pushes(origin)):
        run_dir = tmp_path / f"push{i}"
        run_dir.mkdir()
        results = run_github_workflow(workflow, action, origin.path, tag, ci, run_dir)
        ran = {name for name, (ran, *_rest) in results.items() if ran and name != "check"}
        assert ran == ({job} if job else set()), tag
        outputs = results["check"][3]
        log = "".join(p.stdout for _, runs, *_ in results.values() for p in runs)
        if tag == "v1.0.0":
            assert set(outputs.values()) == {""}, "a foreign tag gives empty outputs"
        else:
            assert outputs["name"] == "churn"
        if job == "build":
            version = tag.split("@")[1]
            assert outputs == {"event": "registration", "name": "churn", "version": version, "stage": "",
                               "path": "models/churn.pkl"}
            assert set(files_under(results["build"][2] / "build" / "churn").values()) == {content}
            assert f"building image churn:{version} from build/churn" in log
        if job == "deploy":
            assert outputs["event"] == "assignment" and outputs["stage"] == "prod"
            written = files_under(results["deploy"][2] / "deploy" / "churn")
            assert set(written.values()) == {content}, "deploy wrote the model that is in prod"
            assert "deploying churn v0.0.1 to prod" in log
        if job == "cleanup":
            assert outputs["event"] == "deprecation"
            assert "decommissioning churn" in log
            assert "churn@deprecated" in log, "the history step ran"


# -- GitLab CI ----------------------------------------------------------------------------------


def gitlab_rules_pass(job: dict, variables: dict) -> bool:
    for rule in job.get("rules", []):
        condition = rule["if"].strip()
        assert re.fullmatch(r"\$\w+", condition), f"the test's rule evaluator does not know {condition!r}"
        return bool(variables.get(condition[1:]))
    return True


def run_gitlab_pipeline(pipeline: dict, origin: Path, tag: str, env: dict, tmp_path: Path) -> dict:
    """Run the pipeline for a push of tag; returns job -> (CompletedProcess or None, work dir), plus
    the parsed dotenv report under "dotenv"."""
    variables = {"CI_COMMIT_TAG": tag, "CI_COMMIT_REF_NAME": tag, **pipeline.get("variables", {})}
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    assert set(jobs) == {"check", "build", "deploy", "cleanup"}
    check = jobs.pop("check")
    assert check["artifacts"]["reports"]["dotenv"] == "registry.env"
    work = checkout(origin, tag, tmp_path / "check")
    proc = bash("\n".join(line for line in check["script"] if not is_install(line)), work, {**env, **variables})
    assert proc.returncode == 0, proc.stderr
    report = (work / "registry.env").read_text()
    dotenv = parse_gitlab_dotenv(report)
    results = {"check": (proc, work), "dotenv": dotenv}
    for name, job in jobs.items():
        assert job["needs"] == ["check"]
        if not gitlab_rules_pass(job, variables):
            results[name] = (None, None)
            continue
        work = checkout(origin, tag, tmp_path / name)
        script = "\n".join(line for line in job["script"] if not is_install(line))
        proc = bash(script, work, {**env, **variables, **dotenv})
        assert proc.returncode == 0, f"{name} failed on {tag}: {proc.stderr}"
        assert "Traceback" not in proc.stderr
        results[name] = (proc, work)
    return results


def test_gitlab_pipeline_acts_only_on_the_right_pushes(origin, ci, tmp_path):
    pipeline = yaml.safe_load(GITLAB.read_text())
    assert pipeline["variables"]["GIT_DEPTH"] == "0"
    for i, (tag, job, content) in enumerate(pushes(origin)):
        run_dir = tmp_path / f"push{i}"
        run_dir.mkdir()
        results = run_gitlab_pipeline(pipeline, origin.path, tag, ci, run_dir)
        dotenv = results["dotenv"]
        assert list(dotenv) == ["event", "name", "version", "stage", "type", "path", "description", "event_stage"]
        if tag == "v1.0.0":
            assert set(dotenv.values()) == {""}
        else:
            assert dotenv["name"] == "churn" and dotenv["path"] == "models/churn.pkl"
            assert unescape_dotenv(dotenv["description"]) == DESCRIPTION
        build, build_dir = results["build"]
        deploy, deploy_dir = results["deploy"]
        cleanup, _ = results["cleanup"]
        if job == "build":
            assert dotenv["event"] == "registration"
            assert set(files_under(build_dir / "build" / "churn").values()) == {content}
            assert f"building image churn:{dotenv['version']} from build/churn" in build.stdout
        else:
            assert "not a registration" in build.stdout and not (build_dir / "build").exists(), tag
        if job == "deploy":
            assert set(files_under(deploy_dir / "deploy" / "churn").values()) == {content}
            assert "deploying churn v0.0.1 to prod" in deploy.stdout
        else:
            assert "not an assignment to prod" in deploy.stdout and not (deploy_dir / "deploy").exists(), tag
        if job == "cleanup":
            assert "decommissioning churn" in cleanup.stdout and "churn@deprecated" in cleanup.stdout
        else:
            assert "not a deprecation" in cleanup.stdout, tag
