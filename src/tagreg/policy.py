"""The promotion policy: who may put which version in which stage, and what must be true first.

A policy is the file `.tagreg/policy.yaml`, read from a protected ref (the remote's default branch),
never from the worktree a user can edit. Per stage, with `defaults` for every stage:

    defaults:
      branches: [main]            # the version's commit is reachable from one of these branches
    stages:
      prod:
        promotes_from: staging    # the version was in staging first ...
        min_age: 24h              # ... for at least a day
        signed: true              # the tag carries a good signature by a key in `signers`
        signers: [release-bot]    # principals of .tagreg/allowed_signers (any of them if empty)
        no_downgrade: true        # a lower SemVer than the version in prod needs --force
        who: ["*@example.com"]    # the signer's principal, else the tagger's e-mail
    signers:
      ssh: .tagreg/allowed_signers   # git's gpg.ssh.allowedSignersFile format
      gpg: .tagreg/keys.asc          # an armored keyring
    servers: [ml-registry]           # signer principals of tagreg servers: their signature vouches for the tagger
    show:                            # how every reader reads the history when not told (GTO's show options)
      vs: 1                          # versions per stage (-1: all)
      av: -1                         # assignments per version (-1: all)
      sort: semver                   # which version wins a stage: timestamp (the newest assignment) or semver

This module is pure: it declares the file's shape and judges events against it, given the facts
(reachability, signatures) that the API layer gathers from git. Judging a history walks each
artifact's events in GTO's order and keeps a running picture of what is in effect, so a rule such as
`promotes_from` counts only stage assignments that were themselves allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatchcase
from typing import Any, Protocol

from . import schema as S
from . import tags as T
from .state import SORTS, Event, in_order

ROLLBACK_TRAILER = "Tagreg-Rollback"  # in an assignment's message: a downgrade made on purpose (--force)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(value: Any) -> float:
    """A duration: seconds as a number, or a text such as `90m`, `24h`, `1d12h`, `2w`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return S.at_least_zero(value)
    if isinstance(value, str) and len(value) <= 40:
        compact = value.replace(" ", "")
        parts = _DURATION.findall(compact)
        if parts and "".join(number + unit for number, unit in parts) == compact:
            return sum(float(number) * _UNITS[unit] for number, unit in parts)
    raise S.Invalid(f"must be a duration such as 30m, 24h or 7d, not {S.shown(value)}")


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise S.Invalid(f"must be true or false, not {S.shown(value)}")
    return value


def _per(value: Any) -> int:
    """A count as GTO's --vs and --av take it: -1 (all), or a whole number, 0 or more."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= -1:
        return value
    raise S.Invalid(f"must be a whole number, -1 (all) or more, not {S.shown(value)}")


def _sort(value: Any) -> str:
    if value in SORTS:
        return value
    raise S.Invalid(f"must be one of {', '.join(SORTS)}, not {S.shown(value)}")


def _stage_names(value: Any) -> list[str]:
    names = S.strings(value)
    for name in names:
        if not T.is_name(name):
            raise S.Invalid(f"must name stages, and '{name}' is not a valid stage name")
    return names


@dataclass(frozen=True)
class Rules:
    """What an event about one stage must satisfy. None: not said here (a stage's rules fall back
    to `defaults` key by key; a rule unsaid in both does not apply)."""

    branches: list[str] | None = field(default=None, metadata=S.checked(S.strings))
    promotes_from: list[str] | None = field(default=None, metadata=S.checked(_stage_names))
    min_age: float | None = field(default=None, metadata=S.checked(duration))
    signed: bool | None = field(default=None, metadata=S.checked(_flag))
    signers: list[str] | None = field(default=None, metadata=S.checked(S.strings))
    no_downgrade: bool | None = field(default=None, metadata=S.checked(_flag))
    who: list[str] | None = field(default=None, metadata=S.checked(S.strings))

    def over(self, base: Rules) -> Rules:
        """These rules, with base's where these say nothing."""
        said = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(base, **{name: value for name, value in said.items() if value is not None})

    @property
    def empty(self) -> bool:
        """No rule applies."""
        return all(not getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, Any]:
        """The rules that apply, as JSON shows them (min_age in seconds)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


@dataclass(frozen=True)
class Signers:
    """Where the keys allowed to sign are, as paths in the repository at the policy's ref."""

    ssh: str | None = field(default=None, metadata=S.checked(S.optional(S.text)))
    gpg: str | None = field(default=None, metadata=S.checked(S.optional(S.text)))


@dataclass(frozen=True)
class Show:
    """How readers read the history when the user says nothing (gto#428): GTO's `show` options
    `vs`, `av` and `sort`, pinned so that the CLI, the API, CI and the server agree. None: not
    pinned (GTO's default: 1, -1, timestamp)."""

    vs: int | None = field(default=None, metadata=S.checked(S.optional(_per)))
    av: int | None = field(default=None, metadata=S.checked(S.optional(_per)))
    sort: str | None = field(default=None, metadata=S.checked(S.optional(_sort)))

    @property
    def pinned(self) -> bool:
        """Some option is pinned."""
        return any(getattr(self, f.name) is not None for f in fields(self))

    def to_dict(self) -> dict[str, Any]:
        """The pinned options."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def _stages(value: Any) -> dict[str, Rules]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise S.Invalid(f"must be a mapping of stage names to rules, not {S.shown(value)}")
    out = {}
    for name, rules in value.items():
        if not isinstance(name, str) or not T.is_name(name):
            raise S.Invalid(f"must name stages, and '{name}' is not a valid stage name")
        if isinstance(rules, dict):
            _known_keys(rules, Rules, "rule", f".{name}")
        out[name] = S.at(f".{name}", S.section(Rules), rules)
    return out


def _known_keys(data: dict, shape: type, what: str, key: str = "") -> None:
    """Refuse a key shape does not declare: a misspelt rule must not silently govern nothing."""
    known = sorted(f.name for f in fields(shape) if f.metadata.get("check"))
    for name in data:
        if name not in known:
            raise S.Invalid(f"has an unknown {what} '{name}' (known: {', '.join(known)})", key)


@dataclass(frozen=True)
class Policy:
    """A policy file as read: rules per stage, defaults for every stage, where the signers are,
    and where the file came from (`origin/main:.tagreg/policy.yaml`, for messages)."""

    defaults: Rules = field(default_factory=Rules, metadata=S.checked(S.section(Rules)))
    stages: dict[str, Rules] = field(default_factory=dict, metadata=S.checked(_stages))
    signers: Signers = field(default_factory=Signers, metadata=S.checked(S.section(Signers)))
    # Principals of the keys tagreg servers sign their writes with: the server signs for the person
    # signed in, whom it names as the tagger, so `who` is checked against that tagger's e-mail.
    servers: list[str] = field(default_factory=list, metadata=S.checked(S.strings))
    show: Show = field(default_factory=Show, metadata=S.checked(S.section(Show)))
    source: str = ""
    commit: str = ""  # the commit of the policy's ref it was read at (its signers' files are read there too)

    def rules(self, stage: str) -> Rules:
        """The rules for stage: its own, over the defaults."""
        own = self.stages.get(stage)
        return own.over(self.defaults) if own is not None else self.defaults

    @property
    def governed(self) -> bool:
        """Some rule applies to some stage."""
        return not self.defaults.empty or any(not rules.empty for rules in self.stages.values())

    def to_dict(self, stages: Iterable[str] = ()) -> dict[str, Any]:
        """The policy as JSON shows it: where it was read, and the rules of each stage it names and
        of stages (its own over the defaults)."""
        named = list(dict.fromkeys([*self.stages, *stages]))
        return {"source": self.source, "commit": self.commit, "defaults": self.defaults.to_dict(),
                "stages": {stage: self.rules(stage).to_dict() for stage in named},
                "signers": {"ssh": self.signers.ssh, "gpg": self.signers.gpg}, "servers": list(self.servers),
                "show": self.show.to_dict()}

    @property
    def needs_signatures(self) -> bool:
        """Some stage's rules ask who signed (so tags' signatures must be checked)."""
        every = [self.defaults, *self.stages.values()]
        return any(r.signed or r.signers for r in every) or any(r.who for r in every)


def parse(data: Any, source: str, commit: str = "") -> Policy:
    """The policy from a parsed YAML document; `S.Invalid` (for `.line(source)`) if it is not one."""
    if data is None:
        return Policy(source=source, commit=commit)
    if not isinstance(data, dict):
        raise S.Invalid(f"must be a mapping, not {S.shown(data)}")
    _known_keys(data, Policy, "key")
    for name, shape in (("defaults", Rules), ("signers", Signers), ("show", Show)):
        if isinstance(data.get(name), dict):
            _known_keys(data[name], shape, "rule" if shape is Rules else "key", f".{name}")
    return replace(S.read(Policy, data), source=source, commit=commit)


# -- facts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Signature:
    """What a tag's signature says: `state` is 'none' (unsigned), 'good' (verified by an allowed
    key), 'bad' (does not verify), 'unknown' (signed by a key the policy does not allow) or
    'expired'; principal names the allowed signer for a good one."""

    state: str = "none"
    principal: str | None = None
    key: str | None = None
    detail: str = ""

    @property
    def good(self) -> bool:
        """Verified by a key the policy allows."""
        return self.state == "good"


UNSIGNED = Signature()


class Facts(Protocol):
    """What the judge needs to know from git about an event."""

    def on_branches(self, commit: str, patterns: list[str]) -> bool:
        """The commit is reachable from a branch (of the protected remote) matching one of patterns."""

    def signature(self, event: Event) -> Signature:
        """The signature of the event's tag."""


# -- judging ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Breach:
    """One rule an event breaks: `rule` is its key in the policy, `reason` what is wrong, `remedy`
    what would satisfy it."""

    rule: str
    stage: str
    reason: str
    remedy: str

    @property
    def line(self) -> str:
        """The one-line message: `stage 'prod' requires ...: <reason>; <remedy>`."""
        return f"policy rule '{self.rule}' of stage '{self.stage}': {self.reason}; {self.remedy}"


def is_rollback(event: Event) -> bool:
    """The assignment says it is a downgrade made on purpose (its message has the trailer)."""
    return any(line.startswith(ROLLBACK_TRAILER + ":") for line in event.message.splitlines())


@dataclass
class _Occupancy:
    """One version's time in one stage: assigned at `since`, ended by an unassignment at `until`."""

    version: str
    since: int
    until: int | None = None


@dataclass
class Judge:
    """Judges one artifact's events in GTO's order, keeping what is in effect as it goes."""

    policy: Policy
    facts: Facts
    stays: dict[str, list[_Occupancy]] = field(default_factory=dict)  # stage -> occupancies, oldest first

    def judge(self, event: Event, now: int | None = None) -> list[Breach]:
        """The rules event breaks (none: it is in effect), and, if it is in effect, remember it.
        now: the time the event is judged at (a write: the clock; a tag read back: its own time)."""
        breaches = self.breaches(event, event.timestamp if now is None else now)
        if not breaches:
            self._take(event)
        return breaches

    def breaches(self, event: Event, now: int) -> list[Breach]:
        """The rules event breaks, without remembering it."""
        kind = event.event
        if kind == T.ASSIGNMENT and event.stage:
            return self._assignment(event, now)
        if kind == T.UNASSIGNMENT and event.stage:
            return self._identity(event, event.stage, self.policy.rules(event.stage))
        if kind in (T.DEREGISTRATION, T.DEPRECATION):
            # Removing a version (or the artifact) takes it out of its stages: whoever may not
            # unassign a stage may not remove what is in it either.
            out: list[Breach] = []
            for stage in self._held_stages(event.version if kind == T.DEREGISTRATION else None):
                out += self._identity(event, stage, self.policy.rules(stage))
            return out
        return []

    def _assignment(self, event: Event, now: int) -> list[Breach]:
        stage = event.stage or ""
        rules = self.policy.rules(stage)
        out = self._identity(event, stage, rules)
        if rules.branches and not self.facts.on_branches(event.commit, rules.branches):
            out.append(Breach("branches", stage, f"commit {event.commit[:7]} is on none of the branches "
                              f"{_listed(rules.branches)}", "merge it into one of them first"))
        if rules.promotes_from:
            need = rules.min_age or 0.0
            if not any(self._stayed(event.version or "", earlier, need, now) for earlier in rules.promotes_from):
                wait = f" for at least {shown_duration(need)}" if need else ""
                out.append(Breach("promotes_from", stage, f"version {event.version} has not been in "
                                  f"{_listed(rules.promotes_from, 'or')}{wait}",
                                  f"assign it to {rules.promotes_from[0]} first" + (" and wait" if need else "")))
        if rules.no_downgrade and not is_rollback(event):
            current = self.current(stage)
            if current and current != event.version and is_lower(event.version, current):
                out.append(Breach("no_downgrade", stage, f"{event.version} is lower than {current}, in {stage} now",
                                  "pass --force to record it as a rollback"))
        return out

    def _identity(self, event: Event, stage: str, rules: Rules) -> list[Breach]:
        out = []
        signature = self.facts.signature(event) if (rules.signed or rules.signers or rules.who) else UNSIGNED
        if rules.signed or rules.signers:
            if not signature.good:
                said = {"none": "the tag is not signed", "bad": "its signature does not verify",
                        "unknown": "it is signed by a key the policy does not list",
                        "expired": "it is signed by an expired key"}.get(signature.state, signature.state)
                out.append(Breach("signed", stage, said + (f" ({signature.detail})" if signature.detail else ""),
                                  "sign it (--sign) with a key listed in the policy's signers"))
            elif rules.signers and not matches(signature.principal, rules.signers, fold_case=True):
                out.append(Breach("signers", stage, f"signer '{signature.principal}' is not one of "
                                  f"{_listed(rules.signers)}", "have one of them sign it"))
        if rules.who:
            identity = self.identity(event, signature)
            if not matches(identity, rules.who, fold_case=True):
                out.append(Breach("who", stage, f"'{identity}' may not change {stage}",
                                  f"ask one of {_listed(rules.who)}"))
        return out

    def identity(self, event: Event, signature: Signature) -> str | None:
        """Who made event, as `who` sees it: the principal of a good signature, else the tagger's
        e-mail; a good signature by one of the policy's `servers` vouches for the tagger it names."""
        if signature.good and not matches(signature.principal, self.policy.servers, fold_case=True):
            return signature.principal
        return event.author_email

    def _take(self, event: Event) -> None:
        kind, stage = event.event, event.stage or ""
        if kind == T.ASSIGNMENT:
            self.stays.setdefault(stage, []).append(_Occupancy(event.version or "", event.timestamp))
        elif kind == T.UNASSIGNMENT:
            for stay in self.stays.get(stage, []):
                if stay.version == event.version and stay.until is None:
                    stay.until = event.timestamp
        elif kind in (T.DEREGISTRATION, T.DEPRECATION):
            for stays in self.stays.values():
                for stay in stays:
                    if stay.until is None and (kind == T.DEPRECATION or stay.version == event.version):
                        stay.until = event.timestamp

    def _stayed(self, version: str, stage: str, need: float, now: int) -> bool:
        """version was in stage (assigned there in effect) for need seconds, before now."""
        for stay in self.stays.get(stage, []):
            if stay.version == version and stay.since <= now:
                end = now if stay.until is None else min(stay.until, now)
                if end - stay.since >= need:
                    return True
        return False

    def current(self, stage: str) -> str | None:
        """The version in stage now: its newest assignment in effect that has not ended."""
        live = [stay for stay in self.stays.get(stage, []) if stay.until is None]
        return live[-1].version if live else None

    def _held_stages(self, version: str | None) -> list[str]:
        """The stages version (any version: None) is in now."""
        return [stage for stage, stays in self.stays.items()
                if any(stay.until is None and (version is None or stay.version == version) for stay in stays)]


def judge_history(policy: Policy, events: Iterable[Event], facts: Facts) -> dict[str, list[Breach]]:
    """Every event of events (of one registry) that breaks the policy, by tag name: each judged in
    time order (GTO's history order) against what was in effect before it."""
    judges: dict[str, Judge] = {}
    out = {}
    for event in in_order(events):
        judge = judges.get(event.artifact)
        if judge is None:
            judge = judges[event.artifact] = Judge(policy, facts)
        breaches = judge.judge(event)
        if breaches:
            out[event.tag] = breaches
    return out


def matches(value: str | None, patterns: list[str], fold_case: bool = False) -> bool:
    """value matches one of the shell-style patterns (`release/*`, `*@example.com`); e-mails and
    principals compare without case (fold_case), branch names with it."""
    if value is None:
        return False
    if fold_case:
        return any(fnmatchcase(value.lower(), pattern.lower()) for pattern in patterns)
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def is_lower(version: str | None, than: str) -> bool:
    """version is a lower SemVer than than (False if either is not SemVer)."""
    if not (version and T.is_version(version) and T.is_version(than)):
        return False
    return T.version_key(version) < T.version_key(than)


def _listed(items: list[str], word: str = "or") -> str:
    quoted = [f"'{item}'" for item in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" {word} " + quoted[-1]


def shown_duration(seconds: float) -> str:
    """Seconds as a policy writes a duration: `24h`, `90m`, `7d` (`45s` when no unit divides it)."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"

