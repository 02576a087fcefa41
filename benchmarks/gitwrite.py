"""Write many commits and tags into a new git repository quickly, with plain git only.

Commits go through one `git fast-import` stream. Tags do not: fast-import creates one loose ref
file per tag, and at 50k tags creating (then packing) those files took most of the generation
time. So the tag objects go into one pack file for `git index-pack`, and all tag refs into one
`packed-refs` file, which is also how a freshly cloned repository keeps its tags. The objects
are byte for byte what `git tag -a`, fast-import and GTO (dulwich) write, so their ids are too.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

TAGGER = b"Bench <bench@example.com>"


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    """Run git in REPO, fail loudly, return its stdout."""
    return subprocess.run(["git", *args], cwd=repo, check=True, input=stdin,
                          stdout=subprocess.PIPE).stdout.decode()


class Stream:
    """Writes blobs and commits (on branch main) to a running `git fast-import`."""

    def __init__(self, out):
        self.out = out
        self.marks = 0

    def _mark(self) -> int:
        self.marks += 1
        return self.marks

    def _data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n%s\n" % (len(payload), payload))

    def blob(self, payload: bytes) -> int:
        """Store a blob; return its mark, to use as a file's content in commits."""
        mark = self._mark()
        self.out.write(b"blob\nmark :%d\n" % mark)
        self._data(payload)
        return mark

    def commit(self, when: int, message: str, files: dict[str, bytes | int]) -> int:
        """A commit on main changing FILES (path: content or blob mark); return its mark."""
        mark = self._mark()
        self.out.write(b"commit refs/heads/main\nmark :%d\ncommitter %s %d +0000\n"
                       % (mark, TAGGER, when))
        self._data(message.encode() + b"\n")
        for path, content in files.items():
            if isinstance(content, int):
                self.out.write(b"M 100644 :%d %s\n" % (content, path.encode()))
            else:
                self.out.write(b"M 100644 inline %s\n" % path.encode())
                self._data(content)
        self.out.write(b"\n")
        return mark


def fast_import(repo: Path, write: Callable[[Stream], None]) -> dict[int, str]:
    """Run `git fast-import` in REPO fed by WRITE(stream); return {mark: object id}."""
    marks_file = repo / ".git" / "fast-import-marks"
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done",
                             f"--export-marks={marks_file}"], cwd=repo, stdin=subprocess.PIPE)
    try:
        write(Stream(proc.stdin))
        proc.stdin.write(b"done\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass  # fast-import died; its stderr says why and the exit code is checked below
    if proc.wait() != 0:
        raise RuntimeError(f"git fast-import failed with exit code {proc.returncode}")
    marks = {}
    for line in marks_file.read_text().splitlines():
        mark, oid = line.split()
        marks[int(mark[1:])] = oid
    marks_file.unlink()
    return marks


def tag_object(name: str, commit: str, when: int, message: str) -> bytes:
    """An annotated tag object; like GTO, the message gets a trailing newline."""
    return (b"object %s\ntype commit\ntag %s\ntagger %s %d +0000\n\n%s\n"
            % (commit.encode(), name.encode(), TAGGER, when, message.encode()))


def pack(objects: list[bytes], kind: int = 4) -> bytes:
    """A version-2 pack file of whole (undeltified) objects of one type (4 = tag)."""
    out = [b"PACK", struct.pack(">II", 2, len(objects))]
    for body in objects:
        size = len(body)  # object header: type and 4 bits of size, then 7 bits per byte
        header = bytearray([(kind << 4) | (size & 15)])
        size >>= 4
        while size:
            header[-1] |= 0x80
            header.append(size & 0x7F)
            size >>= 7
        out += [bytes(header), zlib.compress(body, 1)]
    data = b"".join(out)
    return data + hashlib.sha1(data).digest()


def write_tags(repo: Path, annotated: list[tuple[str, str, int, str]],
               lightweight: dict[str, str]) -> None:
    """Create annotated tags (name, commit id, time, message) and lightweight ones (name: id).

    REPO must have no packed-refs yet (a new repository).
    """
    refs = []  # (refname, object id, peeled commit id or None)
    bodies = []
    for name, commit, when, message in annotated:
        body = tag_object(name, commit, when, message)
        bodies.append(body)
        oid = hashlib.sha1(b"tag %d\0%s" % (len(body), body)).hexdigest()
        refs.append((f"refs/tags/{name}", oid, commit))
    refs += [(f"refs/tags/{name}", oid, None) for name, oid in lightweight.items()]
    git(repo, "index-pack", "--stdin", stdin=pack(bodies))
    # The format `git pack-refs` writes: sorted by name, each tag followed by its peeled id.
    lines = ["# pack-refs with: peeled fully-peeled sorted "]
    for refname, oid, peeled in sorted(refs, key=lambda ref: ref[0].encode()):
        lines.append(f"{oid} {refname}")
        if peeled:
            lines.append(f"^{peeled}")
    (repo / ".git" / "packed-refs").write_text("\n".join(lines) + "\n")


def refs_fingerprint(repo: Path) -> str:
    """A hash of every ref and its target: tells whether a repository was changed."""
    listing = git(repo, "for-each-ref", "--format=%(objectname) %(refname)")
    return hashlib.sha1(listing.encode()).hexdigest()
