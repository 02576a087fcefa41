"""Commands about the promotion policy: `verify`."""

from __future__ import annotations

import sys

import click

from .options import complete_names, opens_repo
from .output import NOTHING, echo, format_flag

SIGNATURE_WORDS = {"none": "unsigned", "bad": "BAD", "unknown": "unknown key", "expired": "expired key"}


@click.command()
@opens_repo()
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("--strict", is_flag=True, help="Exit 1 if an event breaks the policy or a signature does not verify.")
@click.option("--policy-ref", metavar="REF", help="Read the policy from REF (default: the remote's default branch).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--plain", is_flag=True, help="Print a plain table.")
def verify(repo, name, strict, policy_ref, as_json, plain):
    """Check every event's signature and the policy over the whole history (of NAME).

    Lists each event oldest first with who signed it and whether the policy, read from the protected
    ref, would have allowed it; events it would not have allowed are not in effect for readers that
    apply the policy.
    """
    from .. import api
    from .render import echo_json, short, table, warn

    format_flag({"json": as_json, "plain": plain})
    found = api.verify(repo, name, policy_ref=policy_ref)
    if as_json:
        echo_json(found.to_dict())
    elif not found.verdicts:
        echo(NOTHING)
    else:
        rows = []
        for v in found.verdicts:
            e, s = v.event, v.signature
            signed = s.principal if s.good else SIGNATURE_WORDS.get(s.state, s.state)
            verdict = "ok" if v.allowed else "breaks " + ", ".join(dict.fromkeys(b.rule for b in v.breaches))
            rows.append([str(e.created_at), e.artifact, e.event, short(e.version), e.stage, e.ref, e.author_email,
                         signed, verdict])
        headers = ["timestamp", "artifact", "event", "version", "stage", "ref", "tagger", "signed by", "policy"]
        echo(table(rows, headers, plain=plain), raw=True)
        for v in found.broken:
            for breach in v.breaches:
                warn(f"{v.event.tag}: {breach.line}")
    broken, bad = len(found.broken), len(found.badly_signed)
    if not as_json:
        echo(f"{len(found.verdicts)} events checked against {found.policy.source}: {broken} break the policy, "
             f"{bad} with a signature that does not verify", err=True)
    if strict and (broken or bad):
        sys.exit(1)
