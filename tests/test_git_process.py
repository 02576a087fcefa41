"""How tagreg runs git (`Git.run`, `start`/`finish`, `stream`, over subprocess): output and input
of any size without a pipe filling up, bounded reads, errors with git's reason, and the child's
signals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagreg.git import Git, GitError, Process, Stream, _environment, is_url


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


def test_lots_of_stderr_does_not_block(repo):
    """git writes more than a pipe holds to stderr before its stdout ends (a command, or a stream)."""
    git = Git(repo.path)
    noisy = ["-c", f"alias.noisy=!{sys.executable} -c \"{NOISY}\"", "noisy"]
    done = git.run(*noisy, check=False)
    assert (done.returncode, done.stdout, len(done.stderr)) == (3, b"done\n", 300000)
    with pytest.raises(GitError, match=r"^x{300}\.\.\.$") as raised:
        git.finish(git.start(noisy))
    assert len(raised.value.stderr) == 300000 and raised.value.command[-1] == "noisy"
    with git.stream(*noisy) as stream:
        assert stream.read_until(b"\n", 100) == b"done"
        assert stream.close() == 3
        assert stream.error == "x" * 300 + "..."  # the last 64 KiB kept, its reason line clipped


NOISY = "import sys; sys.stderr.write('x' * 300000); sys.stderr.flush(); print('done'); sys.exit(3)"


def test_stderr_to_the_terminal(repo, capfd):
    done = Git(repo.path).run("rev-parse", "--verify", "no-such-ref", check=False, show_progress=True)
    assert done.returncode != 0 and done.stderr is None
    assert "fatal: Needed a single revision" in capfd.readouterr().err


def test_exit_code_and_collecting_twice(repo):
    git = Git(repo.path)
    assert git.run("rev-parse", "--verify", "no-such-ref", check=False).returncode == 128
    proc = git.start(["rev-parse", "HEAD"])
    assert git.finish(proc).strip() == git.head().encode()
    assert proc.communicate() == (git.head().encode() + b"\n", b"")  # as `forget_tags` does after `finish`


def test_input_to_a_git_that_does_not_read_it(repo):
    """git ends without reading its input: no BrokenPipeError reaches the caller."""
    git = Git(repo.path)
    assert git.run("rev-parse", "HEAD", input=b"x" * 1_000_000).stdout.strip() == git.head().encode()
    with git.stream("rev-parse", "HEAD", stdin=True) as stream:
        assert stream.read_until(b"\n", 100) == git.head().encode()
        stream.write(b"x" * 1_000_000)
        stream.end_input()
        stream.finish()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_git_gets_default_sigpipe(repo):
    """Python ignores SIGPIPE and ignored signals survive exec: git (and what it runs) must get the
    default back."""
    out = Git(repo.path).out("-c", "alias.sigign=!grep SigIgn /proc/self/status", "sigign")
    ignored = int(out.split()[1], 16)
    assert not ignored & (1 << (13 - 1))  # SIGPIPE is 13


def test_a_record_longer_than_its_limit_is_an_error(repo):
    """Output is hostile (a tree listing): a record of 200 KB is refused, not held whole, when the
    limit is 4 KiB; the records before it are read."""
    script = "import sys; sys.stdout.buffer.write(b'a.txt' + bytes(1) + b'b' * 200000 + bytes(1))"
    with Git(repo.path).stream("-c", f"alias.emit=!{sys.executable} -c \"{script}\"", "emit") as stream:
        assert stream.read_until(b"\0", 4096) == b"a.txt"
        with pytest.raises(GitError, match="git emit printed a record longer than 4096 bytes"):
            stream.read_until(b"\0", 4096)


def test_a_git_that_dies_in_the_middle(repo):
    """cat-file killed after a header: the reads say it ended, and the error is a GitError."""
    git = Git(repo.path)
    oid = git.run("hash-object", "-w", "--stdin", input=b"y" * 300000).stdout.decode().strip()
    proc = Process(["git", "-C", str(repo.path), "cat-file", "--batch"], stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stream = Stream(proc, str(repo.path))
    stream.write(f"{oid}\n{oid}\n".encode())
    assert stream.read_until(b"\n", 100) == f"{oid} blob 300000".encode()
    proc.kill()
    proc.wait()
    with pytest.raises(GitError, match="git cat-file ended early"):
        for _ in range(3):
            stream.read_exactly(300001)
    assert stream.close() == -9


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
@pytest.mark.parametrize("how", ["start", "stream"])
def test_a_dropped_process_leaves_no_open_pipe_nor_zombie(repo, how):
    """A read started and never collected (an error came first): its pipes close with it, git
    ends (its output is more than a pipe holds), and it is reaped then or on a later start."""
    git = Git(repo.path)
    oid = git.run("hash-object", "-w", "--stdin", input=b"z" * 300000).stdout.decode().strip()
    before = set(os.listdir("/proc/self/fd"))
    if how == "start":
        proc = git.start(["cat-file", "-p", oid])
        pid = proc.pid
        del proc
    else:
        proc = Process(["git", "-C", str(repo.path), "cat-file", "-p", oid], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
        stream = Stream(proc, str(repo.path))
        assert stream.read(10) == b"z" * 10
        pid = proc.pid
        del proc, stream
    deadline = time.monotonic() + 60  # a condition, not a count: a loaded machine is slow
    while (os.path.exists(f"/proc/{pid}") or set(os.listdir("/proc/self/fd")) - before) \
            and time.monotonic() < deadline:
        git.run("version")  # later starts reap it once ended
        time.sleep(0.05)
    assert not set(os.listdir("/proc/self/fd")) - before  # no pipe of it left open
    assert not os.path.exists(f"/proc/{pid}")  # ended and reaped: no zombie left
