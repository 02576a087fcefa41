"""The registry table of `show`: one row per artifact, computed from the tags or kept in the cache.

A row depends only on its artifact's own tags (and the stage options), so rows are cached per
artifact, keyed by that artifact's tag names and object ids as a cheap `for-each-ref` lists them
(no tag object read). After a push or a fetch, only the artifacts whose tags changed are read and
built again; on a registry of 10k tags that is the difference between reading every tag object
and reading a handful. The rows are kept in `BUCKETS` files (by a hash of the artifact's name), so
one changed artifact rewrites one small file, not every row.
"""

from __future__ import annotations

import gc
import hashlib
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from .. import cache
from .. import state as S
from .. import tags as T
from . import governance
from .repository import Repository
from .results import ArtifactInfo

# The artifact part of a registry tag in a listing line `OID<TAB>refs/tags/PREFIX[@#]...`.
_PREFIX = re.compile(rb"\trefs/tags/([^@#\n]*)")
_REREAD_AT_MOST = 64  # more changed artifacts than this: read every tag at once instead
BUCKETS = 64  # files the rows are kept in
# Part of every cache key: raise it when the same tags give other rows (2: same-second ties by #N; 3: dataclasses;
# 4: kept in buckets), so a cache kept by an older build of the same version is not read as current.
ROWS_FORMAT = 4


@dataclass
class Row:
    """One artifact's row, with what the table needs besides it."""

    info: ArtifactInfo
    used: frozenset  # stages active on one of its versions (the table's columns without .gto stages)
    rank: tuple  # GTO's discovery order: (event group, time, tag) of its first event


def rows(r: Repository, view: S.StageView, incremental: bool, whole: bool = False) -> list[Row]:
    """Every artifact's row, in GTO's discovery order; from the cache folder for artifacts whose
    tags did not change since it was kept (incremental), else from the tags (from the repository's
    whole registry if whole)."""
    if whole or _governed(r):
        with _many_objects():
            return _sorted(_rows_of(r.registry(), view))
    if not incremental:
        return _sorted(_all_rows(r, view))
    digests = _digests(r.tag_listing())
    name, key = r.cache_name(), f"{ROWS_FORMAT}:{view!r}"
    buckets: list[dict[str, tuple[bytes, list]]] = []
    for bucket in range(BUCKETS):
        stored = cache.load_value("rows", f"{name}-{bucket}")
        buckets.append(stored[1] if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key
                       and isinstance(stored[1], dict) else {})
    kept = {prefix: entry for part in buckets for prefix, entry in part.items()}
    changed = [prefix for prefix, digest in digests.items() if kept.get(prefix, (None,))[0] != digest]
    if len(changed) > _REREAD_AT_MOST:
        found = _all_rows(r, view)
    else:
        patterns = [p for prefix in changed for p in T.ref_patterns(prefix.replace("=", ":"))]
        found = _rows_of(S.build(r.git.tags_lean(patterns) if patterns else []), view)
    fresh: dict[str, list] = {prefix: [] for prefix in changed}
    for row in found:
        prefix = T.tag_prefix(row.info.name)
        if prefix in fresh:
            fresh[prefix].append(_plain(row))
    kept.update((prefix, (digests[prefix], found)) for prefix, found in fresh.items())
    dirty = {_bucket(prefix) for prefix in fresh}
    dirty.update(i for i, part in enumerate(buckets) if any(prefix not in digests for prefix in part))  # tags gone
    if dirty:
        parts: dict[int, dict] = {bucket: {} for bucket in dirty}
        for prefix in digests:
            part = parts.get(_bucket(prefix))
            if part is not None:
                part[prefix] = kept[prefix]
        for bucket, part in parts.items():
            cache.store_value("rows", f"{name}-{bucket}", (key, part))
    return _sorted([_row(plain) for prefix in digests for plain in kept[prefix][1]])


def prefetch(r: Repository, incremental: bool, whole: bool = False) -> None:
    """Start reading what `rows` reads of every tag, if it does (not incremental, or whole), in the
    background: git reads the tags while the caller does something else."""
    if whole or _governed(r):
        r.prefetch()
    elif not incremental:
        r.prefetch_lean()


def _governed(r: Repository) -> bool:
    """Whether a policy judges what is read: it judges each artifact's events read whole."""
    return r.in_effect and governance.governs(r)


def _bucket(prefix: str) -> int:
    """The file an artifact's rows are kept in (by a hash that is the same in every process)."""
    return zlib.crc32(prefix.encode()) % BUCKETS


def _plain(row: Row) -> tuple:
    """row as plain values (`cache.store_value` keeps them; no pickle to load)."""
    info = row.info
    return (info.name, info.registered, info.active, info.latest, info.stages, sorted(row.used), row.rank)


def _row(plain: tuple) -> Row:
    name, registered, active, latest, stages, used, rank = plain
    return Row(ArtifactInfo(name, registered, active, latest, stages), frozenset(used), rank)


def _all_rows(r: Repository, view: S.StageView) -> list[Row]:
    """The rows of every artifact, from every tag read in the lean format (`Repository.tags_lean`)."""
    with _many_objects():
        return _rows_of(S.build(r.tags_lean()), view)


@contextmanager
def _many_objects() -> Iterator[None]:
    """Python's cycle collector off while a whole registry's events are made: they are tens of
    thousands of objects that live until the rows are made, none of them in a cycle, and the
    collector would walk them again and again (a third of the time of a read at 200k tags)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:  # threads: each one that found it on turns it on again, so it ends on
            gc.enable()


def _is_prefix(text: str) -> bool:
    """Whether text can be the artifact part of registry tags (`NAME` or `DIR=NAME`)."""
    dirname, _, short = text.rpartition("=")
    return T.is_name(short) and (not dirname or T.is_fullname(f"{dirname}:{short}"))


def _digests(listing: bytes) -> dict[str, bytes]:
    """Tag-name prefix (an artifact's part of its tags) -> digest of its tags' lines (names and
    ids). Prefixes that cannot be an artifact's are left out: their tags are nobody's."""
    # The listing is sorted, so an artifact's lines come in a few runs; groupby, map and join go
    # through them without a Python step per line.
    lines = listing.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    prefixes = _PREFIX.findall(listing)
    if len(prefixes) != len(lines):  # lines of other refs too (a remote's listing): one by one
        lines = [line for line in lines if _PREFIX.search(line)]
        prefixes = [_PREFIX.search(line).group(1) for line in lines]  # type: ignore[union-attr]
    runs: dict[bytes, list[bytes]] = {}
    line = itemgetter(1)
    for prefix, run in groupby(zip(prefixes, lines, strict=True), key=itemgetter(0)):
        runs.setdefault(prefix, []).append(b"\n".join(map(line, run)))
    out = {}
    for prefix, found in runs.items():
        text = prefix.decode("utf-8", "replace")
        if _is_prefix(text):
            out[text] = hashlib.sha1(b"\n".join(found)).digest()
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
