"""`tagreg [COMMAND] --help`: the help of the root and of every command, as click renders it at 80
columns, is kept in `help_text/NAME.txt` (the root's in `tagreg.txt`). After changing a command or
its help, look at the difference and copy the new text there."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_installed

from tagreg.cli import main
from tagreg.cli.group import root

KEPT = Path(__file__).parent / "help_text"
NAMES = sorted(p.stem for p in KEPT.glob("*.txt"))


def kept(name: str) -> str:
    return (KEPT / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture
def run(capsys, monkeypatch):
    """`tagreg ARGS` in this process, with COLUMNS set (or unset), as click renders help for a
    terminal of that width (click's CliRunner renders every help at 80 columns)."""

    def run(*args: str, columns: str | None) -> str:
        if columns is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        with pytest.raises(SystemExit) as exit:
            main(list(args), prog_name="tagreg")
        out, err = capsys.readouterr()
        assert exit.value.code == 0, err
        return out

    return run


def test_every_command_has_its_help_kept():
    listed = [n for n in root.list_commands(None) if not root.get_command(None, n).hidden]
    assert sorted(["tagreg", *listed, "parse-tag"]) == NAMES


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("columns", [None, "80", "200"])
def test_help_printed_is_the_kept_text(run, name, columns):
    assert run(*([] if name == "tagreg" else [name]), "--help", columns=columns) == kept(name)


@pytest.mark.parametrize("args", [["-h"], ["show", "-h"], ["--traceback", "--help"], ["--tb", "show", "--help"]])
def test_other_spellings_of_help(run, args):
    name = next((a for a in args if not a.startswith("-")), "tagreg")
    assert run(*args, columns=None) == kept(name)


def test_narrow_terminals_get_a_narrower_rendering(run):
    narrow = run("show", "--help", columns="60")
    assert narrow != kept("show") and narrow.startswith("Usage: tagreg show")
    assert max(len(line) for line in narrow.splitlines()) <= 60


def test_aliases_and_subcommands(run):
    assert run("promote", "--help", columns=None).startswith("Usage: tagreg promote")
    assert run("cache", "list", "--help", columns=None).startswith("Usage: tagreg cache list")


def test_no_command_is_the_help_on_stderr_as_click_gives_it(tmp_path):
    installed = run_installed(tmp_path)  # the same from the installed command
    assert (installed.returncode, installed.stdout, installed.stderr) == (2, "", kept("tagreg"))
