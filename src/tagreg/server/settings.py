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
    name: ml-registry           # names the server in its writes' `Tagreg-Server:` trailer (default: host name)
    tokens:                     # people and bots who may write (TAGREG_TOKEN stays the admin token)
      - name: Alice Doe
        email: alice@example.com
        hash: sha256:9f86d0...  # `tagreg serve --hash-token` prints it; never the token itself
        scopes: {repos: [vision], actions: [register, assign], stages: [dev, staging]}  # default: all
    signing: {format: ssh, key: keys/server}  # the server signs its writes with this key (ssh or openpgp)
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

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
from . import people as P

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


@dataclass(frozen=True)
class Signing:
    """The key the server signs its writes with: `format` ssh (a private key file) or openpgp (an
    armored secret key file, as `gpg --export-secret-keys --armor` writes it), without a passphrase."""

    format: str
    key: Path


def _host_name() -> str:
    import socket

    return _clean_name(socket.gethostname()) or "tagreg"


def _clean_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@:+-]+", "-", text).strip("-")[:100]


@dataclass
class Settings:
    """Everything `tagreg serve` needs to know, besides the command line."""

    repos: list[RepoSettings]
    index: Path
    source: Path | None = None  # the config file read, if any
    write: bool = False
    token: str | None = field(default=None, repr=False)
    people: list[P.Person] = field(default_factory=list)  # `tokens:`
    signing: Signing | None = None
    name: str = field(default_factory=lambda: _host_name())  # in the `Tagreg-Server:` trailer of writes

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


_PATTERN = re.compile(r"[A-Za-z0-9*?\[\]!._/:=@-]+")
_EMAIL = re.compile(r"[^\s<>@\\\"',;()]+@[^\s<>@\\\"',;()]+")


def _names(what: str, known: tuple[str, ...] | None = None):
    """A check of a scope's list: names or shell patterns (or, with known, some of those words)."""

    def check(value: Any) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise _refused(f"'{what}' must be a non-empty list (leave it out for every one)")
        for item in value:
            if known is not None and item not in known:
                raise _refused(f"'{what}' has an unknown action '{item[:40]}' (known: {', '.join(known)})")
            if known is None and (len(item) > 200 or not _PATTERN.fullmatch(item)):
                raise _refused(f"'{what}' must list names or patterns such as 'nlp-*', not {item[:40]!r}")
        return value

    return check


class _Scopes(BaseModel):
    """What a token may change (each: every one when left out)."""

    model_config = _STRICT
    repos: Annotated[list[str] | None, BeforeValidator(_names("repos"))] = None
    actions: Annotated[list[str] | None, BeforeValidator(_names("actions", P.ACTIONS))] = None
    stages: Annotated[list[str] | None, BeforeValidator(_names("stages"))] = None


def _person_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refused("'name' must be the person's (or bot's) name")
    value = value.strip()
    if len(value) > 200 or any(c in "<>" or not c.isprintable() for c in value):
        raise _refused("'name' must be at most 200 characters, without '<', '>' or control characters")
    return value


def _email(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value.strip()):
        raise _refused(f"'email' must be an e-mail address such as alice@example.com, not {str(value)[:60]!r}")
    return value.strip()


def _digest(value: Any) -> bytes:
    # The value is never quoted: it may be a token pasted where its hash belongs.
    found = P.parse_hash(value) if isinstance(value, str) else None
    if found is None:
        raise _refused(f"'hash' must be {P.HASH_PREFIX} and 64 hex digits, the line `tagreg serve --hash-token` "
                       "prints (the token's hash, never the token itself)")
    return found


class _Token(BaseModel):
    """One entry of `tokens:`: whose token it is, its hash, and its scopes."""

    model_config = _STRICT
    name: Annotated[str, BeforeValidator(_person_name)]
    email: Annotated[str, BeforeValidator(_email)]
    hash: Annotated[bytes, BeforeValidator(_digest)]
    scopes: _Scopes = _Scopes()

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise _refused("must be a mapping with name, email, hash (and scopes)")
        missing = [key for key in ("name", "email", "hash") if key not in value]
        if missing:
            raise _refused(f"needs {', '.join(missing)}")
        return value


class _Signing(BaseModel):
    """`signing:`: the key the server signs its writes with."""

    model_config = _STRICT
    format: Literal["ssh", "openpgp"]
    key: str

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not value or "\0" in value:
            raise _refused("'key' must be the path of a key file")
        return value


class _File(BaseModel):
    """registries.yaml: a mapping with `repos:` (or the list of repos alone)."""

    model_config = _STRICT
    repos: list[_Repo]
    refresh: Seconds = DEFAULT_REFRESH
    index: str | None = None
    name: str | None = None
    tokens: list[_Token] = []
    signing: _Signing | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and (not value or _clean_name(value) != value):
            raise _refused(f"name must be letters, digits and . _ @ : + - (at most 100), not {value[:40]!r}")
        return value

    @field_validator("tokens", mode="before")
    @classmethod
    def _token_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _refused("'tokens' must be a list of people (name, email, hash, scopes)")
        return value

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
    in_entry = len(loc) >= 2 and loc[0] in ("repos", "tokens") and isinstance(loc[1], int)
    where = f"{path}: {loc[0]}[{int(loc[1]) + 1}]" if in_entry else path
    keys = loc[2:] if in_entry else loc
    if first["type"] == "extra_forbidden":  # every unknown key of the same mapping at once
        unknown = sorted(str(p["loc"][-1]) for p in problems if p["type"] == "extra_forbidden"
                         and p["loc"][:-1] == loc[:-1])
        inside = "".join(f": {k}" for k in keys[:-1])
        word = "key" if in_entry or inside else "setting"
        return f"{where}{inside}: unknown {word}(s) {', '.join(unknown)}"
    if first["type"] == "tagreg":
        inside = "".join(f": {k}" for k in keys[:-1])
        return f"{where} {first['msg']}" if in_entry and not keys else f"{where}{inside}: {first['msg']}"
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
    settings = Settings(repos, _reading(index), source=file, people=_people(written.tokens, path))
    if written.name:
        settings.name = written.name
    if written.signing is not None:
        key = (base / written.signing.key).resolve()
        if not key.is_file():
            raise SettingsError(f"{path}: signing: 'key' {key} is not a file")
        settings.signing = Signing(written.signing.format, key)
    return settings


def _people(tokens: list[_Token], path: str) -> list[P.Person]:
    """The people of `tokens:`; each hash once (two people with one token could not be told apart)."""
    people: list[P.Person] = []
    for n, entry in enumerate(tokens, 1):
        for m, other in enumerate(people, 1):
            if other.digest == entry.hash:
                raise SettingsError(f"{path}: tokens[{n}] has the same hash as tokens[{m}]: "
                                    "give each person a token of their own")
        scopes = entry.scopes
        people.append(P.Person(entry.name, entry.email, entry.hash, P.Scopes(
            *(tuple(v) if v is not None else None for v in (scopes.repos, scopes.actions, scopes.stages)))))
    return people
