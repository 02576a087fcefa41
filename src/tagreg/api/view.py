"""The registry table of `show`: one row per artifact, computed from the tags or kept in the cache.

A row depends only on its artifact's own tags (and the stage options), so rows are cached per
artifact, keyed by that artifact's tag names and object ids as a cheap `for-each-ref` lists them
(no tag object read). After a push or a fetch, only the artifacts whose tags changed are read and
built again; on a registry of 10k tags that is the difference between reading every tag object
and reading a handful.
"""

from __future__ import annotations

import re

from .. import cache
from .. import state as S
from .. import tags as T
from ..record import record
from .results import ArtifactInfo

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~5 ms a command)
if TYPE_CHECKING:
    from .repository import Repository

# A listing line `OID refs/tags/PREFIX[@#]...`: PREFIX is the artifact part of a registry tag.
_LINE = re.compile(rb"[0-9a-f]+ refs/tags/([^@#\n]*)[^\n]*")
_REREAD_AT_MOST = 64  # more changed artifacts than this: read every tag at once instead


@record
class Row:
    """One artifact's row, with what the table needs besides it."""

    info: ArtifactInfo
    used: frozenset  # stages active on one of its versions (the table's columns without .gto stages)
    rank: tuple  # GTO's discovery order: (event group, time, tag) of its first event


def rows(r: Repository, view: S.StageView, incremental: bool) -> list[Row]:
    """Every artifact's row, in GTO's discovery order; from the cache folder for artifacts whose
    tags did not change since it was kept (incremental), else from the tags."""
    if not incremental:
        return _sorted(_rows_of(r.registry(), view, keep_state=True))
    groups = _groups(r.tag_listing())
    name = r.cache_name()
    key = repr(view)
    stored = cache.load_pickle("rows", name, key)
    if not isinstance(stored, dict):
        stored = {}
    changed = [prefix for prefix, digest in groups.items() if stored.get(prefix, (None,))[0] != digest]
    fresh: dict[str, list[Row]] = {prefix: [] for prefix in changed}
    if len(changed) > _REREAD_AT_MOST:
        registry = r.registry()
    else:
        patterns = [p for prefix in changed for p in T.ref_patterns(prefix.replace("=", ":"))]
        registry = S.build(r.git.tags(patterns) if patterns else [])
    for row in _rows_of(registry, view, keep_state=False):
        prefix = T.tag_prefix(row.info.name)
        if prefix in fresh:
            fresh[prefix].append(row)
    if changed or len(stored) != len(groups):
        kept = {prefix: stored[prefix] for prefix in groups if prefix not in fresh}
        kept.update({prefix: (groups[prefix], found) for prefix, found in fresh.items()})
        cache.store_pickle("rows", name, key, kept)
        stored = kept
    return _sorted([row for prefix in groups for row in stored[prefix][1]])


def _groups(listing: bytes) -> dict[str, bytes]:
    """Tag-name prefix (an artifact's part of its tags) -> digest of its tags' names and ids.
    Prefixes that cannot be an artifact's are left out: their tags are nobody's."""
    import hashlib

    lines: dict[bytes, list[bytes]] = {}
    for match in _LINE.finditer(listing):
        lines.setdefault(match.group(1), []).append(match.group(0))
    out = {}
    for prefix, found in lines.items():
        text = prefix.decode("utf-8", "replace")
        dirname, _, short = text.rpartition("=")
        if T.is_name(short) and (not dirname or T.is_fullname(f"{dirname}:{short}")):
            out[text] = hashlib.sha1(b"\n".join(found)).digest()
    return out


def _rows_of(registry: S.Registry, view: S.StageView, keep_state: bool) -> list[Row]:
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
            state=artifact if keep_state else None,
        )
        used = frozenset(s.stage for v in artifact.versions if v.is_active for s in v.stages.values() if s.is_active)
        out.append(Row(info, used, artifact.rank))
    return out


def _sorted(found: list[Row]) -> list[Row]:
    return sorted(found, key=lambda row: row.rank)
