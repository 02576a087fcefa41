"""The rules at the Git host that back a policy: GitHub repository rulesets, GitLab protected tags
and branches, as the request bodies of the hosts' REST APIs.

A policy is enforced by tagreg when it writes and when it reads; the host is the one place that
can refuse a push before anyone reads it, so a tag pushed by hand, by GTO or by an old client
never reaches the remote at all. What changes a governed stage, and so what the host must guard:

- its assignments `NAME#STAGE#N` (and GTO's older `NAME#STAGE`) and unassignments `NAME#STAGE!#N`;
- deregistrations `NAME@vX.Y.Z!` and deprecations `NAME@deprecated` (each with an optional `#N`),
  which take a version out of its stages: the policy asks them for the `who` and the signature of
  each stage they empty. The host cannot know which stages a version is in, so these are guarded
  as a whole, for the people of every governed stage;
- the branch the policy is read from: whoever can push there can rewrite the rules.

Tag names, for the hosts' matching:

- GitHub matches `refs/tags/...` with Ruby's `File.fnmatch` and its FNM_PATHNAME flag: `*` stops at
  `/`, `**/` stands for any number of folders, `#` and `!` are themselves (`!` negates only inside
  `[...]`, and rulesets exclude with `exclude`, not with `!`). Artifact names and stages may hold a
  `/`, so a pattern starts with `refs/tags/**/`; the rest (`*#prod#*`) then lies in the last folder,
  as versions and counters never hold a `/`.
- GitLab matches the tag name without `refs/tags/`, and its only wildcard `*` matches anything,
  `/` included. Overlapping wildcards add up: whoever one of them allows may create the tag.

This module is pure: a `Policy` and the policy's branch in, `HostRules` out. Nothing here asks the
host anything; the bodies leave the actors (GitHub ids, GitLab users) for a person to fill in.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from .policy import Policy, Rules

HOSTS = ("github", "gitlab")

# Where each body is POSTed (GitHub's `gh api` and GitLab's `glab api` fill in the placeholders
# from the repository they run in).
ENDPOINTS = {
    "rulesets": "repos/{owner}/{repo}/rulesets",
    "protected_tags": "projects/:id/protected_tags",
    "protected_branches": "projects/:id/protected_branches",
}

MAINTAINER, DEVELOPER, NO_ONE = 40, 30, 0  # GitLab's access levels

# What the hosts cannot check, whichever rules of the policy use them.
UNCHECKED = ("branches", "promotes_from", "min_age", "no_downgrade")


@dataclass(frozen=True)
class Scope:
    """Tags one set of host rules guards: a stage, the stages the policy does not name (under its
    `defaults`), or the removals; with what its rules ask of whoever changes it."""

    key: str  # for file names: `stage-prod`, `other-stages`, `removals`
    title: str  # for people: `stage prod`, `other stages` (those it does not name), `removals`
    globs: list[str]  # tag names, GitLab's way (`*` matches anything)
    who: list[str]
    signed: bool
    github: list[str] = field(default_factory=list)  # refs/tags patterns, GitHub's way
    github_exclude: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    """One request body, and the `ENDPOINTS` key it is POSTed to."""

    endpoint: str
    file: str  # `01-stage-prod-who.json`: its file under the endpoint's folder (`--output-dir`)
    body: dict


@dataclass(frozen=True)
class HostRules:
    """The host's side of a policy: the requests that make it, and notes for the person applying
    them (what to fill in, what the host cannot check)."""

    host: str
    source: str  # where the policy was read: `origin/main:.tagreg/policy.yaml`
    requests: list[Request]
    notes: list[str]

    def documents(self) -> dict[str, list[dict]]:
        """The bodies by endpoint key, in order: what `protect --print` prints."""
        out: dict[str, list[dict]] = {}
        for request in self.requests:
            out.setdefault(request.endpoint, []).append(request.body)
        return out

    def files(self) -> list[tuple[str, dict]]:
        """(path relative to the output folder, body) for each request."""
        return [(f"{r.endpoint}/{r.file}", r.body) for r in self.requests]

    def commands(self, folder: str) -> list[str]:
        """The shell lines that apply the files written below folder, one request each."""
        lines = []
        for request in self.requests:
            path = shlex.quote(posixpath.join(folder, request.endpoint, request.file))
            endpoint = ENDPOINTS[request.endpoint]
            if self.host == "github":
                lines.append(f"gh api {endpoint} --method POST --input {path}")
            else:
                lines.append(f"glab api {endpoint} --method POST --header 'Content-Type: application/json' "
                             f"--input {path}")
        return lines


# -- what the policy governs ----------------------------------------------------------------------

def stage_globs(stage: str) -> list[str]:
    """The tag names that change stage: its assignments and unassignments, with and without a counter."""
    return [f"*#{stage}", f"*#{stage}#*", f"*#{stage}!", f"*#{stage}!#*"]


REMOVAL_GLOBS = ["*@v*!", "*@v*!#*", "*@deprecated", "*@deprecated#*"]
ANY_STAGE_GLOBS = ["*#*"]  # GitLab: also `NAME@vX.Y.Z#N` registrations, which it cannot tell apart


def github_patterns(globs: list[str]) -> list[str]:
    """GitHub's patterns for tag-name globs whose first `*` is the artifact name (it may hold `/`)
    and whose other `*`s are versions and counters (which never do)."""
    return [f"refs/tags/**/{glob}" for glob in globs]


def _signed(rules: Rules) -> bool:
    return bool(rules.signed or rules.signers)


def scopes(policy: Policy) -> list[Scope]:
    """What the host must guard for policy: each governed stage it names, the stages it does not
    name when its defaults govern them, then the removals if some stage restricts who changes it."""
    out = []
    named = sorted(policy.stages)
    for stage in named:
        rules = policy.rules(stage)
        if not rules.empty:
            globs = stage_globs(stage)
            out.append(Scope(f"stage-{_slug(stage)}", f"stage {stage}", globs, list(rules.who or []),
                             _signed(rules), github_patterns(globs)))
    if not policy.defaults.empty:
        exclude = ["refs/tags/**/*@*"]  # versions and deprecations: stage tags never hold an `@`
        for stage in named:
            exclude += github_patterns(stage_globs(stage))
        out.append(Scope("other-stages", "other stages", list(ANY_STAGE_GLOBS),
                         list(policy.defaults.who or []), _signed(policy.defaults),
                         ["refs/tags/**/*#*", "refs/tags/**/*#*/**/*"], exclude))
    who = list(dict.fromkeys(person for scope in out for person in scope.who))
    signed = any(scope.signed for scope in out)
    if who or signed:
        out.append(Scope("removals", "removals", list(REMOVAL_GLOBS), who, signed,
                         github_patterns(REMOVAL_GLOBS)))
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _unchecked(policy: Policy) -> list[str]:
    """The rules in use that no host can check."""
    every = [policy.defaults, *policy.stages.values()]
    return [name for name in UNCHECKED if any(getattr(rules, name) for rules in every)]


def _listed(items: list[str]) -> str:
    return ", ".join(items)


# -- GitHub -----------------------------------------------------------------------------------------

def _ruleset(name: str, target: str, include: list[str], exclude: list[str], rules: list[dict]) -> dict:
    return {"name": name, "target": target, "enforcement": "active", "bypass_actors": [],
            "conditions": {"ref_name": {"include": include, "exclude": exclude}}, "rules": rules}


def github(policy: Policy, branch: str | None) -> HostRules:
    """Repository rulesets for policy. Per scope, one for everyone (tags are never moved; with
    signing, only signed tags and no deletion, a deletion carrying no signature) and, if the scope
    names who may change it, one only its bypass actors pass (creation and deletion). They are two:
    a ruleset's bypass actors skip all its rules, so signing must sit in a ruleset nobody skips."""
    requests, notes = [], []
    number = 0

    def add(key: str, body: dict) -> None:
        nonlocal number
        number += 1
        requests.append(Request("rulesets", f"{number:02d}-{key}.json", body))

    found = scopes(policy)
    for scope in found:
        everyone = [{"type": "update"}]
        if scope.signed:
            everyone += [{"type": "deletion"}, {"type": "required_signatures"}]
        add(f"{scope.key}-everyone", _ruleset(f"tagreg: {scope.title}, for everyone", "tag", scope.github,
                                              scope.github_exclude, everyone))
        if scope.who:
            name = f"tagreg: {scope.title}, who may change it"
            only = [{"type": "creation"}] if scope.signed else [{"type": "creation"}, {"type": "deletion"}]
            add(f"{scope.key}-who", _ruleset(name, "tag", scope.github, scope.github_exclude, only))
            notes.append(f"'{name}': its bypass_actors are to be whoever pushes these tags for {_listed(scope.who)}")
    if any(scope.who for scope in found):
        notes.append("bypass_actors: GitHub knows accounts, not e-mails: add each person as a User (id from "
                     "`gh api users/LOGIN --jq .id`), a Team, or the Integration (app) that pushes for them; until "
                     "then no one can push these tags, and only admins can edit the rulesets")
    if any(scope.signed for scope in found):
        notes.append("required_signatures: GitHub verifies signatures with the keys of GitHub accounts, and documents "
                     "the rule for commits; the policy's own signers are checked by tagreg (on write, on read and by "
                     "`check-ref --policy`)")
    if branch:
        add("policy-branch", _ruleset(f"tagreg: policy branch {branch}", "branch", [f"refs/heads/{branch}"], [],
                                      [{"type": "deletion"}, {"type": "non_fast_forward"}, _pull_request()]))
        notes.append(f"the policy is only as safe as '{branch}': its ruleset asks for a pull request approved by "
                     "someone other than its last pusher; leave its bypass_actors empty, and consider a CODEOWNERS "
                     "entry for .tagreg/ with require_code_owner_review")
    return HostRules("github", policy.source, requests, notes + _common_notes(policy, "GitHub", branch))


def _pull_request() -> dict:
    return {"type": "pull_request", "parameters": {
        "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True,
        "require_code_owner_review": False, "require_last_push_approval": True,
        "required_review_thread_resolution": False}}


# -- GitLab -----------------------------------------------------------------------------------------

def gitlab(policy: Policy, branch: str | None) -> HostRules:
    """Protected tags and the policy's protected branch. A protected tag is never moved or deleted by
    a push; who may create it is an access level (Maintainers for a scope that names who may change
    it, else Developers, as before) or, on Premium, named users (`allowed_to_create`)."""
    requests, notes = [], []
    number = 0

    def add(endpoint: str, key: str, body: dict) -> None:
        nonlocal number
        number += 1
        requests.append(Request(endpoint, f"{number:02d}-{key}.json", body))

    found = scopes(policy)
    level = {scope.key: MAINTAINER if scope.who else DEVELOPER for scope in found}
    strictest = max((lvl for key, lvl in level.items() if key != "other-stages"), default=DEVELOPER)
    for scope in found:
        if scope.key == "other-stages" and level[scope.key] < strictest:
            # `*#*` also matches the named stages and counted removals, and GitLab lets whoever any
            # matching wildcard allows create a tag: a looser rule for the other stages would loosen theirs.
            notes.append(f"not protected: {scope.title} (GitLab has no exclusions, and a wildcard for them would let "
                         "Developers create the tags of the stages that only Maintainers may change)")
            continue
        for i, glob in enumerate(scope.globs, 1):
            add("protected_tags", f"{scope.key}-{i}", {"name": glob, "create_access_level": level[scope.key]})
        if scope.who:
            notes.append(f"{scope.title} ({_listed(scope.globs)}): only Maintainers may create these tags (the "
                         f"policy's who: {_listed(scope.who)})")
    if any(scope.who for scope in found):
        notes.append("allowed_to_create (Premium): name whoever pushes these tags for those people, as "
                     "[{\"user_id\": N}] (N from `glab api \"users?username=LOGIN\"`), rather than every Maintainer")
    if any(scope.signed for scope in found):
        notes.append("GitLab cannot require signed tags: the policy's signatures are checked by tagreg (on write, on "
                     "read and by `check-ref --policy`)")
    if branch:
        add("protected_branches", "policy-branch", {"name": branch, "push_access_level": NO_ONE,
                                                    "merge_access_level": MAINTAINER, "allow_force_push": False})
        notes.append(f"the policy is only as safe as '{branch}': its protection lets no one push and Maintainers "
                     "merge; add a merge request approval rule (Premium) so that someone else approves changes to "
                     "it. GitLab protects the default branch already: if it answers that the branch is protected, "
                     "set the same in Settings > Repository > Protected branches")
    return HostRules("gitlab", policy.source, requests, notes + _common_notes(policy, "GitLab", branch))


def _common_notes(policy: Policy, host: str, branch: str | None) -> list[str]:
    notes = []
    if not scopes(policy):
        notes.append("the policy governs no stage: only its branch is protected")
    unchecked = _unchecked(policy)
    if unchecked:
        notes.append(f"{host} cannot check {_listed(unchecked)}: tagreg refuses such writes, and its readers "
                     "(`which`, `get`, `check-ref --policy` in CI) do not act on a tag that breaks them")
    if branch is None:
        notes.append("the policy is not read from a branch: protect the ref it is read from yourself")
    return notes


def host_rules(policy: Policy, host: str, branch: str | None) -> HostRules:
    """The rules at host (one of HOSTS) that back policy, read from branch (None: not a branch)."""
    if host == "github":
        return github(policy, branch)
    if host == "gitlab":
        return gitlab(policy, branch)
    raise ValueError(f"unknown host {host!r}")
