"""`doctor`: what is wrong with a registry, one finding per line."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import state as S
from .. import tags as T
from ..errors import UserError
from . import governance
from .repository import PathLike, Repository, _open
from .results import Check

LOOSE_TAGS = 1000  # loose tag refs from which `doctor` suggests packing them (more than packed, or 4x this)
LFS_FOLDER_MOST = 10_000  # files of a folder artifact whose LFS pointers `doctor` reads (a git bomb is not listed)


def doctor(repo: PathLike = ".") -> list[Check]:
    """Check the repository, config, tags and annotations; one Check per finding."""
    checks: list[Check] = []
    try:
        r = _open(repo)
    except UserError as exc:
        return [Check("error", str(exc))]
    head = r.head_commit()
    if head is None:  # nothing wrong with a new repository (GTO: no issues); its tags, if any, are checked
        checks.append(Check("ok", f"the repository at '{r.location}' has no commits yet: no annotations at HEAD"))
    if r.mirror is None:
        checks += _loose_tags(r)
    tags = r.git.tags()
    registry = S.build(tags)
    checks += [Check("warning", f"{problem.artifact}: {problem.message}") for problem in registry.problems]
    checks += [Check("warning", f"tag '{tag}' is lightweight; registry tags must be annotated (ignored)")
               for names in registry.lightweight.values() for tag in names]
    known = set(registry.artifacts)
    checks += [Check("warning", f"tag '{info.tag}' looks like a registry tag but does not parse (ignored)")
               for info in tags if T.parse_tag(info.tag) is None and _looks_like_registry_tag(info.tag, known)]
    try:
        head_notes = r.annotations([head])[head] if head is not None else {}
        commits: dict[str, list[S.Version]] = {}
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
                checks += _check_path(r, version, note.resolved_path or note.path)
        checks += _lfs_on_server(r, commits, notes)
        links = [(n.repo, n.rev, n.path, name) for per in [head_notes, *notes.values()] for name, n in per.items()
                 if n.repo is not None]
        checks += _check_links(r, links)
    except UserError as exc:
        checks.append(Check("error", str(exc)))
    checks += _check_policy(r)
    for bad in r.take_warnings():  # at HEAD it can be fixed; in history it can only be known
        checks.append(Check("error" if getattr(bad, "commit", None) == head else "warning", bad.message))
    return checks


def _check_policy(r: Repository) -> list[Check]:
    """The policy over the whole history (`verify`): each event it would not have allowed and each
    signature that does not verify is a finding; a policy that cannot be read is an error; a worktree
    policy that differs from the one in effect is said, since it is not in effect until merged; so is
    a clone that does not know its remote's default branch (actions/checkout's), where none is read."""
    try:
        policy = governance.load(r)
    except UserError as exc:
        return [Check("error", str(exc))]
    checks = []
    if policy is None and governance.unknown_default_branch(r):
        checks.append(Check("warning", "origin's default branch is not known here (refs/remotes/origin/HEAD is not "
                                       "set), so no policy is read: `git remote set-head origin --auto` sets it"))
    root = r.git.path if r.mirror is None else None
    if root is not None:
        try:
            mine: bytes | None = (root / governance.PATH).read_bytes()
        except OSError:
            mine = None
        in_effect = governance.policy_bytes(r, policy)
        if mine is not None and mine != in_effect:
            where = policy.source if policy is not None else "the protected ref (which has none)"
            checks.append(Check("warning", f"{governance.PATH} in the worktree is not the policy in effect ({where}): "
                                           "it takes effect once merged there"))
    if policy is None or not policy.governed:
        return checks
    try:
        audit = governance.audit(r)
    except UserError as exc:
        return [*checks, Check("error", str(exc))]
    for verdict in audit.verdicts:
        for breach in verdict.breaches:
            checks.append(Check("warning", f"tag '{verdict.event.tag}' is not in effect: {breach.line}"))
        if verdict.signature.state not in ("none", "good"):
            detail = f" ({verdict.signature.detail})" if verdict.signature.detail else ""
            checks.append(Check("warning", f"tag '{verdict.event.tag}': signature {verdict.signature.state}{detail}"))
    return checks


def _check_path(r: Repository, version: S.Version, path: str) -> list[Check]:
    """A warning unless `get` finds version's path at its commit: in git (or LFS), or as an output
    DVC tracks (`.dvc` files, dvc.lock), as `get` looks for it."""
    from .. import delivery as D

    where = f"{version.artifact}@{version.version}"
    try:
        if D.present(r.git, version.commit, path):
            return []
    except UserError as exc:  # a path out of the repository, a dvc.lock over the bounds
        return [Check("warning", f"{where}: {exc}")]
    return [Check("warning", f"{where}: path '{path}' does not exist at commit {version.commit[:7]}")]


def _loose_tags(r: Repository) -> list[Check]:
    """A warning when most tags are loose refs (a file each, as `git fetch` and `git tag` write them):
    git opens every one of them on each read of the tags."""
    loose, packed = r.git.tag_ref_counts()
    if loose < LOOSE_TAGS or (loose <= packed and loose < 4 * LOOSE_TAGS):
        return []
    return [Check("warning", f"{loose} tags are loose refs ({packed} packed), which slows every read of the tags: "
                             "run `git pack-refs --all`")]


def _lfs_on_server(r: Repository, commits: dict[str, list[S.Version]], notes: dict) -> list[Check]:
    """An error for each active version whose Git LFS objects the LFS server does not have (never
    uploaded: `get` fails for anyone without them), a warning when no LFS server answers. Only the
    pointers are read (blobs under 1 KiB, one `cat-file` for the files, one listing per folder
    tree); nothing is downloaded, and git-lfs runs only if there is a pointer."""
    from .. import delivery as D
    from .. import lfs as L

    wanted: dict[str, list[tuple[str, str]]] = {}  # COMMIT:PATH -> (artifact@version, path)
    for commit, versions in commits.items():
        for version in versions:
            note = notes[commit].get(version.artifact)
            if note is None or not note.path or "://" in note.path or note.repo:
                continue
            try:
                path = D.check_path(note.path)
            except UserError:
                continue
            wanted.setdefault(f"{commit}:{path}", []).append((f"{version.artifact}@{version.version}", path))
    oids: dict[str, str] = {}
    found = r.git.read_objects_within(list(wanted), D.LFS_MAX_POINTER, oids=oids)
    pointers: dict[str, dict[str, tuple[str, int]]] = {}  # COMMIT:PATH -> file -> (sha256, size)
    trees: dict[str, dict[str, tuple[str, int]]] = {}
    for spec, data in found.items():
        path = spec.partition(":")[2]
        if isinstance(data, bytes):
            pointer = L.parse_pointer(data)
            pointers[spec] = {path: pointer} if pointer else {}
        elif data is None and spec in oids:  # a folder: its files' pointers, once per tree
            tree = oids[spec]
            if tree not in trees:
                trees[tree] = _folder_pointers(r, tree)
            pointers[spec] = {f"{path}/{name}": pointer for name, pointer in trees[tree].items()}
    objects = {oid: size for files in pointers.values() for oid, size in files.values()}
    if not objects:
        return []
    answer = L.missing_on_server(r.git, objects)
    if not answer.checked:
        if answer.unreachable and (r.mirror is not None or answer.endpoint):
            count = sum(1 for files in pointers.values() if files)
            return [Check("warning", f"the LFS objects of {count} version(s) cannot be checked: {answer.note}; "
                                     "without an LFS server `get` cannot fetch them either: set lfs.url in the "
                                     "registry's .lfsconfig")]
        return [Check("ok", f"LFS objects not checked: {answer.note}")]
    missing = set(answer.missing)
    out = []
    for spec, files in pointers.items():
        lacking = sorted((name, oid) for name, (oid, _) in files.items() if oid in missing)
        for label, path in wanted[spec] if lacking else ():
            first, oid = lacking[0]
            one = len(files) == 1 and first == path
            what = (f"the LFS object of '{path}' ({oid[:7]}) is" if one
                    else f"{len(lacking)} LFS object(s) of '{path}' (first '{first}', {oid[:7]}) are")
            out.append(Check("error", f"{label}: {what} not on the LFS server at {answer.endpoint}: never uploaded? "
                                      f"push {'it' if one else 'them'} with `git lfs push --all origin` from a clone "
                                      f"that has {'it' if one else 'them'}"))
    return out


def _folder_pointers(r: Repository, tree: str) -> dict[str, tuple[str, int]]:
    """file -> (sha256, size) of the LFS pointers in a folder tree (up to LFS_FOLDER_MOST files)."""
    from .. import delivery as D
    from .. import lfs as L

    try:
        entries = D.listing(r.git, tree, ".", LFS_FOLDER_MOST)
    except UserError:  # more files than that: not read
        return {}
    small = r.git.read_objects_within([e.oid for e in entries], D.LFS_MAX_POINTER)
    out = {}
    for entry in entries:
        data = small.get(entry.oid)
        pointer = L.parse_pointer(data) if isinstance(data, bytes) else None
        if pointer is not None:
            out[entry.path] = pointer
    return out


def _check_links(r: Repository, links: list[tuple]) -> list[Check]:
    """A link (url, rev, path, name) of registry r needs a repository it may name (`links.check`,
    and not inside r's own work tree: `outside_registry`), a pinned rev (an error if none, a warning
    if it moves: `links.moving_rev`), and the path at that rev."""
    from .. import delivery as D
    from .. import links as L
    from ..remote import redact
    from .repository import open_linked, outside_registry

    local = r.mirror is None
    out = []
    opened: dict[str, Repository] = {}
    unique = {repr(link): link for link in links}  # values from content: maybe not hashable
    for url, rev, path, name in sorted(unique.values(), key=lambda link: (link[3], repr(link[1]), repr(link[0]))):
        where = f"{name}: link to {redact(url) if isinstance(url, str) else url!r}"
        try:
            target, _ = L.check(url, name, local=local)
            if not rev:
                out.append(Check("error", f"{where} has no pinned rev (add one with `tagreg link ... --rev REV`)"))
                continue
            rev = L.check_rev(rev, name)
            outside_registry(r, url, name)
        except L.LinkError as exc:
            out.append(Check("error", str(exc)))
            continue
        try:
            source = opened.get(target) or open_linked(url, name, local=local)
            opened[target] = source
        except UserError as exc:
            out.append(Check("error", f"{where} cannot be read: {exc}"))
            continue
        sha = source.git.resolve(rev)
        if sha is None:
            out.append(Check("error", f"{where}: rev '{rev}' does not exist there"))
            continue
        moving = L.moving_rev(source.git, rev, sha)
        if moving:
            out.append(Check("warning", f"{where}: rev '{rev}' {moving} there, so the link moves with it: pin a tag "
                                        "or a commit id (`tagreg link ... --rev REV`)"))
        try:
            found = bool(path) and (D.exists(source.git, sha, path) or D.dvc_tracked(source.git, sha, path))
        except UserError as exc:  # a path that leaves the repository
            out.append(Check("error", f"{where}: {exc}"))
            continue
        if not found:
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


@dataclass
class RemoteTags:
    """`doctor`'s comparison of a repository's registry tags with its push remote's."""

    name: str  # the remote's name
    url: str | None = None  # its URL, without credentials
    checked: bool = False  # False: not compared (see note)
    missing: list = field(default_factory=list)  # registry tags the remote does not have
    different: list = field(default_factory=list)  # registry tags the remote has as another tag object
    note: str = ""  # why it was not compared


def remote_tags(repo: PathLike = ".", *, remote: str = "origin", offline: bool = False) -> RemoteTags:
    """The registry tags of a local repository that its push remote lacks (a push that was
    interrupted, or never made): one `git ls-remote` of the remote's tags. Not compared offline,
    for a remote registry (its cache mirrors the remote), or when the remote is unknown or cannot
    be reached; `note` then says why."""
    from ..remote import redact

    out = RemoteTags(remote)
    r = repo if isinstance(repo, Repository) else Repository(repo, offline=offline)
    if r.mirror is not None:
        out.note = "a remote registry: its cache is a copy of the remote"
        return out
    url = r.git.remote_url(remote)
    if url is None:
        out.note = "no such remote"
        return out
    out.url = redact(url)
    if offline:
        out.note = "offline"
        return out
    try:
        theirs = _listed(r.git.list_remote_tags(remote))
    except UserError as exc:
        out.note = redact(f"cannot reach it: {exc}", url)
        return out
    for tag, oid in _listed(r.git.list_tags()).items():
        if T.parse_tag(tag) is None:
            continue  # not a registry tag: someone else's
        if tag not in theirs:
            out.missing.append(tag)
        elif theirs[tag] != oid:
            out.different.append(tag)
    out.checked = True
    return out


def _listed(listing: bytes) -> dict[str, str]:
    """tag name -> object id, from `OID<TAB>refs/tags/NAME` lines."""
    out = {}
    for line in listing.decode("utf-8", "replace").splitlines():
        oid, _, ref = line.partition("\t")
        if ref.startswith("refs/tags/"):
            out[ref[len("refs/tags/"):]] = oid
    return out
