"""watch.yaml read through its declared shape: defaults, relative paths, secrets, and one clear line
(naming the file and the key) for every value of the wrong kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tagreg.events.watch_config import WatchConfigError, load

from .support import run_tagreg

TARGET = {"url": "https://hooks.example.com/tagreg"}


def write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_defaults_relative_paths_and_shorthands(tmp_path):
    (tmp_path / "models").mkdir()
    config = load(write(tmp_path / "watch.yaml", {
        "state": "state/watch.sqlite",
        "repos": ["models", {"url": "https://user:pw@example.com/acme/fraud.git", "interval": 5, "branch": "main"}],
        "targets": [{**TARGET, "filter": {"names": "churn", "events": ["assignment"]}},
                    {"command": "./deploy.sh --fast 'two words'"}],
        "listen": {"port": 8787},
    }))
    first, second = config.repos
    assert (first.location, first.label, first.interval) == (str(tmp_path / "models"), "models", 30.0)
    assert (second.label, second.interval, second.branch) == ("https://example.com/acme/fraud.git", 5.0, "main")
    hook, command = config.targets
    assert hook.filter.names == ["churn"] and hook.filter.events == ["assignment"] and hook.filter.stages == []
    assert command.command == ["./deploy.sh", "--fast", "two words"] and command.id == "./deploy.sh --fast two words"
    assert config.state == tmp_path / "state" / "watch.sqlite"
    assert (config.delivery.max_attempts, config.delivery.backoff, config.delivery.settle) == (8, 2.0, 5.0)
    assert (config.listen_port, config.listen_timeout, config.listen_max_body) == (8787, 10.0, 25 * 1024 * 1024)


def test_secrets_are_needed_only_to_deliver(tmp_path, monkeypatch):
    path = write(tmp_path / "watch.yaml", {"repos": ["."], "targets": [{**TARGET, "secret_env": "HOOK_SECRET"}],
                                           "listen": {"port": 8787, "secret_env": "LISTEN_SECRET"}})
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    monkeypatch.delenv("LISTEN_SECRET", raising=False)
    assert load(path, secrets=False).targets[0].secret is None
    with pytest.raises(WatchConfigError, match="targets\\[0\\]: environment variable HOOK_SECRET is not set"):
        load(path)
    monkeypatch.setenv("HOOK_SECRET", "s1")
    monkeypatch.setenv("LISTEN_SECRET", "s2")
    config = load(path)
    assert (config.targets[0].secret, config.listen_secret) == ("s1", "s2")


def test_quoted_numbers_are_read_as_numbers(tmp_path):
    path = write(tmp_path / "watch.yaml", {"repos": ["."], "targets": [TARGET], "interval": "30",
                                           "delivery": {"max_attempts": "3", "backoff": "0.5"}})
    config = load(path)
    assert (config.repos[0].interval, config.delivery.max_attempts, config.delivery.backoff) == (30.0, 3, 0.5)


@pytest.mark.parametrize("data, message", [
    ({"interval": "soon"}, "'interval' must be a positive number, not 'soon'"),
    ({"interval": 0}, "'interval' must be a positive number, not 0"),
    ({"delivery": {"max_attempts": "eight"}}, "'delivery.max_attempts' must be a whole number, 1 or more"),
    ({"delivery": {"backoff": -1}}, "'delivery.backoff' must be a number, 0 or more"),
    ({"delivery": [1]}, "'delivery' must be a mapping, not a list"),
    ({"repos": [{"path": ".", "interval": True}]}, "'repos[0].interval' must be a positive number, not True"),
    ({"repos": [{"path": "a\0b"}]}, "'repos[0].path' must be a string without NUL characters"),
    ({"repos": [{"name": "x"}]}, "'repos[0]' needs path: or url:"),
    ({"repos": "."}, "'repos' must be a list, not '.'"),
    ({"repos": []}, "watch.yaml lists no repos"),
    ({"targets": [{**TARGET, "filter": ["churn"]}]}, "'targets[0].filter' must be a mapping, not a list"),
    ({"targets": [{**TARGET, "filter": {"names": {"a": 1}}}]},
     "'targets[0].filter.names' must be a string or a list of strings, not a mapping"),
    ({"targets": [{**TARGET, "filter": {"events": ["promotion"]}}]},
     "'targets[0].filter.events' must name events among ['assignment', "),
    ({"targets": [{"command": "deploy 'unclosed"}]}, "'targets[0].command' must be a command line a shell could split"),
    ({"targets": [{"command": {"run": "x"}}]}, "'targets[0].command' must be a command: a string or a list of strings"),
    ({"targets": [TARGET, TARGET]}, "two targets have the same url/command"),
    ({"targets": []}, "watch.yaml lists no targets"),
    ({"listen": [8787]}, "'listen' must be a mapping, not a list"),
    ({"listen": {"port": "http"}}, "'listen.port' must be a port number, not 'http'"),
    ({"listen": {"timeout": 0}}, "'listen.timeout' must be a positive number, not 0"),
    ({"listen": {"max_body": 1.5}}, "'listen.max_body' must be a whole number, 1 or more, not 1.5"),
])
def test_a_wrong_value_is_one_line_naming_the_file_and_the_key(tmp_path, data, message):
    path = write(tmp_path / "watch.yaml", {"repos": ["."], "targets": [TARGET], **data})
    with pytest.raises(WatchConfigError) as caught:
        load(path)
    line = str(caught.value)
    assert line.startswith(f"{path}") and message in line and "\n" not in line, line


@pytest.mark.parametrize("text, message", [
    ("- a list\n", "must be a mapping with repos: and targets:"),
    ("repos: [\n", "not valid YAML"),
])
def test_a_file_of_the_wrong_shape_is_one_line(tmp_path, text, message):
    with pytest.raises(WatchConfigError) as caught:
        load(write(tmp_path / "watch.yaml", text))
    assert message in str(caught.value) and str(tmp_path) in str(caught.value)


def test_a_missing_file_is_one_line(tmp_path):
    result = run_tagreg(tmp_path, "watch", "--config", "nothing.yaml", "status")
    line = result.stderr.strip()
    assert result.returncode == 1 and line.endswith("cannot read nothing.yaml: No such file or directory")
    assert len(line.splitlines()) == 1


def test_watch_needs_no_server_extra(tmp_path):
    """`tagreg watch` is in the core: it reads watch.yaml without pydantic (nor FastAPI) installed."""
    write(tmp_path / "watch.yaml", {"repos": ["."], "targets": [TARGET], "state": "w.sqlite"})
    blocked = "import sys; sys.modules.update(dict.fromkeys(['pydantic', 'pydantic_core', 'fastapi']));"
    run = f"{blocked} sys.argv = ['tagreg', 'watch', '--config', 'watch.yaml', 'status']; " \
          "import runpy; runpy.run_module('tagreg', run_name='__main__')"
    result = subprocess.run([sys.executable, "-c", run], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "the watcher has not run" in result.stdout
