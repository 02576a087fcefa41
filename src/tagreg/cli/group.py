"""The `tagreg` command group: commands loaded on demand, the `promote` alias, and one way of reporting errors."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

import click

from .. import __version__
from ..errors import UserError
from .output import echo, printable

# Where each command is declared (module.attribute, relative to this package). A command line loads
# only its command's module; `--help` loads them all (click's "lazily loading subcommands").
COMMANDS = {
    "annotate": "annotating.annotate",
    "assign": "changes.assign",
    "cache": "operations.cache",
    "check-ref": "reading.check_ref",
    "demo": "operations.demo",
    "deprecate": "changes.deprecate",
    "describe": "reading.describe",
    "doctor": "reading.doctor",
    "events": "operations.events",
    "get": "reading.get",
    "history": "reading.history",
    "latest": "reading.latest",
    "link": "annotating.link",
    "parse-tag": "operations.parse_tag",
    "protect": "governing.protect",
    "register": "changes.register",
    "remove": "annotating.remove",
    "rollback": "changes.rollback",
    "serve": "operations.serve",
    "show": "reading.show",
    "stages": "reading.stages",
    "watch": "operations.watch",
    "verify": "governing.verify",
    "which": "reading.which",
}
ALIASES = {"promote": "assign"}
GTO_EXACT_ENV = "TAGREG_GTO_EXACT"  # config.GTO_EXACT_ENV, which --version and --help need not import


class LazyGroup(click.Group):
    """The root group: imports a command's module when the command is asked for, and turns user
    errors into one `❌ message` line and exit 1 (other errors too, with a hint)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        path = COMMANDS.get(ALIASES.get(cmd_name, cmd_name))
        if path is None:
            return None
        module, _, attribute = path.rpartition(".")
        command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{path} is not a click command")
        _accept_global_flags(command)
        return command

    def invoke(self, ctx: click.Context):
        # click's own: its exits and messages, and a closed pipe (`tagreg show | head`) as a quiet exit 1
        passthrough = (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, BrokenPipeError)

        def traceback() -> bool:  # asked before the command (`tagreg --tb get`), after it, or in the environment
            return (bool(ctx.params.get("traceback")) or bool(ctx.meta.get("traceback"))
                    or os.environ.get("TAGREG_TRACEBACK") == "1")

        previous = os.environ.get(GTO_EXACT_ENV)
        if ctx.params.get("gto_exact"):
            os.environ[GTO_EXACT_ENV] = "1"
        try:
            return handle_errors(lambda: super(LazyGroup, self).invoke(ctx), traceback, passthrough)
        finally:  # a command run in this process (tests, the differential driver) leaves it as it was
            if previous is None:
                os.environ.pop(GTO_EXACT_ENV, None)
            else:
                os.environ[GTO_EXACT_ENV] = previous


# The root's flags that are also accepted after the command (`tagreg get NAME --traceback`), where
# people type them; hidden there, so every command's help stays its own.
_AFTER_COMMAND = "tagreg_global_flags"


def _accept_global_flags(command: click.Command) -> None:
    if getattr(command, _AFTER_COMMAND, False):
        return

    def traceback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_root().meta["traceback"] = True

    def gto_exact(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:  # read by the command's API calls; the root restores it afterwards
            os.environ[GTO_EXACT_ENV] = "1"

    command.params += [
        click.Option(["--traceback", "--tb"], is_flag=True, hidden=True, expose_value=False, callback=traceback),
        click.Option(["--gto-exact"], is_flag=True, hidden=True, expose_value=False, callback=gto_exact),
    ]
    setattr(command, _AFTER_COMMAND, True)


def handle_errors(call: Callable, traceback: bool | Callable[[], bool], passthrough: tuple = ()):
    """call(), with user errors as one line on stderr and exit 1, other errors as one line with a
    hint (the traceback with --traceback, which may be a function asked when an error happens);
    the exceptions of passthrough as they are."""
    try:
        return call()
    except passthrough:
        raise
    except UserError as exc:
        if traceback() if callable(traceback) else traceback:
            raise
        _error(str(exc))
        sys.exit(1)
    except Exception as exc:  # a bug: still one line, with a way to see more
        if traceback() if callable(traceback) else traceback:
            raise
        _error(f"Unexpected error: {exc}", "Run with '--traceback' to see where it happened and report it.")
        sys.exit(1)


def _error(message: str, *more: str) -> None:
    from .render import emoji

    echo(f"{emoji('❌')}{printable(message)}", err=True)  # one line, whatever it quotes
    for line in more:
        echo(line, err=True)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message="tagreg %(version)s (GTO-compatible tags)")
@click.option("--traceback", "--tb", is_flag=True, hidden=True, help="Show the traceback of errors.")
@click.option("--gto-exact", is_flag=True, help=f"Read only what GTO 1.10.1 reads: annotations from "
              f"artifacts.yaml, none from dvc.yaml, so that show prints what gto show prints (also "
              f"{GTO_EXACT_ENV}=1, or after the command).")
def root(traceback: bool, gto_exact: bool) -> None:
    """tagreg: a Git-native model and artifact registry (GTO-compatible tags).

    Versions and stages are annotated Git tags; annotations live in artifacts.yaml.
    """
