"""The documented CI: action.yml, docs/ci/github-actions.yml and docs/ci/gitlab-ci.yml, run for real.

The workflows are read with PyYAML and their commands run with bash against clones of a real
registry, one push at a time, the way each host would run them:

- GitHub: each job starts with actions/checkout as it really behaves on a tag push (`actions_checkout`:
  the commands of its source, so the pushed annotated tag becomes a lightweight tag at its commit,
  and at the default depth no other tag is there); a `uses:` of this repository's action runs
  action.yml's steps with the step's `with:` inputs; `tagreg check-ref "$REF" --format github`
  writes a `$GITHUB_OUTPUT` file, parsed like the runner parses it; the step outputs become the
  action's outputs, then the job's outputs (`${{ steps.tagreg.outputs.X }}`); each other job's `if:`
  is evaluated over `needs.check.outputs` and, if true, its steps run with their `env:`.
- GitLab: each job starts with the runner's fetch of the pushed tag (`gitlab_checkout`); the
  `check` job writes registry.env with `--format dotenv`; it is parsed like GitLab parses a dotenv
  report and its variables are given to the other jobs' scripts.

`pip install` lines do nothing here (the tagreg under test is on PATH); what they install is
checked apart, by pip itself, in `test_every_install_line_installs_tagreg`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .cireaders import parse_github_output, parse_gitlab_dotenv, unescape_dotenv
from .support import git, run_tagreg

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"

DESCRIPTION = "Churn model\nit's \"v1\" $HOME `x`"
OUTPUT_KEYS = ["event", "name", "version", "stage", "type", "path", "description", "event_stage", "repo", "rev",
               "policy", "policy_reason", "signature", "signed_by"]
NO_POLICY = {"policy": "none", "policy_reason": "", "signature": "", "signed_by": ""}


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


def bash(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """What `shell: bash` runs on GitHub (and close to GitLab's shell executor)."""
    path = cwd.parent / f"{cwd.name}-step.sh"
    path.write_text(script)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd=cwd, env=env,
                          check=False, capture_output=True, text=True)


TAGS_REFSPEC = "+refs/tags/*:refs/tags/*"


def actions_checkout(origin: Path, tag: str, where: Path, options: dict | None = None) -> Path:
    """actions/checkout@v4 on a push of tag, command for command as its source runs them
    (git-source-provider.ts, ref-helper.ts, git-command-manager.ts), GITHUB_REF being
    refs/tags/TAG and GITHUB_SHA the tagged commit:

    - fetch-depth 0: fetch every branch and tag; then `testRef` compares `git rev-parse
      refs/tags/TAG` (for an annotated tag, the tag object) with the commit, finds them different,
      and fetches `+SHA:refs/tags/TAG` again, which makes the tag lightweight (actions/checkout#882);
    - any other depth (default 1): only `+SHA:refs/tags/TAG`, `--no-tags`, at that depth: the one
      tag, lightweight, and no other (actions/checkout#290);
    - then `git checkout --force refs/tags/TAG`. Its own git commands run with GIT_LFS_SKIP_SMUDGE=1
      unless `lfs: true`.
    """
    options = options or {}
    depth = int(options.get("fetch-depth", 1))
    fetch_tags = str(options.get("fetch-tags", "false")).lower() == "true"
    lfs = str(options.get("lfs", "false")).lower() == "true"
    sha = git(origin, "rev-parse", f"refs/tags/{tag}^{{commit}}").strip()
    ref = f"refs/tags/{tag}"
    env = {**os.environ, **({} if lfs else {"GIT_LFS_SKIP_SMUDGE": "1"})}

    def run(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=where, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"checkout: git {' '.join(args)} failed: {proc.stderr}"
        return proc.stdout

    def fetch(refspecs: list[str], fetch_depth: int = 0, tags: bool = False) -> None:
        args = ["-c", "protocol.version=2", "fetch"]
        if TAGS_REFSPEC not in refspecs and not tags:
            args.append("--no-tags")
        args += ["--prune", "--no-recurse-submodules"]
        if fetch_depth > 0:
            args.append(f"--depth={fetch_depth}")
        elif (where / ".git" / "shallow").exists():
            args.append("--unshallow")
        run(*args, "origin", *refspecs)

    where.mkdir(parents=True)
    run("init", "-q", str(where))
    run("remote", "add", "origin", origin.as_uri())
    run("config", "--local", "gc.auto", "0")
    if lfs:
        run("lfs", "install", "--local")
    if depth <= 0:
        fetch(["+refs/heads/*:refs/remotes/origin/*", TAGS_REFSPEC])
        if not run("tag", "--list", tag).strip() or run("rev-parse", ref).strip() != sha:  # testRef
            fetch([f"+{sha}:{ref}"])
    else:
        fetch([f"+{sha}:{ref}"], depth, fetch_tags)
    if lfs:
        run("lfs", "fetch", "origin", ref)
    run("checkout", "--progress", "--force", ref)
    return where


def gitlab_checkout(origin: Path, tag: str, where: Path, depth: int) -> Path:
    """The GitLab runner's sources for a tag pipeline, in a new folder: `git init`, origin, a fetch
    of `+refs/tags/TAG:refs/tags/TAG` with its default flags `--prune --quiet` (and `--depth N`
    unless GIT_DEPTH is 0), then the commit checked out, detached."""
    sha = git(origin, "rev-parse", f"refs/tags/{tag}^{{commit}}").strip()
    where.mkdir(parents=True)
    git(where, "init", "-q")
    git(where, "remote", "add", "origin", origin.as_uri())
    git(where, "fetch", "--prune", "--quiet", *([f"--depth={depth}"] if depth > 0 else []), "origin",
        f"+refs/tags/{tag}:refs/tags/{tag}")
    git(where, "checkout", "-q", "-f", "--detach", sha)
    return where


def is_install(line: str) -> bool:
    return "pip install" in line


def without_installs(script: str) -> str:
    """script with each `pip install` line a no-op (`:`), so that an `if` around one stays valid."""
    return "\n".join(re.sub(r"\S.*", ":", line) if is_install(line) else line for line in script.splitlines())


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
    """The pushes of a registry's life, with the job each must trigger (None: no job acts), the
    content that job writes and, for a deploy, the version now in prod. The second assignment to
    prod is the one a stale registry gets wrong: it deployed the first one's version."""
    yield origin.registered("churn", "v0.0.1"), "build", "model one\n", None
    origin.c2 = origin.commit("better model", {"models/churn.pkl": "model two\n"})
    yield origin.registered("churn", "v0.0.2"), "build", "model two\n", None
    yield origin.assigned("churn", "prod", 1, "v0.0.1", origin.c1), "deploy", "model one\n", "v0.0.1"
    yield origin.assigned("churn", "staging", 2, "v0.0.2", origin.c2), None, None, None
    yield origin.assigned("churn", "prod", 3, "v0.0.2", origin.c2), "deploy", "model two\n", "v0.0.2"
    yield origin.tag("v1.0.0", message="a release"), None, None, None
    yield origin.unassigned("churn", "prod", 4, "v0.0.2", origin.c2), None, None, None
    yield origin.deprecated("churn"), "cleanup", None, None


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
    """Run action.yml's `run:` steps as GitHub runs a composite action; returns (outputs, log), the
    outputs None if a step failed."""
    failed, outputs, log = run_action_steps(action, work, ref, env, tmp_path, inputs)
    return (None if failed else outputs), log


def run_action_steps(action: dict, work: Path, ref: str, env: dict, tmp_path: Path, inputs: dict | None = None):
    """Run action.yml's `run:` steps as GitHub runs a composite action: in order, until one fails;
    then the action's outputs are evaluated over the steps that ran, as actions/runner's
    CompositeActionHandler does also after a failed step (so a workflow that continues on error
    reads them). Returns (a step failed, outputs, log)."""
    github = {"ref": ref}
    values = {name: substitute(spec.get("default", ""), {"github": github})
              for name, spec in action.get("inputs", {}).items()}
    values.update(inputs or {})
    context = {"github": github, "inputs": values, "steps": {}}
    log = []
    failed = False
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python"), step
            continue
        if "if" in step and not evaluate(step["if"], context):
            continue
        assert step.get("shell") == "bash", "a composite action's run steps must name their shell"
        script = without_installs(step["run"])
        output_file = tmp_path / f"github_output_{len(list(tmp_path.glob('github_output_*')))}"
        output_file.write_text("")
        step_env = {**env, **{k: substitute(v, context) for k, v in (step.get("env") or {}).items()},
                    "GITHUB_OUTPUT": str(output_file), "GITHUB_ACTION_PATH": str(ROOT)}
        proc = bash(script, work, step_env)
        log.append(proc)
        if "id" in step:  # the runner reads a step's outputs also when it fails
            context["steps"][step["id"]] = {"outputs": parse_github_output(output_file.read_text())}
        if proc.returncode != 0:
            failed = True
            break
    outputs = {name: substitute(spec["value"], context) for name, spec in action["outputs"].items()}
    return failed, outputs, log


def test_action_outputs_are_gto_actions_plus_event_stage_repo_and_rev():
    action = load(ACTION)
    assert list(action["outputs"]) == OUTPUT_KEYS
    for key, spec in action["outputs"].items():
        assert spec["value"].replace(" ", "") == f"${{{{steps.check.outputs.{key}}}}}"
        assert spec.get("description")
    assert action["runs"]["using"] == "composite"
    assert {"pull", "dvc", "show", "history", "strict", "ref"} <= set(action["inputs"]), "gto-action's inputs too"
    assert action["inputs"]["policy"]["default"] == "true"
    (check,) = [s for s in action["runs"]["steps"] if s.get("id") == "check"]
    assert "tagreg check-ref" in check["run"] and "--format github" in check["run"]
    fetch = [s for s in action["runs"]["steps"] if "git fetch" in s.get("run", "")]
    assert fetch and "--tags" in fetch[0]["run"] and "--force" in fetch[0]["run"], "the action fetches every tag"


def test_the_simulated_checkout_leaves_the_pushed_tag_lightweight_as_github_does(origin, tmp_path):
    """What the doc tests start from, and why every job runs the action: after actions/checkout the
    pushed tag is a lightweight tag at its commit (at fetch-depth 0, the other tags are annotated;
    at the default depth, there are none), so check-ref refuses to read the registry, in one line."""
    tag = origin.registered("churn", "v0.0.1")
    other = origin.assigned("churn", "prod", 1, "v0.0.1")
    for depth in (0, 1):
        work = actions_checkout(origin.path, tag, tmp_path / f"depth{depth}", {"fetch-depth": depth})
        assert git(work, "cat-file", "-t", f"refs/tags/{tag}").strip() == "commit", "lightweight"
        assert git(work, "rev-parse", "HEAD").strip() == origin.c1
        others = git(work, "tag", "--list").split()
        assert others == ([other, tag] if depth == 0 else [tag])
        result = run_tagreg(work, "check-ref", tag, "--format", "json")
        assert result.returncode == 1 and "lightweight" in result.stderr and len(result.stderr.splitlines()) == 1


def test_action_check_step_runs(origin, ci, tmp_path):
    action = load(ACTION)
    origin.registered("churn", "v0.0.1")
    origin.assigned("churn", "prod", 1, "v0.0.1")
    origin.unassigned("churn", "prod", 2, "v0.0.1")
    origin.registered("lnk", "v0.0.1")
    origin.tag("v2.0.0", message="release")
    common = {"name": "churn", "version": "v0.0.1", "type": "model", "path": "models/churn.pkl",
              "description": DESCRIPTION, "repo": "", "rev": "", **NO_POLICY}
    cases = {
        "churn#prod#1": {"event": "assignment", "stage": "prod", "event_stage": "prod", **common},
        "churn#prod!#2": {"event": "unassignment", "stage": "", "event_stage": "prod", **common},
        "lnk@v0.0.1": {"event": "registration", "name": "lnk", "version": "v0.0.1", "stage": "", "type": "model",
                       "path": "w.bin", "description": "", "event_stage": "", "repo": "https://example.com/w.git",
                       "rev": "v3", **NO_POLICY},
        "v2.0.0": {**dict.fromkeys(OUTPUT_KEYS, ""), **NO_POLICY},
    }
    for i, (tag, want) in enumerate(cases.items()):
        for depth in (0, 1):  # the checkout the README shows, and checkout's default
            work = actions_checkout(origin.path, tag, tmp_path / f"action{i}-{depth}", {"fetch-depth": depth})
            outputs, log = run_action(action, work, f"refs/tags/{tag}", ci, tmp_path)
            assert outputs == {k: want[k] for k in OUTPUT_KEYS}, (tag, depth, [p.stderr for p in log])
            assert "Traceback" not in "".join(p.stderr for p in log)
            assert git(work, "rev-parse", "--is-shallow-repository").strip() == "false"
    work = actions_checkout(origin.path, "v2.0.0", tmp_path / "strict")
    outputs, log = run_action(action, work, "refs/tags/v2.0.0", ci, tmp_path, {"strict": "true"})
    assert outputs is None, "strict: a foreign tag fails the step"
    assert log[-1].returncode == 1 and len(log[-1].stderr.splitlines()) == 1
    work = actions_checkout(origin.path, "churn#prod#1", tmp_path / "strict-ok")
    outputs, _ = run_action(action, work, "refs/tags/churn#prod#1", ci, tmp_path, {"strict": "true"})
    assert outputs == cases["churn#prod#1"]


def test_action_fails_rather_than_read_a_registry_without_the_pushed_tag(origin, ci, tmp_path):
    """When the tags cannot be fetched (origin unreachable), the step fails: it does not set the
    outputs of a registry that lacks the event."""
    tag = origin.registered("churn", "v0.0.1")
    work = actions_checkout(origin.path, tag, tmp_path / "work", {"fetch-depth": 0})
    git(work, "remote", "set-url", "origin", (tmp_path / "gone").as_uri())
    outputs, log = run_action(load(ACTION), work, f"refs/tags/{tag}", ci, tmp_path)
    assert outputs is None and log[-1].returncode != 0


needs_lfs = pytest.mark.skipif(shutil.which("git-lfs") is None and not os.environ.get("CI"),
                               reason="git-lfs is not installed")


@needs_lfs
def test_action_pull_writes_the_events_version_at_its_path(reg, ci, tmp_path):
    """gto-action's `pull: true`: after the step the artifact's files are at its `path` output.
    Here from Git LFS, which actions/checkout leaves as pointers (lfs: false): the version's content
    comes from the remote's LFS store."""
    content = b"\x00weights v1\xff" * 100
    git(reg.path, "lfs", "install", "--local")
    git(reg.path, "lfs", "track", "*.bin")
    reg.annotate({"w": {"type": "model", "path": "models/w.bin"}}, {".gitattributes": "*.bin filter=lfs diff=lfs "
                                                                    "merge=lfs -text\n"})
    (reg.path / "models").mkdir()
    (reg.path / "models" / "w.bin").write_bytes(content)
    git(reg.path, "add", "models/w.bin")
    reg.commit("lfs model")
    tag = reg.registered("w", "v0.0.1")
    action = load(ACTION)
    work = actions_checkout(reg.path, tag, tmp_path / "work")
    assert (work / "models" / "w.bin").read_bytes().startswith(b"version https://git-lfs"), "a pointer"
    outputs, log = run_action(action, work, f"refs/tags/{tag}", ci, tmp_path, {"pull": "true"})
    assert outputs is not None, [p.stderr for p in log]
    assert outputs["path"] == "models/w.bin"
    assert (work / outputs["path"]).read_bytes() == content
    foreign = reg.tag("v1.0.0", message="release")
    work = actions_checkout(reg.path, foreign, tmp_path / "foreign")
    outputs, log = run_action(action, work, f"refs/tags/{foreign}", ci, tmp_path, {"pull": "true"})
    assert outputs is not None and "nothing to pull" in log[-2].stdout


def test_action_pull_writes_a_folders_dvc_yaml_artifact_where_dvc_reads_its_path(reg, ci, tmp_path):
    """models/dvc.yaml's `path: clf.pkl` is models/clf.pkl (DVC reads it relative to its folder): the
    `path` output names it so, and `pull` writes it there, not at the root."""
    reg.commit("a folder's dvc.yaml", {"models/dvc.yaml": "artifacts:\n  clf:\n    path: clf.pkl\n    type: model\n",
                                       "models/clf.pkl": "the classifier\n"})
    tag = reg.tag("models=clf@v0.0.1", message="Registering artifact models:clf version v0.0.1")
    work = actions_checkout(reg.path, tag, tmp_path / "work")
    (work / "models" / "clf.pkl").unlink()
    outputs, log = run_action(load(ACTION), work, f"refs/tags/{tag}", ci, tmp_path, {"pull": "true"})
    assert outputs is not None, [p.stderr for p in log]
    assert (outputs["name"], outputs["path"]) == ("models:clf", "models/clf.pkl")
    assert (work / "models" / "clf.pkl").read_text() == "the classifier\n"
    assert not (work / "clf.pkl").exists()


def test_action_pull_with_dvc_writes_a_dvc_tracked_version_from_the_dvc_remote(reg, ci, tmp_path):
    """`dvc: true` and `pull: true` on a DVC project (real DVC: `dvc add`, `dvc push` to a local DVC
    remote): checkout leaves only the `.dvc` file, and the step writes the event's version at its
    path from the DVC remote, as gto-action's `dvc pull` does, for a registration and for an
    assignment of an older version."""
    env = {**ci, "DVC_NO_ANALYTICS": "1", **{f"DVC_{k}_DIR": str(tmp_path / f"dvc-{k.lower().replace('_', '-')}")
                                             for k in ("GLOBAL_CONFIG", "SYSTEM_CONFIG", "SITE_CACHE")}}

    def run_dvc(*args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=reg.path, env=env, capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    run_dvc("init", "-q")
    run_dvc("remote", "add", "-d", "store", str(tmp_path / "dvc-store"))
    pushes, commits = [], []
    for content in ("model one\n", "model two\n"):
        (reg.path / "model.pkl").write_text(content)
        run_dvc("add", "-q", "model.pkl")
        run_dvc("push", "-q")
        git(reg.path, "add", ".dvc", ".gitignore", "model.pkl.dvc")
        commits.append(reg.annotate({"churn": {"type": "model", "path": "model.pkl"}}, message=content))
        pushes.append((reg.registered("churn", f"v0.0.{len(commits)}"), content))
    pushes.append((reg.assigned("churn", "prod", 1, "v0.0.1", commits[0]), "model one\n"))
    action = load(ACTION)
    for i, (tag, content) in enumerate(pushes):
        work = actions_checkout(reg.path, tag, tmp_path / f"work{i}")
        assert not (work / "model.pkl").exists() and (work / "model.pkl.dvc").is_file()
        outputs, log = run_action(action, work, f"refs/tags/{tag}", env, tmp_path, {"pull": "true", "dvc": "true"})
        assert outputs is not None, [p.stderr for p in log]
        assert (outputs["version"], outputs["path"]) == (f"v0.0.{1 if i != 1 else 2}", "model.pkl")
        assert (work / "model.pkl").read_text() == content, tag


# -- GitHub Actions workflow --------------------------------------------------------------------


def run_github_workflow(workflow: dict, action: dict, origin: Path, tag: str, env: dict, tmp_path: Path) -> dict:
    """Run the workflow for a push of tag; returns job -> (its `if:` was true, bash runs, work dir,
    the job's outputs, whether it failed). A job stops at its first failed step, as on GitHub."""
    jobs = workflow["jobs"]
    results = {}
    needs: dict = {}
    for name in ["check", *[n for n in jobs if n != "check"]]:
        job = jobs[name]
        if name != "check":
            assert job["needs"] == "check"
            if not evaluate(job["if"], {"needs": needs}):
                results[name] = (False, [], None, None, False)
                continue
        work = tmp_path / name
        steps: dict = {}
        runs = []
        failed = False
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                actions_checkout(origin, tag, work, step.get("with"))
            elif uses.endswith("/tagreg@main"):  # this repository's action.yml
                given = step.get("with") or {}
                inputs = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in given.items()}
                (tmp_path / f"{name}-action").mkdir()
                failed, outputs, log = run_action_steps(action, work, f"refs/tags/{tag}", env,
                                                        tmp_path / f"{name}-action", inputs)
                assert "Traceback" not in "".join(p.stderr for p in log)
                runs += log
                if "id" in step:
                    steps[step["id"]] = {"outputs": outputs}
            elif uses:
                raise AssertionError(f"unexpected step in {name}: {step}")
            else:
                script = without_installs(step["run"])
                step_env = {**env, **{k: substitute(v, {"needs": needs}) for k, v in (step.get("env") or {}).items()}}
                work.mkdir(exist_ok=True)  # a job with no checkout runs in an empty folder
                proc = bash(script, work, step_env)
                assert "Traceback" not in proc.stderr
                runs.append(proc)
                failed = proc.returncode != 0
            if failed:
                break
        outputs = {k: substitute(v, {"steps": steps}) for k, v in (job.get("outputs") or {}).items()}
        if name == "check":
            needs = {"check": {"outputs": outputs}}
        results[name] = (True, runs, work, outputs, failed)
    return results


def failed_jobs(results: dict) -> dict[str, str]:
    """The jobs that failed, with the stderr and stdout of their last step."""
    return {name: runs[-1].stderr + runs[-1].stdout for name, (_, runs, _w, _o, failed) in results.items() if failed}


def test_github_actions_workflow_runs_the_right_job_for_each_push(origin, ci, tmp_path):
    workflow = load(GITHUB)
    action = load(ACTION)
    assert workflow["on"] == {"push": {"tags": ["*"]}}
    assert set(workflow["jobs"]) == {"check", "refused", "build", "deploy", "cleanup"}
    for name, job in workflow["jobs"].items():
        if not any("tagreg" in step.get("run", "") for step in job["steps"]) and name != "check":
            continue  # reads only the check job's outputs
        uses = [step.get("uses", "") for step in job["steps"]]
        assert uses[0].startswith("actions/checkout@") and uses[1].endswith("/tagreg@main"), \
            f"{name}: checkout, then the action (tagreg, and the tags as pushed) before anything reads the registry"
    for i, (tag, job, content, deployed) in enumerate(pushes(origin)):
        run_dir = tmp_path / f"push{i}"
        run_dir.mkdir()
        results = run_github_workflow(workflow, action, origin.path, tag, ci, run_dir)
        assert failed_jobs(results) == {}, tag
        ran = {name for name, (ran, *_rest) in results.items() if ran and name != "check"}
        assert ran == ({job} if job else set()), tag
        outputs = results["check"][3]
        log = "".join(p.stdout for _, runs, *_ in results.values() for p in runs)
        assert outputs.pop("policy") == "none" and outputs.pop("policy_reason") == "", "no policy here"
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
            assert f"deploying churn {deployed} to prod" in log
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


def resolved(pipeline: dict, job: dict) -> dict:
    """job with what it `extends` merged in (GitLab: hashes deep-merged, the job's own keys win)."""
    base = pipeline.get(job["extends"], {}) if "extends" in job else {}
    assert not base or "extends" not in base, "the test resolves one level of extends"
    return {**base, **{k: v for k, v in job.items() if k != "extends"}}


def gitlab_script(job: dict) -> str:
    return without_installs("\n".join([*job.get("before_script", []), *job["script"]]))


def run_gitlab_pipeline(pipeline: dict, origin: Path, tag: str, env: dict, tmp_path: Path) -> dict:
    """Run the pipeline for a push of tag; returns job -> (CompletedProcess or None, work dir), plus
    the parsed dotenv report under "dotenv". The check job must succeed; the others may fail."""
    variables = {"CI_COMMIT_TAG": tag, "CI_COMMIT_REF_NAME": tag, **pipeline.get("variables", {})}
    jobs = {name: resolved(pipeline, job) for name, job in pipeline.items()
            if isinstance(job, dict) and "script" in job and not name.startswith(".")}
    assert set(jobs) == {"check", "refused", "build", "deploy", "cleanup"}
    depth = int(variables["GIT_DEPTH"])
    check = jobs.pop("check")
    assert check["artifacts"]["reports"]["dotenv"] == "registry.env"
    work = gitlab_checkout(origin, tag, tmp_path / "check", depth)
    proc = bash(gitlab_script(check), work, {**env, **variables})
    assert proc.returncode == 0, proc.stderr
    report = (work / "registry.env").read_text()
    dotenv = parse_gitlab_dotenv(report)
    results = {"check": (proc, work), "dotenv": dotenv}
    for name, job in jobs.items():
        assert job["needs"] == ["check"]
        if not gitlab_rules_pass(job, variables):
            results[name] = (None, None)
            continue
        work = gitlab_checkout(origin, tag, tmp_path / name, depth)
        proc = bash(gitlab_script(job), work, {**env, **variables, **dotenv})
        assert "Traceback" not in proc.stderr  # whether it failed, the caller checks
        results[name] = (proc, work)
    return results


def test_gitlab_pipeline_acts_only_on_the_right_pushes(origin, ci, tmp_path):
    pipeline = yaml.safe_load(GITLAB.read_text())
    assert pipeline["variables"]["GIT_DEPTH"] == "0"
    for i, (tag, job, content, deployed) in enumerate(pushes(origin)):
        run_dir = tmp_path / f"push{i}"
        run_dir.mkdir()
        results = run_gitlab_pipeline(pipeline, origin.path, tag, ci, run_dir)
        dotenv = results["dotenv"]
        for name, (proc, _) in ((n, r) for n, r in results.items() if n != "dotenv"):
            assert proc is None or proc.returncode == 0, (tag, name, proc.stderr)
        assert list(dotenv) == ["event", "name", "version", "stage", "type", "path", "description", "event_stage",
                                "policy", "policy_reason", "signature", "signed_by"]
        assert dotenv["policy"] == "none" and results["refused"][0].returncode == 0, "no policy here"
        if tag == "v1.0.0":
            assert {v for k, v in dotenv.items() if k != "policy"} == {""}
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
            assert f"deploying churn {deployed} to prod" in deploy.stdout
        else:
            assert "not an assignment to prod" in deploy.stdout and not (deploy_dir / "deploy").exists(), tag
        if job == "cleanup":
            assert "decommissioning churn" in cleanup.stdout and "churn@deprecated" in cleanup.stdout
        else:
            assert "not a deprecation" in cleanup.stdout, tag


# -- install lines -------------------------------------------------------------------------------
# tagreg is not on PyPI: every `pip install` the action, the recipes and tagreg's own error messages
# give installs it from its repository. pip itself checks each one here, as written (the action's
# own path, the recipes' Git URL pointed at this repository, the messages' lines): it must find
# tagreg there, with the extra the line asks for (`--dry-run --report`: nothing is installed).

ACME = "https://github.com/acme/tagreg.git"  # what the recipes call tagreg's repository


def install_commands() -> list[tuple[str, str]]:
    """(where it is written, the shell command)."""
    from tagreg.install import pip_install

    found = []
    action = load(ACTION)
    for step in action["runs"]["steps"]:
        for line in step.get("run", "").splitlines():
            if is_install(line):
                found.append(("action.yml", line.strip().replace("$GITHUB_ACTION_PATH", str(ROOT))))
    pipeline = yaml.safe_load(GITLAB.read_text())
    for name, job in pipeline.items():
        if isinstance(job, dict):
            for line in [*job.get("before_script", []), *job.get("script", [])]:
                if is_install(line):
                    for key, value in pipeline["variables"].items():
                        line = line.replace(f'"${key}"', shlex.quote(value))
                    found.append((f"gitlab-ci.yml {name}", line))
    comment = re.search(r'"(tagreg\[dvc\] @ git\+\S+)"', GITLAB.read_text())
    assert comment, "the GitLab recipe says how to add the dvc extra"
    found.append(("gitlab-ci.yml comment", f"pip install {shlex.quote(comment.group(1))}"))
    for name, job in load(GITHUB)["jobs"].items():
        for step in job["steps"]:
            assert not is_install(step.get("run", "")), f"{name}: the action installs tagreg"
    found += [("the DVC error", pip_install("dvc")), ("the server error", pip_install("server"))]
    # PEP 508 wants a host in a URL: git reads file://localhost/PATH as the folder PATH
    return [(where, line.replace(ACME, f"file://localhost{ROOT}")) for where, line in found]


def test_every_install_line_installs_tagreg(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("python", "pip"):  # the recipes' `python` and `pip`: this environment's
        (bindir / tool).write_text(f'#!/bin/sh\nexec "{sys.executable}" {"-m pip " if tool == "pip" else ""}"$@"\n')
        (bindir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    commands = install_commands()
    assert {where.split()[0] for where, _ in commands} >= {"action.yml", "gitlab-ci.yml", "the"}
    checked: dict[str, dict] = {}  # one pip run per source; the extras each line asks for, from its metadata
    for where, line in commands:
        assert "pip install" in line, (where, line)
        dry = line.replace(" in a checkout of tagreg's repository", "").replace(" --quiet", "")
        dry = dry.replace("pip install", "pip install --dry-run --no-deps --quiet --report -")
        source = re.sub(r"\[\w+\]", "", dry)
        if source not in checked:
            proc = subprocess.run(["bash", "-c", source], cwd=ROOT, env=env, capture_output=True, text=True,
                                  check=False)
            assert proc.returncode == 0, f"{where}: `{line}` failed: {proc.stderr[-2000:]}"
            (checked[source],) = json.loads(proc.stdout)["install"]
        assert checked[source]["metadata"]["name"] == "tagreg", (where, line)
        asked = set(re.findall(r"\[(\w+)\]", line))
        assert asked <= set(checked[source]["metadata"]["provides_extra"]), (where, line)
    assert len(checked) == 3, "the action's path, the recipes' Git URL, the messages' checkout"


@pytest.mark.parametrize("recorded, line", [
    ({"url": "file:///src/my%20tagreg", "dir_info": {"editable": True}}, "-e '/src/my tagreg[dvc]'"),
    ({"url": "file:///src/tagreg", "dir_info": {}}, "'/src/tagreg[dvc]'"),
    ({"url": "https://git.example.com/tagreg.git", "vcs_info": {"vcs": "git", "commit_id": "0a1b2c"}},
     "'tagreg[dvc] @ git+https://git.example.com/tagreg.git@0a1b2c'"),
    ({"url": "file:///dist/tagreg-0.1.0-py3-none-any.whl", "archive_info": {}},
     "'tagreg[dvc] @ file:///dist/tagreg-0.1.0-py3-none-any.whl'"),
    ({"url": "https://user:token@git.example.com/tagreg.git", "vcs_info": {"vcs": "git"}},
     "-e '.[dvc]' in a checkout of tagreg's repository"),  # never repeat a credential pip kept
    ({}, "-e '.[dvc]' in a checkout of tagreg's repository"),
    ({"url": ["not", "a", "url"], "dir_info": "?"}, "-e '.[dvc]' in a checkout of tagreg's repository"),
])
def test_install_lines_name_where_tagreg_came_from(monkeypatch, recorded, line):
    from tagreg import install

    monkeypatch.setattr(install, "_direct_url", lambda: recorded)
    assert install.pip_install("dvc") == f"{shlex.quote(sys.executable)} -m pip install {line}"
