"""The registry table of `show`: one row per artifact, computed from the tags or kept in the cache.

A row depends only on its artifact's own tags (and the stage options), so rows are cached per
artifact, keyed by that artifact's tag names and object ids as a cheap `for-each-ref` lists them
(no tag object read). After a push or a fetch, only the artifacts whose tags changed are read and
built again; on a registry of 10k tags that is the difference between reading every tag object
and reading a handful.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import cache
from .. import state as S
from .. import tags as T
from .repository import BIG, Repository, cores
from .results import ArtifactInfo

# A listing line `OID<TAB>refs/tags/PREFIX[@#]...`: PREFIX is the artifact part of a registry tag.
_LINE = re.compile(rb"[0-9a-f]+\trefs/tags/([^@#\n]*)[^\n]*")
_PREFIX = re.compile(rb"\trefs/tags/([^@#\n]*)")
_REREAD_AT_MOST = 64  # more changed artifacts than this: read every tag at once instead
# Part of every cache key: raise it when the same tags give other rows (2: same-second ties by #N; 3: dataclasses),
# so a cache kept by an older build of the same version is not read as current.
ROWS_FORMAT = 3


@dataclass
class Row:
    """One artifact's row, with what the table needs besides it."""

    info: ArtifactInfo
    used: frozenset  # stages active on one of its versions (the table's columns without .gto stages)
    rank: tuple  # GTO's discovery order: (event group, time, tag) of its first event


def rows(r: Repository, view: S.StageView, incremental: bool, keep_state: bool = False) -> list[Row]:
    """Every artifact's row, in GTO's discovery order; from the cache folder for artifacts whose
    tags did not change since it was kept (incremental), else from the tags (all in this process
    if keep_state)."""
    if keep_state:
        return _sorted(_rows_of(r.registry(), view))
    if not incremental:
        return _sorted(_all_rows(r, view, _counts(r.tag_listing())))
    groups = _groups(r.tag_listing())
    name = r.cache_name()
    key = f"{ROWS_FORMAT}:{view!r}"
    stored = cache.load_pickle("rows", name, key)
    if not isinstance(stored, dict):
        stored = {}
    changed = [prefix for prefix, (digest, _) in groups.items() if stored.get(prefix, (None,))[0] != digest]
    fresh: dict[str, list[Row]] = {prefix: [] for prefix in changed}
    if len(changed) > _REREAD_AT_MOST:
        found = _all_rows(r, view, {prefix: count for prefix, (_, count) in groups.items()})
    else:
        patterns = [p for prefix in changed for p in T.ref_patterns(prefix.replace("=", ":"))]
        found = _rows_of(S.build(r.git.tags_lean(patterns) if patterns else []), view)
    for row in found:
        prefix = T.tag_prefix(row.info.name)
        if prefix in fresh:
            fresh[prefix].append(row)
    if changed or len(stored) != len(groups):
        kept = {prefix: stored[prefix] for prefix in groups if prefix not in fresh}
        kept.update({prefix: (groups[prefix][0], found) for prefix, found in fresh.items()})
        cache.store_pickle("rows", name, key, kept)
        stored = kept
    return _sorted([row for prefix in groups for row in stored[prefix][1]])


def _all_rows(r: Repository, view: S.StageView, counts: dict[str, int]) -> list[Row]:
    """The rows of every artifact. On a big registry, on Linux, a forked copy of this process
    reads and builds half of the artifacts (whole artifacts: each half is a set of name prefixes)
    while this one does the other half: building rows is Python's work, and this halves it."""
    import os
    import sys

    big = sum(counts.values()) >= BIG
    halves = _halves(counts) if big and sys.platform == "linux" and cores() > 1 else None
    if halves is None:
        return _rows_of(r.registry(), view)
    import pickle

    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the copy: the second half, sent back pickled; never returns
        code = 1
        try:
            os.close(reader)
            data = pickle.dumps(_rows_of(S.build(r.git.tags_lean(halves[1])), view))
            with os.fdopen(writer, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    try:
        mine = _rows_of(S.build(r.git.tags_lean(halves[0])), view)
        with os.fdopen(reader, "rb") as incoming:
            data = incoming.read()
    finally:
        _, status = os.waitpid(child, 0)
    if status != 0 or not data:  # the copy failed (it said nothing): read that half here
        return mine + _rows_of(S.build(r.git.tags_lean(halves[1])), view)
    return mine + pickle.loads(data)


def _halves(counts: dict[str, int]) -> list[list[str]] | None:
    """`for-each-ref` patterns for two halves of the tags of the artifacts in counts (tag prefix ->
    its number of tags), each artifact wholly in one half; None if the names do not split well."""
    best: tuple[float, list[str], int] | None = None
    for size in range(1, 13):
        # An artifact's tags all start with its prefix; a prefix shorter than `size` stands alone.
        heads: dict[str, int] = {}
        for prefix, count in counts.items():
            head = prefix[:size] if len(prefix) >= size else prefix + "@#"
            heads[head] = heads.get(head, 0) + count
        if len(heads) > 64:  # a pattern each: for-each-ref would spend its time matching them
            break
        ordered = sorted(heads)
        total, seen, cut = sum(heads.values()), 0, 0
        while cut < len(ordered) - 1 and seen + heads[ordered[cut]] / 2 <= total / 2:
            seen += heads[ordered[cut]]
            cut += 1
        if 0 < cut < len(ordered):
            larger = max(seen, total - seen) / total
            if best is None or larger < best[0]:
                best = (larger, ordered, cut)
            if larger <= 0.55:
                break
    if best is None or best[0] > 0.65:
        return None
    _, ordered, cut = best

    def patterns(part: list[str]) -> list[str]:
        out = []
        for head in part:
            glob = f"{head[:-2]}[@#]*" if head.endswith("@#") else f"{head}*"
            out += [f"refs/tags/{glob}", f"refs/tags/{glob}/**"]  # `*` does not cross `/`
        return out

    return [patterns(ordered[:cut]), patterns(ordered[cut:])]


def _counts(listing: bytes) -> dict[str, int]:
    """Tag-name prefix (an artifact's part of its tags) -> number of tags; see `_groups`."""
    from collections import Counter

    found = Counter(_PREFIX.findall(listing))
    return {text: count for text, count in ((p.decode("utf-8", "replace"), n) for p, n in found.items())
            if _is_prefix(text)}


def _is_prefix(text: str) -> bool:
    """Whether text can be the artifact part of registry tags (`NAME` or `DIR=NAME`)."""
    dirname, _, short = text.rpartition("=")
    return T.is_name(short) and (not dirname or T.is_fullname(f"{dirname}:{short}"))


def _groups(listing: bytes) -> dict[str, tuple[bytes, int]]:
    """Tag-name prefix (an artifact's part of its tags) -> (digest of its tags' names and ids,
    number of tags). Prefixes that cannot be an artifact's are left out: their tags are nobody's."""
    import hashlib

    lines: dict[bytes, list[bytes]] = {}
    for match in _LINE.finditer(listing):
        lines.setdefault(match.group(1), []).append(match.group(0))
    out = {}
    for prefix, found in lines.items():
        text = prefix.decode("utf-8", "replace")
        if _is_prefix(text):
            out[text] = (hashlib.sha1(b"\n".join(found)).digest(), len(found))
    return out


def _rows_of(registry: S.Registry, view: S.StageView) -> list[Row]:
    out = []
    for artifact in registry.artifacts.values():
        latest = S.latest(artifact)
        winners = S.stage_winners(artifact, view)
        info = ArtifactInfo(
            name=artifact.name,
            registered=artifact.registered,
            active=artifact.is_active,
            latest=latest.version if latest else None,
            stages={stage: [v.version for v in versions] for stage, versions in winners.items()},
        )
        used = frozenset(s.stage for v in artifact.versions if v.is_active for s in v.stages.values() if s.is_active)
        out.append(Row(info, used, artifact.rank))
    return out


def _sorted(found: list[Row]) -> list[Row]:
    return sorted(found, key=lambda row: row.rank)
