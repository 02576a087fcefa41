"""The `tagreg` command: argument parsing and rendering only; every command calls `tagreg.api`.

Heavy modules (the API, YAML, tables) are imported inside commands, so `tagreg --help` stays fast.
"""

from __future__ import annotations

import os
from typing import Optional

import click

from .. import __version__

NOTHING = "Nothing found in the current workspace"


class Group(click.Group):
    """Turns user errors into one `❌ message` line and exit 1; other errors too, with a hint."""

    def invoke(self, ctx: click.Context):
        from ..errors import UserError
        from .render import emoji

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except UserError as exc:
            if _traceback_wanted(ctx):
                raise
            click.echo(f"{emoji('❌')}{exc}", err=True)
            ctx.exit(1)
        except Exception as exc:  # a bug: still one line, with a way to see more
            if _traceback_wanted(ctx):
                raise
            click.echo(f"{emoji('❌')}Unexpected error: {exc}", err=True)
            click.echo("Run with '--traceback' to see where it happened and report it.", err=True)
            ctx.exit(1)

    def get_command(self, ctx, name):
        return super().get_command(ctx, {"promote": "assign"}.get(name, name))


def _traceback_wanted(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool((root.params or {}).get("traceback")) or os.environ.get("TAGREG_TRACEBACK") == "1"


def _complete_names(ctx, param, incomplete):
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        names = [a.name for a in api.show_registry(repo, deprecated=True).artifacts]
        return [n for n in names if n.startswith(incomplete)]
    except Exception:
        return []


def _complete_stages(ctx, param, incomplete):
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        found = api.stages(repo) or []
        return [s for s in found if s.startswith(incomplete)]
    except Exception:
        return []


def repo_option(f):
    """`-r/--repo PATH|URL` and `--offline`; a URL becomes its cached mirror, quiet under --json."""
    import functools

    @functools.wraps(f)
    def wrapper(*args, repo: str, offline: bool, **kwargs):
        from ..remote import is_url

        if is_url(repo):
            from ..api import Repository

            quiet = kwargs.get("as_json") or kwargs.get("fmt") in ("json",)
            repo = Repository(repo, offline=offline, progress=False if quiet else None)
        return f(*args, repo=repo, **kwargs)

    wrapper = click.option("--offline", is_flag=True, help="Use the cached copy of a remote --repo as it is.")(wrapper)
    return click.option("-r", "--repo", default=".", show_default=True,
                        help="Repository: a path, or a URL (https, ssh, file://) read through a local cache.")(wrapper)


def simple_option(f):
    return click.option(
        "--simple", type=click.Choice(["auto", "true", "false"]), default="auto", show_default=True,
        help="Tag without the #N counter (true) or with it (false); auto: GTO's default per event.",
    )(f)


def push_options(f):
    f = click.option("--remote", default="origin", show_default=True, help="Remote to push to with --push.")(f)
    return click.option("--push", is_flag=True, help="Push the tag to the remote right away.")(f)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message="tagreg %(version)s (GTO-compatible tags)")
@click.option("--traceback", "--tb", is_flag=True, hidden=True, help="Show the traceback of errors.")
def main(traceback: bool) -> None:
    """tagreg: a Git-native model and artifact registry (GTO-compatible tags).

    Versions and stages are annotated Git tags; annotations live in artifacts.yaml.
    """


def _format_flag(flags: dict) -> Optional[str]:
    chosen = [k for k, v in flags.items() if v]
    if len(chosen) > 1:
        from ..api import RegistryError

        raise RegistryError("Only one output format allowed")
    return chosen[0] if chosen else None


def run() -> None:
    """Entry point for `python -m tagreg`."""
    main(prog_name="tagreg")


# The commands register themselves on `main` when their modules are imported.
from . import changes, operations, reading  # noqa: E402,F401
