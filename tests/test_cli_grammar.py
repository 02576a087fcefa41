"""The fast command-line parser (`tagreg.cli.grammar.parse`) against click's, on the same grammar.

Every line the fast parser accepts must give exactly the values click gives; every line it is not
sure of it leaves to click (returns None). The everyday lines must take the fast way, and that
way must not import click.
"""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagreg.cli import grammar
from tagreg.cli.group import root

COMMANDS = sorted(grammar.COMMANDS)


def click_values(name: str, argv: list[str]):
    """click's values for `tagreg NAME ARGV`, or the UsageError it raises."""
    try:
        with root.commands[name].make_context(name, list(argv)) as ctx:
            return ctx.params
    except click.exceptions.Exit:  # --help
        return "exit"
    except click.UsageError as error:
        return error


def same_as_click(name: str, argv: list[str]) -> None:
    fast = grammar.parse(grammar.COMMANDS[name], argv)
    if fast is None:
        return
    expected = click_values(name, argv)
    assert not isinstance(expected, (Exception, str)), f"fast accepted {argv}, click said: {expected}"
    assert fast == expected, argv


def test_every_grammar_command_is_a_click_command_with_the_same_parameters():
    for name in COMMANDS:
        cmd = root.commands[name]
        click_names = [(p.name, tuple(p.opts)) for p in cmd.params]
        ours = [(p.name, (p.name,)) if isinstance(p, grammar.Arg) else (p.dest, p.names)
                for p in grammar.COMMANDS[name].params]
        assert click_names == ours
        assert cmd.help and cmd.help == grammar.COMMANDS[name].function.__doc__


EVERYDAY = [
    ("show", []), ("show", ["churn"]), ("show", ["churn", "--json"]), ("show", ["--plain", "-d"]),
    ("show", ["churn@latest", "--ref"]), ("show", ["--av", "-1", "--vs=2", "--sort", "semver"]),
    ("show", ["--label", "a", "--label", "b", "--type", "model"]), ("show", ["-r", "../reg", "churn"]),
    ("history", ["churn", "--asc"]), ("latest", ["churn", "--ref"]), ("which", ["churn", "prod"]),
    ("check-ref", ["churn#prod#3", "--format", "github"]), ("describe", ["churn", "--path"]),
    ("stages", ["--used"]), ("doctor", ["--strict"]), ("get", ["churn#prod", "-o", "out", "--force"]),
    ("register", ["churn", "HEAD", "--version", "v1.0.0", "-m", "first"]),
    ("assign", ["churn", "--version", "v1.0.0", "--stage", "prod", "--push"]),
    ("deprecate", ["churn", "v1.0.0", "prod", "--simple", "true"]),
]


@pytest.mark.parametrize("name,argv", EVERYDAY)
def test_everyday_lines_take_the_fast_way_with_clicks_values(name, argv):
    fast = grammar.parse(grammar.COMMANDS[name], argv)
    assert fast is not None
    assert fast == click_values(name, argv)


LEFT_TO_CLICK = [
    ("show", ["--help"]), ("show", ["-h"]), ("show", ["--bogus"]), ("show", ["a", "b"]),
    ("show", ["--av", "x"]), ("show", ["--av", "1.5"]), ("show", ["--sort", "name"]), ("show", ["--json=1"]),
    ("show", ["-dr."]), ("show", ["--av"]), ("which", ["churn"]), ("assign", ["churn"]),
    ("describe", ["churn", "--path=1"]), ("check-ref", ["t", "--format", "xml"]),
]


@pytest.mark.parametrize("name,argv", LEFT_TO_CLICK)
def test_mistakes_and_help_are_left_to_click(name, argv):
    assert grammar.parse(grammar.COMMANDS[name], argv) is None


def tokens_of(name: str) -> list[str]:
    cmd = grammar.COMMANDS[name]
    found = ["churn", "prod", "v1.0.0", "-1", "2", "x=y", "", "-", "--", "timestamp", "semver", "true", "json",
             "github"]
    for opt in cmd.options.values():
        found += list(opt.names) + [f"{n}=v" for n in opt.names if n.startswith("--")]
        found += [f"{n}={c}" for n in opt.names if n.startswith("--") for c in opt.choices or ()]
    return found


@pytest.mark.parametrize("name", COMMANDS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_lines_parse_as_click_parses_them(name, data):
    argv = data.draw(st.lists(st.sampled_from(tokens_of(name)), max_size=7))
    same_as_click(name, argv)


@pytest.mark.parametrize("name", COMMANDS)
def test_each_option_alone_and_with_a_value(name):
    cmd = grammar.COMMANDS[name]
    required = [a for a in cmd.args if a.required]
    base = ["churn", "prod"][: len(required)]
    needed = [x for opt in cmd.params if isinstance(opt, grammar.Opt) and opt.required
              for x in (opt.names[-1], "prod")]
    for opt in cmd.options.values():
        for spelling in opt.names:
            for value in ([] if opt.flag else ["1", "-1", "semver", "github", "auto", "a b"]):
                same_as_click(name, base + needed + [spelling, value])
                if spelling.startswith("--"):
                    same_as_click(name, base + needed + [f"{spelling}={value}"])
            if opt.flag:
                line = base + needed + [spelling]
                assert grammar.parse(cmd, line) is not None
                same_as_click(name, line)


def test_the_fast_way_does_not_import_click(repo):
    code = ("import sys\nfrom tagreg.cli import main\n"
            "try:\n    main(['show', '--json'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('CLICK', 'click' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "CLICK False" in proc.stderr
