"""Opening a registry: a local folder or a remote URL (through its cached mirror)."""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union, cast

from .. import annotations as A
from .. import cache
from .. import config as C
from .. import state as S
from .. import tags as T
from ..git import Git, Process, SigningKey, split_tag_patterns
from .results import BadFile, Notice, RegistryError, Withheld

if TYPE_CHECKING:
    from pathlib import Path

    from .. import remote  # imported for a URL: a local folder opens without it

PathLike = Union[str, "Path", "Repository"]  # what every API function takes as repo

MAX_TREE_PATHS = 200_000  # paths of a commit's tree looked through for dvc.yaml files (~0.2 s)
BIG = 2000  # tags from which a whole-registry read is shared among processes
TAGS_FORMAT = "1"  # part of the key of the cache of tags by id: raise it when TagInfo changes
READ_BY_NAME = 64  # more tags missing from that cache than this: read the artifact's tags at once


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return min(4, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Writer:
    """Whom writes are made for when it is not the user's git identity (a server writing for the
    person signed in): the tagger of the tags (name, e-mail), trailers added to their messages
    (`Tagreg-Server: NAME`), and the key that signs them (then always signed)."""

    tagger: tuple[str, str] | None = None
    trailers: tuple[tuple[str, str], ...] = ()
    signing: SigningKey | None = None


class Repository:
    """A registry repository: its git, its config and cached reads for one API call."""

    git: Git  # the repository's, or its remote's mirror's
    writer: Writer | None = None  # who the writes through this object are made for (None: git's user)

    def __init__(
        self, repo: PathLike | remote.Mirror = ".", *, offline: bool = False, progress: bool | None = None,
        branch: str | None = None, check_later: bool = False, prefetch: str | None = None, policy: bool = True,
    ):
        """repo: a path, a URL, or a `remote.Mirror` already ensured. With check_later, a remote's
        cached mirror is read without waiting for the check that the remote has not changed; the
        reader must call `catch_up` (see `api.read`). prefetch: an artifact whose tags the caller
        will read (git reads them while another git process opens the repository). policy: read
        the registry as the policy at the protected ref has it (`in_effect`); False (or
        TAGREG_NO_POLICY=1): every tag as it is, as `--no-policy` shows it."""
        # A folder that exists opens without the remote module; a URL or a Mirror needs it.
        local = isinstance(repo, os.PathLike) or (isinstance(repo, str) and os.path.exists(repo))
        if local:
            self.location = str(repo)
        else:
            from .. import remote

            if isinstance(repo, remote.Mirror):
                self.location = repo.display
            elif isinstance(repo, str):  # a URL or a missing path
                self.location = remote.redact(repo)
            else:
                raise TypeError(f"a repository is a path, a URL or a remote.Mirror, not {type(repo).__name__}")
        self.mirror: remote.Mirror | None = None
        self._tags: dict[str, list[S.TagInfo]] = {}
        self._pending: dict[str, list] = {}  # reads started in the background
        self._lean: list[S.TagInfo] | None = None  # `tags_lean`, once
        self._leaning: list[Process] = []  # those reads, started in the background
        self._named: dict[str, Process] = {}  # listings of one artifact's tags, started in the background
        self._digests: dict[str, str] = {}  # artifact -> a digest of its tags' listing (names and ids)
        self._own: dict[str, list] = {}  # `own_tags`
        self._listed: bytes | None = None  # `git.list_tags()`, once
        self._listing: Process | None = None  # that listing, started in the background
        self._head: str | None = None  # HEAD's commit, when opening the repository told it
        # Reads leave out the events the policy does not allow (writes see every tag: `api.write`);
        # refused: each left-out tag's breaches, for the caller to show.
        self.in_effect = policy and os.environ.get("TAGREG_NO_POLICY", "") in ("", "0")
        self.refused: dict[str, list] = {}
        self.withheld: list[Withheld] = []  # the refused tags that would change an answer now, oldest first
        self._judged: dict[str, frozenset[str]] = {}  # artifact ("" for all) -> its tags not in effect
        # annotation files read as no annotation, and notices (results.Notice), for the caller to show
        self.warnings: list[BadFile | Notice] = []
        self._warned: set[tuple[str, str]] = set()  # (file, commit) of every warning ever added
        if not local and isinstance(repo, remote.Mirror):
            self.mirror, self.git = repo, repo.git
            where: str | bool | None = True
        elif not local and isinstance(repo, str) and remote.is_url(repo):
            self.mirror = remote.Mirror(repo, offline=offline, progress=progress, branch=branch)
            self.git = self.mirror.ensure(check_later=check_later)
            where = True
        else:
            path = cast("str | os.PathLike[str]", repo)  # not a Repository: that is read through
            self.git = Git(path)
            if not os.path.exists(path):
                raise RegistryError(f"'{repo}' does not exist")
            if prefetch is not None and T.is_fullname(prefetch):
                self.prefetch(prefetch)
            where, self._head = self.git.locate()
            if where is None:
                self.forget_tags()
                raise RegistryError(f"'{repo}' is not a git repository")
        self.bare = where is True
        self._root: str | None = None if where is True else where  # type: ignore[assignment]
        self._load_config()

    @property
    def root(self) -> Path | None:
        """The work tree's root folder; None for a bare repository or a remote's mirror."""
        from pathlib import Path

        return None if self._root is None else Path(self._root)

    def _load_config(self) -> None:
        if self._root is None:  # no work tree: the config as committed on the default branch
            from ..yaml import limits

            name, most = C.file_name(), limits()["bytes"]
            data = None
            if self._resolve_head():
                data = self.git.read_objects_within([f"HEAD:{name}"], most)[f"HEAD:{name}"]
            if isinstance(data, int):
                raise C.ConfigError(f"Wrong config file '{name}': larger than {most} bytes ({data} bytes)")
            self.config = C.load(None, text=data)
        else:
            self.config = C.load(self._root)

    def catch_up(self) -> bool:
        """For a remote opened with check_later: True if the mirror read was the remote's state;
        else fetch now, forget what was read and return False (read again)."""
        if self.mirror is None or self.mirror.catch_up():
            return True
        self.forget_tags()
        self._load_config()
        return False

    @property
    def remote_name(self) -> str:
        """The remote that writes go to: the mirror's origin."""
        return "origin"

    def refresh(self, remote: str = "origin", name: str | None = None) -> None:
        """After a rejected push: bring the remote's tags in (never moving a local tag) and forget reads."""
        if self.mirror is not None:
            self.mirror.fetch()
        else:
            prefix = T.tag_prefix(name) if name else ""
            specs = [f"refs/tags/{prefix}@*:refs/tags/{prefix}@*", f"refs/tags/{prefix}#*:refs/tags/{prefix}#*"] \
                if name else ["refs/tags/*:refs/tags/*"]
            self.git.run("fetch", "--no-write-fetch-head", "--", remote, *specs, check=False)
        self.forget_tags()

    def _resolve_head(self) -> str | None:
        if self._head is None:
            self._head = self.git.head()
        return self._head

    def head_commit(self) -> str | None:
        """HEAD's commit, or None before the first commit (a new repository, or an orphan branch)."""
        return self._resolve_head()

    def head(self) -> str:
        """HEAD's commit; RegistryError in a repository without commits."""
        sha = self._resolve_head()
        if sha is None:
            raise RegistryError(f"the repository at '{self.location}' has no commits yet")
        return sha

    def resolve(self, ref: str) -> str:
        """The commit ref names; RegistryError if none."""
        if ref == "HEAD":
            return self.head()
        sha = self.git.resolve(ref)
        if sha is None:
            raise RegistryError(f"Unknown Git revision '{ref}'")
        return sha

    def fingerprint(self) -> str:
        """What the registry's state depends on: every tag's name and object id, and HEAD.

        One cheap listing (no tag object is read), so a cached view can be checked in milliseconds.
        """

        return hashlib.sha1(self.tag_listing() + (self._resolve_head() or "").encode()
                            + self.policy_key().encode()).hexdigest()

    def governed(self) -> bool:
        """Reads apply a policy with rules (so answers say what it left out, under keys of their own)."""
        if not self.in_effect:
            return False
        from . import governance

        return governance.governs(self)

    def policy_key(self) -> str:
        """What reads depend on besides the tags when they apply a policy: the commit it was read at
        (its signers' keys are read there too, and the show options it pins); '' when no policy
        governs or pins what is read."""
        if not self.in_effect:
            return ""
        from . import governance

        policy = governance.policy_of(self)
        return f"policy:{policy.commit}" if policy is not None and (policy.governed or policy.show.pinned) else ""

    def tag_listing(self) -> bytes:
        """`OID<TAB>refs/tags/NAME` per tag (read once): what the view cache keys on. For a remote
        whose check is under way, the tags' part of the mirror's listing for that check (the same
        bytes, so a read with or without `--offline` finds the same cached view)."""
        if self._listed is None:
            checked = self.mirror.checked_refs() if self.mirror is not None else None
            if checked is not None:  # branches, then tags: git sorts by name
                first = checked.find(b"\trefs/tags/")
                self._listed = checked[checked.rfind(b"\n", 0, first) + 1:] if first >= 0 else b""
            else:
                self.prefetch_listing()
                self._listed = self.git.finish(self._listing or self.git.start_listing())
        return self._listed

    def prefetch_listing(self) -> None:
        """Start `tag_listing` in the background."""
        if self._listed is None and self._listing is None and (self.mirror is None or not self.mirror.checking):
            self._listing = self.git.start_listing()

    def cache_name(self) -> str:
        """A file name for this repository's entries in the cache folder."""

        from .. import __version__

        where = self.mirror.where if self.mirror is not None else os.path.realpath(self.git.where)
        return hashlib.sha1(f"{__version__}\0{where}".encode()).hexdigest()[:16]

    def prefetch(self, name: str | None = None) -> None:
        """Start reading the tags (of name) in the background; `tags()` collects them.

        Every tag of a big registry is read by one `for-each-ref` per core, each on a share of them.
        """
        key = name or ""
        if key in self._tags or key in self._pending or key in self._named:
            return
        if name and not os.environ.get("TAGREG_NO_CACHE"):
            self._named[name] = self.git.start_listing(T.ref_patterns(name))  # see `_tags_by_id`
            return
        groups = [T.ref_patterns(name)] if name else self._shares()
        self._pending[key] = [self.git.start_tags(patterns) for patterns in groups]

    def _shares(self) -> list[list[str]]:
        """`for-each-ref` patterns of every tag: on a big registry, one share per core."""
        if cores() < 2:
            return [["refs/tags"]]
        listing = self.tag_listing()
        return split_tag_patterns(listing, cores()) if listing.count(b"\n") >= BIG else [["refs/tags"]]

    def prefetch_lean(self) -> None:
        """Start `tags_lean` in the background."""
        if self._lean is None and not self._leaning:
            self._leaning = [self.git.start_tags_lean(patterns) for patterns in self._shares()]

    def tags_lean(self) -> list[S.TagInfo]:
        """Every tag as `Git.tags_lean` reads it (no tagger names, no messages: all the registry
        table needs), read once; on a big registry by one `for-each-ref` per core, each on a share
        of the tags (git reads tag objects on one core)."""
        if self._lean is None:
            self.prefetch_lean()
            tags: list[S.TagInfo] = []
            for proc in self._leaning:
                tags += self.git.finish_tags_lean(proc)
            self._lean, self._leaning = tags, []
        return self._lean

    def tags(self, name: str | None = None) -> list[S.TagInfo]:
        """Every tag, or every tag of artifact name (read once per Repository object); when reading
        `in_effect`, without the tags the policy does not allow."""
        key = name or ""
        if key not in self._tags:
            self.prefetch(name)
            if key in self._named:
                found = self._tags_by_id(key, self.git.finish(self._named.pop(key)))
            else:
                found = []
                for proc in self._pending.pop(key):
                    found += self.git.finish_tags(proc)
            self._tags[key] = self._in_effect(key, found) if self.in_effect else found
        return self._tags[key]

    def _in_effect(self, key: str, tags: list[S.TagInfo]) -> list[S.TagInfo]:
        """tags without those the policy does not allow (each said once in `warnings`); the digest
        of what was read then names what was left out, so answers cached by it are the policy's."""
        from . import governance  # above this module: it judges what this one reads

        hidden = self._judged.get(key)
        if hidden is None:
            breaches, standing = governance.refused(self, tags)
            hidden = self._judged[key] = frozenset(breaches)
            for tag, found in breaches.items():
                self.refused.setdefault(tag, found)
            known = {w.tag for w in self.withheld}
            for withheld in standing:  # it would change what is read now: say why it does not
                if withheld.tag not in known:
                    self.withheld.append(withheld)
                    self.tell(withheld.notice)
        if not hidden:
            return tags
        if key in self._digests:
            extra = "\0".join(sorted(hidden)).encode()
            self._digests[key] = hashlib.sha1(self._digests[key].encode() + b"\0policy\0" + extra).hexdigest()
        return [t for t in tags if t.tag not in hidden]

    def _tags_by_id(self, name: str, listing: bytes) -> list[S.TagInfo]:
        """name's tags, as listed (`OID<TAB>refs/tags/NAME` lines: no tag object read), from the
        cache of tags read before, by id (a tag object never changes); only tags new to it are read.
        So an artifact's thousandth version costs as little to read as its first."""
        import hashlib

        self._digests[name] = hashlib.sha1(listing).hexdigest()
        listed = []
        for line in listing.decode("utf-8", "replace").split("\n"):
            oid, _, ref = line.partition("\t")
            if ref.startswith("refs/tags/"):
                listed.append((ref[len("refs/tags/"):], oid))
        file = f"{self.cache_name()}-{hashlib.sha1(T.tag_prefix(name).encode()).hexdigest()[:16]}"
        known = cache.load_keyed("tags", file, TAGS_FORMAT)
        if not isinstance(known, dict):
            known = {}
        missing = [tag for tag, oid in listed if oid not in known]
        if missing:
            plain = len(missing) <= READ_BY_NAME and not any(c in tag for tag in missing for c in "*?[\\")
            for info in self.git.tags([f"refs/tags/{tag}" for tag in missing] if plain else T.ref_patterns(name)):
                known[info.object_id] = tuple(info[1:])
        found = [S.TagInfo(tag, *known[oid]) for tag, oid in listed if oid in known]  # not: deleted meanwhile
        current = {oid: known[oid] for _, oid in listed if oid in known}
        if missing or len(current) != len(known):
            cache.store_keyed("tags", file, TAGS_FORMAT, current)
        return found

    def tags_digest(self, name: str) -> str | None:
        """A digest of the names and ids of name's tags as `tags(name)` read them; None when they
        were not listed (TAGREG_NO_CACHE): what a cached answer about one artifact is keyed by."""
        self.tags(name)
        return self._digests.get(name)

    def registry(self, name: str | None = None) -> S.Registry:
        """The registry from every tag, or from only name's tags (so cost doesn't grow with others)."""
        registry = S.build(self.tags(name))
        if name is not None:  # patterns may catch tags of similarly named artifacts
            registry.artifacts = {k: v for k, v in registry.artifacts.items() if k == name}
        return registry

    def own_tags(self, name: str) -> list[tuple[S.TagInfo, T.ParsedTag]]:
        """Every tag (annotated or lightweight) of artifact name, with what its name says (parsed once)."""
        if name not in self._own:
            self._own[name] = [(t, p) for t in self.tags(name) if (p := T.parse_tag(t.tag)) and p.name == name]
        return self._own[name]

    def tag_names(self, name: str) -> list[str]:
        """Names of every tag (annotated or lightweight) of artifact name."""
        return [t.tag for t, _ in self.own_tags(name)]

    def forget_tags(self, head: bool = True) -> None:
        """Drop what was read, after this process changed tags (or fetched); with head=False, the
        commit HEAD was read at stays known (tags changed, the work tree did not)."""
        self._tags.clear()
        self._judged.clear()
        self._digests.clear()
        self._own.clear()
        if head:
            self._head = None
        self._listed = None
        for listing in self._named.values():
            listing.communicate()
        self._named.clear()
        if self._listing is not None:
            self._listing.communicate()
            self._listing = None
        for procs in self._pending.values():
            for proc in procs:
                proc.communicate()
        self._pending.clear()
        for proc in self._leaning:
            proc.communicate()
        self._lean, self._leaning = None, []

    # -- annotations --

    def annotation_files(self, commit: str, names: list[str] | None = None, exact: bool | None = None) -> list[str]:
        """Annotation files to read at commit: for names, or every one (dvc.yaml in any folder);
        only the index file GTO reads with exact (by default `config.gto_exact`)."""
        exact = self.config.gto_exact if exact is None else exact
        if names is not None:
            files: list[str] = []
            for name in names:
                files += [f for f, _ in A.files_for(name, self.config.index, exact)]
            return list(dict.fromkeys(files))
        if exact:
            return [self.config.index]
        # The tree is hostile: a few KB of shared subtrees (a git bomb) list as 10**8 paths. Read
        # the listing as a stream and only so far; the files at the root are read in any case.
        roots = [self.config.index, A.DVC_FILE]
        found: list[str] = []
        with self.git.stream("ls-tree", "-r", "-z", "--name-only", "--end-of-options", commit) as stream:
            for _ in range(MAX_TREE_PATHS):
                raw = stream.read_until(b"\0", 4096 + 100)
                if not raw:
                    break
                path = raw.decode("utf-8", "replace")  # a name that is not UTF-8 is read as absent
                if (path in roots or path.endswith("/" + A.DVC_FILE)) and "\n" not in path:
                    found.append(path)
            else:
                stream.close()
                self.warn(BadFile(f"*/{A.DVC_FILE}", commit, f"the commit's tree has more than {MAX_TREE_PATHS} "
                                  f"files (a git bomb?): {A.DVC_FILE} files in folders after them are not read"))
                return [*(f for f in roots if f not in found), *found]
            stream.finish()
        return found

    def annotations(
        self, commits: list[str], names: list[str] | None = None, also: dict[str, bytes | None] | None = None,
        exact: bool | None = None,
    ) -> dict[str, dict[str, A.Annotation]]:
        """Annotations at each commit (commit -> full name -> annotation), in one cat-file call. A file
        that cannot be read (not UTF-8, not YAML, over the bounds, wrong shape) counts as absent at
        its commit, and is added to `warnings`.

        Objects named in `also` (e.g. commits) are read in the same call, into that dict. exact:
        read only what GTO reads (by default `config.gto_exact`; see `annotation_files`).
        """
        from ..yaml import limits

        wanted: dict[str, list[str]] = {c: self.annotation_files(c, names, exact) for c in dict.fromkeys(commits)}
        oids: dict[str, str] = {}
        extra = list(also or ())
        most = limits()["bytes"]  # a bigger object is counted through, never held in memory
        blobs = self.git.read_objects_within([f"{c}:{f}" for c, files in wanted.items() for f in files] + extra,
                                             most, oids)
        if also is not None:
            also.update({name: found if isinstance(found, bytes) else None
                         for name, found in ((name, blobs.get(name)) for name in extra)})
        inputs = self._template_inputs(wanted, blobs, most, oids)
        out: dict[str, dict[str, A.Annotation]] = {}
        for commit, files in wanted.items():
            found: dict[str, A.Annotation] = {}
            # Later files in the list lose to earlier ones (artifacts.yaml over dvc.yaml).
            for file in reversed(files):
                data = blobs.get(f"{commit}:{file}")
                if data is None:
                    continue
                if isinstance(data, int):
                    self.warn(BadFile(file, commit, f"larger than {most} bytes ({data} bytes)"))
                    continue
                dirname = posixpath.dirname(file) if "/" in file else None
                given = inputs.get((commit, file))
                try:
                    found.update(A.parse_blob(file, oids[f"{commit}:{file}"], data,
                                              dirname if posixpath.basename(file) == A.DVC_FILE else None,
                                              given, {p: oids.get(f"{commit}:{p}", "") for p in given or ()}))
                except A.AnnotationError as exc:  # costs this file at this commit only
                    self.warn(BadFile(file, commit, exc.reason))
            out[commit] = found
        return out

    def _template_inputs(self, wanted: dict[str, list[str]], blobs: dict, most: int,
                         oids: dict[str, str]) -> dict[tuple[str, str], A.Inputs]:
        """(commit, file) -> the files its `${…}` templating reads (`A.template_inputs`), for the
        dvc.yaml files read that use it, all read in one more cat-file call (oids: their ids)."""
        needed = {}
        for commit, files in wanted.items():
            for file in files:
                data = blobs.get(f"{commit}:{file}")
                paths = A.template_inputs(file, data, oids.get(f"{commit}:{file}")) if isinstance(data, bytes) else None
                if paths is not None:
                    needed[(commit, file)] = paths
        if not needed:
            return {}
        names = [f"{commit}:{path}" for (commit, _), paths in needed.items() for path in paths]
        found = self.git.read_objects_within(names, most, oids)
        return {(commit, file): {path: found.get(f"{commit}:{path}") for path in paths}
                for (commit, file), paths in needed.items()}

    def warn(self, bad: BadFile) -> None:
        """Add bad to `warnings`, unless that file at that commit was reported already."""
        if (bad.file, bad.commit) not in self._warned:
            self._warned.add((bad.file, bad.commit))
            self.warnings.append(bad)

    def tell(self, notice: Notice) -> None:
        """Add notice to `warnings`, unless it is there already (a write that retried)."""
        if notice not in self.warnings:
            self.warnings.append(notice)

    def take_warnings(self) -> list[BadFile | Notice]:
        """The warnings gathered so far, which are then no longer pending (each is shown once)."""
        found, self.warnings = self.warnings, []
        return found

    def annotation(self, name: str, commit: str, exact: bool | None = None) -> A.Annotation | None:
        """name's annotation at commit, or None (exact: see `annotations`)."""
        return self.annotations([commit], [name], exact=exact)[commit].get(name)


def _open(repo: PathLike, check_later: bool = False, prefetch: str | None = None) -> Repository:
    """The Repository for repo; without check_later, a remote's mirror is up to date first.
    prefetch: see `Repository`."""
    if not isinstance(repo, Repository):
        return Repository(repo, check_later=check_later, prefetch=prefetch)
    if not check_later:
        repo.catch_up()
    return repo


def open_linked(value: object, name: str, *, local: bool, offline: bool = False) -> Repository:
    """The repository the link of name (its `repo:` value) points to, once `links.check` allows it;
    git runs on it with only the allowed transports. local: whether the registry is a local folder."""
    from .. import links

    target, transport = links.check(value, name, local=local)
    if transport == "path":
        return Repository(target, offline=offline)
    from .. import remote

    mirror = remote.Mirror(target, offline=offline, config=tuple(links.git_config(local)), env=links.GIT_ENV)
    mirror.ensure()
    return Repository(mirror)


def outside_registry(registry: Repository, value: object, name: str) -> None:
    """LinkError if name's link (its `repo:` value) is a local path inside the registry's own work tree: only
    the registry can have put a repository there (a folder laid out as a bare repository, no `.git`
    name needed), and git run in it obeys its config (a promisor remote `ext::…` runs commands)."""
    from .. import links

    root = registry.root
    if root is None or registry.mirror is not None:
        return
    target, transport = links.check(value, name, local=True)  # refusals come first
    if transport == "file":  # file://[host]/path
        target = "/" + target[len("file://"):].partition("/")[2]
    elif transport != "path":
        return
    inside = os.path.realpath(target)
    home = os.path.realpath(root)
    if inside == home or inside.startswith(home.rstrip(os.sep) + os.sep):
        raise links.LinkError(f"refusing the link of '{name}' to '{target}': it is inside the registry "
                              "itself (a repository the registry wrote could run commands)")


def open_link(registry: Repository, annotation: A.Annotation, offline: bool = False) -> tuple[Repository, str]:
    """(the repository, the commit) that annotation's link points to, from registry: see `open_linked`."""
    from .. import links

    rev = links.check_rev(annotation.rev, annotation.name)
    outside_registry(registry, annotation.repo, annotation.name)
    source = open_linked(annotation.repo, annotation.name, local=registry.mirror is None, offline=offline)
    if not annotation.rev:  # read anyway (the link says no more), but never silently
        registry.tell(Notice(f"the link of '{annotation.name}' has no rev: reading HEAD of {source.location}, "
                             "which moves (pin a tag or a commit id with `tagreg link ... --rev REV`)"))
    return source, source.resolve(rev)
