"""What `tagreg serve` serves: the repositories of a `registries.yaml`, or the one it is started in.

    # registries.yaml
    refresh: 60                 # seconds between background fetches of remote repositories
    index: tagreg-index.sqlite  # the cache (default: in tagreg's cache folder); relative to this file
    repos:
      - ../churn-models                           # a local repository (relative to this file)
      - path: ../vision
        push: origin                              # web writes push their tags there (default: not pushed)
      - url: https://github.com/acme/fraud.git    # a remote one, read through its cached mirror
        id: fraud                                 # its id in URLs (default: from the path or URL)
        refresh: 300                              # its own fetch interval
        web: https://github.com/acme/fraud        # where commit links point (default: guessed)
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .. import yaml as Y
from ..errors import UserError
from ..remote import is_url, strip_credentials

DEFAULT_REFRESH = 60.0
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


class SettingsError(UserError):
    """A registries.yaml that cannot be used."""


@dataclass
class RepoSettings:
    """One repository to serve."""

    id: str
    location: str  # an absolute path, or a URL
    remote: bool
    refresh: float = DEFAULT_REFRESH
    web: str | None = None
    push: str | None = None  # a local repository's git remote that writes push to (remotes always push)


@dataclass
class Settings:
    """Everything `tagreg serve` needs to know, besides the command line."""

    repos: list[RepoSettings]
    index: Path
    source: Path | None = None  # the config file read, if any
    write: bool = False
    token: str | None = field(default=None, repr=False)

    def repo(self, repo_id: str) -> RepoSettings | None:
        """The repository with this id, or None."""
        return next((r for r in self.repos if r.id == repo_id), None)


# -- the file, as written -----------------------------------------------------------------------

def _refused(text: str) -> PydanticCustomError:
    """A value refused in tagreg's own words (the text is not a template: it may quote the value)."""
    return PydanticCustomError("tagreg", "{text}", {"text": text})


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise _refused(f"refresh must be a positive number of seconds, not {value!r}")
    return float(value)


Seconds = Annotated[float, BeforeValidator(_seconds)]
_STRICT = ConfigDict(extra="forbid", coerce_numbers_to_str=True)  # `id: 2024` is the text it looks like


class _Repo(BaseModel):
    """One entry of `repos:`: a path, a URL, or a mapping."""

    model_config = _STRICT
    path: str | None = None
    url: str | None = None
    id: str | None = None
    refresh: Seconds | None = None
    web: str | None = None
    push: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"url" if is_url(value) else "path": value}
        if not isinstance(value, dict):
            raise _refused("must be a path, a URL or a mapping")
        if ("path" in value) == ("url" in value):
            raise _refused("needs exactly one of 'path' or 'url'")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and "\0" in value:
            raise _refused("'path' may not contain a NUL character")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not is_url(value):
            raise _refused(f"'{value}' is not a URL (https, ssh, git, file://)")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value and not _ID.match(value):
            raise _refused(f"id '{value}' may only use letters, digits, '.', '_' and '-'")
        return value

    @field_validator("push", mode="before")
    @classmethod
    def _push(cls, value: Any, info: ValidationInfo) -> str | None:
        """The `push:` of a local repository: the name of one of its git remotes."""
        if value is None:
            return None
        if info.data.get("url") is not None:
            raise _refused("'push' is for local repositories (writes to a URL always push to it)")
        if not isinstance(value, str) or not _REMOTE_NAME.fullmatch(value) or ".." in value:
            raise _refused(f"push must name a git remote of the repository (e.g. origin), not {value!r}")
        return value


class _File(BaseModel):
    """registries.yaml: a mapping with `repos:` (or the list of repos alone)."""

    model_config = _STRICT
    repos: list[_Repo]
    refresh: Seconds = DEFAULT_REFRESH
    index: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"repos": value}
        if not isinstance(value, dict):
            raise _refused("expected a mapping with a 'repos' list")
        return value

    @field_validator("repos", mode="before")
    @classmethod
    def _some(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise _refused("'repos' must be a non-empty list of paths or URLs")
        return value


def _one_line(error: ValidationError, path: str) -> str:
    """The first problem pydantic found, as one line naming the file, the entry and the key."""
    problems = error.errors(include_url=False)
    first = problems[0]
    loc = first["loc"]
    in_entry = len(loc) >= 2 and loc[0] == "repos" and isinstance(loc[1], int)
    where = f"{path}: repos[{int(loc[1]) + 1}]" if in_entry else path
    keys = loc[2:] if in_entry else loc
    if first["type"] == "extra_forbidden":  # every unknown key of the same mapping at once
        unknown = sorted(str(p["loc"][-1]) for p in problems if p["type"] == "extra_forbidden"
                         and p["loc"][:-1] == loc[:-1])
        return f"{where}: unknown {'key' if in_entry else 'setting'}(s) {', '.join(unknown)}"
    if first["type"] == "tagreg":
        return f"{where} {first['msg']}" if in_entry and not keys else f"{where}: {first['msg']}"
    key = ".".join(str(k) for k in keys)
    return f"{where}: '{key}' {first['msg'].replace('Input should be', 'must be', 1)}"


# -- what is served -----------------------------------------------------------------------------

def _default_id(location: str) -> str:
    tail = strip_credentials(location).rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
    tail = re.sub(r"\.git$", "", tail)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-.") or "repo"


def _default_index(key: str) -> Path:
    from .. import cache

    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache.root() / "server" / f"index-{digest}.sqlite"


def _reading(index: Path) -> Path:
    """The index file of a server that reads as GTO does (TAGREG_GTO_EXACT, `--gto-exact`): beside
    the other one (`NAME-gto-exact.sqlite`), so neither serves rows the other read, even at once."""
    from .. import config

    return index.with_name(f"{index.stem}-gto-exact{index.suffix}") if config.gto_exact() else index


def load(path: str | None, cwd: Path | None = None) -> Settings:
    """Settings from the config file at path, or for the repository in cwd when path is None."""
    cwd = (cwd or Path.cwd()).resolve()
    if path is None:
        from ..git import Git

        where, _ = Git(cwd).locate()
        if where is None:
            raise SettingsError(f"{cwd} is not a git repository: start the server in one, or pass --config")
        root = cwd if where is True else Path(where)  # type: ignore[arg-type]
        repo = RepoSettings(id=_default_id(str(root)), location=str(root), remote=False)
        return Settings([repo], _reading(_default_index(str(root))))

    file = (cwd / path).resolve()
    try:
        written = _File.model_validate(Y.load_file(file, path))
    except Y.YamlError as exc:  # cannot be read, not UTF-8, not YAML, or over the bounds
        raise SettingsError(str(exc)) from None
    except ValidationError as exc:
        raise SettingsError(_one_line(exc, path)) from None
    base = file.parent
    repos: list[RepoSettings] = []
    for n, entry in enumerate(written.repos, 1):
        where = f"{path}: repos[{n}]"
        if entry.url is not None:
            location, remote = entry.url, True
        else:
            location, remote = str((base / str(entry.path)).resolve()), False
            if not Path(location).is_dir():
                raise SettingsError(f"{where}: {location} is not a folder")
        repo_id = entry.id or _default_id(location)
        if not entry.id:  # two folders of one name: keep both, numbered
            taken = {r.id for r in repos}
            stem, k = repo_id, 2
            while repo_id in taken:
                repo_id, k = f"{stem}-{k}", k + 1
        elif any(r.id == repo_id for r in repos):
            raise SettingsError(f"{where}: id '{repo_id}' is used twice")
        repos.append(RepoSettings(
            id=repo_id, location=location, remote=remote,
            refresh=entry.refresh if entry.refresh is not None else written.refresh,
            web=entry.web.rstrip("/") if entry.web else None, push=entry.push,
        ))
    index = (base / written.index).resolve() if written.index else _default_index(str(file))
    return Settings(repos, _reading(index), source=file)
