"""Credentials in a remote's URL are passed to git per call and never stored: not in the cache
folder (names or contents), not in the mirror's config, not in git's credential helpers, not in
any git command line. A call without them, or with wrong or old ones, gets nothing from an
earlier call that had them. Against a real smart-HTTP git server that requires Basic auth."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .git_http import GitHTTPServer

TIMEOUT = 60
USER, PASSWORD = "alice", "s3cr3t-Pa55"
MODEL = b"\x00model bytes\xff"


def git(cwd, *args: str, env: dict | None = None) -> str:
    proc = subprocess.run(["git", *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


def tagreg(cwd, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tagreg", *args], check=False, cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, **(env or {})})


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc.stdout


def refused(proc: subprocess.CompletedProcess) -> str:
    """The one error line of a command that must fail with exit 1."""
    assert proc.returncode == 1, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.fixture
def http(tmp_path):
    """A smart-HTTP git server requiring alice's password, serving reg.git: m@v0.0.1 of models/m.bin."""
    root = tmp_path / "served"
    root.mkdir()
    work = tmp_path / "author"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "models").mkdir()
    (work / "models" / "m.bin").write_bytes(MODEL)
    (work / "artifacts.yaml").write_text("m:\n  type: model\n  path: models/m.bin\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "model")
    git(work, "tag", "-a", "-m", "Registering artifact m version v0.0.1", "m@v0.0.1")
    (work / "README.md").write_text("registry\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "docs")  # HEAD: a commit to register
    git(tmp_path, "clone", "-q", "--bare", str(work), str(root / "reg.git"))
    git(root / "reg.git", "config", "uploadpack.allowFilter", "true")
    server = GitHTTPServer(root, USER, PASSWORD)
    yield server
    server.close()


@pytest.fixture
def work(tmp_path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("TAGREG_CACHE_DIR", str(path))
    return path


def served_tags(server: GitHTTPServer) -> set[str]:
    return set(git(server.root / "reg.git", "tag", "--list").split())


def files_containing(folder: Path, secret: str) -> list[str]:
    """Files under folder whose name or bytes hold secret (as `grep -r` would find it)."""
    found = []
    for path in folder.rglob("*"):
        if secret in path.name or (path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes()):
            found.append(str(path.relative_to(folder)))
    return found


def mirror_config(cache: Path) -> str:
    [mirror] = [p for p in (cache / "repos").iterdir() if p.is_dir()]
    return (mirror / "config").read_text()


def test_right_password_pushes_and_nothing_keeps_it(http, cache, work):
    url = http.url("reg.git", f"{USER}:{PASSWORD}")
    ok(tagreg(work, "register", "m", "-r", url))
    assert "m@v0.0.2" in served_tags(http)
    ok(tagreg(work, "assign", "m", "--version", "v0.0.2", "--stage", "prod", "-r", url))
    assert "m#prod#1" in served_tags(http)
    assert "m#prod" in ok(tagreg(work, "show", "-r", url)) or "prod" in ok(tagreg(work, "show", "-r", url))
    ok(tagreg(work, "get", "m@v0.0.1", "-o", str(work / "m.bin"), "-r", url))  # blobs fetched on demand
    assert (work / "m.bin").read_bytes() == MODEL
    assert files_containing(cache, PASSWORD) == []
    config = mirror_config(cache)
    assert f"url = {http.url('reg.git')}\n" in config
    assert PASSWORD not in config and f"{USER}@" not in config


def test_no_credentials_after_a_call_with_them_is_refused(http, cache, work):
    ok(tagreg(work, "show", "-r", http.url("reg.git", f"{USER}:{PASSWORD}")))
    before = served_tags(http)
    line = refused(tagreg(work, "register", "m", "-r", http.url("reg.git")))
    assert "m@v0.0.2" not in line or "cannot" in line
    assert served_tags(http) == before
    assert files_containing(cache, PASSWORD) == []


def test_wrong_password_after_the_right_one_is_refused(http, cache, work):
    ok(tagreg(work, "show", "-r", http.url("reg.git", f"{USER}:{PASSWORD}")))
    before = served_tags(http)
    result = tagreg(work, "register", "m", "-r", http.url("reg.git", f"{USER}:wrong-one"))
    line = refused(result)
    assert "wrong-one" not in result.stdout + result.stderr and PASSWORD not in result.stderr
    assert "authentication" in line.lower() or "401" in line, line
    assert served_tags(http) == before


def test_a_changed_password_takes_effect_at_once(http, cache, work):
    ok(tagreg(work, "show", "-r", http.url("reg.git", f"{USER}:{PASSWORD}")))
    http.password = "n3w-Pa55"
    refused(tagreg(work, "register", "m", "-r", http.url("reg.git", f"{USER}:{PASSWORD}")))
    assert "m@v0.0.2" not in served_tags(http)
    ok(tagreg(work, "register", "m", "-r", http.url("reg.git", f"{USER}:n3w-Pa55")))
    assert "m@v0.0.2" in served_tags(http)
    assert files_containing(cache, "n3w-Pa55") == [] and files_containing(cache, PASSWORD) == []


def test_a_mirror_that_kept_credentials_forgets_them(http, cache, work):
    """A cache made by an older tagreg, with the password in the mirror's config."""
    url = http.url("reg.git", f"{USER}:{PASSWORD}")
    ok(tagreg(work, "show", "-r", url))
    [mirror] = [p for p in (cache / "repos").iterdir() if p.is_dir()]
    git(mirror, "config", "remote.origin.url", url)
    refused(tagreg(work, "register", "m", "-r", http.url("reg.git")))
    assert "m@v0.0.2" not in served_tags(http)
    assert PASSWORD not in (mirror / "config").read_text()


@pytest.mark.parametrize("password", ["hunter#2?zz", "hunter?2#zz", "hunter@2:zz"])
def test_hash_and_question_mark_in_a_password(http, cache, work, password):
    http.password = password
    literal = http.url("reg.git", f"{USER}:{password}")
    encoded = http.url("reg.git", f"{USER}:" + password.replace("#", "%23").replace("?", "%3F").replace("@", "%40"))
    for url in ([literal, encoded] if "@" not in password else [encoded]):
        ok(tagreg(work, "show", "-r", url))
    ok(tagreg(work, "register", "m", "-r", encoded))
    assert "m@v0.0.2" in served_tags(http)
    names = [str(p.relative_to(cache)) for p in cache.rglob("*")]
    assert names and not [n for n in names if "hunter" in n or "zz" in n or "alice" in n], names
    assert files_containing(cache, "hunter") == []
    assert len([p for p in (cache / "repos").iterdir() if p.is_dir()]) == 1  # one mirror for the one URL


def test_git_is_never_given_the_password_on_its_command_line(http, cache, work, tmp_path):
    """A `git` first on PATH that notes every command line, then runs the real git."""
    real = subprocess.run(["sh", "-c", "command -v git"], check=False, capture_output=True, text=True).stdout.strip()
    spy = tmp_path / "bin"
    spy.mkdir()
    log = tmp_path / "argv.log"
    (spy / "git").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {real} "$@"\n')
    (spy / "git").chmod(0o755)
    env = {"PATH": f"{spy}{os.pathsep}{os.environ['PATH']}"}
    url = http.url("reg.git", f"{USER}:{PASSWORD}")
    ok(tagreg(work, "show", "-r", url, env=env))
    ok(tagreg(work, "register", "m", "-r", url, env=env))
    ok(tagreg(work, "get", "m@v0.0.1", "-o", str(work / "m.bin"), "-r", url, env=env))
    text = log.read_text()
    assert "ls-remote" in text or "fetch" in text or "clone" in text
    assert PASSWORD not in text and f"{USER}:" not in text


def _user_store(home: Path, content: str = "") -> Path:
    """The user's own `credential.helper store`, with content in its file."""
    store = home / "git-credentials"
    store.write_text(content)
    with open(home / ".gitconfig", "a") as handle:
        handle.write(f"[credential]\n\thelper = store --file={store}\n")
    return store


def test_the_users_credential_helper_is_neither_fed_nor_asked(http, cache, work):
    home = Path(os.environ["HOME"])
    store = _user_store(home)
    ok(tagreg(work, "register", "m", "-r", http.url("reg.git", f"{USER}:{PASSWORD}")))
    assert PASSWORD not in store.read_text()  # git would have stored the URL's password there
    store.write_text(f"http://{USER}:{PASSWORD}@127.0.0.1:{http.port}\n")
    refused(tagreg(work, "register", "m", "-r", http.url("reg.git", f"{USER}:wrong-one")))
    assert "m@v0.0.3" not in served_tags(http)


def test_a_url_without_credentials_may_use_the_users_own_helper(http, cache, work):
    home = Path(os.environ["HOME"])
    _user_store(home, f"http://{USER}:{PASSWORD}@127.0.0.1:{http.port}\n")
    ok(tagreg(work, "register", "m", "-r", http.url("reg.git")))
    assert "m@v0.0.2" in served_tags(http)
    assert files_containing(cache, PASSWORD) == []


def test_the_servers_index_keeps_no_credentials(http, cache, tmp_path):
    pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')
    from tagreg.server import settings as S
    from tagreg.server.index import ModelQuery
    from tagreg.server.sources import Hub

    config = tmp_path / "registries.yaml"
    config.write_text(f"repos:\n  - url: {http.url('reg.git', f'{USER}:{PASSWORD}')}\n    id: reg\n"
                      "index: index.sqlite\n")
    hub = Hub(S.load(str(config)))
    source = hub.sources["reg"]
    source.fetch()  # clone, index, and read each version's annotations (blobs fetched on demand)
    assert source.fetch_error is None
    row = hub.index.repos()["reg"]
    assert row["location"] == http.url("reg.git") and not row.get("error"), row
    assert [m["name"] for m in hub.index.models(ModelQuery())[1]] == ["m"]
    assert files_containing(tmp_path, PASSWORD) == ["registries.yaml"]  # only where the admin wrote it
    assert source.refresh() is False  # it compares with what it stored: not rebuilt on every check


@pytest.mark.parametrize("url, plain, settings", [
    ("https://alice:pa%23ss%3Aw@host/r.git", "https://host/r.git",
     {"http.https://host/r.git.extraHeader": "Authorization: Basic YWxpY2U6cGEjc3M6dw==",  # alice:pa#ss:w
      "credential.helper": "", "http.followRedirects": "false"}),
    ("http://alice:p#ss?x@host:8080/r", "http://host:8080/r",
     {"http.http://host:8080/r.extraHeader": "Authorization: Basic YWxpY2U6cCNzcz94",  # alice:p#ss?x
      "credential.helper": "", "http.followRedirects": "false"}),
    ("https://alice@host/r.git", "https://host/r.git", {"credential.username": "alice"}),
    ("ssh://git:pw@host/r.git", "ssh://git@host/r.git", {}),  # ssh logs in as git, and asks for its own
    ("git://u:pw@host/r.git", "git://host/r.git", {}),
    ("file://u:pw@/srv/r.git", "file:///srv/r.git", {}),
    ("https://host/r.git", "https://host/r.git", {}),
    ("git@host:org/r.git", "git@host:org/r.git", {}),
])
def test_what_git_is_given_for_a_url(url, plain, settings, monkeypatch):
    from tagreg.git import credential_env

    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")  # the user's own: kept, ours come after it
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.mine")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "yes")
    given, env = credential_env(url)
    assert given == plain
    pairs = {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(1, 1 + len(settings))}
    assert pairs == settings
    assert env.get("GIT_CONFIG_COUNT", "1") == str(1 + len(settings)) and "GIT_CONFIG_KEY_0" not in env
    assert ("GIT_ASKPASS" in env) == ("credential.helper" in settings)
