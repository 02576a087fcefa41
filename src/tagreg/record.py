"""Plain records: a class declared by its annotated fields gets `__init__`, `__repr__` and `__eq__`.

What `dataclasses` gives tagreg, without what it costs at start-up: importing `dataclasses` (it
imports `inspect`) and building ~20 classes with it took ~40 ms of every command, more than
reading an artifact's tags. Here each method is one small `exec`, on its first call.

    @record
    class Version:
        name: str
        stages: list = field(factory=list)
        state: object = field(None, repr=False, compare=False)

`record(slots=True)` gives `__slots__` (for the records there are tens of thousands of),
`record(frozen=True)` immutable, hashable records. `replace(r, **changes)` and `as_dict(r)` are
`dataclasses.replace` and `dataclasses.asdict`.
"""

from __future__ import annotations

MISSING = object()


class field:  # noqa: N801 (spelled as dataclasses.field, which it stands for)
    """A field's default (or factory, called per instance) and whether repr/== show it."""

    __slots__ = ("default", "factory", "repr", "compare")

    def __init__(self, default=MISSING, *, factory=None, repr: bool = True, compare: bool = True):
        self.default, self.factory, self.repr, self.compare = default, factory, repr, compare


def record(cls=None, *, slots: bool = False, frozen: bool = False):
    """Make cls a record (see the module's docstring); usable as @record or @record(...)."""
    if cls is None:
        return lambda c: _build(c, slots, frozen)
    return _build(cls, slots, frozen)


def _build(cls, slots: bool, frozen: bool):
    names: list[str] = []
    specs: dict[str, field] = {}
    for klass in reversed(cls.__mro__[:-1]):  # inherited fields first, as dataclasses orders them
        for name in klass.__dict__.get("__annotations__", {}):
            if name not in specs:
                names.append(name)
            value = klass.__dict__.get(name, MISSING)
            specs[name] = value if isinstance(value, field) else field(value)
    members = {k: v for k, v in cls.__dict__.items() if k not in specs and k not in ("__dict__", "__weakref__")}
    if slots:
        members["__slots__"] = tuple(names)
    made_methods = [m for m in ("__init__", "__repr__", "__eq__") if m not in cls.__dict__]
    if frozen:
        made_methods.append("__hash__")
        members["__setattr__"] = _refuse
        members["__delattr__"] = _refuse
    else:
        members["__hash__"] = None
    members["__record_fields__"] = tuple(names)
    members["__record_specs__"] = specs
    made = type(cls)(cls.__name__, cls.__bases__, members)
    made.__qualname__ = cls.__qualname__
    for method in made_methods:
        # Each method is compiled on its first call: compiling all of them for every record class
        # cost ~12 ms of every command, most of it for methods the command never calls.
        setattr(made, method, _stub(made, method, frozen))
    return made


def _stub(made, method: str, frozen: bool):
    def stub(self, *args, **kwargs):
        real = _compile(made, method, frozen)
        setattr(made, method, real)
        return real(self, *args, **kwargs)

    stub.__name__ = stub.__qualname__ = method
    return stub


def _compile(made, method: str, frozen: bool):
    """The source of one of a record's methods, compiled."""
    names, specs = made.__record_fields__, made.__record_specs__
    compared = "".join(f"self.{n}, " for n in names if specs[n].compare)
    namespace: dict = {"MISSING": MISSING, "setattr": object.__setattr__}
    if method == "__init__":
        params, body = [], []
        for name in names:
            spec = specs[name]
            if spec.factory is not None:
                namespace[f"_f_{name}"] = spec.factory
                params.append(f"{name}=MISSING")
                value = f"_f_{name}() if {name} is MISSING else {name}"
            elif spec.default is not MISSING:
                namespace[f"_d_{name}"] = spec.default
                params.append(f"{name}=_d_{name}")
                value = name
            else:
                params.append(name)
                value = name
            body.append(f"setattr(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
        lines = [f"def __init__(self, {', '.join(params)}):", *(f"    {line}" for line in body or ["pass"])]
    elif method == "__repr__":
        shown = ", ".join(f"{n}={{self.{n}!r}}" for n in names if specs[n].repr)
        lines = ["def __repr__(self):", "    return f'{type(self).__qualname__}(" + shown + ")'"]
    elif method == "__eq__":
        lines = ["def __eq__(self, other):",
                 "    if other.__class__ is not self.__class__:",
                 "        return NotImplemented",
                 f"    return ({compared}) == ({compared.replace('self.', 'other.')})"]
    else:
        lines = ["def __hash__(self):", f"    return hash(({compared}))"]
    exec("\n".join(lines), namespace)  # noqa: S102 (source built from the class's own field names)
    function = namespace[method]
    function.__qualname__ = f"{made.__qualname__}.{method}"
    return function


def _refuse(self, name, *value):
    raise AttributeError(f"cannot assign to field '{name}' of a frozen {type(self).__name__}")


def is_record(value) -> bool:
    """Whether value is a record instance."""
    return hasattr(type(value), "__record_fields__")


def fields(value) -> tuple[str, ...]:
    """The field names of a record (instance or class), in order."""
    return value.__record_fields__


def replace(value, **changes):
    """A copy of the record value with some fields changed."""
    specs = type(value).__record_specs__
    for name in changes:
        if name not in specs:
            raise TypeError(f"{type(value).__name__} has no field '{name}'")
    return type(value)(**{n: changes.get(n, getattr(value, n)) for n in value.__record_fields__})


def as_dict(value):
    """value as plain dicts, lists and values, recursing into records, lists, tuples and dicts."""
    if is_record(value):
        return {n: as_dict(getattr(value, n)) for n in value.__record_fields__}
    if isinstance(value, list):
        return [as_dict(v) for v in value]
    if isinstance(value, tuple):
        return tuple(as_dict(v) for v in value)
    if isinstance(value, dict):
        return {k: as_dict(v) for k, v in value.items()}
    return value
