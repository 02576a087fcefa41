"""The `tagreg` command: argument parsing and rendering only; every command calls `tagreg.api`.

One click group (`group.py`) whose commands are declared with click's decorators in modules named
after what they do (`reading`, `changes`, `annotating`, `operations`) and imported only when asked
for; a command imports what its work needs (the API, YAML, the server) when it runs.
"""

from .group import root as main

__all__ = ["main"]
