"""`watch.yaml`: which registries to follow, where to deliver their events, how hard to try.

```yaml
interval: 30                       # default polling interval, seconds
state: ~/.local/share/tagreg/watch.sqlite
repos:
  - path: /srv/registry            # or url: https://github.com/acme/models.git
    name: models                   # the `repo` in payloads (default: path or URL)
    interval: 10
    branch: main                   # remotes: fetch this branch (and tags) only
targets:
  - url: https://deploy.example.com/hooks/tagreg
    secret_env: TAGREG_HOOK_SECRET # or secret: ...
    filter: {names: [churn], events: [assignment], stages: [prod]}
  - command: ["./deploy.sh", "--fast"]
delivery: {max_attempts: 8, backoff: 2, max_backoff: 600, timeout: 10, batch: 100, settle: 5}
listen: {host: 127.0.0.1, port: 8787, secret_env: TAGREG_LISTEN_SECRET,
         timeout: 10, max_body: 26214400, max_connections: 16}
```
"""

from __future__ import annotations

import fnmatch
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import yaml as Y
from ..errors import UserError
from ..remote import redact, strip_credentials
from ..schema import (
    Invalid,
    at_least_zero,
    checked,
    count,
    items,
    optional,
    positive,
    read,
    section,
    shown,
    strings,
    text,
)

EVENT_WORDS = {"registration", "deregistration", "assignment", "unassignment", "deprecation"}


class WatchConfigError(UserError):
    """watch.yaml cannot be used."""


def _events(value: Any) -> list[str]:
    found = strings(value)
    unknown = set(found) - EVENT_WORDS
    if unknown:
        raise Invalid(f"must name events among {sorted(EVENT_WORDS)}, not {sorted(unknown)}")
    return found


@dataclass
class Filter:
    """Which events a target wants; empty lists mean all. Names and repos accept shell patterns."""

    names: list[str] = field(default_factory=list, metadata=checked(strings))
    events: list[str] = field(default_factory=list, metadata=checked(_events))
    stages: list[str] = field(default_factory=list, metadata=checked(strings))
    repos: list[str] = field(default_factory=list, metadata=checked(strings))

    def matches(self, payload: dict[str, Any]) -> bool:
        """Whether the event payload passes this filter."""
        if self.names and not any(fnmatch.fnmatchcase(payload["name"], n) for n in self.names):
            return False
        if self.events and payload["event"] not in self.events:
            return False
        if self.stages and payload.get("stage") not in self.stages:
            return False
        return not self.repos or any(fnmatch.fnmatchcase(payload["repo"], r) for r in self.repos)


@dataclass
class Target:
    """Where events go: an HTTP endpoint (POST, signed) or a command."""

    id: str  # stable key in the outbox: the name, else the URL without credentials, else the command
    url: str | None = None
    secret: str | None = None
    command: list[str] | None = None
    filter: Filter = field(default_factory=Filter)

    @property
    def display(self) -> str:
        """How the target is shown: never with credentials or secrets."""
        return redact(self.url) if self.url else " ".join(self.command or [])


@dataclass
class RepoConfig:
    """A registry to follow."""

    location: str
    label: str
    interval: float
    branch: str | None = None


@dataclass
class Delivery:
    """Retry policy."""

    max_attempts: int = field(default=8, metadata=checked(count))
    backoff: float = field(default=2.0, metadata=checked(at_least_zero))
    max_backoff: float = field(default=600.0, metadata=checked(at_least_zero))
    timeout: float = field(default=10.0, metadata=checked(positive))
    batch: int = field(default=100, metadata=checked(count))
    # seconds to hold an assignment to a bare commit, waiting for its registration
    settle: float = field(default=5.0, metadata=checked(at_least_zero))


@dataclass
class WatchConfig:
    """The whole watch.yaml."""

    repos: list[RepoConfig]
    targets: list[Target]
    state: Path
    interval: float = 30.0
    delivery: Delivery = field(default_factory=Delivery)
    listen_host: str | None = None
    listen_port: int | None = None
    listen_secret: str | None = None
    listen_timeout: float = 10.0  # seconds a push endpoint connection may take in all
    listen_max_body: int = 25 * 1024 * 1024  # bytes; GitHub caps webhook payloads at 25 MB
    listen_max_connections: int = 16
    source: Path | None = None  # the watch.yaml it was read from

    @property
    def recover_command(self) -> str:
        """The command that recovers this configuration's outbox."""
        where = f" --config {shlex.quote(str(self.source))}" if self.source else ""
        return f"tagreg watch{where} recover"


def default_state() -> Path:
    """`$XDG_DATA_HOME/tagreg/watch.sqlite` (or ~/.local/share/…)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "tagreg" / "watch.sqlite"


def _command(value: Any) -> list[str]:
    """A command: its argument list, or one string split as a shell would."""
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as exc:  # an unclosed quote
            raise Invalid(f"must be a command line a shell could split ({exc})") from None
    if not isinstance(value, list):
        raise Invalid(f"must be a command: a string or a list of strings, not {shown(value)}")
    return items(text)(value)


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise Invalid(f"must be a port number, not {shown(value)}")
    return value


# The file as written; parse() turns it into a WatchConfig (paths resolved, secrets read, ids given).

@dataclass
class _Repo:
    path: str | None = field(default=None, metadata=checked(optional(text)))
    url: str | None = field(default=None, metadata=checked(optional(text)))
    name: str | None = field(default=None, metadata=checked(optional(text)))
    interval: float | None = field(default=None, metadata=checked(positive))
    branch: str | None = field(default=None, metadata=checked(optional(text)))


def _repo(value: Any) -> _Repo:
    if isinstance(value, str):
        value = {"url" if "://" in value else "path": value}
    entry = read(_Repo, value) if isinstance(value, dict) else None
    if entry is None or not (entry.path or entry.url):
        raise Invalid("needs path: or url:")
    return entry


@dataclass
class _Target:
    url: str | None = field(default=None, metadata=checked(optional(text)))
    command: list[str] | None = field(default=None, metadata=checked(optional(_command)))
    name: str | None = field(default=None, metadata=checked(optional(text)))
    secret: str | None = field(default=None, metadata=checked(optional(text)))
    secret_env: str | None = field(default=None, metadata=checked(optional(text)))
    filter: Filter = field(default_factory=Filter, metadata=checked(section(Filter)))


def _target(value: Any) -> _Target:
    entry = read(_Target, value) if isinstance(value, dict) else None
    if entry is None or not (entry.url or entry.command):
        raise Invalid("needs url: or command:")
    return entry


@dataclass
class _Listen:
    host: str | None = field(default=None, metadata=checked(optional(text)))
    port: int | None = field(default=None, metadata=checked(optional(_port)))
    secret: str | None = field(default=None, metadata=checked(optional(text)))
    secret_env: str | None = field(default=None, metadata=checked(optional(text)))
    timeout: float = field(default=10.0, metadata=checked(positive))
    max_body: int = field(default=25 * 1024 * 1024, metadata=checked(count))
    max_connections: int = field(default=16, metadata=checked(count))


@dataclass
class _File:
    interval: float = field(default=30.0, metadata=checked(positive))
    state: str | None = field(default=None, metadata=checked(optional(text)))
    repos: list[_Repo] = field(default_factory=list, metadata=checked(items(_repo)))
    targets: list[_Target] = field(default_factory=list, metadata=checked(items(_target)))
    delivery: Delivery = field(default_factory=Delivery, metadata=checked(section(Delivery)))
    listen: _Listen = field(default_factory=_Listen, metadata=checked(section(_Listen)))


def _secret(entry: _Target | _Listen, where: str, needed: bool = True) -> str | None:
    """The secret of a target or of listen:; when not needed (a command that only reads the outbox),
    an unset secret_env is no error."""
    if entry.secret_env:
        value = os.environ.get(entry.secret_env)
        if not value and needed:
            raise WatchConfigError(f"{where}: environment variable {entry.secret_env} is not set")
        return value or None
    return entry.secret or None


def parse(data: Any, base: Path = Path("."), secrets: bool = True, where: str = "watch config") -> WatchConfig:
    """Validate a parsed watch.yaml (paths relative to base; where names it in errors); secrets=False
    for the commands that deliver nothing (status, recover): they need no secret_env set."""
    if not isinstance(data, dict):
        raise WatchConfigError(f"{where} must be a mapping with repos: and targets:")
    try:
        file = read(_File, data)
    except Invalid as exc:
        raise WatchConfigError(exc.line(where)) from None
    repos = []
    for entry in file.repos:
        location = entry.url or str((base / os.path.expanduser(entry.path or "")).resolve())
        label = entry.name or (strip_credentials(location) if entry.url else entry.path or "")
        repos.append(RepoConfig(location, label, entry.interval or file.interval, entry.branch))
    if not repos:
        raise WatchConfigError(f"{where} lists no repos")
    targets = []
    for n, target in enumerate(file.targets):
        ident = target.name or (strip_credentials(target.url) if target.url else " ".join(target.command or []))
        secret = _secret(target, f"{where}: targets[{n}]", secrets)
        targets.append(Target(ident, target.url, secret, target.command, target.filter))
    if not targets:
        raise WatchConfigError(f"{where} lists no targets")
    if len({t.id for t in targets}) != len(targets):
        raise WatchConfigError(f"{where}: two targets have the same url/command; give them distinct name:")
    state = Path(os.path.expanduser(file.state)) if file.state else default_state()
    if not state.is_absolute():
        state = (base / state).resolve()
    listen = file.listen
    return WatchConfig(repos, targets, state, file.interval, file.delivery, listen.host, listen.port or None,
                       _secret(listen, f"{where}: listen", secrets), listen.timeout, listen.max_body,
                       listen.max_connections)


def load(path: str | Path, secrets: bool = True) -> WatchConfig:
    """Read and validate watch.yaml (secrets: as in parse)."""
    path = Path(path)
    try:
        data = Y.load_file(path, str(path))
    except Y.YamlError as exc:  # cannot be read, not UTF-8, not YAML, or over the bounds
        raise WatchConfigError(str(exc)) from None
    config = parse(data, path.parent, secrets, str(path))
    config.source = path
    return config
