"""Where the dashboard's requests spend their time, in process: CPU milliseconds per request.

    python benchmarks/server_profile.py [--root DIR] [--repos 50] [--models 100] [--requests 150]
                                        [--only LABEL] [--profile FILE.pstats]

Builds (or reuses) the registries of server_load.py, builds the index once (reused from DIR's
`profile-cache` when it is current), then calls the ASGI app on an event loop in this thread (no
HTTP client, no socket, no background threads: the server's own work only), and measures each
request's `time.process_time` (all threads, so the thread pool the endpoints run in counts): the
median over REQUESTS requests of each endpoint of server_load.py. CPU time rather than wall time,
so that a machine shared with other work still gives comparable numbers (compare runs side by
side, interleaved). With --profile, the requests of the endpoints run under cProfile and the stats
go to that file (`python -m pstats FILE`), e.g. with --only "models page, a new query each time".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import sys
import time
from pathlib import Path

from generate_many import build
from server_load import ENDPOINTS


class Client:
    """GET requests straight into an ASGI app, on one event loop."""

    def __init__(self, app):
        self.app = app
        self.loop = asyncio.new_event_loop()

    def get(self, url: str) -> tuple[int, bytes]:
        path, _, query = url.partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000)}
        out: dict = {"body": []}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
            elif message["type"] == "http.response.body":
                out["body"].append(message.get("body", b""))

        self.loop.run_until_complete(self.app(scope, receive, send))
        return out["status"], b"".join(out["body"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "tagreg-bench-many")
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--requests", type=int, default=150, help="requests per endpoint (default 150)")
    parser.add_argument("--only", action="append", help="only the endpoints whose label contains this")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the requests to this file")
    args = parser.parse_args(argv)

    build(args.root, args.repos, args.models, 6)
    cache = args.root / "profile-cache"
    cache.mkdir(exist_ok=True)
    os.environ["TAGREG_CACHE_DIR"] = str(cache)
    os.environ.pop("TAGREG_TOKEN", None)

    from tagreg.server import settings as S
    from tagreg.server.app import create_app

    app = create_app(S.load(str(args.root / "registries.yaml")), start_background=False)
    hub = app.app.state.hub  # type: ignore[attr-defined]  # create_app wraps the FastAPI app in Headers
    began = time.perf_counter()
    for source in hub.sources.values():
        source.refresh()
    print(f"index up to date in {time.perf_counter() - began:.1f} s", file=sys.stderr)

    client = Client(app)
    name = json.loads(client.get("/api/models?sort=updated&order=desc&limit=1")[1])["models"][0]
    endpoints = [(label, path or f"/models/{name['name']}?repo={name['repo']}") for label, path in ENDPOINTS]
    if args.only:
        endpoints = [(label, path) for label, path in endpoints if any(o in label for o in args.only)]
    profiler = cProfile.Profile() if args.profile else None
    if profiler:  # the endpoints in this thread, where the profiler sees them (not in a worker thread)
        import fastapi.routing

        async def inline(func, *a, **kw):
            return func(*a, **kw)

        fastapi.routing.run_in_threadpool = inline  # type: ignore[assignment]
    # Offsets and searches other runs of this script have not asked in this process (a cached
    # answer would be no measure of a new query).
    n = 0
    print(f"{'endpoint':45} {'CPU ms p50':>10} {'p90':>6} {'wall ms p50':>11}")
    for label, path in endpoints:
        if "{n}" not in path:
            client.get(path)
        cpu, wall = [], []
        for _ in range(args.requests):
            n += 1
            url = path.replace("{n}", str(n))
            if profiler:
                profiler.enable()
            t0, c0 = time.perf_counter(), time.process_time()
            status, body = client.get(url)
            c1, t1 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.disable()
            assert status == 200, (url, status, body[:200])
            cpu.append((c1 - c0) * 1000)
            wall.append((t1 - t0) * 1000)
        cpu.sort()
        print(f"{label:45} {statistics.median(cpu):10.2f} {cpu[len(cpu) * 9 // 10]:6.2f} "
              f"{statistics.median(wall):11.2f}")
    if profiler:
        profiler.dump_stats(str(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
