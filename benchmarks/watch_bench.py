"""Benchmark `tagreg watch`: events per second detected and delivered, and push-to-delivery latency.

    python benchmarks/watch_bench.py [--tags 1000] [--pushes 10] [--tagreg PATH]

Builds a registry served as a bare repository (file://), starts a local HTTP receiver and the
watcher with `--listen`; the bare repository's post-receive hook calls the listen endpoint, as a Git
host's push webhook would. Measures:
  1. throughput: N tags pushed at once -> time until the receiver has all N events;
  2. latency: one tag per push, from the start of `git push` to the event's arrival (median, max).
Only the standard library and git are needed (plus tagreg itself).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.com"}


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, input=stdin, capture_output=True,
                          check=True).stdout.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """An HTTP endpoint that records when each event id arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.by_tag: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.perf_counter()
                with receiver.lock:
                    for event in json.loads(body)["events"]:
                        receiver.arrived.setdefault(event["id"], now)
                        receiver.by_tag.setdefault(event["tag"], now)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--tagreg", default=shutil.which("tagreg") or "tagreg")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tagreg-watch-bench-"))
    try:
        clone, server = work / "clone", work / "server.git"
        clone.mkdir()
        git(clone, "init", "-q", "-b", "main")
        git(clone, "commit", "-q", "--allow-empty", "-m", "init")
        git(work, "clone", "-q", "--bare", str(clone), str(server))
        git(clone, "remote", "add", "origin", str(server))
        port = free_port()
        hook = server / "hooks" / "post-receive"
        hook.write_text(f"#!/bin/sh\n{sys.executable} -c \"import urllib.request; urllib.request.urlopen("
                        f"urllib.request.Request('http://127.0.0.1:{port}/', data=b'{{}}', method='POST'))\"\n")
        hook.chmod(0o755)

        receiver = Receiver()
        (work / "watch.yaml").write_text(
            f"interval: 3600\nstate: {work / 'state.sqlite'}\nrepos:\n  - url: file://{server}\n    name: bench\n"
            f"targets:\n  - url: {receiver.url}\ndelivery: {{batch: 500}}\n")
        env = {**ENV, "TAGREG_CACHE_DIR": str(work / "cache")}
        watcher = subprocess.Popen([args.tagreg, "watch", "--config", str(work / "watch.yaml"),
                                    "--listen", f"127.0.0.1:{port}"], env=env, stderr=subprocess.PIPE)
        try:
            if not wait_for(lambda: _listening(port), 30):
                raise SystemExit("the watcher did not start: " + (watcher.stderr.read(2000).decode()
                                                                    if watcher.poll() is not None else "timeout"))
            time.sleep(0.5)  # first poll: existing events recorded as seen

            # 1. Throughput: N annotated tags, one push.
            sha = git(clone, "rev-parse", "HEAD").strip()
            stream = "".join(
                f"tag m{i % 50}@v0.{i // 50}.0\nfrom {sha}\ntagger Bench <b@example.com> {1767225600 + i} +0000\n"
                f"data <<EOM\nRegistering artifact m{i % 50} version v0.{i // 50}.0\nEOM\n\n"
                for i in range(args.tags))
            git(clone, "fast-import", "--quiet", stdin=stream.encode())
            start = time.perf_counter()
            git(clone, "push", "-q", "origin", "--tags")
            ok = wait_for(lambda: len(receiver.arrived) >= args.tags, 120)
            elapsed = time.perf_counter() - start
            got = len(receiver.arrived)
            print(f"throughput: {got}/{args.tags} events pushed at once delivered in {elapsed:.2f} s "
                  f"({got / elapsed:.0f} events/s, push and fetch included){'' if ok else ' (TIMEOUT)'}")

            # 2. Latency: one tag per push, push -> delivery.
            latencies = []
            for i in range(args.pushes):
                tag = f"lat@v1.0.{i}"
                git(clone, "tag", "-a", tag, "-m", f"Registering artifact lat version v1.0.{i}")
                start = time.perf_counter()
                git(clone, "push", "-q", "origin", tag)
                if wait_for(lambda tag=tag: tag in receiver.by_tag, 30):
                    latencies.append(receiver.by_tag[tag] - start)
            if latencies:
                print(f"latency push->delivery with --listen over {len(latencies)} pushes: "
                      f"median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
        finally:
            watcher.terminate()
            watcher.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    main()
