"""The policy in effect for a repository, and the facts from git it is judged on.

The policy is read from a protected ref, never from the worktree: a user who may edit files (and
push tags) must not be able to relax the rules by editing them. Which ref, first found:

1. `ref=` given to `load` (the CLI's `--policy-ref`), or the `TAGREG_POLICY_REF` environment variable;
2. git config `tagreg.policyRef`;
3. the remote's default branch: `refs/remotes/origin/HEAD` in a clone, `HEAD` in a mirror (which
   is the remote's);
4. in a repository with no remote, the local `main`, else `master` (advisory: whoever can commit
   there can change it; say so in the threat model).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import tags as T
from ..git import Git
from ..state import Event, TagInfo, build, in_order, iso
from .repository import PathLike, Repository, _open
from .results import PolicyRefusal, RegistryError, Withheld

if TYPE_CHECKING:  # imported where a policy exists: a read without one asks git, and imports neither
    from .. import policy as P
    from ..protect import HostRules
    from ..signatures import Verifier

PATH = ".tagreg/policy.yaml"  # the policy file, at the protected ref
ENVIRONMENT = "TAGREG_POLICY_REF"
CONFIG = "tagreg.policyRef"
MAX_POLICY_BYTES = 256 * 1024


def policy_ref(git: Git, mirror: bool = False, ref: str | None = None) -> str | None:
    """The ref the policy is read from (see the module's docstring), or None if none exists."""
    chosen = ref or os.environ.get(ENVIRONMENT) or git.config_value(CONFIG)
    if chosen:
        return chosen
    if mirror:
        return git.symbolic_target("HEAD") or "HEAD"
    found = git.symbolic_target("refs/remotes/origin/HEAD")
    if found:
        return found
    for branch in ("refs/heads/main", "refs/heads/master"):
        if git.resolve(branch):
            return branch
    return None


def _short(ref: str) -> str:
    for prefix in ("refs/remotes/", "refs/heads/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def _candidates(git: Git, mirror: bool, ref: str | None) -> tuple[list[str], bool]:
    """The refs the policy may be read from, in order (the first that exists decides), and whether
    the ref was named on purpose."""
    chosen = ref or os.environ.get(ENVIRONMENT) or git.config_value(CONFIG)
    if chosen:
        return [chosen], True
    if mirror:
        return ["HEAD"], False
    return ["refs/remotes/origin/HEAD", "refs/heads/main", "refs/heads/master"], False


def load(repo: Repository, ref: str | None = None) -> P.Policy | None:
    """The policy at the protected ref, or None if that ref has no policy file. A ref named on
    purpose (ref=, the environment, git config) that does not exist is an error; so is a policy
    file that cannot be read: with governance, failing open would be the wrong way to fail.

    Every read command asks, so the usual answer (no policy) costs one `git cat-file` for every
    candidate ref and its file at once (and `git config` for a named ref)."""
    git = repo.git
    refs, named = _candidates(git, repo.mirror is not None, ref)
    for name in refs:
        if "\n" in name or name.startswith("-"):
            raise RegistryError(f"the policy ref '{name}' is not a ref name")
    asked = [x for name in refs for x in (f"{name}^{{commit}}", f"{name}^{{commit}}:{PATH}")]
    oids: dict[str, str] = {}
    found = git.read_objects_within(asked, MAX_POLICY_BYTES, oids)
    for name in refs:
        commit = oids.get(f"{name}^{{commit}}")
        if commit is None:
            continue  # no such ref: the next one
        data = found[f"{name}^{{commit}}:{PATH}"]
        if data is None:
            return None  # the protected ref has no policy
        where = git.symbolic_target(name) or name if name.endswith("HEAD") else name
        source = f"{_short(where)}:{PATH}"
        if isinstance(data, int):
            raise RegistryError(f"{source} is {data} bytes, more than a policy can be ({MAX_POLICY_BYTES})")
        from .. import policy as P
        from .. import schema
        from .. import yaml as Y

        try:
            parsed = Y.load(data)
        except Y.YamlError as exc:
            raise RegistryError(f"{source}: {exc.reason}") from None
        try:
            return P.parse(parsed, source, commit)
        except schema.Invalid as exc:
            raise RegistryError(exc.line(source)) from None
    if named:
        raise RegistryError(f"the policy ref '{refs[0]}' does not exist")
    return None


def verifier(repo: Repository, policy: P.Policy) -> Verifier:
    """A verifier of repo's tags against the keys policy names, read where the policy was read."""
    from ..signatures import MAX_KEYS_BYTES, Verifier

    found: dict[str, bytes | None] = {}
    for kind, path in (("ssh", policy.signers.ssh), ("gpg", policy.signers.gpg)):
        if not path:
            found[kind] = None
            continue
        name = f"{policy.commit}:{path.strip('/')}"
        data = repo.git.read_objects_within([name], MAX_KEYS_BYTES)[name]
        shown = f"{policy.source.rpartition(':')[0]}:{path}"
        if data is None:
            raise RegistryError(f"{policy.source}: 'signers.{kind}' names {shown}, which does not exist")
        if isinstance(data, int):
            raise RegistryError(f"{shown} is {data} bytes, more than a file of keys can be ({MAX_KEYS_BYTES})")
        found[kind] = data
    return Verifier(repo.git, found["ssh"], found["gpg"])


def policy_bytes(repo: Repository, policy: P.Policy | None) -> bytes | None:
    """The policy file as it is at the commit it was read at (None without a policy)."""
    if policy is None or not policy.commit:
        return None
    name = f"{policy.commit}:{PATH}"
    found = repo.git.read_objects_within([name], MAX_POLICY_BYTES)[name]
    return found if isinstance(found, bytes) else None


@dataclass
class GitFacts:
    """The facts a policy is judged on, asked of git once each: which branches of the protected
    remote hold a commit, and what a tag's signature says."""

    git: Git
    branch_prefix: str  # `refs/remotes/origin/` or `refs/heads/`
    signatures: Verifier | None = None  # None: every tag reads as unsigned
    _branches: dict[str, list[str]] = field(default_factory=dict)

    def on_branches(self, commit: str, patterns: list[str]) -> bool:
        """commit is reachable from a branch matching one of patterns (fnmatch: `release/*`)."""
        from .. import policy as P

        found = self._branches.get(commit)
        if found is None:
            prefix = self.branch_prefix
            found = self._branches[commit] = [ref[len(prefix):] for ref in
                                              self.git.refs_containing(commit, [prefix])]
        return any(P.matches(branch, patterns) for branch in found)

    def signature(self, event: Event) -> P.Signature:
        """The signature of event's tag."""
        from .. import policy as P

        return self.signatures.signature(event) if self.signatures is not None else P.UNSIGNED


def facts(repo: Repository, policy: P.Policy | None = None, ref: str | None = None,
          every_signature: bool = False) -> GitFacts:
    """Facts about repo, with branches taken from the remote whose default branch holds the policy,
    and signatures checked against the policy's keys (close `.signatures` when done)."""
    where = policy_ref(repo.git, repo.mirror is not None, ref) or ""
    if where.startswith("refs/remotes/"):
        remote_name = where[len("refs/remotes/"):].partition("/")[0]
        prefix = f"refs/remotes/{remote_name}/"
    else:
        prefix = "refs/heads/"
    keys = None
    if policy is not None and (every_signature or policy.needs_signatures):
        keys = verifier(repo, policy)  # no keys listed: a signed tag reads as signed by a key not allowed
    return GitFacts(repo.git, prefix, keys)


@dataclass
class Verdict:
    """One event judged: its signature, and the rules it breaks (none: it is in effect)."""

    event: Event
    signature: P.Signature
    breaches: list[P.Breach]

    @property
    def allowed(self) -> bool:
        """The policy allows the event: it is in effect."""
        return not self.breaches

    def to_dict(self) -> dict:
        """The verdict as `verify --json` prints it."""
        e, s = self.event, self.signature
        return {"tag": e.tag, "event": e.event, "artifact": e.artifact, "version": e.version, "stage": e.stage,
                "commit": e.commit, "created_at": iso(e.created_at), "author": e.author,
                "author_email": e.author_email,
                "signature": {"state": s.state, "principal": s.principal, "key": s.key, "detail": s.detail or None},
                "allowed": self.allowed,
                "breaches": [{"rule": b.rule, "stage": b.stage, "reason": b.reason, "remedy": b.remedy}
                             for b in self.breaches]}


@dataclass
class Audit:
    """A whole history (or one artifact's) judged against the policy, oldest event first."""

    policy: P.Policy
    verdicts: list[Verdict]

    @property
    def broken(self) -> list[Verdict]:
        """The events the policy would not have allowed."""
        return [v for v in self.verdicts if not v.allowed]

    @property
    def badly_signed(self) -> list[Verdict]:
        """The events whose signature is there but does not verify (changed, expired, unknown key)."""
        return [v for v in self.verdicts if v.signature.state not in ("none", "good")]

    def to_dict(self) -> dict:
        """The audit as `verify --json` prints it."""
        return {"policy": self.policy.source, "policy_commit": self.policy.commit,
                "events": [v.to_dict() for v in self.verdicts],
                "broken": len(self.broken), "badly_signed": len(self.badly_signed)}


def audit(repo: Repository, name: str | None = None, policy_ref: str | None = None) -> Audit:
    """Every event of repo (of the artifact name), its signature checked and judged against the
    policy; RegistryError if there is no policy to judge against."""
    from .. import policy as P

    policy = load(repo, policy_ref)
    if policy is None:
        raise RegistryError(f"there is no policy to verify against: no {PATH} at {_no_policy_at(repo, policy_ref)}")
    found = facts(repo, policy, policy_ref, every_signature=True)
    try:
        with every_tag(repo):
            events = in_order(repo.registry(name).history(name))
        breaches = P.judge_history(policy, events, found)
        return Audit(policy, [Verdict(e, found.signature(e), breaches.get(e.tag, [])) for e in events])
    finally:
        if found.signatures is not None:
            found.signatures.close()


@dataclass
class Judged:
    """One artifact's events as a dashboard shows them, oldest first: every one (also those the
    policy leaves out), each with its signature and, under a policy that governs, the rules it breaks."""

    policy: P.Policy | None
    verdicts: list[Verdict]

    def to_dict(self, stages: Iterable[str] = ()) -> dict:
        """The policy (with the rules of each stage of stages) and each event's verdict, by tag:
        `allowed` is null without a policy that governs."""
        governed = self.policy is not None and self.policy.governed
        events = {}
        for v in self.verdicts:
            s = v.signature
            events[v.event.tag] = {
                "signature": {"state": s.state, "principal": s.principal, "key": s.key, "detail": s.detail or None},
                "allowed": v.allowed if governed else None,
                "breaches": [{"rule": b.rule, "stage": b.stage, "reason": b.reason, "remedy": b.remedy,
                              "line": b.line} for b in v.breaches]}
        return {"policy": self.policy.to_dict(stages) if self.policy is not None else None, "events": events}


def judged(repo: PathLike, name: str) -> Judged:
    """Every event of the artifact name, its signature checked (against the policy's keys: with no
    policy, a signed tag reads as signed by a key nobody listed) and judged against the policy.
    Only the tags that carry a signature are verified, each by one `git verify-tag`."""
    from .. import policy as P
    from ..signatures import Verifier

    T.check_name(name)
    r = _open(repo)
    policy = policy_of(r)
    with every_tag(r):
        events = in_order(r.registry(name).history(name))
    found = facts(r, policy, every_signature=True) if policy is not None else GitFacts(r.git, "refs/heads/",
                                                                                       Verifier(r.git))
    try:
        if found.signatures is not None:
            found.signatures.signed = r.git.signed_tags(T.ref_patterns(name))
        breaches = P.judge_history(policy, events, found) if policy is not None and policy.governed else {}
        return Judged(policy, [Verdict(e, found.signature(e), breaches.get(e.tag, [])) for e in events])
    finally:
        if found.signatures is not None:
            found.signatures.close()


@contextmanager
def every_tag(r: Repository) -> Iterator[Repository]:
    """r reading every tag, also those the policy does not allow (to judge them), then as it was."""
    if not r.in_effect:
        yield r
        return
    r.in_effect = False
    r.forget_tags()
    try:
        yield r
    finally:
        r.in_effect = True
        r.forget_tags()


def _no_policy_at(r: Repository, ref: str | None = None) -> str:
    """Where the policy was looked for and not found, for a message; in a clone that does not know
    its remote's default branch (actions/checkout makes such clones), how to tell it."""
    where = policy_ref_of(r, ref)
    if where:
        return _short(where)
    if unknown_default_branch(r, ref):
        return ("origin's default branch, which this clone does not know (refs/remotes/origin/HEAD is not set: "
                "`git remote set-head origin --auto` sets it)")
    return "the default branch (the repository has none)"


def unknown_default_branch(r: Repository, ref: str | None = None) -> bool:
    """r is a clone of origin that does not know origin's default branch (actions/checkout makes
    such clones), so no policy ref is found in it."""
    return r.mirror is None and policy_ref_of(r, ref) is None and r.git.remote_url("origin") is not None


def policy_ref_of(repo: Repository, ref: str | None = None) -> str | None:
    """The ref repo's policy is read from."""
    return policy_ref(repo.git, repo.mirror is not None, ref)


def verify(repo: PathLike = ".", name: str | None = None, *, policy_ref: str | None = None) -> Audit:
    """Every event's signature and the policy over the whole history (of the artifact name): which
    events the policy would not have allowed, who signed what."""
    if name is not None:
        T.check_name(name)
    return audit(_open(repo), name, policy_ref)


# -- enforcement on write ------------------------------------------------------------------------

GOVERNED_KINDS = (T.ASSIGNMENT, T.UNASSIGNMENT, T.DEREGISTRATION, T.DEPRECATION)
_READ: weakref.WeakKeyDictionary[Repository, P.Policy | None] = weakref.WeakKeyDictionary()  # load(r), once per r


class Guard:
    """The policy's check of one write: the artifact's history judged once before the tag is made
    (what is in effect, what a rollback goes down from), the new tag judged once it exists, with
    its real tagger, date and signature, and taken back if the policy does not allow it."""

    def __init__(self, r: Repository, name: str, policy: P.Policy):
        from .. import policy as P

        self.r, self.name, self.policy = r, name, policy
        self.facts = facts(r, policy)
        self.judge = P.Judge(policy, self.facts)
        for event in in_order(r.registry(name).history(name)):
            self.judge.judge(event)

    def message(self, kind: str, stage: str | None, version: str | None, message: str, rollback: bool) -> str:
        """message, with the trailer that records a downgrade made on purpose (rollback: --force or
        `tagreg rollback`) when the stage's rules forbid downgrades and this is one."""
        from .. import policy as P

        if kind != T.ASSIGNMENT or not stage or not rollback or not self.policy.rules(stage).no_downgrade:
            return message
        current = self.judge.current(stage)
        if current and version and P.is_lower(version, current):
            return f"{message}\n\n{P.ROLLBACK_TRAILER}: {current}"
        return message

    def check(self, tag: str) -> list[P.Breach]:
        """The rules the new tag breaks (it exists now, not yet pushed)."""
        self.r.forget_tags()
        new = next((e for e in self.r.registry(self.name).history(self.name) if e.tag == tag), None)
        return [] if new is None else self.judge.breaches(new, new.timestamp)

    def close(self) -> None:
        """Remove the keys' temporary folder, if signatures were checked."""
        if self.facts.signatures is not None:
            self.facts.signatures.close()


def policy_of(r: Repository) -> P.Policy | None:
    """`load(r)`, read once per Repository object."""
    if r not in _READ:
        _READ[r] = load(r)
    return _READ[r]


def governs(r: Repository) -> bool:
    """A policy with rules applies to r."""
    policy = policy_of(r)
    return policy is not None and policy.governed


def guard(r: Repository, name: str, kind: str, stage: str | None = None) -> Guard | None:
    """The check of a write of kind to name (None: no policy governs it). The policy is read once
    per Repository object."""
    if kind not in GOVERNED_KINDS:
        return None
    policy = policy_of(r)
    if policy is None or not policy.governed:
        return None
    if kind in (T.ASSIGNMENT, T.UNASSIGNMENT) and stage is not None and policy.rules(stage).empty:
        return None
    return Guard(r, name, policy)


def refusal(tag: str, breaches: list[P.Breach]) -> PolicyRefusal:
    """The one-line error of a write the policy refuses."""
    more = f" (and {len(breaches) - 1} more: {', '.join(b.rule for b in breaches[1:])})" if len(breaches) > 1 else ""
    return PolicyRefusal(f"refused '{tag}': {breaches[0].line}{more}", breaches)


def check_deletion(r: Repository, name: str, events: list[Event]) -> None:
    """RegistryError if the policy does not let this user delete events (`--delete`): deleting an
    event of a governed stage changes that stage as an unassignment would, so the stage's `who`
    applies to the one deleting, and a stage that must be changed by signed tags cannot be changed
    by a deletion, which has no signature."""
    policy = policy_of(r)
    if policy is None or not policy.governed:
        return
    from .. import policy as P

    email = r.writer.tagger[1] if r.writer is not None and r.writer.tagger else r.git.identity()[1]
    stages = dict.fromkeys(e.stage for e in events if e.stage)
    for stage in stages:
        rules = policy.rules(stage)
        if rules.signed or rules.signers:
            raise PolicyRefusal(f"refused to delete tags of '{name}': policy rule 'signed' of stage '{stage}': a "
                                "deletion carries no signature; unassign the stage with a signed tag instead")
        if rules.who and not P.matches(email, rules.who, fold_case=True):
            raise PolicyRefusal(f"refused to delete tags of '{name}': policy rule 'who' of stage '{stage}': "
                                f"'{email}' may not change {stage}; ask one of {', '.join(rules.who)}")


def judge_tag(repo: PathLike, tag: str, *, policy_ref: str | None = None) -> list[P.Breach]:
    """The rules the registry event tag breaks, judged in its artifact's history as the policy at the
    protected ref says (none: it is in effect); RegistryError if there is no policy. For CI: a
    deploy job refuses a pushed tag the policy does not allow (`check-ref TAG --policy`)."""
    r = _open(repo)
    policy = load(r, policy_ref)
    if policy is None:
        raise RegistryError(f"there is no policy to check '{tag}' against: no {PATH} at "
                            f"{_no_policy_at(r, policy_ref)}")
    found = _verdict(r, policy, tag, policy_ref)
    return [] if found is None else found.breaches


def _verdict(r: Repository, policy: P.Policy, tag: str, policy_ref: str | None = None,
             every_signature: bool = False) -> Verdict | None:
    """The registry event tag judged in its artifact's history (every tag, also those left out),
    with its signature; None if tag is no event there."""
    from .. import policy as P

    parsed = T.parse_tag(tag)
    if parsed is None:
        return None
    found = facts(r, policy, policy_ref, every_signature=every_signature)
    try:
        judge = P.Judge(policy, found)
        with every_tag(r):
            events = in_order(r.registry(parsed.name).history(parsed.name))
        for event in events:
            breaches = judge.judge(event)
            if event.tag == tag:
                return Verdict(event, found.signature(event), breaches)
        return None
    finally:
        if found.signatures is not None:
            found.signatures.close()


@dataclass(frozen=True)
class TagVerdict:
    """What the policy says of one pushed tag, as CI outputs carry it. `policy`: 'allowed',
    'refused', or 'none' (no policy with rules, the registry read without one, or no registry event);
    `reason`: a refusal's one line; `signature` and `signed_by`: its signature's state (none, good,
    bad, unknown, expired) and a good one's principal, checked against the policy's keys (empty
    when no policy was consulted)."""

    policy: str = "none"
    reason: str = ""
    signature: str = ""
    signed_by: str = ""
    breaches: tuple[P.Breach, ...] = ()

    @property
    def refused(self) -> bool:
        """The policy does not allow the tag: it is not in effect, and a deploy job refuses it."""
        return self.policy == "refused"


def tag_verdict(repo: PathLike, ref: str, *, policy_ref: str | None = None, required: bool = False) -> TagVerdict:
    """The policy's verdict on the registry event ref (`refs/tags/` optional), as CI reads it (see
    `TagVerdict`): judged in its artifact's whole history, as readers judge it. A repository opened
    with policy=False (`--no-policy`) consults none, unless required (`check-ref --policy`), which
    is also a RegistryError when there is no policy."""
    tag = ref.removeprefix("refs/tags/")
    r = _open(repo)
    if not (r.in_effect or required):
        return TagVerdict()
    policy = load(r, policy_ref) if policy_ref is not None or required else policy_of(r)
    if policy is None and required:
        raise RegistryError(f"there is no policy to check '{tag}' against: no {PATH} at "
                            f"{_no_policy_at(r, policy_ref)}")
    if policy is None or not policy.governed or T.parse_tag(tag) is None:
        return TagVerdict()
    found = _verdict(r, policy, tag, policy_ref, every_signature=True)
    if found is None:
        return TagVerdict()
    signature = found.signature
    signed_by = (signature.principal or "") if signature.good else ""
    if found.allowed:
        return TagVerdict("allowed", "", signature.state, signed_by)
    reason = f"'{tag}' is not in effect: " + "; ".join(b.line for b in found.breaches)
    return TagVerdict("refused", reason, signature.state, signed_by, tuple(found.breaches))


# -- enforcement on read -------------------------------------------------------------------------

def refused(r: Repository, tags: list[TagInfo]) -> tuple[dict[str, list[P.Breach]], list[Withheld]]:
    """The tags among tags (as `Repository.tags` read them) whose events the policy does not allow,
    with the rules each breaks: readers leave them out, as if they had never been pushed. Also, oldest
    first, those of them that would change an answer now: newer than every allowed event of their
    stage (or, for a removal, of their artifact); older ones are history, which `verify` lists."""
    policy = policy_of(r)
    if policy is None or not policy.governed:
        return {}, []
    from .. import policy as P

    found = facts(r, policy)
    try:
        events = in_order(build(tags).history())
        broken = P.judge_history(policy, events, found)
    finally:
        if found.signatures is not None:
            found.signatures.close()
    standing: list[Withheld] = []
    newest: dict[tuple[str, str | None], int] = {}  # (artifact, stage): the last allowed event's time
    for event in reversed(events):
        key = (event.artifact, event.stage)
        if event.tag not in broken:
            newest.setdefault(key, event.timestamp)
        elif event.timestamp >= newest.get(key, event.timestamp):
            standing.append(Withheld(event.tag, event.event, event.artifact, event.version, event.stage,
                                     event.author_email, tuple(broken[event.tag])))
    return broken, standing[::-1]


# -- at the Git host -----------------------------------------------------------------------------

def policy_branch(repo: Repository, ref: str | None = None) -> str | None:
    """The branch (at the remote) the policy is read from, or None if it is read from a tag, a
    commit, or nothing."""
    git = repo.git
    where = policy_ref(git, repo.mirror is not None, ref)
    if where is None:
        return None
    full = where if where.startswith("refs/") else git.ref_name(where)
    if full.endswith("/HEAD"):  # `origin/HEAD`, named on purpose: the branch it stands for
        full = git.symbolic_target(full) or full
    if full.startswith("refs/remotes/"):
        return full[len("refs/remotes/"):].partition("/")[2] or None
    if full.startswith("refs/heads/"):
        return full[len("refs/heads/"):]
    return None


def host_rules(repo: PathLike, host: str, *, policy_ref: str | None = None,
               output_dir: str | os.PathLike | None = None, force: bool = False) -> HostRules:
    """The rules at the Git host (`github`, `gitlab`) that back the policy in effect: the request
    bodies of the host's API (nothing is sent), and notes on what to fill in and what the host
    cannot check. With output_dir, each body is also written there, as `ENDPOINT/NN-NAME.json`
    (an existing file is an error unless force)."""
    from .. import protect  # only this command needs it: not on every command's start-up path

    if host not in protect.HOSTS:
        raise RegistryError(f"unknown Git host '{host}' (known: {', '.join(protect.HOSTS)})")
    r = _open(repo)
    policy = load(r, policy_ref)
    if policy is None:
        raise RegistryError(f"there is no policy to protect: no {PATH} at "
                            f"{_no_policy_at(r, policy_ref)}")
    found = protect.host_rules(policy, host, policy_branch(r, policy_ref))
    if output_dir is not None:
        import json

        from .. import output_tree

        contents = {path: (json.dumps(body, indent=2) + "\n").encode() for path, body in found.files()}

        def fill(path: str, write: Callable[[bytes], object]) -> None:
            write(contents[path])

        output_tree.write_tree(os.fspath(output_dir), [(path, output_tree.FILE, "") for path in contents], force, fill)
    return found
