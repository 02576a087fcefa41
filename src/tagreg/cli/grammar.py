"""The command-line grammar of the everyday commands, declared once and read two ways.

`tagreg show NAME` should cost what reading the tags costs, not what importing a CLI framework
costs (click alone takes longer to import than the whole command runs). So commands declare their
arguments and options here as plain data. The common command lines are parsed straight from that
data (`parse`); everything else (`--help`, shell completion, any mistake, any spelling `parse`
does not know for certain) goes to the click group built from the same data (`group.py`), which
prints click's help and errors. `tests/test_cli_grammar.py` checks that both parsers give the
same values for every command line `parse` accepts.

This module imports nothing beyond the standard library's core.
"""

from __future__ import annotations

import os

COMMANDS: dict[str, Command] = {}
ALIASES = {"promote": "assign"}
VERSION = "tagreg %(version)s (GTO-compatible tags)"
TRACEBACK = ("--traceback", "--tb")


class Arg:
    """A positional argument."""

    __slots__ = ("complete", "name", "required")

    def __init__(self, name: str, required: bool = True, complete: str | None = None):
        self.name, self.required, self.complete = name, required, complete


class Opt:
    """An option: a flag (`flag=True`, stores `value`), or one that takes a value of `type`."""

    __slots__ = (
        "choices",
        "complete",
        "default",
        "dest",
        "flag",
        "help",
        "multiple",
        "names",
        "path",
        "required",
        "show_default",
        "type",
        "value",
    )

    def __init__(self, *names: str, dest: str | None = None, flag: bool = False, value=True, type=str,
                 choices: tuple[str, ...] | None = None, default=None, multiple: bool = False,
                 required: bool = False, help: str = "", show_default: bool = False,
                 complete: str | None = None, path: bool = False):
        self.names = names
        long = [n for n in names if n.startswith("--")]  # click's choice: the first long name
        self.dest = dest or (long or names)[0].lstrip("-").replace("-", "_")
        self.flag, self.value, self.type, self.choices = flag, value, type, choices
        if default is None and flag and value is True:
            default = False
        self.default, self.multiple, self.required = default, multiple, required
        self.help, self.show_default, self.complete, self.path = help, show_default, complete, path


class Command:
    """A command: its name, its parameters in the order of the help text, and its function."""

    __slots__ = ("args", "dests", "function", "name", "options", "params", "reads")

    def __init__(self, name: str, params: list, function, reads: bool = False):
        self.name, self.params, self.function, self.reads = name, params, function, reads
        self.options = {n: p for p in params if isinstance(p, Opt) for n in p.names}
        self.args = [p for p in params if isinstance(p, Arg)]
        self.dests = {}
        for p in params:
            self.dests.setdefault(p.dest if isinstance(p, Opt) else p.name, []).append(p)


def command(name: str | None = None, params: tuple = (), reads: bool = False):
    """Declare the decorated function as the command NAME (default: its name, `_` as `-`); one
    that only reads may read a remote's cached mirror while the remote is asked for changes."""

    def register(function):
        found = Command(name or function.__name__.replace("_", "-"), list(params), function, reads)
        COMMANDS[found.name] = found
        return function

    return register


# -- options shared by several commands --------------------------------------------------------

REPO = (
    Opt("-r", "--repo", default=".", show_default=True,
        help="Repository: a path, or a URL (https, ssh, file://) read through a local cache."),
    Opt("--offline", flag=True, help="Use the cached copy of a remote --repo as it is."),
)
SIMPLE = Opt("--simple", choices=("auto", "true", "false"), default="auto", show_default=True,
             help="Tag without the #N counter (true) or with it (false); auto: GTO's default per event.")
PUSH = (
    Opt("--push", flag=True, help="Push the tag to the remote right away."),
    Opt("--remote", default="origin", show_default=True, help="Remote to push to with --push."),
)


def open_repo(values: dict, reads: bool = False) -> dict:
    """Turn the `--repo`/`--offline` values into what the API takes: a URL becomes its cached mirror,
    quiet when the output is JSON (checked against the remote while a command that reads runs).
    Called on both parsers' values."""
    if "offline" not in values:
        return values
    values = dict(values)
    offline = values.pop("offline")
    repo = values["repo"]
    if repo == "." or os.path.exists(repo):
        return _open_local(values)
    from ..git import ask_remote, is_url

    if is_url(repo):
        quiet = values.get("as_json") or values.get("fmt") == "json"
        asked = ask_remote(repo) if reads and not offline else None  # the remote answers meanwhile
        from ..remote import Mirror

        mirror = Mirror(repo, offline=offline, progress=False if quiet else None)
        mirror.ensure(check_later=reads, asked=asked)
        from ..api import Repository

        values["repo"] = Repository(mirror)
    return values


def _open_local(values: dict) -> dict:
    """values with a local repository opened, so the command's warnings (`Repository.warnings`) can
    be shown after it; left as a path if it cannot be opened (the command says why, in its words)."""
    from .. import tags as T
    from ..api import Repository
    from ..errors import UserError

    about = next((v for v in (values.get("name"), values.get("ref")) if isinstance(v, str)), None)
    found = (T.parse_shortcut(about) or T.parse_tag(about)) if about is not None else None
    try:
        values["repo"] = Repository(values["repo"], prefetch=found.name if found else None)
    except UserError:
        pass
    return values


def run(function, values: dict, reads: bool = False):
    """function(**values) with `--repo` opened (open_repo); then, even if it failed, the annotation
    files it had to read as no annotation, one warning line each on stderr."""
    values = open_repo(values, reads)
    try:
        return function(**values)
    finally:
        take_warnings = getattr(values.get("repo"), "take_warnings", None)  # a Repository's
        if take_warnings is not None:
            from .render import warn

            for bad in take_warnings():
                warn(bad.message)


# -- the fast parser ----------------------------------------------------------------------------

def parse(cmd: Command, argv: list[str]) -> dict | None:
    """The values of cmd's parameters on this command line, as click would give them, or None when
    the line is one to leave to click (help, a mistake, combined short options, a repeated option
    that two spellings share, ...)."""
    values: dict = {}
    given: dict = {}  # dest -> the option that set it
    positional: list[str] = []
    rest = False
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if rest or token == "-" or not token.startswith("-"):
            positional.append(token)
            continue
        if token == "--":
            rest = True
            continue
        name, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        opt = cmd.options.get(name)
        if opt is None:  # also -h/--help, -xVALUE, -abc: click says what they mean
            return None
        if opt.flag:
            if eq:
                return None
            value = opt.value
        else:
            if eq:
                value = inline
            elif i < len(argv):
                value = argv[i]
                i += 1
            else:
                return None
            if opt.choices is not None and value not in opt.choices:
                return None
            if opt.type is int:
                if not (value[1:] if value[:1] == "-" else value).isdigit() or not value.isascii():
                    return None
                value = int(value)
        if given.setdefault(opt.dest, opt) is not opt:
            return None
        if opt.multiple:
            values.setdefault(opt.dest, []).append(value)
        else:
            values[opt.dest] = value
    if len(positional) > len(cmd.args):
        return None
    for arg, value in zip(cmd.args, positional):
        values[arg.name] = value
    for arg in cmd.args[len(positional):]:
        if arg.required:
            return None
        values[arg.name] = None
    for dest, params in cmd.dests.items():
        opt = params[0]
        if isinstance(opt, Arg) or dest in values:
            continue
        if any(p.required for p in params):
            return None
        values[dest] = () if opt.multiple else opt.default
    for dest, value in values.items():
        if isinstance(value, list):
            values[dest] = tuple(value)
    return values
