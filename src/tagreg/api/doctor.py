"""`doctor`: what is wrong with a registry, one finding per line."""

from __future__ import annotations

import builtins

from .. import state as S
from .. import tags as T
from ..errors import UserError
from .repository import PathLike, _open
from .results import Check


def doctor(repo: PathLike = ".") -> list[Check]:
    """Check the repository, config, tags and annotations; one Check per finding."""
    checks: list[Check] = []
    try:
        r = _open(repo)
    except UserError as exc:
        return [Check("error", str(exc))]
    if r.git.head() is None:
        return [Check("error", f"the repository at '{r.location}' has no commits yet")]
    tags = r.git.tags()
    registry = S.build(tags)
    for problem in registry.problems:
        checks.append(Check("warning", f"{problem.artifact}: {problem.message}"))
    for name, names in registry.lightweight.items():
        for tag in names:
            checks.append(Check("warning", f"tag '{tag}' is lightweight; registry tags must be annotated (ignored)"))
    known = set(registry.artifacts)
    for info in tags:
        if T.parse_tag(info.tag) is None and _looks_like_registry_tag(info.tag, known):
            checks.append(Check("warning", f"tag '{info.tag}' looks like a registry tag but does not parse (ignored)"))
    try:
        head = r.head()
        r.annotations([head])
        commits = {}
        for artifact in registry.artifacts.values():
            for version in artifact.versions:
                if version.is_registered and version.is_active:
                    commits.setdefault(version.commit, []).append(version)
        notes = r.annotations(builtins.list(commits), builtins.list(registry.artifacts))
        for commit, versions in commits.items():
            for version in versions:
                note = notes[commit].get(version.artifact)
                if note is None or not note.path or "://" in note.path or note.repo:
                    continue
                if not r.git.path_exists(commit, note.path):
                    checks.append(Check(
                        "warning",
                        f"{version.artifact}@{version.version}: path '{note.path}' does not exist at commit {commit[:7]}",
                    ))
    except UserError as exc:
        checks.append(Check("error", str(exc)))
    return checks


def _looks_like_registry_tag(tag: str, known: set[str]) -> bool:
    import re

    m = re.match(r"^([^@#]+)[@#](.*)$", tag)
    if m is None:
        return False
    artifact, rest = m.group(1).replace("=", ":"), m.group(2)
    if artifact in known:
        return True
    return T.is_fullname(artifact) and bool(re.match(r"^(v?\d|deprecated|[a-zA-Z0-9-_/]+#\d+$)", rest))
