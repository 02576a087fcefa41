"""Parameters several commands share (`-r/--repo`, `--simple`, `--push`, `--sign`), the shell completion of
names and stages, and how a command gets its repository opened."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable

import click

# Completion runs inside the user's shell: whatever goes wrong (no repository, a bad file), it offers
# nothing rather than printing an error into the command line being typed.

def complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        names = [a.name for a in api.show_registry(repo, deprecated=True).artifacts]
        return [n for n in names if n.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


def complete_stages(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        found = api.stages(repo) or []
        return [s for s in found if s.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


class GtoChoice(click.Choice):
    """A choice among values that refuses any other with GTO's words (`Only one of [...] is allowed`),
    so a script that checks GTO's usage errors reads the same ones here."""

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        self.fail(f"Only one of {list(self.choices)!r} is allowed", param, ctx)


repo = click.option("-r", "--repo", default=".", show_default=True,
                    help="Repository: a path, or a URL (https, ssh, file://) read through a local cache.")
simple = click.option("--simple", type=GtoChoice(["auto", "true", "false"]), default="auto", show_default=True,
                      help="Tag without the #N counter (true) or with it (false); auto: GTO's default per event.")


def push(function: Callable) -> Callable:
    """`--push` and `--remote`."""
    function = click.option("--remote", default="origin", show_default=True, help="Remote to push to with --push.")(
        function)
    return click.option("--push", is_flag=True, help="Push the tag to the remote right away.")(function)


def sign(function: Callable) -> Callable:
    """`--sign`."""
    return click.option("--sign", is_flag=True, help="Sign the tag (git tag -s, with git's gpg.format and "
                        "user.signingKey).")(function)


def opens_repo(reads: bool = False, writes: bool = False) -> Callable[[Callable], Callable]:
    """`-r/--repo` and `--offline`, and the command called with the repository opened (`open_repo`);
    then, even if it failed, the annotation files it had to read as no annotation, one warning line
    each on stderr. A command that only reads may read a remote's cached mirror while the remote is
    asked for changes. A command that writes tags reads them once it holds the writers' lock, so
    they are not read ahead while the repository opens."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def opened(**values):
            values = open_repo(values, reads, prefetch=not writes)
            try:
                return function(**values)
            finally:
                take_warnings = getattr(values.get("repo"), "take_warnings", None)  # a Repository's
                if take_warnings is not None:
                    from .render import warn

                    for bad in take_warnings():
                        warn(bad.message)

        offline = click.option("--offline", is_flag=True, help="Use the cached copy of a remote --repo as it is.")
        if reads:
            raw = click.option("--no-policy", is_flag=True, help="Read every tag, also those the policy does not "
                               "allow (see Governance).")
            return repo(offline(raw(opened)))
        return repo(offline(opened))

    return decorate


def open_repo(values: dict, reads: bool = False, prefetch: bool = True) -> dict:
    """Turn the `--repo`/`--offline` values into what the API takes: a URL becomes its cached mirror,
    quiet when the output is JSON (checked against the remote while a command that reads runs);
    with prefetch, a local repository starts reading the tags of the artifact the command names."""
    values = dict(values)
    offline = values.pop("offline")
    policy = not values.pop("no_policy", False)
    repo = values["repo"]
    if repo == "." or os.path.exists(repo):
        return _open_local(values, policy, prefetch)
    from ..git import ask_remote, is_url

    if is_url(repo):
        quiet = values.get("as_json") or values.get("fmt") == "json"
        asked = ask_remote(repo) if reads and not offline else None  # the remote answers meanwhile
        from ..remote import Mirror

        mirror = Mirror(repo, offline=offline, progress=False if quiet else None)
        mirror.ensure(check_later=reads, asked=asked)
        from ..api import Repository

        values["repo"] = Repository(mirror, policy=policy)
    return values


def _open_local(values: dict, policy: bool = True, prefetch: bool = True) -> dict:
    """values with a local repository opened, so the command's warnings (`Repository.warnings`) can
    be shown after it; left as a path if it cannot be opened (the command says why, in its words)."""
    from .. import tags as T
    from ..api import Repository
    from ..errors import UserError

    about = next((v for v in (values.get("name"), values.get("ref")) if isinstance(v, str)), None)
    found = (T.parse_shortcut(about) or T.parse_tag(about)) if prefetch and about is not None else None
    with contextlib.suppress(UserError):
        values["repo"] = Repository(values["repo"], prefetch=found.name if found else None, policy=policy)
    return values
