"""`doctor`: what is wrong with a registry, one finding per line."""

from __future__ import annotations

from .. import state as S
from .. import tags as T
from ..errors import UserError
from .repository import _open
from .results import Check

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from .repository import PathLike


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
        head_notes = r.annotations([head])[head]
        commits = {}
        for artifact in registry.artifacts.values():
            for version in artifact.versions:
                if version.is_registered and version.is_active:
                    commits.setdefault(version.commit, []).append(version)
        notes = r.annotations(list(commits), list(registry.artifacts))
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
        links = {(n.repo, n.rev, n.path, name) for name, n in head_notes.items() if n.repo}
        links |= {(n.repo, n.rev, n.path, name) for per in notes.values() for name, n in per.items() if n.repo}
        checks += _check_links(sorted(links, key=lambda link: (link[3], str(link[1]))))
    except UserError as exc:
        checks.append(Check("error", str(exc)))
    for bad in r.take_warnings():  # at HEAD it can be fixed; in history it can only be known
        checks.append(Check("error" if bad.commit == r.head() else "warning", bad.message))
    return checks


def _check_links(links: list[tuple]) -> list[Check]:
    """A link needs a pinned rev, a repository and rev that resolve, and the path at that rev."""
    from .. import delivery as D
    from .repository import Repository

    out = []
    opened: dict[str, object] = {}
    for url, rev, path, name in links:
        where = f"{name}: link to {url}"
        if not rev:
            out.append(Check("error", f"{where} has no pinned rev (add one with `tagreg link ... --rev REV`)"))
            continue
        try:
            source = opened.get(url) or Repository(url)
            opened[url] = source
        except UserError as exc:
            out.append(Check("error", f"{where} cannot be read: {exc}"))
            continue
        sha = source.git.resolve(rev)  # type: ignore[attr-defined]
        if sha is None:
            out.append(Check("error", f"{where}: rev '{rev}' does not exist there"))
        elif not path or not (D.entries(source.git, sha, path) or D.dvc_tracked(source.git, sha, path)):  # type: ignore[attr-defined]
            out.append(Check("error", f"{where}: path '{path}' does not exist at {rev}"))
    return out


def _looks_like_registry_tag(tag: str, known: set[str]) -> bool:
    import re

    m = re.match(r"^([^@#]+)[@#](.*)$", tag)
    if m is None:
        return False
    artifact, rest = m.group(1).replace("=", ":"), m.group(2)
    if artifact in known:
        return True
    return T.is_fullname(artifact) and bool(re.match(r"^(v?\d|deprecated|[a-zA-Z0-9-_/]+#\d+$)", rest))
