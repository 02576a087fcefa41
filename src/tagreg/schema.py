"""Declared shapes for the core's config files (`.gto`, `watch.yaml`).

A shape is a dataclass whose fields declare how a key of a parsed YAML mapping is read:

    @dataclass
    class Delivery:
        max_attempts: int = field(default=8, metadata=checked(count))
        backoff: float = field(default=2.0, metadata=checked(at_least_zero))

A check takes the value found and returns it as the field holds it, or raises `Invalid` saying
what it must be; `Invalid.line` names the file and the key:
`watch.yaml: 'delivery.max_attempts' must be a whole number, 1 or more, not 'eight'`. A key that
is absent gets the field's default; keys a shape does not declare are left alone.

The server's `registries.yaml` is declared with pydantic instead: a server dependency, too costly
to import on the path of every command.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Check = Callable[[Any], Any]


class Invalid(ValueError):
    """A value a check refuses: `problem` says what it must be, `key` where it is (`.a[0].b`)."""

    def __init__(self, problem: str, key: str = ""):
        super().__init__(problem)
        self.problem = problem
        self.key = key

    @property
    def path(self) -> str:
        """The key as written in messages: `repos[0].interval`."""
        return self.key.lstrip(".")

    def line(self, where: str) -> str:
        """The one-line error for the file where: `<where>: '<key>' must be ...`."""
        return f"{where}: '{self.path}' {self.problem}" if self.key else f"{where} {self.problem}"


def checked(check: Check) -> dict[str, Check]:
    """The metadata of a dataclass field that `read` fills from the key of its name, with check."""
    return {"check": check}


def read(shape: type[T], data: Any) -> T:
    """An instance of the dataclass shape from the mapping data, each declared field checked."""
    if not isinstance(data, dict):
        raise Invalid(f"must be a mapping, not {shown(data)}")
    values = {}
    for declared in dataclasses.fields(shape):  # type: ignore[arg-type]
        check = declared.metadata.get("check")
        if check is not None and declared.name in data:
            values[declared.name] = at(f".{declared.name}", check, data[declared.name])
    return shape(**values)


def at(key: str, check: Check, value: Any) -> Any:
    """check(value), an Invalid it raises placed below key."""
    try:
        return check(value)
    except Invalid as exc:
        raise Invalid(exc.problem, key + exc.key) from None


def shown(value: Any) -> str:
    """A value as a message shows it: short, on one line."""
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- checks -------------------------------------------------------------------------------------

def section(shape: type[T]) -> Callable[[Any], T]:
    """A nested mapping read as shape; an empty key is all defaults."""
    return lambda value: shape() if value is None else read(shape, value)


def items(check: Check) -> Check:
    """A list, each item checked; an empty key is an empty list."""

    def check_items(value: Any) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise Invalid(f"must be a list, not {shown(value)}")
        return [at(f"[{n}]", check, item) for n, item in enumerate(value)]

    return check_items


def _number(value: Any) -> float | None:
    """value as a finite number (a quoted one too: `interval: "30"` was always read), else None."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def positive(value: Any) -> float:
    """A number above 0."""
    number = _number(value)
    if number is None or number <= 0:
        raise Invalid(f"must be a positive number, not {shown(value)}")
    return float(number)


def at_least_zero(value: Any) -> float:
    """A number, 0 or more."""
    number = _number(value)
    if number is None or number < 0:
        raise Invalid(f"must be a number, 0 or more, not {shown(value)}")
    return float(number)


def count(value: Any) -> int:
    """A whole number, 1 or more."""
    number = _number(value)
    if number is None or number != int(number) or number < 1:
        raise Invalid(f"must be a whole number, 1 or more, not {shown(value)}")
    return int(number)


def text(value: Any) -> str:
    """A string (a number is taken as its text, as YAML reads `name: 2024` as one), without NUL: no
    path, URL, name or argument can hold one."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(f"must be a string, not {shown(value)}")
    if "\0" in str(value):
        raise Invalid("must be a string without NUL characters")
    return str(value)


def optional(check: Check) -> Check:
    """check, or None for an empty key."""
    return lambda value: None if value is None else check(value)


def strings(value: Any) -> list[str]:
    """A list of strings; one string is a list of one, an empty key an empty list."""
    if isinstance(value, str):
        return [text(value)]
    if value is not None and not isinstance(value, list):
        raise Invalid(f"must be a string or a list of strings, not {shown(value)}")
    return items(text)(value)
