"""The few output helpers every command needs, without what rendering imports (JSON, the grammar):
commands import them at start-up, before they know whether they will print a table."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from typing import Any, Optional

NOTHING = "Nothing found in the current workspace"

# What a terminal acts on instead of showing: C0 controls (ESC starts colours, titles, cursor
# moves; CR overwrites a line), DEL, C1 controls (U+009B is a CSI), and the bidi controls that make
# text display in another order than it reads. Each becomes a visible escape: `\x1b`, `\u202e`.
_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_ESCAPES.update({c: f"\\u{c:04x}" for c in [0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                               0x2028, 0x2029]})
_MULTILINE = {c: text for c, text in _ESCAPES.items() if c not in (0x09, 0x0A)}  # tab and newline stay


def printable(text: Any, multiline: bool = False) -> str:
    """text (anything from a repository: a tag, tagger, path, description) safe to print on a
    terminal: control characters and bidi controls escaped; a newline or tab too unless
    multiline, so that a one-line field stays one line."""
    text = str(text)
    if text.isprintable() or multiline and text.replace("\n", "").replace("\t", "").isprintable():
        return text  # the usual case, at C speed: nothing to escape
    return text.translate(_MULTILINE if multiline else _ESCAPES)


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


def format_flag(flags: dict) -> Optional[str]:
    """The one output format chosen among flags {name: given}; several is a user error."""
    chosen = [k for k, v in flags.items() if v]
    if len(chosen) > 1:
        from ..api import RegistryError

        raise RegistryError("Only one output format allowed")
    return chosen[0] if chosen else None
