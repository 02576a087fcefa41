"""The `tagreg` command: argument parsing and rendering only; every command calls `tagreg.api`.

The everyday commands are declared in `grammar.py` and run without importing click (`dispatch.py`);
help, completion, mistakes and the remaining commands go through the click group of `group.py`.
Heavy modules (the API, YAML) are imported inside commands, so `tagreg --help` stays fast too.
"""

from __future__ import annotations

import os
import sys


def main(args=None, prog_name: str | None = None, **extra) -> None:
    """Entry point of the `tagreg` script; takes click's `main` arguments (args, prog_name, ...)."""
    argv = sys.argv[1:] if args is None else list(args)
    if not extra:
        from .dispatch import run as run_fast

        code = run_fast(argv)
        if code is not None:
            if args is None:  # the process is this command line, and it is done
                _exit(code)
            raise SystemExit(code)
    from .group import root

    return root.main(args=argv, prog_name=prog_name, **extra)


def _exit(code: int) -> None:
    """End the process without tearing the interpreter down: freeing the tens of thousands of
    objects a command on a big registry keeps, one by one, costs time and changes nothing. Output
    is flushed first; nothing else is pending (files are closed, git processes waited for)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with that descriptor closed (`2>&-`): nothing to flush
            continue
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # `tagreg show | head`: the reader went away
            code = code or 1
    os._exit(code)


def run() -> None:
    """Entry point for `python -m tagreg`."""
    main(prog_name="tagreg")
