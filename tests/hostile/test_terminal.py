"""Terminal escapes from repository content: descriptions, paths, taggers and tag names reach the
terminal through describe, check-ref, get, doctor and error messages. Human-readable output shows
control characters (C0, DEL, C1) and bidi controls as visible escapes; `--json` stays exact JSON;
CI outputs (`check-ref --format`) carry exact values, delimited so that no value adds a line or a
variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import git, run_tagreg
from events.cireaders import parse_github_output, parse_gitlab_dotenv, unescape_dotenv
from events.test_check_ref_formats import eval_in_bash

# An OSC that sets the terminal's title, SGR colours, an 8-bit CSI, a bidi override, DEL, a carriage
# return (overwrites the line), and a real line break with a tab (a description may have several lines).
DESCRIPTION = ("Churn \x1b]0;pwned-title\x07 model \x1b[31mred\x1b[0m \x9b2J csi \u202egnp.exe\u202c "
               "del\x7f cr\roverwritten\nsecond line\tand a tab")
PATH = "models/\x1b]0;pwned-path\x07m\u2066.bin"
TAGGER = "Mallory \x1b]0;pwned-tagger\x07\x9b2J\u202e"
RAW = ["\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\u2066", "\x7f", "\r"]  # none may reach a terminal


def assert_escaped(text: str) -> None:
    raw = [c for c in RAW if c in text]
    assert not raw, f"raw {raw!r} in {text!r}"


@pytest.fixture
def hostile(repo):
    """m (a file whose name and annotation hold escapes), registered by a tagger with escapes in
    their name; nl (a path with a tab: a line break in a path is refused on reading, see test_parsing)."""
    (repo.path / "models").mkdir()
    (repo.path / PATH).write_bytes(b"model\n")
    (repo.path / "artifacts.yaml").write_text(yaml.safe_dump({
        "m": {"type": "model", "path": PATH, "description": DESCRIPTION},
        "nl": {"type": "model", "path": "models/a\tb.bin"},
    }))
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "hostile annotations")
    env = {**os.environ, "GIT_COMMITTER_NAME": TAGGER}
    for name in ("m", "nl"):
        subprocess.run(["git", "tag", "-a", "-m", f"Registering artifact {name} version v0.0.1", f"{name}@v0.0.1"],
                       cwd=repo.path, env=env, check=True)
    assert TAGGER in repo.git("for-each-ref", "--format=%(taggername)", "refs/tags/m@v0.0.1")
    return repo


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_describe_description_escapes_controls_and_keeps_its_lines(hostile):
    out = ok(hostile.run("describe", "m", "--description"))
    assert_escaped(out)
    assert out == ("Churn \\x1b]0;pwned-title\\x07 model \\x1b[31mred\\x1b[0m \\x9b2J csi \\u202egnp.exe\\u202c "
                   "del\\x7f cr\\x0doverwritten\nsecond line\tand a tab\n")


def test_describe_yaml_escapes_controls(hostile):
    out = ok(hostile.run("describe", "m"))
    assert_escaped(out)
    assert "pwned-title" in out


def test_describe_json_is_exact_json_without_raw_controls(hostile):
    """A check, not a fix: json.dumps escapes every character outside ` `..`~` already."""
    out = ok(hostile.run("describe", "m", "--json"))
    assert_escaped(out)
    data = json.loads(out)
    assert data["description"] == DESCRIPTION and data["path"] == PATH


def test_check_ref_fields_escape_controls(hostile):
    out = ok(hostile.run("check-ref", "m@v0.0.1", "--description"))
    assert_escaped(out)
    assert out.count("\n") == 2  # the description's own two lines
    out = ok(hostile.run("check-ref", "m@v0.0.1", "--path"))
    assert_escaped(out)
    assert out == "models/\\x1b]0;pwned-path\\x07m\\u2066.bin\n"
    out = ok(hostile.run("check-ref", "nl@v0.0.1", "--path"))
    assert out == "models/a\\x09b.bin\n", "a one-line field stays one line"


def test_get_print_path_and_get_escape_controls(hostile, tmp_path):
    out = ok(hostile.run("get", "m", "--print-path"))
    assert out == "models/\\x1b]0;pwned-path\\x07m\\u2066.bin\n"
    assert ok(hostile.run("get", "nl", "--print-path")) == "models/a\\x09b.bin\n"
    out = ok(hostile.run("get", "m", "-o", str(tmp_path / "out")))
    assert_escaped(out)
    assert out.count("\n") == 1 and out.startswith("Wrote m@v0.0.1")


def test_an_error_quoting_a_tagger_is_one_escaped_line(hostile):
    result = hostile.run("register", "m")
    assert result.returncode == 1
    assert "already registered" in result.stderr and "Mallory" in result.stderr
    assert_escaped(result.stderr)
    assert result.stderr.count("\n") == 1


def test_doctor_escapes_a_tag_name(hostile):
    hostile.git("tag", "-a", "-m", "looks like ours", "m@v1.0.0\u202egnp.exe\u009b2J")
    result = hostile.run("doctor")
    assert "looks like a registry tag" in result.stdout
    assert_escaped(result.stdout + result.stderr)


def test_tables_escape_their_cells():
    from tagreg.cli.render import table

    for plain in (False, True):
        text = table([["a\x1b[31m", "two\nlines"], ["\u202eb", None]], ["x", "y"], plain=plain)
        assert_escaped(text)
        assert len(text.splitlines()) == (3 if plain else 6)


# -- CI outputs: exact values, no injected line or variable ------------------------------------------

# Line breaks are refused on reading in one-line fields (type, path, repo, rev: see test_parsing),
# so those carry the other characters a reader could trip on; the description carries line breaks.
CI_VALUES = {
    "type": "model\tINJECTED_TYPE=1\x1b",
    "path": "models/m.bin' INJECTED_PATH=1 \\",
    "description": "first\nINJECTED=1\ndescription<<EOF\nEOF\nghadelimiter_0\r\x1b]0;t\x07",
    "repo": "https://example.com/x.git\" INJECTED_REPO=$(touch pwned)",
    "rev": "v1.0;INJECTED_REV=1`touch pwned`",
}
CI_KEYS = ["event", "name", "version", "stage", "type", "path", "description", "event_stage", "repo", "rev",
           "policy", "policy_reason", "signature", "signed_by"]


@pytest.mark.parametrize("fmt", ["github", "dotenv", "shell", "json"])
def test_ci_outputs_cannot_gain_lines_or_variables(repo, tmp_path, fmt):
    """A check, not a fix: values with line breaks in every field a repository writes read back as
    exactly the keys of check-ref and their values."""
    (repo.path / "artifacts.yaml").write_text(yaml.safe_dump({"m": CI_VALUES}))
    repo.git("add", "artifacts.yaml")
    repo.git("commit", "-q", "-m", "ci values")
    repo.git("tag", "-a", "-m", "Registering artifact m version v0.0.1", "m@v0.0.1")
    out_file = tmp_path / "github_output"
    out_file.write_text("")
    proc = subprocess.run([sys.executable, "-m", "tagreg", "check-ref", "m@v0.0.1", "--format", fmt], check=False,
                          cwd=repo.path, capture_output=True, env={**os.environ, "GITHUB_OUTPUT": str(out_file)})
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    stdout = proc.stdout.decode()  # bytes as written: text mode would turn each CR into a line break
    expected = {"event": "registration", "name": "m", "version": "v0.0.1", "stage": "", "event_stage": "", **CI_VALUES,
                "policy": "none", "policy_reason": "", "signature": "", "signed_by": ""}
    if fmt == "github":
        values = parse_github_output(out_file.read_bytes().decode())
        # (This reader joins a value's lines with LF; the runner keeps the value's own CRLF.)
        expected = {k: v.replace("\r\n", "\n") for k, v in expected.items()}
    elif fmt == "dotenv":
        values = {k: unescape_dotenv(v) for k, v in parse_gitlab_dotenv(stdout).items()}
        expected = {k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in expected.items()}
    elif fmt == "shell":
        sandbox = tmp_path / "sandbox"
        sandbox.mkdir()
        values = eval_in_bash(sandbox, stdout, CI_KEYS)
    else:
        values = json.loads(stdout)
    assert list(values) == CI_KEYS
    assert values == expected


def test_ci_outputs_of_a_link_that_is_not_text(repo, tmp_path):
    """`repo: 12345` must not crash check-ref's CI outputs (it is not a link a reader follows)."""
    (repo.path / "artifacts.yaml").write_text("m:\n  path: m.bin\n  repo: 12345\n  rev: 7\n")
    repo.git("add", "artifacts.yaml")
    repo.git("commit", "-q", "-m", "odd link")
    repo.git("tag", "-a", "-m", "Registering artifact m version v0.0.1", "m@v0.0.1")
    for fmt in ("github", "dotenv", "shell", "json"):
        result = run_tagreg(repo.path, "check-ref", "m@v0.0.1", "--format", fmt, env={"GITHUB_OUTPUT": ""})
        assert result.returncode == 0 and "Traceback" not in result.stderr, (fmt, result.stderr)
        assert "Unexpected error" not in result.stderr
    assert git(repo.path, "status", "--porcelain") == ""


def test_ordinary_text_of_other_languages_is_not_escaped():
    """No-break and ideographic spaces and zero-width joiners are text no terminal acts on: a French
    description, a CJK one or an emoji sequence prints as written; a bidi override still does not."""
    from tagreg.printable import printable

    for text in ("Modèle de churn\u00a0: v2", "解約\u3000モデル", "team 👩\u200d💻", "کتاب\u200cها"):
        assert printable(text) == text and printable(text, multiline=True) == text
    assert printable("a\u202eb\u200bc") == "a\\u202eb\\u200bc"


def test_ci_formats_printed_on_a_terminal_are_escaped(repo):
    """On a terminal a person reads the CI outputs: the repository's escapes are shown, not obeyed
    (to a file or a pipe they stay exact: test_ci_outputs_cannot_gain_lines_or_variables)."""
    import pty

    (repo.path / "artifacts.yaml").write_text(yaml.safe_dump({"m": {"type": "model\x1b]0;pwned\x07", "path": "m"}}))
    repo.git("add", "artifacts.yaml")
    repo.git("commit", "-q", "-m", "ci values")
    repo.git("tag", "-a", "-m", "Registering artifact m version v0.0.1", "m@v0.0.1")
    for fmt in ("shell", "dotenv", "github"):
        leader, follower = pty.openpty()
        try:
            proc = subprocess.run([sys.executable, "-m", "tagreg", "check-ref", "m@v0.0.1", "--format", fmt],
                                  cwd=repo.path, stdout=follower, stderr=subprocess.PIPE, check=False,
                                  env={k: v for k, v in os.environ.items() if k != "GITHUB_OUTPUT"}, timeout=60)
            os.close(follower)
            shown = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal's other end is closed: all was read
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(leader)
        assert proc.returncode == 0, proc.stderr
        assert b"\x1b" not in shown and b"\\x1b]0;pwned" in shown, (fmt, shown)
