"""Commands that edit annotations: annotate, remove, link."""

from __future__ import annotations

import click

from .options import complete_names, opens_repo


def _custom(values: tuple[str, ...]) -> dict:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--custom")
        out[key] = value
    return out


@click.command()
@opens_repo()
@click.argument("name", shell_complete=complete_names)
@click.option("--type", "type_", help="Artifact type, e.g. model or dataset.")
@click.option("--path", help="Path of the artifact in the repository (or a URL).")
@click.option("--description", "--desc", "description", help="Free text.")
@click.option("--label", "labels", multiple=True, help="A label (repeat for several; replaces the list).")
@click.option("--custom", multiple=True, help="KEY=VALUE to store under custom (repeatable).")
@click.option("--virtual/--no-virtual", default=None, help="Whether the path is not stored in the repo.")
@click.option("--rev", "--branch", "rev", help="Branch to annotate (default: the checked-out one); "
              "another branch gets a commit without a checkout.")
@click.option("--commit", is_flag=True, help="Commit the annotation file.")
def annotate(repo, name, type_, path, description, labels, custom, virtual, rev, commit):
    """Add or update NAME's annotation in artifacts.yaml."""
    from .. import api

    change = api.annotate(repo, name, type=type_, path=path, description=description, labels=list(labels),
                          custom=_custom(custom), virtual=virtual, commit=commit, rev=rev)
    suffix = f" and committed it as {change.commit[:7]}" if change.commit else ""
    click.echo(f"Updated the annotation of '{name}' in {change.file}{suffix}")


@click.command()
@opens_repo()
@click.argument("name", shell_complete=complete_names)
@click.option("--rev", "--branch", "rev", help="Branch to edit (default: the checked-out one).")
@click.option("--commit", is_flag=True, help="Commit the annotation file.")
def remove(repo, name, rev, commit):
    """Remove NAME's annotation."""
    from .. import api

    change = api.remove(repo, name, commit=commit, rev=rev)
    suffix = f" and committed it as {change.commit[:7]}" if change.commit else ""
    click.echo(f"Removed the annotation of '{name}' from {change.file}{suffix}")


@click.command()
@opens_repo()
@click.argument("source")
@click.argument("path")
@click.argument("name")
@click.option("--rev", required=True, help="Revision of SOURCE to pin (a tag or commit; a branch moves).")
@click.option("--type", "type_", help="Artifact type, e.g. model.")
@click.option("--description", "--desc", "description", help="Free text.")
@click.option("--label", "labels", multiple=True, help="A label (repeatable).")
@click.option("--branch", help="Branch of the registry to commit to (default: the checked-out/default one).")
@click.option("--commit", is_flag=True, help="Commit the annotation file (always done on a remote registry).")
def link(repo, source, path, name, rev, type_, description, labels, branch, commit):
    """Declare NAME as the file or folder PATH of another repository SOURCE at REV."""
    from .. import api

    change = api.link(repo, source, path, name, rev=rev, type=type_, description=description,
                      labels=list(labels), branch=branch, commit=commit)
    suffix = f" and committed it as {change.commit[:7]}" if change.commit else ""
    from ..remote import redact
    from .output import printable

    click.echo(printable(f"Linked '{name}' to {path} in {redact(source)} at {rev} in {change.file}{suffix}"))
