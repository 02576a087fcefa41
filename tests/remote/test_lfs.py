"""Git LFS through a remote registry, with the real git-lfs and no LFS server: the registry's bare
repository keeps the LFS objects in its own store (`lfs/objects`, as `git lfs push` to a folder
writes them), which git-lfs reads directly for a `file://` remote; over `git://` there is no LFS
server at all, unless the registry's `.lfsconfig` names one.

- a folder of 100 LFS files comes in one `git lfs fetch` (one batch), not one `git lfs smudge` per file;
- no LFS server, and an object never uploaded, each fail in one line that says so and what to do;
- `doctor` lists the objects of active versions that the LFS server does not have.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from .helpers import EPOCH, error_line, files_under, git, ok, tagreg

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None and not os.environ.get("CI"),
                                reason="git-lfs is not installed")

BUNDLE = {f"part-{i:03}.bin": hashlib.sha256(b"%d" % i).digest() * (1 + i % 7) for i in range(100)}
SINGLE = b"\x00single weights\xff" * 50
LATE = b"weights committed, never uploaded\n"
ODD = {"w.bin": b"odd one\n", "x.bin": b"odd two\n"}
ARTIFACTS = """\
bundle:
  type: model
  path: models/bundle
single:
  path: models/single.bin
odd:
  path: models/a,b
"""


def _tag(work: Path, env: dict, tag: str) -> None:
    git(work, "tag", "-a", "-m", f"Registering {tag}", tag, env={**env, "GIT_COMMITTER_DATE": f"{EPOCH} +0000"})


@pytest.fixture(scope="module")
def lfs_registry(tmp_path_factory, daemon, session_env):
    """A bare registry served by the daemon (its LFS objects in its own store): bundle (100 LFS
    files), single (one), odd (a folder whose name git-lfs's --include cannot take literally)
    registered at the first commit, all uploaded; late@v0.0.1 at a second commit whose object was
    never uploaded (pushed with --no-verify, as without git-lfs's pre-push hook)."""
    root = tmp_path_factory.mktemp("lfs-registry")
    work = root / "work"
    env = session_env
    git(root, "init", "-q", "-b", "main", str(work), env=env)
    git(work, "lfs", "install", "--local", env=env)
    git(work, "lfs", "track", "*.bin", env=env)
    for folder, files in (("models/bundle", BUNDLE), ("models/a,b", ODD)):
        (work / folder).mkdir(parents=True)
        for name, data in files.items():
            (work / folder / name).write_bytes(data)
    (work / "models" / "single.bin").write_bytes(SINGLE)
    (work / "artifacts.yaml").write_text(ARTIFACTS)
    git(work, "add", ".", env=env)
    git(work, "commit", "-q", "-m", "models in LFS", env=env)
    for name in ("bundle", "single", "odd"):
        _tag(work, env, f"{name}@v0.0.1")
    bare = daemon.base / "lfs-registry.git"
    git(daemon.base, "init", "-q", "--bare", str(bare), env=env)
    git(work, "remote", "add", "origin", str(bare), env=env)
    git(work, "push", "-q", "origin", "main", "--tags", env=env)  # its pre-push hook uploads the objects
    (work / "models" / "late.bin").write_bytes(LATE)
    (work / "artifacts.yaml").write_text(ARTIFACTS + "late:\n  path: models/late.bin\n")
    git(work, "add", ".", env=env)
    git(work, "commit", "-q", "-m", "a model whose object stays here", env=env)
    _tag(work, env, "late@v0.0.1")
    git(work, "push", "-q", "--no-verify", "origin", "main", "--tags", env=env)
    assert len(list((bare / "lfs" / "objects").rglob("*"))) > 100, "the objects were uploaded to the bare store"
    return {"bare": bare, "file": f"file://{bare}", "git": daemon.url(bare.name), "work": work}


@pytest.fixture
def lfs_calls(tmp_path, monkeypatch):
    """A `git-lfs` first on PATH that logs each command it is asked for (then runs the real one):
    git finds `git lfs` on PATH. Returns a function giving the logged subcommands."""
    real = shutil.which("git-lfs")
    bindir = tmp_path / "lfs-log-bin"
    bindir.mkdir()
    log = tmp_path / "git-lfs.log"
    (bindir / "git-lfs").write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real}" "$@"\n')
    (bindir / "git-lfs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")

    def calls() -> list[str]:
        found = log.read_text().split() if log.exists() else []
        log.write_text("")
        return found

    return calls


def test_a_folder_of_lfs_files_comes_in_one_batch(lfs_registry, work, lfs_calls):
    out = ok(tagreg(work, "get", "bundle", "-r", lfs_registry["file"], "-o", "bundle"))
    assert "(lfs, commit" in out and "100 files" in out, out
    assert files_under(work / "bundle") == BUNDLE
    calls = lfs_calls()
    assert calls.count("fetch") == 1 and "smudge" not in calls, calls
    ok(tagreg(work, "get", "bundle", "-r", lfs_registry["file"], "-o", "again"))
    assert files_under(work / "again") == BUNDLE
    assert "fetch" not in lfs_calls(), "the objects are in the mirror's LFS store now"


def test_a_single_lfs_file_and_open(lfs_registry, work, lfs_calls):
    from tagreg import api

    ok(tagreg(work, "get", "single", "-r", lfs_registry["file"], "-o", "single.bin"))
    assert (work / "single.bin").read_bytes() == SINGLE
    with api.open("single", repo=lfs_registry["file"]) as f:
        assert f.read() == SINGLE
    assert "smudge" not in lfs_calls()


def test_a_path_git_lfs_would_read_as_a_pattern_is_fetched_file_by_file(lfs_registry, work, lfs_calls):
    """`models/a,b` is two patterns to --include: its files are smudged one by one, correctly."""
    ok(tagreg(work, "get", "odd", "-r", lfs_registry["file"], "-o", "odd"))
    assert files_under(work / "odd") == ODD
    calls = lfs_calls()
    assert "fetch" not in calls and calls.count("smudge") == len(ODD), calls


def test_an_object_never_uploaded_says_so(lfs_registry, work):
    from tagreg import api
    from tagreg.errors import UserError

    line = error_line(tagreg(work, "get", "late", "-r", lfs_registry["file"], "-o", "late.bin"))
    assert "git-lfs could not fetch 'models/late.bin'" in line, line
    assert f"the LFS server at {lfs_registry['file']} does not have it" in line, line
    assert "git lfs push" in line and "Downloading" not in line, line
    assert files_under(work) == {}
    with pytest.raises(UserError, match="does not have it"):
        api.open("late", repo=lfs_registry["file"])


def test_no_lfs_server_over_git_protocol_says_what_to_configure(lfs_registry, work):
    """git-lfs guesses https://HOST/PATH/info/lfs for a git:// remote; nothing answers there."""
    for name in ("bundle", "single"):  # the batch, and the path of one file
        line = error_line(tagreg(work, "get", name, "-r", lfs_registry["git"], "-o", name))
        assert line.startswith(f"❌ git-lfs could not fetch 'models/{'bundle/part-' if name == 'bundle' else 'single'}")
        assert "no LFS server answers at https://127.0.0.1:" in line, line
        assert ".lfsconfig" in line and "lfs.url" in line and "Downloading" not in line, line
    assert files_under(work) == {}


def test_an_lfs_url_in_the_registrys_lfsconfig_is_the_fix(lfs_registry, tmp_path, work, session_env):
    """What the message says to do: the registry's .lfsconfig names its LFS server (here the folder
    that holds the objects); then the git:// registry delivers."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(lfs_registry["bare"]), str(clone), env={**session_env, "GIT_LFS_SKIP_SMUDGE": "1"})
    (clone / ".lfsconfig").write_text(f"[lfs]\n\turl = {lfs_registry['file']}\n")
    git(clone, "add", ".lfsconfig", env=session_env)
    git(clone, "commit", "-q", "-m", "the LFS server", env=session_env)
    served = lfs_registry["bare"].parent / "lfs-with-config.git"
    git(tmp_path, "clone", "-q", "--bare", str(clone), str(served), env=session_env)
    url = lfs_registry["git"].replace("lfs-registry.git", served.name)
    ok(tagreg(work, "get", "bundle", "-r", url, "-o", "bundle"))
    assert files_under(work / "bundle") == BUNDLE


# -- doctor: the objects of active versions the LFS server lacks ------------------------------------


def doctor_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(("❌", "⚠️"))]


def test_doctor_names_the_version_whose_object_the_server_lacks(lfs_registry, work, lfs_calls):
    """From the registry's URL (a fresh mirror: no object here) and in the author's clone (every
    object here, the server lacks one): the same one error, nothing downloaded."""
    for cwd, args in ((work, ("-r", lfs_registry["file"])), (lfs_registry["work"], ())):
        result = tagreg(cwd, "doctor", *args)
        assert result.returncode == 1, result.stdout
        late = hashlib.sha256(LATE).hexdigest()
        problems = [line for line in doctor_lines(result) if "LFS" in line]
        assert problems == [f"❌ late@v0.0.1: the LFS object of 'models/late.bin' ({late[:7]}) is not on the LFS "
                            f"server at {lfs_registry['file']}: never uploaded? push it with `git lfs push --all "
                            "origin` from a clone that has it"], result.stdout
    assert "fetch" not in lfs_calls() and "smudge" not in lfs_calls()


def test_doctor_without_an_lfs_server_warns_that_nothing_can_be_fetched(lfs_registry, work):
    result = tagreg(work, "doctor", "-r", lfs_registry["git"])
    assert result.returncode == 0, result.stdout
    (line,) = [line for line in doctor_lines(result) if "LFS" in line]
    assert "cannot be checked: no LFS server answers at https://127.0.0.1:" in line and "lfs.url" in line, line
    assert tagreg(work, "doctor", "-r", lfs_registry["git"], "--strict").returncode == 1


def test_doctor_of_a_registry_without_lfs_runs_no_git_lfs(repo, lfs_calls):
    repo.commit("model", {"artifacts.yaml": "m:\n  path: m.bin\n", "m.bin": "plain\n"})
    repo.git("tag", "-a", "m@v0.0.1", "-m", "Registering artifact m version v0.0.1")
    assert tagreg(repo.path, "doctor").returncode == 0
    assert lfs_calls() == []


@pytest.fixture
def http_registry(tmp_path, session_env):
    """A registry whose .lfsconfig names an HTTP LFS server (lfs_server.py) that wants credentials,
    which the user's git credential helper gives; its objects pushed there by git-lfs itself,
    except late's (pushed with --no-verify)."""
    from .lfs_server import LfsServer

    server = LfsServer(auth=("ann", "s3cret"))
    git(tmp_path, "config", "--global", "credential.helper", "!f() { echo username=ann; echo password=s3cret; }; f")
    work = tmp_path / "http-work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "lfs", "install", "--local")
    git(work, "lfs", "track", "*.bin")
    (work / ".lfsconfig").write_text(f"[lfs]\n\turl = {server.url('reg')}\n")
    (work / "models").mkdir()
    (work / "models" / "single.bin").write_bytes(SINGLE)
    (work / "artifacts.yaml").write_text("single:\n  path: models/single.bin\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "a model")
    _tag(work, {}, "single@v0.0.1")
    bare = tmp_path / "http-registry.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main", "--tags")  # git-lfs uploads to the HTTP server
    assert hashlib.sha256(SINGLE).hexdigest() in server.objects, "git-lfs pushed to the test server"
    (work / "models" / "late.bin").write_bytes(LATE)
    (work / "artifacts.yaml").write_text("single:\n  path: models/single.bin\nlate:\n  path: models/late.bin\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "late")
    _tag(work, {}, "late@v0.0.1")
    git(work, "push", "-q", "--no-verify", "origin", "main", "--tags")
    yield {"server": server, "work": work, "bare": bare}
    server.close()


def test_doctor_asks_an_http_lfs_server_with_the_batch_api(http_registry, work, tmp_path):
    server, late = http_registry["server"], hashlib.sha256(LATE).hexdigest()
    for cwd, args in ((http_registry["work"], ()), (work, ("-r", f"file://{http_registry['bare']}"))):
        server.requests.clear()
        result = tagreg(cwd, "doctor", *args)
        assert result.returncode == 1, result.stdout
        problems = [line for line in doctor_lines(result) if "LFS" in line]
        assert problems == [f"❌ late@v0.0.1: the LFS object of 'models/late.bin' ({late[:7]}) is not on the LFS "
                            f"server at {server.url('reg')}: never uploaded? push it with `git lfs push --all "
                            "origin` from a clone that has it"], result.stdout
        assert [(m, p) for m, p, _ in server.requests] == [("POST", "/reg/info/lfs/objects/batch")] * 2, \
            "asked once without, once with the credentials the helper gave; nothing downloaded"
        assert [given for *_, given in server.requests] == [False, True]
    ok(tagreg(work, "get", "single", "-r", f"file://{http_registry['bare']}", "-o", "single.bin"))
    assert (work / "single.bin").read_bytes() == SINGLE, "git-lfs fetched it from the HTTP server"


def test_doctor_without_credentials_for_the_lfs_server_says_it_did_not_check(http_registry, tmp_path):
    import json

    git(tmp_path, "config", "--global", "--unset", "credential.helper")
    result = tagreg(http_registry["work"], "doctor", "--json")
    checks = json.loads(result.stdout)["checks"]
    assert not [c for c in checks if "LFS" in c["message"] and c["level"] != "ok"], checks
    assert any(c["level"] == "ok" and "wants credentials" in c["message"] for c in checks), checks


@pytest.mark.parametrize("answer", ["huge", "not json", "redirect", "refused"])
def test_doctor_reads_a_bounded_answer_from_a_hostile_lfs_server(http_registry, tmp_path, answer):
    """An LFS server is content's choice (.lfsconfig): its answer is read up to a bound, a redirect
    is not followed (the credentials stay with the host they are for), and whatever it says is a
    note, not a traceback nor a false alarm."""
    import json
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    followed = []

    class Hostile(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/elsewhere"):
                followed.append(self.headers.get("Authorization"))
            if answer == "redirect":
                self.send_response(307)
                self.send_header("Location", f"http://127.0.0.1:{port}/elsewhere/objects/batch")
                self.end_headers()
                return
            body = b"[" * (8 << 20) if answer == "huge" else b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # tagreg stops reading at its bound and hangs up: that is the behaviour under test, and
                # socketserver's report of it would land in the stderr of the in-process tagreg
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if answer == "refused":
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    work = http_registry["work"]
    git(work, "config", "lfs.url", f"http://127.0.0.1:{port}/reg/info/lfs")
    try:
        result = tagreg(work, "doctor", "--json")
    finally:
        server.shutdown()
        server.server_close()
    assert "Traceback" not in result.stderr, result.stderr
    checks = [c for c in json.loads(result.stdout)["checks"] if "LFS" in c["message"]]
    assert len(checks) == 1 and "not on the LFS server" not in checks[0]["message"], checks
    assert checks[0]["level"] == ("warning" if answer == "refused" else "ok"), checks
    assert followed == []
