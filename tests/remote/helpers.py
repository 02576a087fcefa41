"""Helpers for the remote tests: git as a subprocess, tagreg in-process, and what a user checks afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import run_tagreg

EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC
TIMEOUT = 120  # no single command of these tests may hang the suite

# The two versions of the model file: binary, so a text round-trip would show.
MODEL_V1 = b"\x00\x01model-v1\xff\xfe\r\n" + bytes(range(256))
MODEL_V2 = b"\x00\x02model-v2\xff\xfe\r\n" + bytes(reversed(range(256)))
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12\n"
)


def git(cwd, *args: str, env: dict | None = None, input: bytes | None = None, check: bool = True) -> str:
    """Run git in cwd and return stdout (text)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(["git", *args], check=False, cwd=cwd, capture_output=True, input=input, env=full_env,
                          timeout=TIMEOUT)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode("utf-8", "replace")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def tagreg(cwd, *args: str, env: dict | None = None) -> Result:
    """Run `tagreg ARGS` in cwd, output captured (not a terminal), as a script would: in this process
    (click's CliRunner), or as `python -m tagreg` when env sets PYTHONPATH (only a new interpreter reads it)."""
    if env and "PYTHONPATH" in env:
        proc = subprocess.run([sys.executable, "-m", "tagreg", *args], check=False, cwd=cwd, capture_output=True,
                              text=True, env={**os.environ, **env}, timeout=TIMEOUT)
        return Result(proc.returncode, proc.stdout, proc.stderr)
    result = run_tagreg(cwd, *args, env=env)
    return Result(result.returncode, result.stdout, result.stderr)


def ok(result: Result) -> str:
    """stdout of a command that must succeed."""
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def error_line(result: Result) -> str:
    """The one `❌ ...` line of a command that must fail with exit 1."""
    assert result.returncode == 1, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("❌ "), result.stderr
    return lines[0]


def tags_of(git_dir) -> set[str]:
    """Every tag name in a repository."""
    return set(git(git_dir, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags").split())


def tag_objects(git_dir) -> dict[str, str]:
    """tag name -> object id (the annotated tag object), to compare two repositories exactly."""
    out = {}
    for line in git(git_dir, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags").splitlines():
        name, oid = line.split(" ")
        out[name] = oid
    return out


def mirrors(cache_dir: Path) -> list[Path]:
    """The mirror folders in a cache."""
    base = Path(cache_dir) / "repos"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir())


def only_mirror(cache_dir: Path) -> Path:
    found = mirrors(cache_dir)
    assert len(found) == 1, f"expected one mirror in {cache_dir}, found {found}"
    return found[0]


def files_under(folder: Path) -> dict[str, bytes]:
    """relative path -> bytes of every regular file under folder (symlinks listed as 'LINK->target')."""
    out: dict[str, bytes] = {}
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = b"LINK->" + os.readlink(path).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out
