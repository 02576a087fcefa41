"""`tagreg check-ref REF --format github|dotenv|json|shell [--strict]`: what CI jobs read.

Every format is read back the way its consumer reads it: GitHub's runner parses `$GITHUB_OUTPUT`,
GitLab parses the dotenv report, bash `eval`s the shell format, and a script loads the JSON. The
values must come back exactly, whatever the description holds (line breaks, quotes, `$`, backticks,
`$(...)`), for every event kind, for links (repo/rev), and be empty for foreign refs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .cireaders import parse_github_output, parse_gitlab_dotenv, unescape_dotenv
from .support import Result, git, isolated_env, make_registry, run_many

EVENT_KEYS = ["event", "name", "version", "stage", "type", "path", "description", "event_stage"]
VERDICT_KEYS = ["policy", "policy_reason", "signature", "signed_by"]  # the policy's (tests/events/test_ci_policy.py)
NO_POLICY = {"policy": "none", "policy_reason": "", "signature": "", "signed_by": ""}
KEYS = EVENT_KEYS + VERDICT_KEYS
LINK_KEYS = EVENT_KEYS + ["repo", "rev"] + VERDICT_KEYS

# Everything that has broken a CI output format somewhere: line breaks (also a trailing one and an
# empty line), both quotes, `$VAR`, `${VAR}`, backticks and `$(...)` (which must not run), `\n`
# written out, a backslash, a tab, `=` and `<<` (GitHub's two separators), non-ASCII.
TRICKY = ("Churn model: first line\n"
          "it's \"quoted\" and 'single' $HOME ${PATH} `touch pwned-backtick` $(touch pwned-subst)\n"
          "\n"
          "literal \\n and back\\slash\tand tab; key=value <<EOF ünïcødé\n")
LINK_DESCRIPTION = "a=b <<EOF one line with 'quotes' and $(touch pwned-link)"


@pytest.fixture(scope="module")
def ci_reg(tmp_path_factory):
    """churn (one tag of every event kind, the tricky description), a link lnk (registered once), a
    release tag and a lightweight registry-named tag. Read-only: shared by the module."""
    base = tmp_path_factory.mktemp("check_ref")
    with isolated_env(base / "home") as mp:
        reg = make_registry(base / "repo", mp)
        reg.annotate({
            "churn": {"type": "model", "path": "models/churn.pkl", "description": TRICKY},
            "lnk": {"type": "model", "path": "weights/model.bin", "repo": "https://example.com/acme/weights.git",
                    "rev": "v1.2.0", "description": LINK_DESCRIPTION},
        }, {"models/churn.pkl": "pickled churn\n"})
        reg.kinds = reg.every_kind("churn")
        reg.kinds["link"] = reg.registered("lnk", "v0.0.1")
        reg.tag("v1.0.0", message="a release, not a registry event")
        reg.git("tag", "churn@v9.9.9")  # lightweight: GTO ignores it, so does tagreg
    return reg


def expected(kind: str) -> dict[str, str]:
    """gto-action v2's values (`stage` only for an assignment), then tagreg's own: event_stage (the
    stage an (un)assignment names), repo and rev for a link; no policy governs this registry."""
    if kind == "link":
        return {"event": "registration", "name": "lnk", "version": "v0.0.1", "stage": "", "type": "model",
                "path": "weights/model.bin", "description": LINK_DESCRIPTION, "event_stage": "",
                "repo": "https://example.com/acme/weights.git", "rev": "v1.2.0", **NO_POLICY}
    common = {"type": "model", "path": "models/churn.pkl", "description": TRICKY, **NO_POLICY}
    return {
        "registration": {"event": "registration", "name": "churn", "version": "v0.0.1", "stage": "", **common,
                         "event_stage": ""},
        "assignment": {"event": "assignment", "name": "churn", "version": "v0.0.1", "stage": "prod", **common,
                       "event_stage": "prod"},
        "unassignment": {"event": "unassignment", "name": "churn", "version": "v0.0.1", "stage": "", **common,
                         "event_stage": "prod"},
        "deregistration": {"event": "deregistration", "name": "churn", "version": "v0.0.2", "stage": "", **common,
                           "event_stage": ""},
        "deprecation": {"event": "deprecation", "name": "churn", "version": "", "stage": "", **common,
                        "event_stage": ""},
    }[kind]


EMPTY = {**dict.fromkeys(EVENT_KEYS, ""), **NO_POLICY}
EVENT_KINDS = ["registration", "assignment", "unassignment", "deregistration", "deprecation"]
FORMATS = ["github", "dotenv", "json", "shell"]


def eval_in_bash(cwd, text: str, keys: list[str]) -> dict[str, str]:
    """`eval` text in bash; the values of keys (exact, newlines and all). Also checks that eval set
    exactly those variables and printed nothing."""
    names = [f"TAGREG_{key.upper()}" for key in keys]  # the shell format's variable names
    script = ('__before=$(compgen -v | sort)\neval "$TAGREG_OUTPUT"\n'
              + "".join(f'printf "%s\\0" "${name}"\n' for name in names)
              + 'comm -13 <(echo "$__before") <(compgen -v | sort)'
              + ' | grep -vxE "__before|PIPESTATUS|_|BASH_.*" | tr "\\n" " "\n')
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "TAGREG_OUTPUT": text})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"", proc.stderr
    *values, assigned = proc.stdout.decode().split("\0")
    assert sorted(assigned.split()) == sorted(names), "eval assigned other variables than the keys"
    return dict(zip(keys, values))


def read_back(fmt: str, result: Result, github_file, sandbox, keys: list[str]) -> dict[str, str]:
    """The values as the format's consumer sees them."""
    assert "Traceback" not in result.stderr, result.stderr
    if fmt == "github":
        return parse_github_output(github_file.read_text())
    if fmt == "dotenv":
        values = parse_gitlab_dotenv(result.stdout)
        return {k: unescape_dotenv(v) for k, v in values.items()}
    if fmt == "json":
        return json.loads(result.stdout)
    return eval_in_bash(sandbox, result.stdout, keys)


def all_formats(reg, ref: str, tmp_path, keys: list[str] = KEYS) -> dict[str, tuple[Result, dict]]:
    """Run check-ref REF in every format (in parallel) and read each output back like its consumer
    (keys: what the shell output is expected to assign)."""
    github_file = tmp_path / f"github_output_{abs(hash(ref))}"
    github_file.write_text("")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir(exist_ok=True)
    calls = [(("check-ref", ref, "--format", fmt), {"GITHUB_OUTPUT": str(github_file)} if fmt == "github"
              else None) for fmt in FORMATS]
    results = run_many(reg.path, calls)
    out = {}
    for fmt, result in zip(FORMATS, results):
        out[fmt] = (result, read_back(fmt, result, github_file, sandbox, keys) if result.returncode == 0 else {})
    assert list(sandbox.iterdir()) == [], "eval ran a command hidden in the description"
    return out


# -- registry events: every format reads back exactly ---------------------------------------------


@pytest.mark.parametrize("kind", EVENT_KINDS + ["link"])
def test_every_format_reads_back_exactly(ci_reg, tmp_path, kind):
    keys = LINK_KEYS if kind == "link" else KEYS
    for fmt, (result, values) in all_formats(ci_reg, ci_reg.kinds[kind], tmp_path, keys).items():
        assert result.returncode == 0, (fmt, result.stderr)
        assert values == expected(kind), fmt
        assert list(values) == keys, f"{fmt}: keys and their order"
        if fmt == "github":
            assert result.stdout == "", "with $GITHUB_OUTPUT set, outputs go to the file, not the log"
        if fmt == "dotenv":
            lines = result.stdout.splitlines()
            assert len(lines) == len(keys) and result.stdout.endswith("\n"), "one line per key"
            assert "\r" not in result.stdout


@pytest.mark.parametrize("kind", ["registration", "link"])
def test_github_heredoc_and_plain_lines(ci_reg, tmp_path, kind):
    """A multi-line value uses `key<<DELIMITER`; the one-line description holding `=` and `<<` is a
    plain `key=value` line that GitHub splits at the first `=`."""
    out_file = tmp_path / "out"
    result = ci_reg.run("check-ref", ci_reg.kinds[kind], "--format", "github", env={"GITHUB_OUTPUT": str(out_file)})
    assert result.returncode == 0
    text = out_file.read_text()
    if kind == "link":
        assert f"description={LINK_DESCRIPTION}\n" in text
    else:
        assert "\ndescription<<" in "\n" + text


def test_dotenv_as_gitlab_passes_it_on(ci_reg):
    """GitLab hands the job the raw text: line breaks arrive as the two characters `\\n`."""
    result = ci_reg.run("check-ref", ci_reg.kinds["assignment"], "--format", "dotenv")
    values = parse_gitlab_dotenv(result.stdout)
    assert {k: v for k, v in values.items() if k != "description"} == {
        k: v for k, v in expected("assignment").items() if k != "description"}
    assert "\n" not in values["description"]
    assert values["description"].startswith("Churn model: first line\\nit's \"quoted\"")
    assert "literal \\\\n and back\\\\slash" in values["description"]


def test_github_output_appends_and_keeps_what_earlier_steps_wrote(ci_reg, tmp_path):
    out_file = tmp_path / "github_output"
    before = "earlier=kept\nnotes<<EOF\nline 1\nline 2\nEOF\n"
    out_file.write_text(before)
    env = {"GITHUB_OUTPUT": str(out_file)}
    assert ci_reg.run("check-ref", ci_reg.kinds["assignment"], "--format", "github", env=env).returncode == 0
    text = out_file.read_text()
    assert text.startswith(before)
    assert parse_github_output(text) == {"earlier": "kept", "notes": "line 1\nline 2", **expected("assignment")}
    # a later step appending to the same file: its values win, the earlier ones stay
    assert ci_reg.run("check-ref", "refs/tags/" + ci_reg.kinds["link"], "--format", "github", env=env).returncode == 0
    assert parse_github_output(out_file.read_text()) == {"earlier": "kept", "notes": "line 1\nline 2",
                                                         **expected("link")}


def test_github_format_without_the_variable_prints_the_lines(ci_reg):
    result = ci_reg.run("check-ref", ci_reg.kinds["registration"], "--format", "github", env={"GITHUB_OUTPUT": ""})
    assert result.returncode == 0
    assert parse_github_output(result.stdout) == expected("registration")


def test_shell_format_as_documented_eval_of_the_command(ci_reg, tmp_path):
    """`eval "$(tagreg check-ref "$REF" --format shell)"`, literally, in bash."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tagreg").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tagreg "$@"\n')
    (bindir / "tagreg").chmod(0o755)
    script = ('set -e\neval "$(tagreg check-ref "$REF" --format shell)"\n'
              + "".join(f'printf "%s\\0" "$TAGREG_{key.upper()}"\n' for key in KEYS))
    env = {**os.environ, "PATH": f"{bindir}:/usr/bin:/bin", "REF": ci_reg.kinds["unassignment"]}
    workdir = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(ci_reg.path), str(workdir))
    proc = subprocess.run(["bash", "-c", script], cwd=workdir, capture_output=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert dict(zip(KEYS, proc.stdout.decode().split("\0"))) == expected("unassignment")
    assert not (workdir / "pwned-backtick").exists() and not (workdir / "pwned-subst").exists()


# -- refs that are not registry events ------------------------------------------------------------


@pytest.mark.parametrize("ref", ["v1.0.0", "HEAD"])
def test_foreign_refs_give_empty_values_and_exit_0(ci_reg, tmp_path, ref):
    for fmt, (result, values) in all_formats(ci_reg, ref, tmp_path).items():
        assert result.returncode == 0, (fmt, result.stderr)
        assert result.stderr == "", fmt
        assert values == EMPTY, fmt
        assert list(values) == KEYS, fmt


def test_more_foreign_refs(ci_reg, tmp_path):
    refs = ["refs/tags/v1.0.0", "refs/heads/main", "main", "nosuch@v1.0.0", "churn", "churn#prod"]
    results = run_many(ci_reg.path, [(("check-ref", ref, "--format", "json"), None) for ref in refs])
    for ref, result in zip(refs, results):
        assert result.returncode == 0, (ref, result.stderr)
        assert json.loads(result.stdout) == EMPTY, ref


def test_strict_fails_on_foreign_refs_with_one_line(ci_reg, tmp_path):
    cases = [(ref, fmt) for ref in ["v1.0.0", "HEAD", "churn@v9.9.9"] for fmt in FORMATS]
    files = {case: tmp_path / f"out{i}" for i, case in enumerate(cases)}
    for f in files.values():
        f.write_text("")
    results = run_many(ci_reg.path, [(("check-ref", ref, "--format", fmt, "--strict"),
                                      {"GITHUB_OUTPUT": str(files[(ref, fmt)])}) for ref, fmt in cases])
    for (ref, fmt), result in zip(cases, results):
        assert result.returncode == 1, (ref, fmt, result.stdout)
        assert result.stdout == "", (ref, fmt)
        assert len(result.stderr.splitlines()) == 1, (ref, fmt, result.stderr)
        assert ref in result.stderr and "Traceback" not in result.stderr
        assert files[(ref, fmt)].read_text() == "", "a failed check leaves no outputs behind"


def test_strict_passes_on_registry_events(ci_reg, tmp_path):
    kinds = EVENT_KINDS + ["link"]
    results = run_many(ci_reg.path, [(("check-ref", ci_reg.kinds[k], "--format", "json", "--strict"), None)
                                     for k in kinds])
    for kind, result in zip(kinds, results):
        assert result.returncode == 0, (kind, result.stderr)
        assert json.loads(result.stdout) == expected(kind)


def test_a_lightweight_tag_with_an_event_name_is_refused_not_read_as_nothing(ci_reg, tmp_path):
    """What actions/checkout leaves of the pushed tag: CI outputs would describe a registry without
    the event (a deploy of the previous model), so every format, --strict, --policy and tagreg's
    field printers (--path, --type, --description, which GTO has not) refuse it in one line, exit 1,
    with nothing written to $GITHUB_OUTPUT; GTO's own forms print nothing, as GTO does."""
    out_file = tmp_path / "github_output"
    out_file.write_text("")
    calls = [(("check-ref", ref, "--format", fmt), {"GITHUB_OUTPUT": str(out_file)})
             for ref in ("churn@v9.9.9", "refs/tags/churn@v9.9.9") for fmt in FORMATS]
    calls += [(("check-ref", "churn@v9.9.9", flag), None) for flag in ("--strict", "--path", "--type",
                                                                       "--description", "--policy")]
    for (args, _), result in zip(calls, run_many(ci_reg.path, calls)):
        assert result.returncode == 1, (args, result.stdout)
        assert result.stdout == "", args
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
        assert "'churn@v9.9.9' is a lightweight tag here" in result.stderr, result.stderr
        assert "git fetch --force --tags origin" in result.stderr, result.stderr
    assert out_file.read_text() == ""
    gto_forms = [(("check-ref", "churn@v9.9.9", *flags), None)
                 for flags in ((), ("--json",), ("--name",), ("--version",), ("--event",), ("--stage",))]
    for (args, _), result in zip(gto_forms, run_many(ci_reg.path, gto_forms)):
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), args


def test_a_lightweight_tag_alone_is_refused_too(reg):
    reg.annotate({"solo": {"type": "model", "path": "solo.bin"}})
    git(reg.path, "tag", "solo@v1.0.0")
    result = reg.run("check-ref", "solo@v1.0.0", "--format", "json")
    assert result.returncode == 1 and result.stdout == "" and len(result.stderr.splitlines()) == 1


def test_repaired_by_fetching_the_tags_as_the_message_says(ci_reg, tmp_path):
    """The fix the message names brings the event back: a clone whose tag is lightweight (as
    actions/checkout makes it) answers with the event after `git fetch --force --tags origin`."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-tags", str(ci_reg.path), str(clone))
    tag = ci_reg.kinds["unassignment"]
    commit = git(ci_reg.path, "rev-parse", f"{tag}^{{commit}}").strip()
    git(clone, "fetch", "-q", "--no-tags", "origin", f"+{commit}:refs/tags/{tag}")
    assert run_many(clone, [(("check-ref", tag, "--format", "json"), None)])[0].returncode == 1
    git(clone, "fetch", "-q", "--force", "--tags", "origin")
    result = run_many(clone, [(("check-ref", tag, "--format", "json"), None)])[0]
    assert result.returncode == 0 and json.loads(result.stdout) == expected("unassignment")


# -- GitLab's dotenv size limit ----------------------------------------------------------------


def test_a_description_over_gitlabs_dotenv_limit_is_cut_with_a_marker_and_a_warning(reg, tmp_path):
    """GitLab refuses a dotenv report of 5 KiB or more, and then the jobs that need it get no
    variables at all: the description is cut (at a character, never inside an escape) so the report
    stays under the limit, marked, with a warning in the job's log."""
    long = "ünïcødé line\\ with a backslash\n" * 400  # ~14 KiB once escaped
    reg.annotate({"big": {"type": "model", "path": "big.bin", "description": long}})
    tag = reg.registered("big", "v0.0.1")
    result = reg.run("check-ref", tag, "--format", "dotenv")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.encode()) < 5 * 1024
    values = parse_gitlab_dotenv(result.stdout)  # as GitLab reads it: it would raise over the limit
    assert values["name"] == "big" and values["event"] == "registration" and values["path"] == "big.bin"
    assert values["description"].endswith(" [truncated]")
    kept = unescape_dotenv(values["description"].removesuffix(" [truncated]"))
    assert long.startswith(kept)
    assert len(result.stdout.encode()) > 5 * 1024 - 40, "cut no more than needed"
    assert len(result.stderr.splitlines()) == 1 and "description is cut" in result.stderr, result.stderr
    assert "5 KiB" in result.stderr
    json_result = reg.run("check-ref", tag, "--format", "json")
    assert json.loads(json_result.stdout)["description"] == long, "other formats keep it whole"
    assert json_result.stderr == ""


# -- where the files are: a folder's dvc.yaml -------------------------------------------------------


def test_a_folders_dvc_yaml_path_is_given_as_a_path_in_the_repository(reg, tmp_path, monkeypatch):
    """DVC reads models/dvc.yaml's `path: ./clf.pkl` as models/clf.pkl, where `get` finds it: every
    format, and `check-ref --path`, say that. Read as GTO does (TAGREG_GTO_EXACT=1), they give the
    path as written, as gto-action v2 does (tests/events/test_gto_action_outputs.py runs it)."""
    reg.commit("a folder's dvc.yaml", {"models/dvc.yaml": "artifacts:\n  clf:\n    path: ./clf.pkl\n    type: model\n",
                                       "models/clf.pkl": "clf\n"})
    tag = reg.tag("models=clf@v0.0.1", message="Registering artifact models:clf version v0.0.1")
    for exact, path in (("", "models/clf.pkl"), ("1", "./clf.pkl")):
        monkeypatch.setenv("TAGREG_GTO_EXACT", exact)
        for fmt, (result, values) in all_formats(reg, tag, tmp_path).items():
            assert result.returncode == 0, (fmt, result.stderr)
            assert (values["name"], values["type"], values["path"]) == ("models:clf", "model", path), (fmt, exact)
        assert reg.ok("check-ref", tag, "--path") == path + "\n"
    monkeypatch.delenv("TAGREG_GTO_EXACT")
    assert reg.ok("check-ref", tag, "--path", "--gto-exact") == "./clf.pkl\n"
    assert reg.ok("get", "models:clf@v0.0.1", "--print-path") == "models/clf.pkl\n"
