"""An exclusive lock between processes on one machine: `<path>.lock`, held with flock.

Writers of one repository take turns with it (a local repository's lock in its git folder, a
remote's mirror lock beside the mirror); the lock ends with its process, so a crash leaves none.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import UserError


class LockBusy(UserError):
    """Another process held the lock for longer than the caller would wait."""


@contextmanager
def file_lock(path: str | os.PathLike, display: str, timeout: float = 300.0,
              busy: str | None = None) -> Iterator[None]:
    """An exclusive lock on `<path>.lock`, waited for up to timeout seconds (then LockBusy,
    saying busy if given)."""
    where = os.fspath(path)
    os.makedirs(os.path.dirname(where), exist_ok=True)
    with open(where + ".lock", "w") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockBusy(busy or f"the cache of {display} is locked by another process") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
