"""Commands that tag: register, assign, rollback, deprecate (annotations are in `annotating.py`)."""

from __future__ import annotations

from .grammar import PUSH, REPO, SIMPLE, Arg, Opt, command


@command(params=(
    *REPO,
    Arg("name", complete="names"),
    Arg("ref", required=False),
    Opt("--rev", dest="rev", help="Commit to register (seed-era spelling of REF)."),
    Opt("--ver", "--version", dest="version", help="Version to register, e.g. v1.2.0 (default: next patch)."),
    Opt("-m", "--message", help="Tag message."),
    SIMPLE,
    Opt("--force", flag=True, help="Register even if the commit already has a version."),
    Opt("--bump-major", flag=True, help="Bump the major part of the greatest version."),
    Opt("--bump-minor", flag=True, help="Bump the minor part of the greatest version."),
    Opt("--bump-patch", flag=True, help="Bump the patch part (the default)."),
    *PUSH,
))
def register(repo, name, ref, rev, version, message, simple, force, bump_major, bump_minor, bump_patch, push, remote):
    """Register a new version of NAME at REF (default HEAD)."""
    from .. import api
    from .render import echo_change

    edits = api.uncommitted_edits(repo, name, ref or rev or "HEAD")  # before the tag: HEAD is known then
    change = api.register(
        repo, name, ref or rev or "HEAD", version=version, message=message, simple=simple, force=force,
        bump_major=bump_major, bump_minor=bump_minor, bump_patch=bump_patch, push=push, remote=remote,
    )
    echo_change(change)
    from .output import printable
    from .render import warn

    for file in edits:
        warn(printable(f"'{file}' has uncommitted changes: {change.tag} is HEAD as committed, without them"))


@command(params=(
    *REPO,
    Arg("name", complete="names"),
    Arg("ref", required=False),
    Opt("--stage", required=True, complete="stages", help="Stage to assign."),
    Opt("--ver", "--version", dest="version", help="Version to assign (or the name of a new version for REF)."),
    Opt("-m", "--message", help="Tag message."),
    SIMPLE,
    Opt("--force", flag=True, help="Assign even if the version is in the stage already."),
    Opt("--sr", "--skip-registration", dest="skip_registration", flag=True,
        help="Do not register an unregistered commit first."),
    *PUSH,
))
def assign(repo, name, ref, stage, version, message, simple, force, skip_registration, push, remote):
    """Assign STAGE to a version of NAME (alias: promote)."""
    from .. import api
    from .render import echo_change

    for change in api.assign(repo, name, stage, ref, version=version, message=message, simple=simple,
                             force=force, skip_registration=skip_registration, push=push, remote=remote):
        echo_change(change)


@command(params=(
    *REPO,
    Arg("name", complete="names"),
    Arg("stage", complete="stages"),
    Opt("-m", "--message", help="Tag message."),
    SIMPLE,
    *PUSH,
))
def rollback(repo, name, stage, message, simple, push, remote):
    """Assign STAGE the version of NAME it had before its current one.

    That is the version STAGE falls back to if the current one is unassigned: the newest assignment
    of another version still standing (not unassigned, not deregistered). Rolling back twice returns
    to where it started.
    """
    from .. import api
    from .output import echo
    from .render import echo_change

    change = api.rollback(repo, name, stage, message=message, simple=simple, push=push, remote=remote)
    echo(f"Rolled back '{stage}' of {name} from {change.replaced} to {change.version}")
    echo_change(change)


@command(params=(
    *REPO,
    Arg("name", complete="names"),
    Arg("version", required=False),
    Arg("stage", required=False, complete="stages"),
    Opt("--ref", help="Commit for the deprecation tag (default: the artifact's newest event)."),
    Opt("-m", "--message", help="Tag message."),
    SIMPLE,
    Opt("--force", flag=True, help="Tag even if already deprecated/deregistered."),
    Opt("-d", "--delete", flag=True, help="Delete the related tags instead of adding a cancelling one."),
    *PUSH,
))
def deprecate(repo, name, version, stage, ref, message, simple, force, delete, push, remote):
    """Deprecate NAME; deregister NAME VERSION; unassign NAME VERSION STAGE."""
    from .. import api
    from .render import echo_change

    for change in api.deprecate(repo, name, version, stage, ref=ref, message=message, simple=simple,
                                force=force, delete=delete, push=push, remote=remote):
        echo_change(change)
