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

from ..errors import UserError
from ..remote import redact, strip_credentials

EVENT_WORDS = {"registration", "deregistration", "assignment", "unassignment", "deprecation"}


class WatchConfigError(UserError):
    """watch.yaml cannot be used."""


@dataclass
class Filter:
    """Which events a target wants; empty lists mean all. Names and repos accept shell patterns."""

    names: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    repos: list[str] = field(default_factory=list)

    def matches(self, payload: dict[str, Any]) -> bool:
        """Whether the event payload passes this filter."""
        if self.names and not any(fnmatch.fnmatchcase(payload["name"], n) for n in self.names):
            return False
        if self.events and payload["event"] not in self.events:
            return False
        if self.stages and payload.get("stage") not in self.stages:
            return False
        if self.repos and not any(fnmatch.fnmatchcase(payload["repo"], r) for r in self.repos):
            return False
        return True


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

    max_attempts: int = 8
    backoff: float = 2.0
    max_backoff: float = 600.0
    timeout: float = 10.0
    batch: int = 100
    settle: float = 5.0  # seconds to hold an assignment to a bare commit, waiting for its registration


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


def _secret(entry: dict, where: str, needed: bool = True) -> str | None:
    """The secret of a target or of listen:; when not needed (a command that only reads the outbox),
    an unset secret_env is no error."""
    if entry.get("secret_env") and not needed:
        return os.environ.get(str(entry["secret_env"])) or None
    if entry.get("secret_env"):
        value = os.environ.get(str(entry["secret_env"]))
        if not value:
            raise WatchConfigError(f"{where}: environment variable {entry['secret_env']} is not set")
        return value
    return str(entry["secret"]) if entry.get("secret") else None


def _list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise WatchConfigError(f"{where} must be a list")
    return [str(v) for v in value]


def parse(data: Any, base: Path = Path("."), secrets: bool = True) -> WatchConfig:
    """Validate a parsed watch.yaml (paths relative to base); secrets=False for the commands that
    deliver nothing (status, recover): they need no secret_env set."""
    if not isinstance(data, dict):
        raise WatchConfigError("watch config must be a mapping with repos: and targets:")
    interval = float(data.get("interval", 30))
    repos = []
    for i, entry in enumerate(data.get("repos") or []):
        if isinstance(entry, str):
            entry = {"url" if "://" in entry else "path": entry}
        if not isinstance(entry, dict) or not (entry.get("path") or entry.get("url")):
            raise WatchConfigError(f"repos[{i}] needs path: or url:")
        location = str(entry.get("url") or (base / os.path.expanduser(str(entry["path"]))).resolve())
        label = str(entry.get("name") or (strip_credentials(location) if entry.get("url") else entry["path"]))
        repos.append(RepoConfig(location, label, float(entry.get("interval", interval)), entry.get("branch")))
    if not repos:
        raise WatchConfigError("watch config lists no repos")
    targets = []
    for i, entry in enumerate(data.get("targets") or []):
        where = f"targets[{i}]"
        if not isinstance(entry, dict) or not (entry.get("url") or entry.get("command")):
            raise WatchConfigError(f"{where} needs url: or command:")
        raw_filter = entry.get("filter") or {}
        flt = Filter(_list(raw_filter.get("names"), f"{where}.filter.names"),
                     _list(raw_filter.get("events"), f"{where}.filter.events"),
                     _list(raw_filter.get("stages"), f"{where}.filter.stages"),
                     _list(raw_filter.get("repos"), f"{where}.filter.repos"))
        unknown = set(flt.events) - EVENT_WORDS
        if unknown:
            raise WatchConfigError(f"{where}.filter.events: unknown {sorted(unknown)}; use {sorted(EVENT_WORDS)}")
        command = entry.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        url = str(entry["url"]) if entry.get("url") else None
        ident = str(entry.get("name") or (strip_credentials(url) if url else " ".join(command)))
        targets.append(Target(ident, url, _secret(entry, where, secrets), command, flt))
    if not targets:
        raise WatchConfigError("watch config lists no targets")
    if len({t.id for t in targets}) != len(targets):
        raise WatchConfigError("two targets have the same url/command; give them distinct name:")
    delivery = Delivery(**{k: v for k, v in (data.get("delivery") or {}).items() if k in Delivery.__dataclass_fields__})
    listen = data.get("listen") or {}
    if not isinstance(listen, dict):
        raise WatchConfigError("listen must be a mapping (host:, port:, secret_env:, ...)")
    state = Path(os.path.expanduser(str(data["state"]))) if data.get("state") else default_state()
    if not state.is_absolute():
        state = (base / state).resolve()
    return WatchConfig(repos, targets, state, interval, delivery, listen.get("host"),
                       int(listen["port"]) if listen.get("port") else None, _secret(listen, "listen", secrets) if listen else None,
                       _positive(listen, "timeout", 10.0, float), _positive(listen, "max_body", 25 * 1024 * 1024, int),
                       _positive(listen, "max_connections", 16, int))


def _positive(listen: dict, key: str, default, kind):
    """listen.<key> as a positive number of kind (default when absent)."""
    value = listen.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or kind(value) <= 0:
        raise WatchConfigError(f"listen.{key} must be a positive number")
    return kind(value)


def load(path: str | Path, secrets: bool = True) -> WatchConfig:
    """Read and validate watch.yaml (secrets: as in parse)."""
    from ..bounded_yaml import YamlError, read_file
    from ..bounded_yaml import load as load_yaml

    path = Path(path)
    try:
        data = load_yaml(read_file(path))
    except OSError as exc:
        raise WatchConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except YamlError as exc:  # not UTF-8, not YAML, or over the bounds
        raise WatchConfigError(f"{path}: {exc}") from exc
    try:
        config = parse(data, path.parent, secrets)
        config.source = path
        return config
    except (TypeError, ValueError) as exc:
        if isinstance(exc, WatchConfigError):
            raise
        raise WatchConfigError(f"{path}: {exc}") from exc
