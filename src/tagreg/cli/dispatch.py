"""Running a command line: straight from the grammar when it parses there, else through click.

Both ways end in `handle_errors`, so a user error is one `❌ message` line and exit code 1 whichever
parser read the line.
"""

from __future__ import annotations

import os
import sys

from . import grammar


def handle_errors(call, traceback: bool, passthrough: tuple = ()):
    """call(), with user errors as one line on stderr and exit 1, other errors as one line with a
    hint (the traceback with --traceback), and a closed pipe (`tagreg show | head`) as a quiet exit 1."""
    from ..errors import UserError

    try:
        return call()
    except passthrough:
        raise
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # the interpreter flushes stdout at exit: not into the pipe
        raise SystemExit(1)
    except UserError as exc:
        if traceback:
            raise
        _error(str(exc))
        raise SystemExit(1)
    except Exception as exc:  # a bug: still one line, with a way to see more
        if traceback:
            raise
        _error(f"Unexpected error: {exc}", "Run with '--traceback' to see where it happened and report it.")
        raise SystemExit(1)


def _error(message: str, *more: str) -> None:
    from .output import echo, printable
    from .render import emoji

    echo(f"{emoji('❌')}{printable(message)}", err=True)  # one line, whatever it quotes
    for line in more:
        echo(line, err=True)


def run(argv: list[str]) -> int | None:
    """Run argv as `tagreg` would and return the exit code, or None if click has to read it."""
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ):
        return None  # shell completion is click's
    traceback = False
    while argv and argv[0] in grammar.TRACEBACK:
        traceback, argv = True, argv[1:]
    if argv == ["--version"]:
        from .. import __version__
        from .output import echo

        echo(grammar.VERSION % {"version": __version__})
        return 0
    if (not argv or (argv[-1] in ("--help", "-h") and len(argv) <= 2)) and _columns() >= 80:
        from .helptext import TEXTS  # click's own help, rendered ahead (see group.py)

        text = TEXTS.get(argv[0] if len(argv) == 2 else "")
        stream = sys.stdout if argv else sys.stderr  # no command at all: a mistake, as click says
        if text is not None and stream is not None:
            stream.write(text)
            return 0 if argv else 2
    if not argv:
        return None
    from . import changes, reading  # noqa: F401  (they declare their commands)

    cmd = grammar.COMMANDS.get(grammar.ALIASES.get(argv[0], argv[0]))
    values = grammar.parse(cmd, argv[1:]) if cmd else None
    if values is None:
        return None
    traceback = traceback or os.environ.get("TAGREG_TRACEBACK") == "1"
    # A command lives for a fraction of a second and keeps what it builds (tens of thousands of
    # objects on a big registry) to the end: cyclic garbage collection would only cost time.
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        handle_errors(lambda: grammar.run(cmd.function, values, cmd.reads), traceback)
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\nAborted!\n")  # as click says it
        return 1
    finally:
        if collecting:
            gc.enable()
    return 0


def _columns() -> int:
    """The terminal's width as click reads it (`shutil.get_terminal_size`, without importing shutil)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80
