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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError

DEFAULT_REFRESH = 60.0
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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


def _default_id(location: str) -> str:
    from ..remote import strip_credentials

    tail = strip_credentials(location).rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
    tail = re.sub(r"\.git$", "", tail)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-.") or "repo"


def _default_index(key: str) -> Path:
    from .. import cache

    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache.root() / "server" / f"index-{digest}.sqlite"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SettingsError(f"{where}: refresh must be a positive number of seconds, not {value!r}")
    return float(value)


def _push_remote(entry: dict, where: str, remote: bool) -> str | None:
    """The `push:` of a local repository: the name of one of its git remotes."""
    if "push" not in entry or entry["push"] is None:
        return None
    if remote:
        raise SettingsError(f"{where}: 'push' is for local repositories (writes to a URL always push to it)")
    name = entry["push"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", name) or ".." in name:
        raise SettingsError(f"{where}: push must name a git remote of the repository (e.g. origin), not {name!r}")
    return name


def load(path: str | None, cwd: Path | None = None) -> Settings:
    """Settings from the config file at path, or for the repository in cwd when path is None."""
    from ..remote import is_url

    cwd = (cwd or Path.cwd()).resolve()
    if path is None:
        from ..git import Git

        where, _ = Git(cwd).locate()
        if where is None:
            raise SettingsError(f"{cwd} is not a git repository: start the server in one, or pass --config")
        root = cwd if where is True else Path(where)  # type: ignore[arg-type]
        repo = RepoSettings(id=_default_id(str(root)), location=str(root), remote=False)
        return Settings([repo], _default_index(str(root)))

    from ..bounded_yaml import YamlError, read_file
    from ..bounded_yaml import load as load_yaml

    file = (cwd / path).resolve()
    try:
        data = load_yaml(read_file(file))
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except YamlError as exc:  # not UTF-8, not YAML, or over the bounds
        raise SettingsError(f"{path}: {exc}") from exc
    if isinstance(data, list):
        data = {"repos": data}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping with a 'repos' list")
    unknown = set(data) - {"repos", "refresh", "index"}
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    refresh = _number(data["refresh"], path) if "refresh" in data else DEFAULT_REFRESH
    entries = data.get("repos")
    if not isinstance(entries, list) or not entries:
        raise SettingsError(f"{path}: 'repos' must be a non-empty list of paths or URLs")
    base = file.parent
    repos: list[RepoSettings] = []
    for n, entry in enumerate(entries, 1):
        where = f"{path}: repos[{n}]"
        if isinstance(entry, str):
            entry = {"url" if is_url(entry) else "path": entry}
        if not isinstance(entry, dict):
            raise SettingsError(f"{where} must be a path, a URL or a mapping")
        bad = set(entry) - {"path", "url", "id", "refresh", "web", "push"}
        if bad:
            raise SettingsError(f"{where}: unknown key(s) {', '.join(sorted(map(str, bad)))}")
        if ("path" in entry) == ("url" in entry):
            raise SettingsError(f"{where} needs exactly one of 'path' or 'url'")
        if "url" in entry:
            location, remote = str(entry["url"]), True
            if not is_url(location):
                raise SettingsError(f"{where}: '{location}' is not a URL (https, ssh, git, file://)")
        else:
            location, remote = str((base / str(entry["path"])).resolve()), False
            if not Path(location).is_dir():
                raise SettingsError(f"{where}: {location} is not a folder")
        repo_id = str(entry.get("id") or _default_id(location))
        if not _ID.match(repo_id):
            raise SettingsError(f"{where}: id '{repo_id}' may only use letters, digits, '.', '_' and '-'")
        if "id" not in entry:  # two folders of one name: keep both, numbered
            taken = {r.id for r in repos}
            stem, k = repo_id, 2
            while repo_id in taken:
                repo_id, k = f"{stem}-{k}", k + 1
        elif any(r.id == repo_id for r in repos):
            raise SettingsError(f"{where}: id '{repo_id}' is used twice")
        web = entry.get("web")
        repos.append(RepoSettings(
            id=repo_id, location=location, remote=remote,
            refresh=_number(entry["refresh"], where) if "refresh" in entry else refresh,
            web=str(web).rstrip("/") if web else None, push=_push_remote(entry, where, remote),
        ))
    index = (base / str(data["index"])).resolve() if data.get("index") else _default_index(str(file))
    return Settings(repos, index, source=file)
