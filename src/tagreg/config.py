"""The `.gto` config file and `GTO_*` environment variables, read as GTO reads them.

Priority: environment over file over defaults. Lists in the environment are JSON
(`GTO_STAGES='["dev", "prod"]'`). Names in `stages` and `types` must be valid names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from . import tags as T
from . import yaml as Y
from .annotations import outside_reason
from .errors import UserError
from .schema import Invalid, checked, read, shown

CONFIG_FILE_NAME = ".gto"
DEFAULT_INDEX = "artifacts.yaml"
GTO_EXACT_ENV = "TAGREG_GTO_EXACT"


class ConfigError(UserError, ValueError):
    """The config file or a GTO_* variable cannot be used."""


_BOOL_TRUE = {"1", "true", "yes", "on", "y", "t"}
_BOOL_FALSE = {"0", "false", "no", "off", "n", "f"}


def _flag(value: Any) -> bool:
    """A boolean, or its word (`GTO_DEBUG=yes`)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _BOOL_TRUE | _BOOL_FALSE:
        raise Invalid(f"must be true or false, not {shown(value)}")
    return word in _BOOL_TRUE


def _names(value: Any) -> list[str] | None:
    """A list of names; in the environment its JSON (`["dev", "prod"]`) or `dev,prod`."""
    if value is None:
        return None
    if isinstance(value, str):
        import json  # a list in the environment: rare, and json is not otherwise needed to read

        try:
            value = json.loads(value)
        except ValueError:
            value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and T.is_name(v) for v in value):
        raise Invalid(f"must be a list of names, not {shown(value)}")
    return list(value)


def _index(value: Any) -> str:
    """The annotation file's name: a plain path inside the repository (tagreg writes to it)."""
    if not isinstance(value, str):
        raise Invalid(f"must be a file name, not {type(value).__name__}")
    problem = outside_reason(value)
    if problem is not None:
        raise Invalid(f"must be a plain path inside the repository ({value!r}: {problem})")
    return value


def _enrichments(value: Any) -> list[Any]:
    """A list; in the environment its JSON."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            raise Invalid("must be a JSON list") from None
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"must be a list, not {shown(value)}")
    return value


@dataclass
class Config:
    """Effective settings for one repository; each setting read from `.gto` or its GTO_* variable."""

    stages: list[str] | None = field(default=None, metadata=checked(_names))
    types: list[str] | None = field(default=None, metadata=checked(_names))
    index: str = field(default=DEFAULT_INDEX, metadata=checked(_index))
    emojis: bool = field(default=True, metadata=checked(_flag))
    log_level: str = field(default="INFO", metadata=checked(str))
    debug: bool = field(default=False, metadata=checked(_flag))
    config_file_name: str = CONFIG_FILE_NAME
    enrichments: list[Any] = field(default_factory=list, metadata=checked(_enrichments))
    autoload_enrichments: bool = field(default=True, metadata=checked(_flag))
    source: str | None = None  # the .gto file read, if any
    # TAGREG_GTO_EXACT=1 (`tagreg --gto-exact`), never the .gto file: read only the annotation file
    # GTO reads (artifacts.yaml, no dvc.yaml), so that a DVC-annotated registry reads as in GTO
    gto_exact: bool = False

    def check_stage(self, stage: str) -> str:
        """Return stage if it is valid and allowed, else raise ConfigError/GrammarError."""
        T.check_stage(stage)
        if self.stages is not None and stage not in self.stages:
            allowed = ", ".join(self.stages) or "(none)"
            raise ConfigError(f"Stage '{stage}' is not allowed; allowed stages are: {allowed}")
        return stage

    def check_type(self, type_: str) -> str:
        """Return type_ if it is valid and allowed."""
        T.check_stage(type_)
        if self.types is not None and type_ not in self.types:
            allowed = ", ".join(self.types) or "(none)"
            raise ConfigError(f"Type '{type_}' is not allowed; allowed types are: {allowed}")
        return type_


def emojis_enabled() -> bool:
    """Emoji in output, decided by GTO_EMOJIS alone (as in GTO)."""
    value = os.environ.get("GTO_EMOJIS")
    if value is None:
        return True
    return value.strip().lower() not in _BOOL_FALSE


def gto_exact(environ: dict[str, str] | None = None) -> bool:
    """Whether TAGREG_GTO_EXACT asks to read only what GTO reads (`1`, `true`...; unset or empty: no)."""
    value = (environ if environ is not None else os.environ).get(GTO_EXACT_ENV, "")
    try:
        return bool(value.strip()) and _flag(value)
    except Invalid:
        raise ConfigError(f"{GTO_EXACT_ENV} must be 1 or 0 (true or false), not {shown(value)}") from None


def file_name(environ: dict[str, str] | None = None) -> str:
    """The config file's name (`.gto`, or GTO_CONFIG_FILE_NAME)."""
    env = environ if environ is not None else os.environ
    return env.get("GTO_CONFIG_FILE_NAME", CONFIG_FILE_NAME)


def load(
    root: str | os.PathLike | None,
    environ: dict[str, str] | None = None,
    text: str | bytes | None = None,
    where: str | None = None,
) -> Config:
    """Read `.gto` in root (or its text, for a repository without work tree) and GTO_* variables."""
    given = environ if environ is not None else os.environ
    env = {k.upper(): v for k, v in given.items() if k.upper().startswith("GTO_")}
    values: dict[str, Any] = {}
    source = None
    name = file_name(environ)
    if root is not None:
        path = os.path.join(os.fspath(root), name)
        if os.path.isfile(path):
            _inside(root, path)
            values = _read(path, None, f"Wrong config file '{os.path.realpath(path)}'")
            source = path
    elif text is not None:
        values = _read(None, text, f"Wrong config file '{where or name}'")
        source = where or name
    for key, value in env.items():
        values[key[len("GTO_"):].lower()] = value
    where = f"Wrong config file '{os.path.realpath(source) if root else source}'" if source \
        else "Wrong GTO_* environment variable"
    try:
        config = read(Config, values)
    except Invalid as exc:  # GTO's words for a wrong value; the reason for index, a check of tagreg's own
        raise ConfigError(exc.line(where) if exc.path == "index" else where) from None
    config.config_file_name = name
    config.source = source
    config.gto_exact = gto_exact(environ)
    return config


def _inside(root: str | os.PathLike, path: str) -> None:
    """ConfigError if the config file is a symlink that leads out of the repository (a repository
    may commit `.gto -> /etc/…`: its settings are the repository's own, not other files')."""
    top = os.path.realpath(root)
    if os.path.islink(path) and os.path.commonpath([top, os.path.realpath(path)]) != top:
        raise ConfigError(f"Wrong config file '{path}': a symlink leads it out of the repository; refusing to "
                          "follow it")


def _read(path: str | None, text: str | bytes | None, where: str) -> dict[str, Any]:
    """The keys (in lower case) of the `.gto` file at path, or of its text."""
    try:
        data = Y.load_file(path, path) if path is not None else Y.load(text or "")
    except Y.YamlError as exc:  # GTO's words for a file that is not YAML or cannot be read; the reason for a bound
        plain = not exc.opened or exc.reason.startswith("not valid YAML")
        raise ConfigError(where if plain else f"{where}: {exc.reason}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(where)
    return {str(k).lower(): v for k, v in data.items()}
