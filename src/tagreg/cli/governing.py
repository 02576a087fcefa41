"""Commands about the promotion policy: `verify`, and `protect` for the rules at the Git host."""

from __future__ import annotations

import sys

import click

from .options import complete_names, opens_repo
from .output import NOTHING, echo, format_flag

SIGNATURE_WORDS = {"none": "unsigned", "bad": "BAD", "unknown": "unknown key", "expired": "expired key"}
COUNTED = {"rulesets": ("ruleset", "rulesets"), "protected_tags": ("protected tag", "protected tags"),
           "protected_branches": ("protected branch", "protected branches")}


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


@click.command()
@opens_repo()
@click.option("--print", "host", required=True, type=click.Choice(["github", "gitlab"]),
              help="The Git host whose rules to print.")
@click.option("--policy-ref", metavar="REF", help="Read the policy from REF (default: the remote's default branch).")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write each request body to DIR/ENDPOINT/NN-NAME.json, and print the commands that apply them.")
@click.option("--force", is_flag=True, help="Overwrite files in DIR.")
def protect(repo, host, policy_ref, output_dir, force):
    """Print the Git host's rules that back the policy: GitHub rulesets, GitLab protected tags.

    Per governed stage, the host lets only the people its `who` names push the stage's tags
    (NAME#STAGE#N, NAME#STAGE!#N), keeps them from being moved or deleted, and with `signed` asks
    for signatures; deregistrations and deprecations, which empty stages, are guarded for the
    people of every governed stage; the policy's branch takes a reviewed pull request. Nothing is
    sent: stdout is the request bodies by endpoint (JSON), stderr says what to fill in (GitHub
    knows accounts, not e-mails) and what the host cannot check (`promotes_from`, `branches`, ...),
    which tagreg enforces on write and on read.

    To apply them, write them with --output-dir DIR, then run the commands it prints (one per
    file) from the repository's folder, where `gh` and `glab` find the repository:

    \b
        gh api repos/{owner}/{repo}/rulesets --method POST --input DIR/rulesets/01-NAME.json
    """
    from .. import api
    from ..printable import printable
    from .render import echo_json

    found = api.host_rules(repo, host, policy_ref=policy_ref, output_dir=output_dir, force=force)
    counts = ", ".join(f"{len(bodies)} {COUNTED[key][len(bodies) != 1]}" for key, bodies in found.documents().items())
    if output_dir is None:
        echo_json(found.documents())
    else:
        echo(printable(f"# {counts} for {found.source}, in {output_dir}: run these from the repository's folder"))
        if host == "gitlab":
            echo('# or, for each FILE, in folder ENDPOINT: curl --request POST '
                 '--header "PRIVATE-TOKEN: $GITLAB_TOKEN" --header "Content-Type: application/json" '
                 '--data @FILE "$GITLAB_URL/api/v4/projects/$PROJECT_ID/ENDPOINT"')
        for line in found.commands(output_dir):
            echo(line, raw=True)
    echo(f"{counts or 'nothing'} backing {found.source}", err=True)
    for note in found.notes:
        echo(f"- {printable(note)}", err=True)
    if output_dir is None:
        echo("To apply them: tagreg protect --print " + host + " --output-dir DIR, then run the commands it prints",
             err=True)
