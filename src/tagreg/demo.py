"""`tagreg demo`: a small example registry, so a fresh install shows something real."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from . import api
from .errors import UserError
from .git import Git

ARTIFACTS_YAML = """\
# Annotations of the artifacts in this repository (read by tagreg and GTO).
churn:
  type: model
  path: models/churn.pkl
  description: Gradient-boosted churn classifier
  labels: [tabular, production]
segment:
  type: model
  path: models/segment.pkl
  description: Customer segmentation (k-means)
  labels: [clustering]
reviews:
  type: dataset
  path: data/reviews.csv
  description: Labelled product reviews
legacy-scorer:
  type: model
  path: models/legacy.pkl
  description: Rule-based scorer, replaced by churn
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def _commit(git: Git, root: Path, message: str, files: dict[str, str]) -> str:
    _write(root, files)
    return git.commit_paths(list(files), message)


@contextmanager
def _clock(start: int):
    """Give each git write its own time, a day apart, so the history reads like real work."""
    saved = {k: os.environ.get(k) for k in ("GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE")}
    now = [start]

    def tick() -> None:
        now[0] += 86400
        os.environ["GIT_COMMITTER_DATE"] = os.environ["GIT_AUTHOR_DATE"] = f"{now[0]} +0000"

    try:
        tick()
        yield tick
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build(directory: str | Path) -> Path:
    """Create a git repository at directory with annotated artifacts, versions and stages."""
    root = Path(directory).resolve()
    if root.exists() and any(root.iterdir()):
        raise UserError(f"'{directory}' exists and is not empty; choose another folder")
    root.mkdir(parents=True, exist_ok=True)
    git = Git(root)
    git.run("init", "-q")
    try:
        git.identity()
    except UserError:  # a fresh machine: give the demo repository an identity of its own
        git.run("config", "user.name", "tagreg demo")
        git.run("config", "user.email", "demo@tagreg.invalid")
    git.run("symbolic-ref", "HEAD", "refs/heads/main")

    steps = [
        lambda: _commit(git, root, "Add annotations and first models", {
            "artifacts.yaml": ARTIFACTS_YAML,
            ".gto": "stages: [dev, staging, prod]\n",
            "models/churn.pkl": "churn model v1\n",
            "models/segment.pkl": "segment model v1\n",
            "models/legacy.pkl": "legacy scorer\n",
            "data/reviews.csv": "text,label\ngreat,1\n",
        }),
        lambda: api.register(root, "legacy-scorer", version="v3.1.0"),
        lambda: api.assign(root, "legacy-scorer", "prod", version="v3.1.0"),
        lambda: api.register(root, "churn"),
        lambda: api.register(root, "segment"),
        lambda: api.register(root, "reviews", version="v1.0.0"),
        lambda: api.assign(root, "churn", "dev", version="v0.0.1"),
        lambda: api.assign(root, "churn", "prod", version="v0.0.1"),
        lambda: _commit(git, root, "Retrain churn on more data", {"models/churn.pkl": "churn model v2\n"}),
        lambda: api.register(root, "churn", bump_minor=True),
        lambda: api.assign(root, "churn", "dev", version="v0.1.0"),
        lambda: api.assign(root, "churn", "staging", version="v0.1.0"),
        lambda: _commit(git, root, "Tune segment", {"models/segment.pkl": "segment model v2\n"}),
        lambda: api.assign(root, "segment", "dev"),  # registers v0.0.2 first, then assigns
        lambda: api.deprecate(root, "legacy-scorer"),
    ]
    with _clock(int(time.time()) - 86400 * (len(steps) + 1)) as tick:
        for step in steps:
            step()
            tick()
    return root
