"""The `.gto` config file and `GTO_*` environment variables, read as GTO reads them.

Priority: environment over file over defaults. Lists in the environment are JSON
(`GTO_STAGES='["dev", "prod"]'`). Names in `stages` and `types` must be valid names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from . import tags as T
from .errors import UserError

CONFIG_FILE_NAME = ".gto"
DEFAULT_INDEX = "artifacts.yaml"


class ConfigError(UserError, ValueError):
    """The config file or a GTO_* variable cannot be used."""


@dataclass
class Config:
    """Effective settings for one repository."""

    stages: list[str] | None = None
    types: list[str] | None = None
    index: str = DEFAULT_INDEX
    emojis: bool = True
    log_level: str = "INFO"
    debug: bool = False
    config_file_name: str = CONFIG_FILE_NAME
    enrichments: list[Any] = field(default_factory=list)
    autoload_enrichments: bool = True
    source: str | None = None  # the .gto file read, if any

    def check_stage(self, stage: str) -> str:
        """Return stage if it is valid and allowed, else raise ConfigError/GrammarError."""
        T.check_stage(stage)
        if self.stages is not None and stage not in self.stages:
            raise ConfigError(f"Stage '{stage}' is not allowed; allowed stages are: {', '.join(self.stages) or '(none)'}")
        return stage

    def check_type(self, type_: str) -> str:
        """Return type_ if it is valid and allowed."""
        T.check_stage(type_)
        if self.types is not None and type_ not in self.types:
            raise ConfigError(f"Type '{type_}' is not allowed; allowed types are: {', '.join(self.types) or '(none)'}")
        return type_


_BOOL_TRUE = {"1", "true", "yes", "on", "y", "t"}
_BOOL_FALSE = {"0", "false", "no", "off", "n", "f"}


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    raise ConfigError(f"{where}: '{value}' is not a boolean")


def _names(value: Any, where: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        import json  # only for a list given as text (in the environment)

        try:
            value = json.loads(value)
        except ValueError:
            value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and T.is_name(v) for v in value):
        raise ConfigError(where)
    return list(value)


def emojis_enabled() -> bool:
    """Emoji in output, decided by GTO_EMOJIS alone (as in GTO)."""
    value = os.environ.get("GTO_EMOJIS")
    if value is None:
        return True
    return value.strip().lower() not in _BOOL_FALSE


def file_name(environ: dict[str, str] | None = None) -> str:
    """The config file's name (`.gto`, or GTO_CONFIG_FILE_NAME)."""
    env = environ if environ is not None else os.environ
    return env.get("GTO_CONFIG_FILE_NAME", CONFIG_FILE_NAME)


def load(
    root: str | os.PathLike | None,
    environ: dict[str, str] | None = None,
    text: str | None = None,
    where: str | None = None,
) -> Config:
    """Read `.gto` in root (or its text, for a repository without work tree) and GTO_* variables."""
    env = {k.upper(): v for k, v in (environ if environ is not None else os.environ).items() if k.upper().startswith("GTO_")}
    values: dict[str, Any] = {}
    config = Config()
    name = file_name(environ)
    if root is not None:
        path = os.path.join(os.fspath(root), name)
        if os.path.isfile(path):
            _inside(root, path)
            values = _read_file(path)
            config.source = path
    elif text is not None:
        values = _parse_text(text, f"Wrong config file '{where or name}'")
        config.source = where or name
    for key, value in env.items():
        values[key[len("GTO_"):].lower()] = value
    where = f"Wrong config file '{os.path.realpath(config.source) if root else config.source}'" if config.source \
        else "Wrong GTO_* environment variable"
    config.index = _index(values.get("index", DEFAULT_INDEX), where)
    try:
        config.stages = _names(values.get("stages"), where)
        config.types = _names(values.get("types"), where)
        config.emojis = _bool(values.get("emojis", True), where)
        config.log_level = str(values.get("log_level", "INFO"))
        config.debug = _bool(values.get("debug", False), where)
        config.config_file_name = name
        config.autoload_enrichments = _bool(values.get("autoload_enrichments", True), where)
        enrichments = values.get("enrichments", [])
        if isinstance(enrichments, str):
            import json

            config.enrichments = json.loads(enrichments)
        else:
            config.enrichments = list(enrichments or [])
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ConfigError):
            raise ConfigError(where) from exc
        raise ConfigError(where) from exc
    return config


def _inside(root: str | os.PathLike, path: str) -> None:
    """ConfigError if the config file is a symlink that leads out of the repository (a repository
    may commit `.gto -> /etc/…`: its settings are the repository's own, not other files')."""
    top = os.path.realpath(root)
    if os.path.islink(path) and os.path.commonpath([top, os.path.realpath(path)]) != top:
        raise ConfigError(f"Wrong config file '{path}': a symlink leads it out of the repository; refusing to "
                          "follow it")


def _read_file(path: str) -> dict[str, Any]:
    from .bounded_yaml import YamlError, read_file

    where = f"Wrong config file '{os.path.realpath(path)}'"
    try:
        data = read_file(path)
    except YamlError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except OSError as exc:
        raise ConfigError(where) from exc
    return _parse_text(data, where)


def _parse_text(text: str | bytes, where: str) -> dict[str, Any]:
    from .bounded_yaml import YamlError, load

    try:
        data = load(text)
    except YamlError as exc:  # GTO's words for a file that is not YAML; the reason for a bound
        raise ConfigError(where if str(exc).startswith("not valid YAML") else f"{where}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(where)
    return {str(k).lower(): v for k, v in data.items()}


def _index(value: Any, where: str) -> str:
    """The annotation file's name: a plain path inside the repository (tagreg writes to it)."""
    from .annotations import outside_reason

    if not isinstance(value, str):
        raise ConfigError(f"{where}: index must be a file name, not {type(value).__name__}")
    problem = outside_reason(value)
    if problem is not None:
        raise ConfigError(f"{where}: index '{value}' is {problem}")
    return value
