"""Text from a repository, a remote or a client made safe to print on a terminal.

A terminal acts on some characters instead of showing them: C0 controls (ESC starts colours,
titles, cursor moves; CR overwrites a line), DEL, C1 controls (U+009B is a CSI), bidi controls
that make text display in another order than it reads; others are invisible (zero-width and
format characters, which make two names look alike) or are no text at all (the surrogates that
stand for undecodable bytes). Every character Python does not call printable becomes a visible
escape: `\\x1b`, `\\u202e`, `\\udc80`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from typing import Any


def printable(text: Any, multiline: bool = False) -> str:
    """text (a tag, tagger, path, description, file name) safe to print on a terminal: every
    character that is not printable escaped; a newline or tab too unless multiline, so that a
    one-line field stays one line."""
    text = str(text)
    if text.isprintable() or multiline and text.replace("\n", "").replace("\t", "").isprintable():
        return text  # the usual case, at C speed: nothing to escape
    kept = "\n\t" if multiline else ""
    return "".join(c if c.isprintable() or c in kept else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
