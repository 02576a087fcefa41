"""Run calls of a `gto.api`-shaped module and print what each returned or raised, in a form both
tools' answers can be compared in (no pytest, gto or tagreg imports here: it runs in gto's venv).

Usage: PYTHON _gto_api_driver.py < {"paths": {KEY: PATH}, "calls": [CALL, ...]} > [RESULT, ...]

A CALL is {"fn": NAME, "args": [...], "kwargs": {...}, "time": UNIX_TIME or null, "module": M} (M: "api",
the default, or "exceptions", "constants": `gto.M` here, `tagreg.gto.M` on tagreg's side); in args
and kwargs {"$path": KEY} is the path (or URL) named KEY and {"$enum": CLASS, "value": V} that
enum's member. The fn "$signatures" gives the module's public functions with their parameters,
"$classes" its public classes with the names of their bases.
"time" is the tagger date of the tags the call writes: gto ignores GIT_COMMITTER_DATE, so this
driver sets the clock of gto's git library (pygit2) instead, and writes never tie or wait.
The tagreg side (tests/differential/test_gto_api.py) runs the same calls in-process with
`run_calls` and GIT_COMMITTER_DATE.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import os
import sys
from datetime import datetime
from enum import Enum

# Properties and methods of GTO's objects a script reads besides their fields.
ATTRIBUTES = ("event", "ref", "is_active", "activated_at", "created_at", "author", "author_email", "message",
              "is_registered", "discovered")


def normalize(value, depth: int = 0):
    """value as JSON: objects by class name, fields, properties and dumps; dicts as ordered pairs."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, Enum):
        return {"$enum": type(value).__name__, "value": value.value}
    if isinstance(value, tuple):
        return {"$tuple": [normalize(v, depth) for v in value]}
    if isinstance(value, list):
        return [normalize(v, depth) for v in value]
    if isinstance(value, dict):
        return {"$dict": type(value).__name__, "items": [[k, normalize(v, depth)] for k, v in value.items()]}
    if isinstance(value, BaseException):
        return raised(value)
    if hasattr(value, "model_dump"):
        return _object(value, depth)
    return {"$other": type(value).__name__, "repr": repr(value)}


def _object(value, depth: int) -> dict:
    dumped = value.model_dump()
    out = {"$object": type(value).__name__,
           "fields": {name: normalize(getattr(value, name), depth + 1) for name in dumped},
           "model_dump": normalize(dumped, depth + 1)}
    attributes = {}
    for name in ATTRIBUTES:
        if name in dumped or not hasattr(type(value), name):
            continue
        try:
            attributes[name] = normalize(getattr(value, name), depth + 1)
        except Exception as exc:  # noqa: BLE001 - what the script would get
            attributes[name] = {"$raised": type(exc).__name__}
    out["attributes"] = attributes
    if "__str__" in vars(type(value)):
        out["str"] = str(value)
    if hasattr(value, "dict_state"):
        out["dict_state"] = normalize(value.dict_state(), depth + 1)
    if hasattr(value, "get_events"):
        out["get_events"] = [e.ref for e in value.get_events()]
    if hasattr(value, "get_vstages"):
        out["get_vstages"] = [s.stage for s in value.get_vstages()]
    if depth == 0:
        out["model_dump_json"] = json.loads(value.model_dump_json())
    return out


def raised(exc: BaseException) -> dict:
    """An exception as the classes it is an instance of (names, most derived first) and its message."""
    mro = [c.__name__ for c in type(exc).__mro__ if c not in (object, BaseException)]
    return {"$raised": mro, "message": str(exc)}


def _argument(value, paths: dict, enums):
    if isinstance(value, dict) and "$path" in value:
        return paths[value["$path"]]
    if isinstance(value, dict) and "$enum" in value:
        return getattr(enums, value["$enum"])(value["value"])
    return value


def signatures(module) -> dict:
    """The public functions of module: each parameter's name, kind and default."""
    return {name: [[p.name, p.kind.name, repr(p.default)] for p in inspect.signature(f).parameters.values()]
            for name, f in sorted(vars(module).items())
            if inspect.isfunction(f) and f.__module__ == module.__name__ and not name.startswith("_")}


def classes(module) -> dict:
    """The public classes of module and the names of the classes they derive from."""
    return {name: [c.__name__ for c in cls.__mro__[1:] if c is not object]
            for name, cls in sorted(vars(module).items())
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and not name.startswith("_")}


def run_calls(modules: dict, paths: dict, calls: list, set_time) -> list:
    """Each call's answer: {"result": ..., "stdout": ...} or {"raised": ..., "stdout": ...}."""
    results = []
    enums = modules["constants"]
    for call in calls:
        module = modules[call.get("module", "api")]
        args = [_argument(a, paths, enums) for a in call.get("args", [])]
        kwargs = {k: _argument(v, paths, enums) for k, v in call.get("kwargs", {}).items()}
        set_time(call.get("time"))
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                if call["fn"] == "$signatures":
                    value = signatures(module)
                elif call["fn"] == "$classes":
                    value = classes(module)
                else:
                    value = getattr(module, call["fn"])(*args, **kwargs)
            results.append({"result": normalize(value), "stdout": out.getvalue()})
        except Exception as exc:  # noqa: BLE001 - compared with the other tool's
            results.append({"raised": raised(exc), "stdout": out.getvalue()})
    return results


def _gto_clock():
    """A set_time for gto: the tagger date pygit2 gives the tags gto creates."""
    from pygit2 import Signature
    from scmrepo.git.backend.pygit2 import Pygit2Backend

    now = {"time": None}
    real = Pygit2Backend.committer

    def committer(self):
        signature = real.fget(self)
        if now["time"] is None:
            return signature
        return Signature(name=signature.name, email=signature.email, time=now["time"], offset=0)

    Pygit2Backend.committer = property(committer)
    return lambda time: now.update(time=time)


def main():
    request = json.load(sys.stdin)
    os.environ.pop("GIT_COMMITTER_DATE", None)  # pygit2's signature refuses it
    modules = {name: importlib.import_module(f"gto.{name}") for name in ("api", "exceptions", "constants")}
    results = run_calls(modules, request["paths"], request["calls"], _gto_clock())
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
