"""Load test of `tagreg serve` over many registries, on 127.0.0.1 only, bounded in count and time.

    python benchmarks/server_load.py [--root DIR] [--repos 50] [--models 100] [--clients 20]
                                     [--requests 2000] [--max-seconds 60] [--markdown]

Generates REPOS x MODELS registries (generate_many.py) unless DIR has them, starts the server on a
free port with a fresh index and measures:

- the cold start: the time to the first answer (the server answers with what it has indexed so far,
  naming the rest), and the time until every repository is indexed (the index is only a cache,
  built from Git in the background);
- the warm start: a restart over the existing index (served at once; each repository's fingerprint is
  checked in the background);
- per endpoint, CLIENTS concurrent keep-alive clients sending REQUESTS requests in all (or stopping
  after MAX_SECONDS): p50/p95/p99 latency and requests per second. Most endpoints ask the same URL
  again and again, as dashboards are (answers are kept until the index changes); the "new query each
  time" ones never ask the same thing twice, so every answer is computed and rendered.

The targets, at 20 concurrent clients: p95 under 100 ms on every endpoint, the "new query each time"
ones included; the first answer within a second of starting, at 200 repositories too
(`--repos 200`, the documented large case next to the default 50).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from generate_many import build

ENDPOINTS = [
    ("models page `/`", "/"),
    ("`/api/models`", "/api/models"),
    ("models page, search + sort", "/?q=churn&sort=updated&order=desc"),
    ("`/api/models?stage=prod&limit=100`", "/api/models?stage=prod&limit=100"),
    ("`/api/events`", "/api/events"),
    ("model page", None),  # filled in with a real model
    # Every request a query not seen before: no cached answer, the index is queried and the page rendered.
    ("models page, a new query each time", "/?sort=updated&order=desc&offset={n}"),
    ("`/api/models`, a new query each time", "/api/models?sort=latest&offset={n}"),
    ("models page, a new search each time", "/?q=model+{n}&sort=latest"),
    ("`/api/models`, a new search each time", "/api/models?q={n}&sort=updated&order=desc"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.load(resp)


def start(root: Path, cache: Path) -> tuple[subprocess.Popen, str, float, float, dict]:
    """Start the server; return it, its URL, the seconds to its first answer and until every
    repository was indexed, and what the first answers said (repositories indexed, models listed)."""
    port = free_port()
    env = dict(os.environ, TAGREG_CACHE_DIR=str(cache))
    env.pop("TAGREG_TOKEN", None)
    log_file = cache / f"server-{port}.log"
    log = open(log_file, "wb")  # noqa: SIM115 - the server's output, for as long as it runs
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tagreg", "serve", "--config", str(root / "registries.yaml"),
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    first = None
    said: dict = {}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: see {log.name}")
        try:
            repos = get_json(url + "/api/repos")["repos"]
            if first is None:
                first = time.perf_counter() - started
                # What a dashboard shows at once: the repositories ready, and a page of models.
                began = time.perf_counter()
                models = get_json(url + "/api/models?sort=updated&order=desc")
                said = {"indexed": sum(r["status"] == "ok" for r in repos), "total": len(repos),
                        "models_total": models["total"], "models_pending": len(models.get("indexing", {})
                                                                               .get("pending", [])),
                        "models_ms": round((time.perf_counter() - began) * 1000, 1)}
            # Every repository indexed, and the server done looking at them (a warm start checks each
            # one's fingerprint in the background): the load below measures answers alone.
            if all(r["status"] == "ok" for r in repos) and b"looked at every local repository" in log_file.read_bytes():
                return proc, url, first, time.perf_counter() - started, said
        except OSError:
            pass
        time.sleep(0.05 if first is None else 0.2)
    proc.kill()
    raise SystemExit("the server did not index everything in 10 minutes")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load(url: str, path: str, clients: int, requests: int, max_seconds: float) -> dict:
    """CLIENTS threads with a keep-alive connection each share REQUESTS requests (or stop at MAX_SECONDS)."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [requests]
    counter = [0]
    deadline = time.monotonic() + max_seconds
    gate = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        gate.wait()
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
                counter[0] += 1
                n = counter[0]
            began = time.perf_counter()
            try:
                conn.request("GET", path.replace("{n}", str(n)))
                resp = conn.getresponse()
                resp.read()
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append(elapsed)
                    if resp.status != 200:
                        errors.append(str(resp.status))
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    gate.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    if not ordered:
        return {"requests": 0, "errors": len(errors), "seconds": round(wall, 2), "rps": 0.0, "p50_ms": None,
                "p95_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    return {"requests": len(ordered), "errors": len(errors), "seconds": round(wall, 2),
            "rps": round(len(ordered) / wall, 1), "p50_ms": round(pct(50), 1), "p95_ms": round(pct(95), 1),
            "p99_ms": round(pct(99), 1), "max_ms": round(ordered[-1] * 1000, 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "tagreg-bench-many",
                        help="where the generated registries live (default: $TMPDIR/tagreg-bench-many)")
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint (default 2000)")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per endpoint (default 60)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--cold-only", action="store_true", help="measure the cold and warm starts only")
    args = parser.parse_args(argv)

    manifest = build(args.root, args.repos, args.models, 6)
    cache = args.root / "server-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    proc, url, first, cold, said = start(args.root, cache)
    stop(proc)
    proc, url, warm_first, warm, _ = start(args.root, cache)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "repos": manifest["repos"], "models": manifest["repos"] * manifest["models"], "tags": manifest["tags"],
               "clients": args.clients, "cold_first_answer_s": round(first, 2), "cold_first_answer": said,
               "cold_start_s": round(cold, 1), "warm_first_answer_s": round(warm_first, 2),
               "warm_start_s": round(warm, 2), "endpoints": []}
    try:
        total = get_json(url + "/api/models?limit=1")
        name = get_json(url + "/api/models?sort=updated&order=desc&limit=1")["models"][0]
        endpoints = [(label, path or f"/models/{name['name']}?repo={name['repo']}") for label, path in ENDPOINTS]
        assert total["total"] > 0
        for label, path in [] if args.cold_only else endpoints:
            if "{n}" not in path:  # warm-up: caches, connections
                load(url, path, args.clients, min(200, args.requests), 10)
            outcome = load(url, path, args.clients, args.requests, args.max_seconds)
            results["endpoints"].append({"endpoint": label, "path": path, **outcome})
            print(f"{label:40} {outcome}", file=sys.stderr)
    finally:
        stop(proc)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        print(f"{results['repos']} repositories, {results['models']} models, {results['tags']} tags; "
              f"{args.clients} concurrent clients on 127.0.0.1; {results['machine']}.\n"
              f"Cold start (index built from Git): first answer after {results['cold_first_answer_s']} s "
              f"({said['indexed']} of {said['total']} repositories indexed; `/api/models` then listed "
              f"{said['models_total']} models, naming {said['models_pending']} repositories not indexed yet, in "
              f"{said['models_ms']} ms), everything indexed after {results['cold_start_s']} s; warm start (index "
              f"reused, every repository served from it at once): first answer after "
              f"{results['warm_first_answer_s']} s, every repository's fingerprint checked after "
              f"{results['warm_start_s']} s.\n")
        print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in results["endpoints"]:
            print(f"| {r['endpoint']} | {r['requests']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | "
                  f"{r['p99_ms']} | {r['errors']} |")
    else:
        print(json.dumps(results, indent=2))
    return 0 if all(r["errors"] == 0 for r in results["endpoints"]) else 1


if __name__ == "__main__":
    sys.exit(main())
