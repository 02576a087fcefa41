"""Commands that tag: register, assign, rollback, deprecate (annotations are in `annotating.py`)."""

from __future__ import annotations

import click

from .options import complete_names, complete_stages, opens_repo, push, sign, simple


@click.command()
@opens_repo(writes=True)
@click.argument("name", shell_complete=complete_names)
@click.argument("ref", required=False)
@click.option("--rev", help="Commit to register (seed-era spelling of REF).")
@click.option("--ver", "--version", "version", help="Version to register, e.g. v1.2.0 (default: next patch).")
@click.option("-m", "--message", help="Tag message.")
@simple
@click.option("--force", is_flag=True, help="Register even if the commit already has a version.")
@click.option("--bump-major", is_flag=True, help="Bump the major part of the greatest version.")
@click.option("--bump-minor", is_flag=True, help="Bump the minor part of the greatest version.")
@click.option("--bump-patch", is_flag=True, help="Bump the patch part (the default).")
@push
@sign
def register(repo, name, ref, rev, version, message, simple, force, bump_major, bump_minor, bump_patch, push, remote,
             sign):
    """Register a new version of NAME at REF (default HEAD)."""
    from .. import api
    from .render import echo_change

    edits = api.uncommitted_edits(repo, name, ref=ref or rev or "HEAD")  # before the tag: HEAD is known then
    change = api.register(
        repo, name, ref=ref or rev or "HEAD", version=version, message=message, simple=simple, force=force,
        bump_major=bump_major, bump_minor=bump_minor, bump_patch=bump_patch, push=push, remote=remote, sign=sign,
    )
    echo_change(change)
    from .output import printable
    from .render import warn

    for file in edits:
        warn(printable(f"'{file}' has uncommitted changes: {change.tag} is HEAD as committed, without them"))


@click.command()
@opens_repo(writes=True)
@click.argument("name", shell_complete=complete_names)
@click.argument("ref", required=False)
@click.option("--stage", required=True, shell_complete=complete_stages, help="Stage to assign.")
@click.option("--ver", "--version", "version", help="Version to assign (or the name of a new version for REF).")
@click.option("-m", "--message", help="Tag message.")
@simple
@click.option("--force", is_flag=True, help="Assign even if the version is in the stage already.")
@click.option("--sr", "--skip-registration", "skip_registration", is_flag=True, help="Do not register an "
              "unregistered commit first.")
@push
@sign
def assign(repo, name, ref, stage, version, message, simple, force, skip_registration, push, remote, sign):
    """Assign STAGE to a version of NAME (alias: promote)."""
    from .. import api
    from .render import echo_change

    for change in api.assign(repo, name, stage, ref=ref, version=version, message=message, simple=simple,
                             force=force, skip_registration=skip_registration, push=push, remote=remote, sign=sign):
        echo_change(change)


@click.command()
@opens_repo(writes=True)
@click.argument("name", shell_complete=complete_names)
@click.argument("stage", shell_complete=complete_stages)
@click.option("-m", "--message", help="Tag message.")
@simple
@push
@sign
def rollback(repo, name, stage, message, simple, push, remote, sign):
    """Assign STAGE the version of NAME it had before its current one.

    That is the version STAGE falls back to if the current one is unassigned: the newest assignment
    of another version still standing (not unassigned, not deregistered). Rolling back twice returns
    to where it started.
    """
    from .. import api
    from .output import echo
    from .render import echo_change

    change = api.rollback(repo, name, stage, message=message, simple=simple, push=push, remote=remote, sign=sign)
    echo(f"Rolled back '{stage}' of {name} from {change.replaced} to {change.version}")
    echo_change(change)


@click.command()
@opens_repo(writes=True)
@click.argument("name", shell_complete=complete_names)
@click.argument("version", required=False)
@click.argument("stage", required=False, shell_complete=complete_stages)
@click.option("--ref", help="Commit for the deprecation tag (default: the artifact's newest event).")
@click.option("-m", "--message", help="Tag message.")
@simple
@click.option("--force", is_flag=True, help="Tag even if already deprecated/deregistered.")
@click.option("-d", "--delete", is_flag=True, help="Delete the related tags instead of adding a cancelling one.")
@push
@sign
def deprecate(repo, name, version, stage, ref, message, simple, force, delete, push, remote, sign):
    """Deprecate NAME; deregister NAME VERSION; unassign NAME VERSION STAGE."""
    from .. import api
    from .render import echo_change

    for change in api.deprecate(repo, name, version=version, stage=stage, ref=ref, message=message, simple=simple,
                                force=force, delete=delete, push=push, remote=remote, sign=sign):
        echo_change(change)
