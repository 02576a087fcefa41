"""How tagreg runs git (git.spawn / Process, on os.posix_spawn and pipes instead of subprocess):
output and input of any size without a pipe filling up, errors, and the child's signals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagreg.git import DEVNULL, INHERIT, Git, GitError, _environment, is_url, spawn


def test_big_input_and_big_output_at_once(repo):
    """`cat-file --batch` with thousands of names: git answers while it still reads, so writing all
    the input first and reading after would fill both pipes and hang."""
    git = Git(repo.path)
    names = [git.run("hash-object", "-w", "--stdin", input=b"content %d " % i * 60).stdout.decode().strip()
             for i in range(3)]
    many = names * 3000  # 9000 lines in, 9000 objects (~5.8 MB) out
    proc = git.run("cat-file", "--batch", input="".join(f"{n}\n" for n in many).encode())
    assert proc.stdout.count(b" blob 600\n") == len(many)
    assert len(proc.stdout) > 5_000_000


def test_empty_input_closes_stdin(repo):
    proc = Git(repo.path).run("hash-object", "--stdin", input=b"")
    assert proc.stdout.strip() == b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # the empty blob


def test_read_objects_within_of_thousands(repo):
    git = Git(repo.path)
    head = git.head()
    names = [f"{head}:missing-{i}" for i in range(5000)] + [head]
    found = git.read_objects_within(names, 1 << 20)
    assert len(found) == 5001 and found[head].startswith(b"tree ")
    assert sum(v is None for v in found.values()) == 5000


def test_read_objects_within_answers_while_it_asks(repo, tmp_path):
    """Thousands of names (more than a pipe holds) whose answers are megabytes: written all at once
    before reading, both pipes would fill and hang (run in a child, so a hang fails the test)."""
    import subprocess

    contents = [b"content %d " % i * 200 for i in range(3000)]
    for i, data in enumerate(contents):
        (tmp_path / f"blob-{i}").write_bytes(data)
    paths = "".join(f"{tmp_path / f'blob-{i}'}\n" for i in range(len(contents))).encode()
    names = Git(repo.path).run("hash-object", "-w", "--stdin-paths", input=paths).stdout.decode().split()
    script = ("import sys; from tagreg.git import Git; names = sys.stdin.read().split(); "
              "found = Git('.').read_objects_within(names, 1 << 20); "
              "print(len(found), sum(len(v) for v in found.values()))")
    done = subprocess.run([sys.executable, "-c", script], cwd=repo.path, input="\n".join(names), text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.stdout.split() == ["3000", str(sum(map(len, contents)))], done.stderr


def test_lots_of_stderr_does_not_block(tmp_path):
    """A child that writes more than a pipe holds to stderr before its stdout ends."""
    script = "import sys; sys.stderr.write('x' * 300000); sys.stderr.flush(); print('done')"
    proc = spawn([sys.executable, "-c", script], dict(os.environ))
    out, err = proc.communicate()
    assert (proc.returncode, out, len(err)) == (0, b"done\n", 300000)


def test_devnull_and_inherited_streams(tmp_path):
    proc = spawn([sys.executable, "-c", "print('hidden')"], dict(os.environ), stdout=DEVNULL, stderr=INHERIT)
    assert proc.communicate() == (None, None)
    assert proc.returncode == 0


def test_exit_code_and_communicate_twice():
    proc = spawn([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], dict(os.environ))
    assert proc.communicate() == (b"out\n", b"")
    assert proc.returncode == 3
    assert proc.communicate() == (b"out\n", b"")  # as Popen: the same answer again


def test_input_to_a_child_that_stops_reading():
    """The child exits without reading its input: no BrokenPipeError reaches the caller."""
    proc = spawn([sys.executable, "-c", "print('bye')"], dict(os.environ), stdin=True)
    out, _ = proc.communicate(b"x" * 1_000_000)
    assert (proc.returncode, out) == (0, b"bye\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_child_gets_default_sigpipe():
    """Python ignores SIGPIPE and ignored signals survive exec: git must get the default back."""
    proc = spawn(["sh", "-c", "grep SigIgn /proc/self/status"], dict(os.environ))
    out, _ = proc.communicate()
    ignored = int(out.split()[1], 16)
    assert not ignored & (1 << (13 - 1))  # SIGPIPE is 13


def test_missing_folder_and_missing_git(tmp_path, monkeypatch):
    with pytest.raises(GitError, match="does not exist"):
        Git(tmp_path / "nowhere").run("status")
    with pytest.raises(GitError, match="does not exist"):
        Git(tmp_path / "nowhere").finish(Git(tmp_path / "nowhere").start(["status"]))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GitError, match="git is not installed"):
        Git(tmp_path).run("status")


def test_git_runs_in_the_repository_folder(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Git(repo.path).out("rev-parse", "--show-toplevel") == str(repo.path)
    (repo.path / "sub").mkdir()
    assert Git(repo.path / "sub").out("rev-parse", "--show-prefix") == "sub/"


def test_environment_is_english_and_not_redirected(monkeypatch):
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    env = _environment()
    assert env["LC_ALL"] == "C" and "GIT_DIR" not in env


def test_a_command_run_from_another_repositorys_hook_writes_only_its_own(repo, tmp_path):
    """A hook of another repository runs tagreg with that repository's GIT_INDEX_FILE,
    GIT_OBJECT_DIRECTORY... set: git must still read and write the registry tagreg was given."""
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    hook_env = {"GIT_DIR": str(other / ".git"), "GIT_INDEX_FILE": str(other / ".git" / "index"),
                "GIT_OBJECT_DIRECTORY": str(other / ".git" / "objects"), "GIT_COMMON_DIR": str(other / ".git")}
    result = repo.run("register", "m", env=hook_env)
    assert result.returncode == 0, result.stderr
    assert subprocess.run(["git", "-C", str(repo.path), "tag", "-l", "m@*"], capture_output=True,
                          text=True, env=_environment()).stdout == "m@v0.0.1\n"
    assert not list((other / ".git" / "objects").glob("??"))  # nothing written there
    assert repo.run("show", "m", "--json", env=hook_env).returncode == 0


# The URL test, as it was written with a regular expression: the spec the plain code must meet.
_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+:(?!//)")
_SCHEMES = ("http://", "https://", "ssh://", "git://", "file://", "git+ssh://", "ssh+git://")


@given(st.text(alphabet="ab.-_@:/9xZ é", max_size=14))
def test_is_url_as_the_regular_expression(location):
    expected = location.startswith(_SCHEMES) or bool(_SCP_LIKE.match(location))
    assert is_url(location) == expected or os.path.exists(location)


@pytest.mark.parametrize("location, expected", [
    ("git@github.com:org/repo.git", True), ("host:path", True), ("https://x/y", True),
    ("file:///tmp/r", True), ("host://path", False), ("./repo", False), ("a@b@c:d", False),
    ("@host:x", False), ("user@:x", False), ("C:", True), ("", False), ("/abs/path", False),
])
def test_is_url_examples(location, expected):
    assert is_url(location) is expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_dropped_process_leaves_no_open_pipe_nor_zombie():
    """A read started and never collected (an error came first): its pipes close with it, the
    child ends, and it is reaped then or on a later spawn."""
    before = set(os.listdir("/proc/self/fd"))
    proc = spawn([sys.executable, "-c", "import sys; sys.stdout.write('x' * 200000)"], dict(os.environ))
    pid = proc.pid
    del proc
    assert set(os.listdir("/proc/self/fd")) <= before
    deadline = time.monotonic() + 60  # a condition, not a count: a loaded machine starts python slowly
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:  # later spawns reap it once ended
        spawn(["true"], dict(os.environ)).communicate()
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")  # ended and reaped: no zombie left
