"""The click group: help, shell completion and click's messages for every command line that the fast
parser of `grammar.py` leaves to it, and the commands declared with click directly (watch, serve, ...).

Only imported when click is needed, so the everyday commands never pay for importing click.
"""

from __future__ import annotations

import functools
import os

import click

from .. import __version__
from . import grammar
from .dispatch import handle_errors


class Group(click.Group):
    """Turns user errors into one `❌ message` line and exit 1; other errors too, with a hint."""

    def invoke(self, ctx: click.Context):
        passthrough = (click.exceptions.Exit, click.exceptions.Abort, click.ClickException)
        return handle_errors(lambda: super(Group, self).invoke(ctx), _traceback_wanted(ctx), passthrough)

    def get_command(self, ctx, name):
        return super().get_command(ctx, grammar.ALIASES.get(name, name))


def _traceback_wanted(ctx: click.Context) -> bool:
    root_ctx = ctx.find_root()
    return bool((root_ctx.params or {}).get("traceback")) or os.environ.get("TAGREG_TRACEBACK") == "1"


def complete_names(ctx, param, incomplete):
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        names = [a.name for a in api.show_registry(repo, deprecated=True).artifacts]
        return [n for n in names if n.startswith(incomplete)]
    except Exception:
        return []


def complete_stages(ctx, param, incomplete):
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        found = api.stages(repo) or []
        return [s for s in found if s.startswith(incomplete)]
    except Exception:
        return []


COMPLETIONS = {"names": complete_names, "stages": complete_stages}


def repo_option(f):
    """`-r/--repo` and `--offline` (grammar.REPO) on a click command, opened as grammar.open_repo does."""

    @functools.wraps(f)
    def wrapper(**values):
        return grammar.run(f, values)

    for opt in reversed(grammar.REPO):
        wrapper = to_click(opt)(wrapper)
    return wrapper


def to_click(param):
    """The click decorator of a grammar.Arg or grammar.Opt."""
    complete = COMPLETIONS.get(param.complete) if param.complete else None
    if isinstance(param, grammar.Arg):
        return click.argument(param.name, required=param.required, shell_complete=complete)
    extra = {}
    if param.flag:
        extra = {"is_flag": True} if param.value is True else {"flag_value": param.value}
    elif param.choices is not None:
        extra = {"type": click.Choice(list(param.choices))}
    elif param.path:
        extra = {"type": click.Path()}
    elif param.type is not str:
        extra = {"type": param.type}
    if param.default is not None and param.default is not False:
        extra["default"] = param.default
    if param.show_default:
        extra["show_default"] = True
    if param.required:
        extra["required"] = True
    if param.multiple:
        extra["multiple"] = True
    return click.option(*param.names, param.dest, help=param.help, shell_complete=complete, **extra)


def to_command(cmd: grammar.Command) -> click.Command:
    """cmd as a click command that calls the same function with the same values."""

    @functools.wraps(cmd.function)
    def callback(**values):
        return grammar.run(cmd.function, values, cmd.reads)

    for param in reversed(cmd.params):
        callback = to_click(param)(callback)
    return click.command(cmd.name)(callback)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message=grammar.VERSION)
@click.option("--traceback", "--tb", is_flag=True, hidden=True, help="Show the traceback of errors.")
def root(traceback: bool) -> None:
    """tagreg: a Git-native model and artifact registry (GTO-compatible tags).

    Versions and stages are annotated Git tags; annotations live in artifacts.yaml.
    """


def _build() -> None:
    from . import annotating, changes, operations, reading  # noqa: F401  (they declare commands)

    for cmd in grammar.COMMANDS.values():
        root.add_command(to_command(cmd))


_build()


# -- help without click ------------------------------------------------------------------------
# Importing click costs ~70 ms. The help of the root and of each command, at the full width click
# renders it (80 columns), is kept in `helptext.py`, which `dispatch.run` prints without importing
# click; `python -m tagreg.cli.group` writes it again (tests/test_help_text.py fails while it is
# out of date). Narrower terminals get click's own rendering.

def rendered_help() -> dict[str, str]:
    """What `tagreg [COMMAND] --help` prints at 80 columns, for the root ("") and each command."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # what click reads (through shutil) to pick its width
    try:
        with root.make_context("tagreg", [], resilient_parsing=True) as ctx:
            out = {"": root.get_help(ctx) + "\n"}
            for name in sorted(root.commands):
                command = root.commands[name]
                with command.make_context(name, [], parent=ctx, resilient_parsing=True) as sub:
                    out[name] = command.get_help(sub) + "\n"
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return out


def write_help_module() -> str:
    """Write `helptext.py` from `rendered_help()`; returns its path."""
    path = os.path.join(os.path.dirname(__file__), "helptext.py")
    lines = ['"""Generated by `python -m tagreg.cli.group`: click\'s help at 80 columns (see group.py)."""',
             "", "TEXTS = {"]
    lines += [f"    {name!r}: {text!r}," for name, text in rendered_help().items()]
    lines += ["}", ""]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path


if __name__ == "__main__":  # as `python -m`: this file runs as __main__, a module apart from the real one
    from tagreg.cli.group import write_help_module as write

    print(f"wrote {write()}")
