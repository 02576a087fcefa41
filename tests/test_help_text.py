"""`tagreg [COMMAND] --help` prints click's help without importing click: the texts rendered ahead
in `tagreg/cli/helptext.py` must be what click renders now (`python -m tagreg.cli.group` writes
them again after a command or its help changes)."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys

import pytest

from tagreg.cli.helptext import TEXTS

# In a process of its own: click keeps each command's help option once made, so a command that
# other tests made a context for without its parent would show `--help` without `-h`.
RENDER = ("import marshal, sys; from tagreg.cli.group import rendered_help; "
          "sys.stdout.buffer.write(marshal.dumps(rendered_help()))")


def test_the_kept_help_is_what_click_renders():
    current = marshal.loads(subprocess.run([sys.executable, "-c", RENDER], capture_output=True, check=True).stdout)
    stale = sorted(name or "(root)" for name in set(current) | set(TEXTS) if current.get(name) != TEXTS.get(name))
    assert not stale, f"help out of date for {stale}: run `python -m tagreg.cli.group`"


def run(*args: str, columns: str | None) -> str:
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run([sys.executable, "-m", "tagreg", *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("name", sorted(TEXTS))
@pytest.mark.parametrize("columns", [None, "80", "200"])
def test_help_printed_is_the_kept_text(name, columns):
    assert run(*([name] if name else []), "--help", columns=columns) == TEXTS[name]


@pytest.mark.parametrize("args", [["-h"], ["show", "-h"], ["--traceback", "--help"]])
def test_other_spellings_of_help(args):
    name = args[0] if args[0] not in ("-h", "--traceback") else ""
    assert run(*args, columns=None) == TEXTS[name]


def test_narrow_terminals_get_clicks_rendering():
    narrow = run("show", "--help", columns="60")
    assert narrow != TEXTS["show"] and narrow.startswith("Usage: tagreg show")
    assert max(len(line) for line in narrow.splitlines()) <= 60


def test_aliases_and_subcommands_are_left_to_click():
    assert run("promote", "--help", columns=None).startswith("Usage: tagreg promote")
    assert run("cache", "list", "--help", columns=None).startswith("Usage: tagreg cache list")


def test_no_command_is_the_help_on_stderr_as_click_gives_it():
    proc = subprocess.run([sys.executable, "-m", "tagreg"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", TEXTS[""])
    clicks = subprocess.run([sys.executable, "-m", "tagreg"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "60"})  # narrow: click's own answer
    assert clicks.returncode == 2 and clicks.stderr.startswith("Usage: tagreg [OPTIONS] COMMAND")
