"""Where tagreg keeps what it can recompute: `$TAGREG_CACHE_DIR`, else `$XDG_CACHE_HOME/tagreg`.

Everything here is a cache: deleting the folder loses nothing.
"""

from __future__ import annotations

import marshal
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


def root() -> Path:
    """The cache folder (not created)."""
    from pathlib import Path

    return Path(_root())


def folder(*parts: str) -> str:
    """A path inside the cache folder, as a str."""
    return os.path.join(_root(), *parts)


def _root() -> str:
    explicit = os.environ.get("TAGREG_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tagreg")


def load_value(kind: str, key: str) -> Any | None:
    """A cached plain value (dicts, lists, str, numbers, None), or None if absent or unreadable."""
    try:
        with open(os.path.join(_root(), kind, f"{key}.marshal"), "rb") as handle:
            return marshal.loads(handle.read())  # marshal.load(handle) reads in tiny pieces: 8x slower
    except (OSError, ValueError, EOFError, TypeError):  # absent, or from another Python: a miss
        return None


def store_value(kind: str, key: str, value: Any) -> None:
    """Cache a plain value; a cache that cannot be written is skipped, never an error."""
    folder = os.path.join(_root(), kind)
    try:
        data = marshal.dumps(value)
        os.makedirs(folder, exist_ok=True)
        with _temporary(folder, key) as handle:
            handle.write(data)
        os.replace(handle.name, os.path.join(folder, f"{key}.marshal"))  # atomic: readers never see half a file
    except (OSError, ValueError):  # unwritable folder, or a value marshal cannot hold
        pass


def load_keyed(kind: str, name: str, key: str) -> Any | None:
    """The plain value stored under name (`store_keyed`) if it was stored with key, else None."""
    found = load_value(kind, name)
    return found[1] if isinstance(found, tuple) and len(found) == 2 and found[0] == key else None


def store_keyed(kind: str, name: str, key: str, value: Any) -> None:
    """Keep one plain value per name (the newest), with the key it is valid for."""
    store_value(kind, name, (key, value))


def load_pickle(kind: str, name: str, key: str) -> Any | None:
    """The value stored under name if it was stored with key, else None (a miss, never an error)."""
    import pickle  # objects (a whole registry's view); what one artifact's reads keep is plain values

    try:
        with open(os.path.join(_root(), kind, f"{name}.pickle"), "rb") as handle:
            stored_key, value = pickle.load(handle)
    except Exception:  # noqa: BLE001 -- absent, from another version, half-written by a crash: all just misses
        return None
    return value if stored_key == key else None


def store_pickle(kind: str, name: str, key: str, value: Any) -> None:
    """Keep one value per name (the newest), with the key it is valid for."""
    import pickle

    folder = os.path.join(_root(), kind)
    try:
        os.makedirs(folder, exist_ok=True)
        with _temporary(folder, name) as handle:
            pickle.dump((key, value), handle, protocol=5)
        os.replace(handle.name, os.path.join(folder, f"{name}.pickle"))
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass


def _temporary(folder: str, name: str):
    """A new file next to where name goes, its own to this writer (threads of a server write the
    same entries at once)."""
    import tempfile  # a write: most commands only read the cache

    return tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", suffix=".tmp", delete=False)
