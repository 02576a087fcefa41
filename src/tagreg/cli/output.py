"""The few output helpers every command needs, without what rendering imports (JSON, the grammar):
commands import them at start-up, before they know whether they will print a table."""

from __future__ import annotations

import sys
from typing import Any

from ..printable import printable

NOTHING = "Nothing found in the current workspace"

def echo(message: Any = "", nl: bool = True, err: bool = False, raw: bool = False) -> None:
    """Print a line (or text, nl=False) to stdout, or stderr with err=True, and flush it. Unless
    raw (JSON, CI outputs: formats that carry exact values), control characters are escaped
    (`printable`, newlines and tabs kept): whatever part of message came from a repository."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # the command was started with that descriptor closed (`>&-`)
        if err:
            return
        from ..errors import UserError

        raise UserError("cannot print the output: standard output is closed")
    text = str(message) if raw else printable(message, multiline=True)
    stream.write(f"{text}\n" if nl else text)
    stream.flush()


def format_flag(flags: dict) -> str | None:
    """The one output format chosen among flags {name: given}; several is a user error."""
    chosen = [k for k, v in flags.items() if v]
    if len(chosen) > 1:
        from ..api import RegistryError

        raise RegistryError("Only one output format allowed")
    return chosen[0] if chosen else None
