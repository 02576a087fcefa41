"""The server reads the history as the policy's `show:` pins it (gto#428), as the CLI does: the
models table, the model page and the REST API put in a stage the version `tagreg which` names, and
the page says what is pinned. A repository without a policy reads as GTO does. The real server
(`tagreg serve`) over real repositories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')

from tagreg import api

from .support import Author, Registries, base_env, init_repo, start_server, stop_server


def build(root: Path) -> Registries:
    """pinned and plain: the same history (prod got v0.1.0, then later v0.0.1); pinned's main pins
    sort: semver, so its prod holds v0.1.0; plain's holds v0.0.1, by GTO's default."""
    home = root / "home"
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    a = Author(home)
    paths = {}
    for name, policy in (("pinned", {".tagreg/policy.yaml": "show:\n  sort: semver\n"}), ("plain", {})):
        repo = paths[name] = init_repo(root / name, home)
        first = a.commit(repo, {"artifacts.yaml": "churn:\n  type: model\n  path: churn.pkl\n", "churn.pkl": "1",
                                **policy}, "Model one")
        with a.as_("Alice"):
            api.register(repo, "churn", version="v0.0.1", ref=first)
        a.commit(repo, {"churn.pkl": "2"}, "Model two")
        with a.as_("Alice"):
            api.register(repo, "churn", version="v0.1.0")
        with a.as_("Alice"):
            api.assign(repo, "churn", "prod", version="v0.1.0")
        with a.as_("Alice"):
            api.assign(repo, "churn", "prod", version="v0.0.1")
    config = root / "registries.yaml"
    config.write_text("repos:\n  - pinned\n  - plain\n")
    return Registries(root, home, config, paths)


@pytest.fixture(scope="module")
def pinned(tmp_path_factory):
    regs = build(tmp_path_factory.mktemp("pinned"))
    server = start_server(regs, "--config", str(regs.config), wait_for=2)
    yield regs, server
    stop_server(server)


def which(regs: Registries, repo: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "tagreg", "which", "churn", "prod"], cwd=regs.paths[repo],
                          capture_output=True, text=True, env=base_env(regs.home))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_server_puts_in_a_stage_the_version_the_cli_names(pinned):
    regs, server = pinned
    assert (which(regs, "pinned"), which(regs, "plain")) == ("v0.1.0", "v0.0.1")
    rows = {m["repo"]: m for m in server.get("/api/models").json["models"]}
    assert rows["pinned"]["stages"] == {"prod": ["v0.1.0"]} and rows["plain"]["stages"] == {"prod": ["v0.0.1"]}
    for repo, winner in (("pinned", "v0.1.0"), ("plain", "v0.0.1")):
        model = server.get(f"/api/models/churn?repo={repo}").json
        assert model["stages"] == {"prod": [winner]}, repo
        in_prod = [v["version"] for v in model["versions"] if any(s["stage"] == "prod" for s in v["stages"])]
        assert in_prod == [winner], repo
    assert server.get("/api/models/churn?repo=pinned").json["policy"]["show"] == {"sort": "semver"}


def test_the_model_page_says_what_is_pinned(pinned):
    _, server = pinned
    page = server.get("/models/churn?repo=pinned").text
    assert "Read as the policy pins it: <span class=\"mono\">sort semver</span>." in page
    assert "Read as the policy pins it" not in server.get("/models/churn?repo=plain").text
