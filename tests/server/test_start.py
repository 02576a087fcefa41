"""A server that has just started answers at once: it serves the repositories indexed so far, says
which are not (a banner on the pages, an `indexing` field in the JSON), and indexes the rest in the
background. The app runs in-process with its real lifespan (the background indexer included)."""

from __future__ import annotations

import shutil
import threading
import time

import pytest

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')

from starlette.testclient import TestClient

from tagreg import api
from tagreg.server import settings as S
from tagreg.server.app import create_app

REPOS = 12
HELD = 4  # the last ones: the indexer is held before them


@pytest.fixture
def many(tmp_path, repo):
    """REPOS copies of one registry; the last one also has a model of its own ("only-last")."""
    repo.commit("annotations", {"artifacts.yaml": "churn:\n  type: model\n  labels: [tabular]\n"})
    api.register(repo.path, "churn", version="v1.0.0")
    api.assign(repo.path, "churn", "prod", version="v1.0.0")
    names = [f"team-{n:02d}" for n in range(REPOS)]
    for name in names:
        shutil.copytree(repo.path, tmp_path / name, symlinks=True)
    api.register(tmp_path / names[-1], "only-last", version="v0.1.0")
    (tmp_path / "registries.yaml").write_text("repos:\n" + "".join(f"  - {n}\n" for n in names)
                                              + "index: index.sqlite\n")
    return tmp_path, names


def poll(check, seconds: float = 30):
    """check() until it is true (bounded): the state the test waits for, not a guess of how long it takes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("the state waited for was never seen")


def test_a_cold_start_answers_before_everything_is_indexed(many):
    root, names = many
    app = create_app(S.load(str(root / "registries.yaml")))
    hub = app.app.state.hub  # type: ignore[attr-defined]
    held, release = threading.Event(), threading.Event()
    for name in names[-HELD:]:  # the background indexer stops before these until the test releases it
        source = hub.sources[name]

        def gated(*args, _refresh=source.refresh, **kwargs):
            if threading.current_thread().name == "tagreg-warm":
                held.set()
                release.wait(30)
            return _refresh(*args, **kwargs)

        source.refresh = gated
    pending = names[-HELD:]
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            assert held.wait(30)
            repos = client.get("/api/repos").json()
            assert [r["status"] for r in repos["repos"]] == ["ok"] * (REPOS - HELD) + ["indexing"] * HELD
            assert repos["indexing"] == {"indexed": REPOS - HELD, "total": REPOS, "pending": pending}

            models = client.get("/api/models").json()
            assert models["total"] == REPOS - HELD  # one churn per indexed repository
            assert models["indexing"] == {"indexed": REPOS - HELD, "total": REPOS, "pending": pending}
            events = client.get("/api/events").json()
            assert events["indexing"]["pending"] == pending
            page = client.get("/").text
            assert f"Indexing: {REPOS - HELD} of {REPOS} repositories ready; not shown yet: " \
                   f"{', '.join(pending)}." in page
            # Not there yet: not "no such model", but "retry".
            reply = client.get("/api/models/only-last")
            assert reply.status_code == 503 and reply.headers["retry-after"] == "5"
            assert reply.json()["error"]["code"] == "not_ready" and reply.json()["error"]["pending"] == pending
            assert client.get(f"/api/models/only-last?repo={names[-1]}").status_code == 503

            release.set()
            assert hub.warmed.wait(60)
            models = poll(lambda: (lambda m: "indexing" not in m and m)(client.get("/api/models").json()))
            assert models["total"] == REPOS + 1
            assert "Indexing:" not in client.get("/").text
            assert "indexing" not in client.get("/api/repos").json()
            assert client.get("/api/models/only-last").json()["latest"] == "v0.1.0"
            assert client.get("/api/models/not-anywhere").status_code == 404
    finally:
        release.set()
