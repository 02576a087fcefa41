"""YAML read by tagreg, parsed within bounds: size, nesting depth and alias expansion.

Everything tagreg reads as YAML comes through here: annotation files from repositories (`load`,
`check`) and the config files (`.gto`, `watch.yaml`, `registries.yaml`: `load_file`).

A 'billion laughs' is a few hundred bytes whose aliases expand to billions of nodes: PyYAML builds
it quickly (aliases share objects), and then whatever walks the result (`str()`, JSON, a deep copy)
runs out of time or memory. So before anything is built, the composed node graph is measured with
aliases expanded, and a document over the bounds is refused with a one-line reason.

The bounds (defaults below) can be raised for one process with environment variables:
TAGREG_YAML_MAX_BYTES, TAGREG_YAML_MAX_DEPTH and TAGREG_YAML_MAX_ALIAS_NODES.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import UserError

MAX_BYTES = 1 << 20  # 1 MiB: annotation and config files are a few kilobytes
MAX_DEPTH = 100  # nested mappings and sequences (libyaml itself stops at 1000)
MAX_ALIAS_NODES = 100_000  # nodes that exist only through aliases, once expanded

_ENVIRONMENT = {"bytes": "TAGREG_YAML_MAX_BYTES", "depth": "TAGREG_YAML_MAX_DEPTH",
                "alias_nodes": "TAGREG_YAML_MAX_ALIAS_NODES"}


class YamlError(UserError, ValueError):
    """YAML that cannot be read: not UTF-8, not YAML, or over a bound. The message is the reason
    (`not valid YAML (...)`), for the caller to prefix with the file it read; from `load_file` it
    names the file already (`<file>: <reason>`, or `cannot read <file>: <reason>` when it could not
    be opened or read at all)."""

    def __init__(self, reason: str, file: str | None = None, opened: bool = True):
        if file is None:
            super().__init__(reason)
        else:
            super().__init__(f"{file}: {reason}" if opened else f"cannot read {file}: {reason}")
        self.reason = reason
        self.opened = opened


def limits() -> dict[str, int]:
    """The bounds in effect: the defaults, or positive integers from the environment."""
    found = {"bytes": MAX_BYTES, "depth": MAX_DEPTH, "alias_nodes": MAX_ALIAS_NODES}
    for key, variable in _ENVIRONMENT.items():
        value = os.environ.get(variable)
        if value is not None:
            if not value.isdigit() or int(value) < 1:
                raise YamlError(f"{variable} must be a positive integer, not '{value}'")
            found[key] = int(value)
    return found


def cache_tag() -> str:
    """'' with the default bounds, else a text naming them: results parsed under other bounds are
    cached apart."""
    found = limits()
    if found == {"bytes": MAX_BYTES, "depth": MAX_DEPTH, "alias_nodes": MAX_ALIAS_NODES}:
        return ""
    return "-" + "-".join(f"{key}{value}" for key, value in found.items())


def text_of(data: bytes | str) -> str:
    """data as text, if it is within the size bound and UTF-8; YamlError otherwise."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    most = limits()["bytes"]
    if size > most:
        raise YamlError(f"larger than {most} bytes ({size} bytes)")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"not valid UTF-8 (byte {exc.start})") from None


def read_file(path: str | os.PathLike) -> bytes:
    """A file's bytes, reading no more than the size bound allows (one byte more, to tell)."""
    most = limits()["bytes"]
    with open(path, "rb") as handle:
        data = handle.read(most + 1)
    if len(data) > most:
        raise YamlError(f"larger than {most} bytes")
    return data


def load_file(path: str | os.PathLike, what: str) -> Any:
    """A YAML config file parsed within the bounds; YamlError naming the file as `what` (the name the
    user gave) if it cannot be opened, is over a bound or is not YAML."""
    try:
        data = read_file(path)
    except OSError as exc:
        raise YamlError(exc.strerror or str(exc), what, opened=False) from exc
    except YamlError as exc:
        raise YamlError(exc.reason, what) from None
    try:
        return load(data)
    except YamlError as exc:
        raise YamlError(exc.reason, what) from None


def load(data: bytes | str) -> Any:
    """Parse one YAML document for reading (PyYAML's libyaml loader, ~50x faster than a round-trip
    parser), within the bounds; YamlError if it cannot be read."""
    return _parse(text_of(data))


def check(data: bytes | str) -> str:
    """data as text if it is one YAML document within the bounds; YamlError otherwise. For a parser
    that keeps comments (ruamel.yaml), which then reads the text."""
    text = text_of(data)
    _parse(text)  # built too: a value PyYAML cannot build (a 5000-digit int), ruamel cannot either
    return text


def _parse(text: str) -> Any:
    import yaml as pyyaml  # here, not at the top: commands whose parses are all cached import no parser

    loader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        measure(node, aliases="&" in text)
        return loader.construct_document(node)
    except YamlError:  # a bound (measure): its own words
        raise
    except pyyaml.YAMLError as exc:
        raise YamlError(f"not valid YAML ({_first_line(exc)})") from None
    except RecursionError:  # the pure-Python composer, when PyYAML is without libyaml
        raise YamlError(f"nested more than {limits()['depth']} levels deep") from None
    except (ValueError, OverflowError) as exc:  # a scalar PyYAML cannot build: a 5000-digit int, year 0
        raise YamlError(f"not valid YAML (a value that cannot be read: {str(exc)[:100]})") from None
    finally:
        loader.dispose()


def measure(root, aliases: bool = True) -> None:
    """Refuse a composed node graph that is too deep or expands too much through its aliases.

    An alias is the same node object in several places, so the sizes and depths of the tree as
    it would be built are computed once per node (post-order, without recursion); a node that
    contains itself (`&a [*a]`) expands forever. Without aliases (a text with no `&` has no
    anchors), only the depth is checked, in a cheaper walk.
    """
    bounds = limits()
    if not aliases:
        _check_depth(root, bounds["depth"])
        return
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(kid)] for kid in kids)
            depth[key] = 1 + max((depth[id(kid)] for kid in kids), default=0)
            if depth[key] > bounds["depth"]:
                raise YamlError(f"nested more than {bounds['depth']} levels deep")
            if size[key] - len(size) > bounds["alias_nodes"]:
                raise YamlError(f"aliases expand it to more than {bounds['alias_nodes']} extra nodes")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise YamlError("an alias contains itself")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)


def _check_depth(root, most: int) -> None:
    stack = [(root, 1)]
    while stack:
        node, level = stack.pop()
        if level > most:
            raise YamlError(f"nested more than {most} levels deep")
        stack.extend((kid, level + 1) for kid in _children(node) if kid.id != "scalar")


def _children(node) -> list:
    if node.id == "mapping":  # (key, value) pairs
        return [part for pair in node.value for part in pair]
    return list(node.value) if node.id == "sequence" else []


def _first_line(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
