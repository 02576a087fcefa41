"""Where tagreg keeps what it can recompute: `$TAGREG_CACHE_DIR`, else `$XDG_CACHE_HOME/tagreg`.

Everything here is a cache: deleting the folder loses nothing.
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Optional


def root() -> Path:
    """The cache folder (not created)."""
    from pathlib import Path

    return Path(_root())


def _root() -> str:
    explicit = os.environ.get("TAGREG_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tagreg")


def load_json(kind: str, key: str) -> Optional[Any]:
    """A cached JSON value, or None if absent or unreadable."""
    try:
        with open(os.path.join(_root(), kind, f"{key}.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def store_json(kind: str, key: str, value: Any) -> None:
    """Cache a JSON value; a cache that cannot be written is skipped, never an error."""
    folder = os.path.join(_root(), kind)
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{key}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(value))
        os.replace(tmp, os.path.join(folder, f"{key}.json"))  # atomic: readers never see half a file
    except (OSError, TypeError, ValueError):  # unwritable folder, or a value JSON cannot hold
        pass


def load_pickle(kind: str, name: str, key: str) -> Optional[Any]:
    """The value stored under name if it was stored with key, else None (a miss, never an error)."""
    import pickle

    try:
        with open(os.path.join(_root(), kind, f"{name}.pickle"), "rb") as handle:
            stored_key, value = pickle.load(handle)
    except Exception:  # absent, from another version, half-written by a crash: all just misses
        return None
    return value if stored_key == key else None


def store_pickle(kind: str, name: str, key: str, value: Any) -> None:
    """Keep one value per name (the newest), with the key it is valid for."""
    import pickle

    folder = os.path.join(_root(), kind)
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            pickle.dump((key, value), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, os.path.join(folder, f"{name}.pickle"))
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
