"""Text from a repository, a remote or a client made safe to print on a terminal.

A terminal acts on some characters instead of showing them: C0 controls (ESC starts colours,
titles, cursor moves; CR overwrites a line), DEL, C1 controls (U+009B is a CSI), bidi controls
that make text display in another order than it reads; others are invisible (zero-width and
format characters, which make two names look alike) or are no text at all (the surrogates that
stand for undecodable bytes). Every character Python does not call printable becomes a visible
escape: `\\x1b`, `\\u202e`, `\\udc80`, except what ordinary text in many languages needs and no
terminal acts on: spaces other than ' ' (no-break space before French punctuation, the ideographic
space of CJK text) and the zero-width joiner and non-joiner (emoji sequences, Persian and Indic
scripts).
"""

from __future__ import annotations

from typing import Any

# Not printable to Python, but ordinary text that no terminal acts on: the spaces of category Zs
# other than ' ', and the zero-width non-joiner and joiner.
TEXT = frozenset("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                 "\u202f\u205f\u3000\u200c\u200d")
_LINES = frozenset("\n\t")


def printable(text: Any, multiline: bool = False) -> str:
    """text (a tag, tagger, path, description, file name) safe to print on a terminal: every
    character that is not printable escaped (but for the spaces and joiners of TEXT); a newline or
    tab too unless multiline, so that a one-line field stays one line."""
    text = str(text)
    if text.isprintable():
        return text  # the usual case, at C speed: nothing to escape
    kept = TEXT | _LINES if multiline else TEXT
    return "".join(c if c.isprintable() or c in kept else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
