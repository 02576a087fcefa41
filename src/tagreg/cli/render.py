"""Rendering for the terminal: GTO's tables, JSON, field printers and messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import tags as T
from .output import echo, printable


def emoji(symbol: str) -> str:
    """symbol plus a space, unless GTO_EMOJIS turns emoji off."""
    from ..config import emojis_enabled  # not on `--help`'s path

    return f"{symbol} " if emojis_enabled() else ""


def warn(message: str) -> None:
    """A warning line on stderr: the command goes on. Escaped for the terminal whatever it quotes
    (names and files from the repository); escaping is idempotent, so a message escaped already
    stays as it is."""
    echo(f"{emoji('⚠️')}{printable(message)}", err=True)


def short(value: str | None) -> str | None:
    """A sha-named version or ref shortened to 7 characters, as GTO's tables show them."""
    if value is not None and len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:7]
    return value


def _is_number(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return number == number and number not in (float("inf"), float("-inf"))


def table(rows: list[list[Any]], headers: list[str], plain: bool = False) -> str:
    """A table in GTO's look (tabulate's `fancy_outline` or `plain`, `-` for missing values).

    Written here rather than with tabulate: registries have tens of thousands of rows, and
    this is several times faster and imports nothing.
    """
    cells = [["-" if v is None else printable(v) for v in row] for row in rows]  # one line per row
    columns = list(zip(*cells, strict=False)) if cells else [() for _ in headers]
    # A column of numbers (e.g. short shas like 5064278) is right-aligned, as tabulate does.
    right = [bool(col) and all(_is_number(v) for v in col if v != "-") and any(v != "-" for v in col)
             for col in columns]
    widths = [max([len(h) + 2] + [len(v) for v in col]) for h, col in zip(headers, columns, strict=False)]

    def line(values: list[str]) -> list[str]:
        return [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=False)]

    if plain:
        out = ["  ".join(line(headers)).rstrip()]
        out += ["  ".join(line(row)).rstrip() for row in cells]
        return "\n".join(out)
    bar = lambda left, mid, right_: left + mid.join("═" * (w + 2) for w in widths) + right_  # noqa: E731
    out = [bar("╒", "╤", "╕"), "│ " + " │ ".join(line(headers)) + " │", bar("╞", "╪", "╡")]
    out += ["│ " + " │ ".join(line(row)) + " │" for row in cells]
    out.append(bar("╘", "╧", "╛"))
    return "\n".join(out)


def echo_json(data: Any) -> None:
    """Print data as GTO does: 4-space indented, ASCII-escaped (so it holds no control character:
    json escapes everything outside space to `~`)."""
    import json

    echo(json.dumps(data, indent=4), raw=True)


def push_hint(tag: str, delete: bool = False, remote: str = "origin") -> str:
    """The 'To push the changes upstream' block GTO prints after changing a tag."""
    import shlex

    command = f"git push --delete {remote} {shlex.quote(tag)}" if delete else f"git push {remote} {shlex.quote(tag)}"
    return f"To push the changes upstream, run:\n    {command}"


CREATED = {
    T.REGISTRATION: "Created git tag '{tag}' that registers version",
    T.DEREGISTRATION: "Created git tag '{tag}' that deregisters version",
    T.ASSIGNMENT: "Created git tag '{tag}' that assigns stage to version '{version}'",
    T.UNASSIGNMENT: "Created git tag '{tag}' that unassigns stage from version '{version}'",
    T.DEPRECATION: "Created git tag '{tag}' that deprecates artifact",
}

CHECKED = {
    T.REGISTRATION: 'Version "{version}" of artifact "{name}" was registered',
    T.DEREGISTRATION: 'Version "{version}" of artifact "{name}" was deregistered',
    T.ASSIGNMENT: 'Stage "{stage}" was assigned to version "{version}" of artifact "{name}"',
    T.UNASSIGNMENT: 'Stage "{stage}" was unassigned from version "{version}" of artifact "{name}"',
    T.DEPRECATION: 'Artifact "{name}" was deprecated',
}


def echo_change(change) -> None:
    """Report one created, deleted or pushed tag as GTO does."""
    remote = change.remote or "origin"
    if change.deleted:
        echo(f"Deleted git tag '{change.tag}'")
    else:
        echo(CREATED[change.event].format(tag=change.tag, version=change.version))
    if change.pushed:
        verb = "deleted" if change.deleted else "pushed"
        delete = "--delete " if change.deleted else ""
        echo(f"Running `git push {delete}{remote} {change.tag}`")
        echo(f"Successfully {verb} git tag {change.tag} on remote.")
    else:
        echo(push_hint(change.tag, delete=change.deleted, remote=remote))


def echo_lines(values: Iterable[str | None], multiline: bool = False) -> None:
    """Field printers: one value per line (a multiline field, e.g. a description, may take several)."""
    for value in values:
        echo("" if value is None else printable(str(value).rstrip("\n"), multiline))
