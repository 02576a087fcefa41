"""Commands that change the registry: register, assign, deprecate, annotate, remove, link."""

from __future__ import annotations


import click

from . import _complete_names, _complete_stages, main, push_options, repo_option, simple_option


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.argument("ref", required=False)
@click.option("--rev", "rev", help="Commit to register (seed-era spelling of REF).")
@click.option("--ver", "--version", "version", help="Version to register, e.g. v1.2.0 (default: next patch).")
@click.option("-m", "--message", help="Tag message.")
@simple_option
@click.option("--force", is_flag=True, help="Register even if the commit already has a version.")
@click.option("--bump-major", is_flag=True, help="Bump the major part of the greatest version.")
@click.option("--bump-minor", is_flag=True, help="Bump the minor part of the greatest version.")
@click.option("--bump-patch", is_flag=True, help="Bump the patch part (the default).")
@push_options
def register(repo, name, ref, rev, version, message, simple, force, bump_major, bump_minor, bump_patch, push, remote):
    """Register a new version of NAME at REF (default HEAD)."""
    from .. import api
    from .render import echo_change

    change = api.register(
        repo, name, ref or rev or "HEAD", version=version, message=message, simple=simple, force=force,
        bump_major=bump_major, bump_minor=bump_minor, bump_patch=bump_patch, push=push, remote=remote,
    )
    echo_change(change)


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.argument("ref", required=False)
@click.option("--stage", required=True, shell_complete=_complete_stages, help="Stage to assign.")
@click.option("--ver", "--version", "version", help="Version to assign (or the name of a new version for REF).")
@click.option("-m", "--message", help="Tag message.")
@simple_option
@click.option("--force", is_flag=True, help="Assign even if the version is in the stage already.")
@click.option("--sr", "--skip-registration", "skip_registration", is_flag=True,
              help="Do not register an unregistered commit first.")
@push_options
def assign(repo, name, ref, stage, version, message, simple, force, skip_registration, push, remote):
    """Assign STAGE to a version of NAME (alias: promote)."""
    from .. import api
    from .render import echo_change

    for change in api.assign(repo, name, stage, ref, version=version, message=message, simple=simple,
                             force=force, skip_registration=skip_registration, push=push, remote=remote):
        echo_change(change)


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.argument("version", required=False)
@click.argument("stage", required=False, shell_complete=_complete_stages)
@click.option("--ref", help="Commit for the deprecation tag (default: the artifact's newest event).")
@click.option("-m", "--message", help="Tag message.")
@simple_option
@click.option("--force", is_flag=True, help="Tag even if already deprecated/deregistered.")
@click.option("-d", "--delete", is_flag=True, help="Delete the related tags instead of adding a cancelling one.")
@push_options
def deprecate(repo, name, version, stage, ref, message, simple, force, delete, push, remote):
    """Deprecate NAME; deregister NAME VERSION; unassign NAME VERSION STAGE."""
    from .. import api
    from .render import echo_change

    for change in api.deprecate(repo, name, version, stage, ref=ref, message=message, simple=simple,
                                force=force, delete=delete, push=push, remote=remote):
        echo_change(change)


def _custom(values: tuple[str, ...]) -> dict:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--custom")
        out[key] = value
    return out


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
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


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.option("--rev", "--branch", "rev", help="Branch to edit (default: the checked-out one).")
@click.option("--commit", is_flag=True, help="Commit the annotation file.")
def remove(repo, name, rev, commit):
    """Remove NAME's annotation."""
    from .. import api

    change = api.remove(repo, name, commit=commit, rev=rev)
    suffix = f" and committed it as {change.commit[:7]}" if change.commit else ""
    click.echo(f"Removed the annotation of '{name}' from {change.file}{suffix}")



@main.command()
@repo_option
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

    click.echo(f"Linked '{name}' to {path} in {redact(source)} at {rev} in {change.file}{suffix}")


