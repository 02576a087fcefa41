"""Links from repository content: an annotation's `repo:` is written by someone else, and `get`,
`doctor` and `link` must follow it only to the transports a reader expects.

Every command runs in its own process group with a timeout, so a link that hangs git (`fd::0`)
fails the test in seconds instead of hanging the suite.
"""

from __future__ import annotations

import base64
import os
import signal
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import Result, git
from remote.conftest import daemon, session_env  # noqa: F401  (fixtures: a `git daemon` on 127.0.0.1)

TIMEOUT = 30
SECRET = b"\x89the unrelated repository's secret\x00"
MODEL = b"\x89the linked model\x00"
ALLOWED = "https://, ssh:// or [user@]host:path, git://"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    """Each test's own cache of mirrors."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TAGREG_CACHE_DIR", str(path))
    return path


def run(cwd, *args: str, env: dict | None = None) -> Result:
    """`python -m tagreg ARGS` in cwd, killed (with its git children) after TIMEOUT seconds."""
    proc = subprocess.Popen([sys.executable, "-m", "tagreg", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})})
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"`tagreg {' '.join(args)}` hung for {TIMEOUT} s")
    return Result(proc.returncode, out, err)


def refusal(result: Result) -> str:
    """The one `❌` line of a command that refused (exit 1, no traceback)."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Unexpected error" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("❌ "), result.stderr
    return lines[0]


def doctor_errors(result: Result) -> list[str]:
    """The `❌` findings of `doctor --strict`, which must fail."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Unexpected error" not in result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("❌")]


def make_repo(path: Path, files: dict[str, bytes]) -> Path:
    """A work tree with files committed on main, tagged v1.0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    git(path.parent, "init", "-q", "-b", "main", str(path))
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "files")
    git(path, "tag", "-a", "v1.0", "-m", "v1.0")
    return path


def commit_link(path: Path, link: dict, name: str = "m") -> None:
    """Commit artifacts.yaml declaring name as a link, and register it (as `tagreg register` does)."""
    (path / "artifacts.yaml").write_text(yaml.safe_dump({name: {"type": "model", **link}}, sort_keys=False))
    git(path, "add", "artifacts.yaml")
    git(path, "commit", "-q", "-m", "a link")
    git(path, "tag", "-a", f"{name}@v0.0.1", "-m", f"Registering artifact {name} version v0.0.1")


# -- transports that are never allowed ------------------------------------------------------------

HELPERS = ["fd::0", "ext::sh -c touch% pwned", "FD::0"]
COMMANDS = {"get": ("get", "m"), "print-path": ("get", "m", "--print-path"), "print-rev": ("get", "m", "--print-rev")}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("value", HELPERS)
def test_a_remote_helper_transport_is_refused_at_once(repo, command, value):
    commit_link(repo.path, {"path": "model.bin", "repo": value, "rev": "v1.0"})
    line = refusal(run(repo.path, *COMMANDS[command]))
    assert value in line and "remote helper" in line and ALLOWED in line, line
    assert not (repo.path / "pwned").exists() and not (repo.path / "model.bin").exists()


@pytest.mark.parametrize("value", HELPERS)
def test_doctor_strict_refuses_a_remote_helper_transport(repo, value):
    commit_link(repo.path, {"path": "model.bin", "repo": value, "rev": "v1.0"})
    [line] = doctor_errors(run(repo.path, "doctor", "--strict"))
    assert value in line and "remote helper" in line and ALLOWED in line, line
    assert not (repo.path / "pwned").exists()


@pytest.mark.parametrize("value, why", [
    ("--upload-pack=touch pwned", "starts with '-'"),
    ("-oProxyCommand=touch pwned:x", "starts with '-'"),
    ("ssh://-oProxyCommand=touch%20pwned/x.git", "not a host name"),
    ("ssh://-user@example.com/x.git", "user name starts with '-'"),
    ("-host:path", "starts with '-'"),
    ("http://example.com/x.git", "http:// transport is not allowed"),
    ("ftp://example.com/x.git", "ftp:// transport is not allowed"),
    ("http://alice:s3cret@example.com/x.git", "'http://***@example.com/x.git': the http:// transport"),
    ("hg::https://example.com/x", "remote helper"),
    ("bad host:x.git", "not a URL, a path or [user@]host:path"),
    ("https://example.com/x\x1b.git", "control characters"),  # (a line break: refused on reading)
    ("", "empty"),
])
def test_values_git_would_misread_are_refused(repo, value, why):
    commit_link(repo.path, {"path": "model.bin", "repo": value, "rev": "v1.0"})
    line = refusal(run(repo.path, "get", "m"))
    assert why in line and ALLOWED in line, line
    assert "s3cret" not in line
    assert not (repo.path / "pwned").exists()


@pytest.mark.parametrize("link", [
    {"repo": 12345, "rev": "v1.0"},
    {"repo": ["a", "b"], "rev": "v1.0"},
    {"repo": {"url": "x"}, "rev": "v1.0"},
    {"repo": "PLACEHOLDER", "rev": ["v1.0"]},
    {"repo": "PLACEHOLDER", "rev": "--output=/tmp/x"},
])
def test_a_link_that_is_not_text_is_one_clear_line(repo, tmp_path, link):
    """(Reading annotations may also warn about such a value, on lines of their own.)"""
    source = make_repo(tmp_path / "source", {"model.bin": MODEL})
    link = {k: (str(source) if v == "PLACEHOLDER" else v) for k, v in link.items()}
    commit_link(repo.path, {"path": "model.bin", **link})
    result = run(repo.path, "get", "m")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Unexpected error" not in result.stderr and result.stderr.splitlines()[-1].startswith("❌ ")
    result = run(repo.path, "doctor", "--strict")
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert "Unexpected error" not in result.stderr + result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith(("❌", "⚠️")) and "m" in line]
    assert not (repo.path / "model.bin").exists()


# -- local paths and file:// only from a local registry -------------------------------------------


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_a_local_registry_may_link_to_a_repository_on_disk(repo, tmp_path, form):
    source = make_repo(tmp_path / "source", {"models/model.bin": MODEL})
    value = str(source) if form == "path" else f"file://{source}"
    commit_link(repo.path, {"path": "models/model.bin", "repo": value, "rev": "v1.0"})
    out = tmp_path / "out.bin"
    result = run(repo.path, "get", "m", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == MODEL
    assert run(repo.path, "doctor", "--strict").returncode == 0


@pytest.fixture
def secret_repo(tmp_path) -> Path:
    """A repository on the reader's disk that has nothing to do with any registry."""
    return make_repo(tmp_path / "private" / "secret", {"secret.bin": SECRET})


def served_registry(tmp_path, daemon, link: dict, over: str) -> str:  # noqa: F811
    """A bare registry (one linked artifact m) served over `git://` by the daemon or as `file://`;
    its URL."""
    work = make_repo(tmp_path / "registry-work", {"README.md": b"the registry\n"})
    commit_link(work, link)
    bare = (daemon.base if over == "git" else tmp_path) / f"registry-{tmp_path.name}.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return daemon.url(bare.name) if over == "git" else f"file://{bare}"


@pytest.mark.parametrize("over", ["git", "file"])
@pytest.mark.parametrize("form", ["path", "file-url"])
def test_a_remote_registry_cannot_make_get_copy_files_from_the_readers_disk(tmp_path, daemon, secret_repo,  # noqa: F811
                                                                            over, form):
    value = str(secret_repo) if form == "path" else f"file://{secret_repo}"
    url = served_registry(tmp_path, daemon, {"path": "secret.bin", "repo": value, "rev": "HEAD"}, over)
    work = tmp_path / "work"
    work.mkdir()

    line = refusal(run(work, "get", "m", "-r", url))

    assert value in line and "a remote registry cannot link to" in line, line
    assert list(work.iterdir()) == [], "nothing is written"
    line = refusal(run(work, "get", "m", "-r", url, "--print-rev"))
    assert value in line
    [problem] = doctor_errors(run(work, "doctor", "--strict", "-r", url))
    assert value in problem and "a remote registry cannot link to" in problem


def test_git_on_a_linked_repository_allows_only_the_link_transports(tmp_path, daemon, secret_repo):  # noqa: F811
    """Beyond the check of the URL: git itself refuses other transports on a linked repository (a
    partial clone's lazy fetch, a redirect), and nothing of it is written into the mirror's config."""
    from tagreg.api.repository import open_linked
    from tagreg.git import GitError

    source = make_repo(tmp_path / "source", {"model.bin": MODEL})
    bare = daemon.base / f"source-{tmp_path.name}.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    linked = open_linked(daemon.url(bare.name), "m", local=False)
    assert linked.git.out("config", "protocol.allow") == "never"
    with pytest.raises(GitError, match="transport 'file' not allowed"):
        linked.git.run("ls-remote", "--", f"file://{secret_repo}")
    assert "protocol" not in (Path(linked.git.where) / "config").read_text()
    assert linked.git.resolve("v1.0") == git(source, "rev-parse", "v1.0^{commit}").strip()


# -- credentials in a link --------------------------------------------------------------------------


@pytest.fixture
def https_recorder(tmp_path):
    """An HTTPS server on 127.0.0.1 (self-signed) that asks for Basic auth and records every
    Authorization header it gets: (base URL, the list of headers)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization") or "")
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_credentials_in_a_link_are_never_sent_nor_stored(repo, cache_dir, https_recorder):
    where, seen = https_recorder
    commit_link(repo.path, {"path": "model.bin", "repo": f"https://alice:s3cret-token@{where}/team/model.git",
                            "rev": "v1.0"})

    result = run(repo.path, "get", "m", env={"GIT_SSL_NO_VERIFY": "1"})

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert seen, "git asked the server (without credentials)"
    sent = base64.b64encode(b"alice:s3cret-token").decode()
    assert not [h for h in seen if sent in h], "the link's credentials were sent"
    assert "s3cret" not in result.stdout + result.stderr
    # (The parsed annotations, cached by blob id, hold what the registry's own file says.)
    stored = [p for p in cache_dir.rglob("*") if p.is_file() and b"s3cret" in p.read_bytes()
              and "annotations" not in p.relative_to(cache_dir).parts]
    assert stored == []
    assert not (Path(os.environ["HOME"]) / ".git-credentials").exists()


# -- `link` writes only what readers may follow ------------------------------------------------------


def test_link_refuses_a_remote_helper_transport_at_once(repo):
    line = refusal(run(repo.path, "link", "fd::0", "model.bin", "m", "--rev", "HEAD", "--commit"))
    assert "fd::0" in line and ALLOWED in line
    assert not (repo.path / "artifacts.yaml").exists()


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_link_on_a_remote_registry_refuses_a_local_source(tmp_path, secret_repo, form):
    work = make_repo(tmp_path / "registry-work", {"README.md": b"the registry\n"})
    bare = tmp_path / "registry.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    before = git(bare, "rev-parse", "main").strip()
    value = str(secret_repo) if form == "path" else f"file://{secret_repo}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    line = refusal(run(elsewhere, "link", value, "secret.bin", "m", "--rev", "v1.0", "-r", f"file://{bare}"))

    assert value in line and "a remote registry cannot link to" in line
    assert git(bare, "rev-parse", "main").strip() == before


def test_link_writes_the_url_without_credentials_and_keeps_an_ssh_user(repo, tmp_path):
    """What `link` writes is what readers will open; an ssh user name is not a secret (and needed)."""
    from tagreg.links import check

    assert check("https://alice:tok@example.com/x.git", "m", local=False) == ("https://example.com/x.git", "https")
    assert check("https://tok@example.com:8443/x.git", "m", local=False) == ("https://example.com:8443/x.git",
                                                                             "https")
    assert check("ssh://git:pw@example.com/x.git", "m", local=False) == ("ssh://git@example.com/x.git", "ssh")
    assert check("git@example.com:team/x.git", "m", local=False) == ("git@example.com:team/x.git", "ssh")
    assert check("git://[::1]:9418/x.git", "m", local=False) == ("git://[::1]:9418/x.git", "git")
    assert check("file://u:pw@/srv/x.git", "m", local=True) == ("file:///srv/x.git", "file")
    source = make_repo(tmp_path / "source", {"model.bin": MODEL})
    result = run(repo.path, "link", f"file://{source}", "model.bin", "m", "--rev", "v1.0")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((repo.path / "artifacts.yaml").read_text())["m"]["repo"] == f"file://{source}"
