"""The `tagreg` command: argument parsing and rendering only; every command calls `tagreg.api`.

Heavy modules (the API, YAML, tables) are imported inside commands, so `tagreg --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import click

from .. import __version__

NOTHING = "Nothing found in the current workspace"


class Group(click.Group):
    """Turns user errors into one `❌ message` line and exit 1; other errors too, with a hint."""

    def invoke(self, ctx: click.Context):
        from ..errors import UserError
        from .render import emoji

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except UserError as exc:
            if _traceback_wanted(ctx):
                raise
            click.echo(f"{emoji('❌')}{exc}", err=True)
            ctx.exit(1)
        except Exception as exc:  # a bug: still one line, with a way to see more
            if _traceback_wanted(ctx):
                raise
            click.echo(f"{emoji('❌')}Unexpected error: {exc}", err=True)
            click.echo("Run with '--traceback' to see where it happened and report it.", err=True)
            ctx.exit(1)

    def get_command(self, ctx, name):
        return super().get_command(ctx, {"promote": "assign"}.get(name, name))


def _traceback_wanted(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool((root.params or {}).get("traceback")) or os.environ.get("TAGREG_TRACEBACK") == "1"


def _complete_names(ctx, param, incomplete):
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        names = [a.name for a in api.show_registry(repo, deprecated=True).artifacts]
        return [n for n in names if n.startswith(incomplete)]
    except Exception:
        return []


def _complete_stages(ctx, param, incomplete):
    try:
        from .. import api

        repo = ctx.params.get("repo") or "."
        found = api.stages(repo) or []
        return [s for s in found if s.startswith(incomplete)]
    except Exception:
        return []


def repo_option(f):
    """`-r/--repo PATH|URL` and `--offline`; a URL becomes its cached mirror, quiet under --json."""
    import functools

    @functools.wraps(f)
    def wrapper(*args, repo: str, offline: bool, **kwargs):
        from ..remote import is_url

        if is_url(repo):
            from ..api import Repository

            quiet = kwargs.get("as_json") or kwargs.get("fmt") in ("json",)
            repo = Repository(repo, offline=offline, progress=False if quiet else None)
        return f(*args, repo=repo, **kwargs)

    wrapper = click.option("--offline", is_flag=True, help="Use the cached copy of a remote --repo as it is.")(wrapper)
    return click.option("-r", "--repo", default=".", show_default=True,
                        help="Repository: a path, or a URL (https, ssh, file://) read through a local cache.")(wrapper)


def simple_option(f):
    return click.option(
        "--simple", type=click.Choice(["auto", "true", "false"]), default="auto", show_default=True,
        help="Tag without the #N counter (true) or with it (false); auto: GTO's default per event.",
    )(f)


def push_options(f):
    f = click.option("--remote", default="origin", show_default=True, help="Remote to push to with --push.")(f)
    return click.option("--push", is_flag=True, help="Push the tag to the remote right away.")(f)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message="tagreg %(version)s (GTO-compatible tags)")
@click.option("--traceback", "--tb", is_flag=True, hidden=True, help="Show the traceback of errors.")
def main(traceback: bool) -> None:
    """tagreg: a Git-native model and artifact registry (GTO-compatible tags).

    Versions and stages are annotated Git tags; annotations live in artifacts.yaml.
    """


# -- changing the registry -----------------------------------------------------------------


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


# -- reading the registry ------------------------------------------------------------------


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.option("--rev", "--ref", "rev", help="Read the annotation at this commit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--path", "field", flag_value="path", help="Print the path only.")
@click.option("--type", "field", flag_value="type", help="Print the type only.")
@click.option("--description", "field", flag_value="description", help="Print the description only.")
def describe(repo, name, rev, as_json, field):
    """Print the annotation of NAME[@VERSION|#STAGE] at that version's commit."""
    from .. import api
    from .render import echo_json

    annotation = api.describe(repo, name, rev=rev)
    if annotation is None:
        raise api.RegistryError(f"No annotation found for '{name}'")
    data = annotation.to_dict()
    if field:
        value = data.get(field)
        if value is not None:
            click.echo(value)
    elif as_json:
        echo_json(data)
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True), nl=False)


def _format_flag(flags: dict) -> Optional[str]:
    chosen = [k for k, v in flags.items() if v]
    if len(chosen) > 1:
        from ..api import RegistryError

        raise RegistryError("Only one output format allowed")
    return chosen[0] if chosen else None


@main.command()
@repo_option
@click.argument("name", required=False, shell_complete=_complete_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (GTO's shape).")
@click.option("--plain", is_flag=True, help="Print a plain table.")
@click.option("--name", "f_name", is_flag=True, help="Print artifact names only.")
@click.option("--version", "f_version", is_flag=True, help="Print versions only.")
@click.option("--stage", "f_stage", is_flag=True, help="Print stages only.")
@click.option("--ref", "f_ref", is_flag=True, help="Print refs (tags) only.")
@click.option("--ro", "--registered-only", "registered_only", is_flag=True, help="Registered versions only.")
@click.option("-d", "--deprecated", is_flag=True, help="Include deprecated artifacts.")
@click.option("--av", "--assignments-per-version", "av", type=int, default=-1, show_default=True,
              help="Stage assignments to keep per version (-1: all).")
@click.option("--vs", "--versions-per-stage", "vs", type=int, default=1, show_default=True,
              help="Versions to show per stage (-1: all).")
@click.option("--sort", type=click.Choice(["timestamp", "semver"]), default="timestamp", show_default=True,
              help="Which version wins a stage: the newest assignment, or the greatest version.")
@click.option("--type", "type_", help="Only artifacts of this type.")
@click.option("--label", "labels", multiple=True, help="Only artifacts with this label (repeatable).")
def show(repo, name, as_json, plain, f_name, f_version, f_stage, f_ref, registered_only, deprecated, av, vs, sort,
         type_, labels):
    """Show the registry, or the versions of NAME (also NAME@latest, NAME@vX.Y.Z, NAME#stage)."""
    from .. import api
    from ..api import RegistryError
    from .render import echo_json, echo_lines, short, table

    fmt = _format_flag({"json": as_json, "plain": plain, "name": f_name, "version": f_version, "stage": f_stage,
                        "ref": f_ref})
    options = dict(deprecated=deprecated, registered_only=registered_only, vs=vs, av=av, sort=sort)
    if name is None:
        view = api.show_registry(repo, type=type_, label=tuple(labels), cached=True, **options)
        if fmt in ("version", "stage", "ref"):
            raise RegistryError(f"Cannot apply --{fmt}")
        if fmt == "json":
            echo_json({a.name: a.to_gto(view.stages) for a in view.artifacts})
            return
        if fmt == "name":  # the table's name column
            echo_lines(a.name if a.registered else f"*{a.name}" for a in sorted(view.artifacts, key=lambda a: a.name))
            return
        if not view.artifacts:
            click.echo(NOTHING)
            return
        rows = []
        for a in sorted(view.artifacts, key=lambda a: a.name):
            row = [a.name if a.registered else f"*{a.name}", short(a.latest)]
            row += [", ".join(short(v) for v in a.stages.get(s, [])) or None for s in view.stages]
            rows.append(row)
        click.echo(table(rows, ["name", "latest"] + [f"#{s}" for s in view.stages], plain=plain))
        return
    if fmt == "name":
        raise RegistryError("Cannot apply --name")
    versions = api.show(repo, name, **options)
    if fmt == "json":
        echo_json([v.to_gto() for v in versions])
        return
    if fmt in ("version", "stage", "ref"):
        echo_lines({"version": lambda v: short(v.version), "stage": lambda v: ", ".join(v.stages),
                    "ref": lambda v: short(v.ref)}[fmt](v) for v in versions)
        return
    if not versions:
        click.echo(NOTHING)
        return
    rows = [[v.artifact if v.artifact_registered else f"*{v.artifact}",
             short(v.version), ", ".join(v.stages), str(v.created_at) if v.created_at else None, short(v.ref)]
            for v in versions]
    click.echo(table(rows, ["artifact", "version", "stage", "created_at", "ref"], plain=plain))


@main.command()
@repo_option
@click.argument("name", required=False, shell_complete=_complete_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (GTO's shape).")
@click.option("--plain", is_flag=True, help="Print a plain table.")
@click.option("--asc", "--ascending", "ascending", is_flag=True, help="Oldest first.")
def history(repo, name, as_json, plain, ascending):
    """Show every registry event (of NAME), newest first."""
    from .. import api
    from .render import echo_json, short, table

    _format_flag({"json": as_json, "plain": plain})
    entries = api.history(repo, name, ascending=ascending)
    if as_json:
        echo_json([e.to_gto() for e in entries])
        return
    if not entries:
        click.echo(NOTHING)
        return
    rows = [[str(e.timestamp), e.artifact, e.event, short(e.version), e.stage, e.commit[:7], e.ref] for e in entries]
    click.echo(table(rows, ["timestamp", "artifact", "event", "version", "stage", "commit", "ref"], plain=plain))


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.option("--ref", "as_ref", is_flag=True, help="Print the tag instead of the version.")
def latest(repo, name, as_ref):
    """Print the greatest registered version of NAME."""
    from .. import api

    found = api.latest(repo, name)
    if found is not None:
        click.echo(found.ref if as_ref else found.version)


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.argument("stage", shell_complete=_complete_stages)
@click.option("--ref", "as_ref", is_flag=True, help="Print the assignment tag instead of the version.")
def which(repo, name, stage, as_ref):
    """Print the version of NAME that is in STAGE."""
    from .. import api

    found = api.which(repo, name, stage)
    if found is not None:
        click.echo(api.assignment_ref(found, stage) if as_ref else found.version)


@main.command()
@repo_option
@click.option("--allowed", is_flag=True, help="Stages allowed by the config.")
@click.option("--used", is_flag=True, help="Stages with an active assignment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stages(repo, allowed, used, as_json):
    """List stages: allowed by .gto if set, else in use."""
    from .. import api
    from .render import echo_json, echo_lines

    found = api.stages(repo, allowed=allowed, used=used)
    if as_json:
        echo_json(found)
    elif found:
        echo_lines(found)


@main.command("check-ref")
@repo_option
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (GTO's shape).")
@click.option("--name", "f_name", is_flag=True, help="Print the artifact name.")
@click.option("--version", "f_version", is_flag=True, help="Print the version.")
@click.option("--event", "f_event", is_flag=True, help="Print the event.")
@click.option("--stage", "f_stage", is_flag=True, help="Print the stage.")
@click.option("--path", "f_path", is_flag=True, help="Print the annotated path.")
@click.option("--type", "f_type", is_flag=True, help="Print the annotated type.")
@click.option("--description", "f_description", is_flag=True, help="Print the annotated description.")
@click.option("--format", "fmt", type=click.Choice(["github", "dotenv", "json", "shell"]),
              help="CI outputs: github appends to $GITHUB_OUTPUT; dotenv for GitLab; json; shell (eval-safe).")
@click.option("--strict", is_flag=True, help="Exit 1 if REF is not a registry event.")
def check_ref(repo, ref, as_json, f_name, f_version, f_event, f_stage, f_path, f_type, f_description, fmt, strict):
    """Say what a pushed tag means (nothing for tags that are not registry events)."""
    from .. import api
    from .render import CHECKED, echo_json, echo_lines, emoji

    flag = _format_flag({"json": as_json, "name": f_name, "version": f_version, "event": f_event,
                         "stage": f_stage, "path": f_path, "type": f_type, "description": f_description,
                         "format": bool(fmt)})
    found = api.check_ref(repo, ref)
    if strict and not found:
        raise api.RegistryError(f"'{ref}' is not a registry event")
    if fmt:
        from ..events import ci

        text = ci.render(fmt, found[0] if found else None)
        if fmt != "github" or not ci.write_github(text, os.environ.get("GITHUB_OUTPUT")):
            click.echo(text, nl=False)
        return
    if flag == "json":
        if found:
            echo_json(found[0].to_gto() if len(found) == 1 else [f.to_gto() for f in found])
        return
    if flag:
        values = []
        for f in found:
            note = f.annotation
            values.append({"name": f.name, "version": f.version, "event": f.event, "stage": f.stage,
                           "path": note.path if note else None, "type": note.type if note else None,
                           "description": note.description if note else None}[flag])
        echo_lines(v for v in values if v is not None)
        return
    for f in found:
        click.echo(emoji("✅") + " " + CHECKED[f.event].format(name=f.name, version=f.version, stage=f.stage))


@main.command()
@repo_option
@click.option("--since", help="Only events after this event id, or after this date (ISO 8601).")
@click.option("--name", "name", help="Only events of this artifact.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per event, the webhook schema).")
def events(repo, since, name, as_json):
    """List registry events oldest first, each with a stable id (for polling integrations)."""
    from ..events import records
    from .render import echo_json, table

    found = records.since(records.list_events(repo), since)
    if name:
        found = [e for e in found if e.name == name]
    if as_json:
        echo_json([e.to_dict() for e in found])
        return
    if not found:
        click.echo(NOTHING)
        return
    rows = [[e.id, e.created_at.replace("T", " "), e.event, e.name, e.version, e.stage, e.tag] for e in found]
    click.echo(table(rows, ["id", "created_at", "event", "name", "version", "stage", "tag"]))


@main.group(invoke_without_command=True)
@click.option("--config", "config_path", default="watch.yaml", show_default=True, type=click.Path(),
              help="The watch configuration.")
@click.option("--replay", is_flag=True, help="On a first start, deliver existing events too.")
@click.option("--listen", help="HOST:PORT of an endpoint that a push webhook calls to fetch at once.")
@click.option("--once", is_flag=True, help="Poll and deliver once, then exit.")
@click.pass_context
def watch(ctx, config_path, replay, listen, once):
    """Follow registries and deliver their events to webhooks and commands (durably)."""
    if ctx.invoked_subcommand is not None:
        return
    import signal

    from ..events.watch import Watcher
    from ..events.watch_config import load

    config = load(config_path)
    watcher = Watcher(config, replay=replay, echo=lambda line: click.echo(line, err=True))
    host, port = config.listen_host, config.listen_port
    if listen:
        host, _, port_text = listen.rpartition(":")
        host, port = host or "127.0.0.1", int(port_text)
    if port:
        bound = watcher.listen(host or "127.0.0.1", port)
        click.echo(f"listening for push webhooks on http://{bound[0]}:{bound[1]}/", err=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: watcher.stop())
    click.echo(f"watching {len(config.repos)} repositor{'y' if len(config.repos) == 1 else 'ies'}, "
               f"{len(config.targets)} target(s); state in {config.state}", err=True)
    try:
        watcher.run(once=once)
    finally:
        watcher.close()


@watch.command("status")
@click.option("--retry-dead", is_flag=True, help="Queue dead deliveries again.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def watch_status(ctx, retry_dead, as_json):
    """Show deliveries per target (pending, delivered, dead), dead letters and repositories."""
    from ..events.outbox import Outbox
    from ..events.watch_config import load
    from ..remote import redact
    from .render import echo_json, table

    config = load(ctx.parent.params["config_path"])
    outbox = Outbox(config.state)
    try:
        if retry_dead:
            count = outbox.retry_dead()
            # With --json, stdout holds only the JSON.
            click.echo(f"{count} dead deliver{'y' if count == 1 else 'ies'} queued again", err=as_json)
        counts = outbox.counts()
        dead = outbox.items("dead")
        repos = outbox.repos()
    finally:
        outbox.close()
    shown = {t.id: t.display for t in config.targets}
    if as_json:
        echo_json({"targets": {shown.get(k, redact(k)): v for k, v in counts.items()},
                   "dead": [{"target": shown.get(i.target, redact(i.target)), "event": i.payload,
                             "attempts": i.attempts, "error": i.last_error} for i in dead],
                   "repos": [{"repo": r[0], "polled_at": r[1], "error": r[2], "events": r[3]} for r in repos]})
        return
    rows = [[shown.get(t.id, t.id), counts.get(t.id, {}).get("pending", 0), counts.get(t.id, {}).get("delivered", 0),
             counts.get(t.id, {}).get("dead", 0)] for t in config.targets]
    click.echo(table(rows, ["target", "pending", "delivered", "dead"]))
    if dead:
        click.echo("dead letters:")
        click.echo(table([[shown.get(i.target, redact(i.target)), i.payload["tag"], i.attempts, i.last_error]
                          for i in dead], ["target", "tag", "attempts", "last error"]))
    for repo, polled, error, seen in repos:
        click.echo(f"{repo}: {seen} events" + (f", last error: {error}" if error else ""))


@main.command()
@repo_option
@click.option("--strict", is_flag=True, help="Exit 1 if any problem is found.")
def doctor(repo, strict):
    """Check the repository, config, tags and annotations."""
    from .. import api
    from .. import config as C
    from .render import emoji

    click.echo(f"{emoji('🪴')} tagreg {__version__}")
    click.echo("---------------------------------")
    checks = api.doctor(repo)
    try:
        r = api.Repository(repo)
        cfg = r.config
        click.echo(f"repository={r.git.path.resolve()}")
        click.echo(f"config_file={cfg.source or '(none)'}")
        click.echo(f"index={cfg.index}")
        click.echo(f"stages={cfg.stages}")
        click.echo(f"types={cfg.types}")
        click.echo(f"emojis={C.emojis_enabled()}")
    except Exception:
        pass
    click.echo("---------------------------------")
    problems = [c for c in checks if c.level != "ok"]
    for check in problems:
        symbol = "❌" if check.level == "error" else "⚠️"
        click.echo(f"{emoji(symbol)}{check.message}")
    if not problems:
        click.echo(f"{emoji('✅')} No issues found")
    if any(c.level == "error" for c in problems) or (strict and problems):
        sys.exit(1)


@main.command()
@repo_option
@click.argument("name", shell_complete=_complete_names)
@click.option("-o", "--out", "out", type=click.Path(), help="Where to write (default: the artifact's file name).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--print-path", is_flag=True, help="Print the annotated path instead of fetching.")
@click.option("--print-rev", is_flag=True, help="Print the commit the files are read at instead of fetching.")
def get(repo, name, out, force, print_path, print_rev):
    """Write the artifact NAME[@vX.Y.Z|@latest|#stage] (its annotated path) to disk."""
    from .. import api

    if print_path or print_rev:
        where = api.locate(name, repo=repo)
        if print_path:
            click.echo(where.path)
        if print_rev:
            click.echo(where.commit)
        return
    result = api.get(name, repo=repo, out=out, force=force)
    version = f"{result.name}@{result.version}" if result.version else result.name
    if result.kind == "external":
        click.echo(f"{version} is stored outside Git, at {result.path}; fetch it with that storage's tools.")
        return
    source = f" from {result.repo}" if result.repo else ""
    count = len(result.written)
    what = result.written[0] if count == 1 else f"{count} files into {out or result.path.rstrip('/').split('/')[-1]}"
    click.echo(f"Wrote {version} ({result.kind}, commit {result.commit[:7]}{source}) to {what}")


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


@main.group()
def cache():
    """Manage the cache of remote repositories."""


@cache.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cache_list(as_json):
    """List cached mirrors of remote repositories."""
    from .. import remote
    from .render import echo_json, table

    mirrors = remote.list_mirrors()
    if as_json:
        echo_json(mirrors)
        return
    if not mirrors:
        click.echo(f"The cache ({remote.cache.root()}) is empty")
        return
    import datetime

    rows = [[m["url"], f"{m['size'] / 1e6:.1f} MB",
             datetime.datetime.fromtimestamp(m["fetched"]).isoformat(" ", "seconds") if m["fetched"] else None,
             m["path"]] for m in mirrors]
    click.echo(table(rows, ["url", "size", "fetched", "folder"]))


@cache.command("clear")
@click.argument("url", required=False)
def cache_clear(url):
    """Delete cached mirrors (all, or URL's); they are made again when needed."""
    from .. import remote

    removed = remote.clear_mirrors(url)
    click.echo(f"Removed {len(removed)} cached repositor{'y' if len(removed) == 1 else 'ies'}")


@main.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="registries.yaml listing the repositories (default: the repository here).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--write", is_flag=True, help="Allow register/assign/deprecate with the token in TAGREG_TOKEN.")
def serve(config_file, host, port, write):
    """Serve the web dashboard and REST API (needs: pip install "tagreg[server]")."""
    from ..server import launch

    launch(config_file, host=host, port=port, write=write)


@main.command("parse-tag", hidden=True)
@click.argument("tag")
def parse_tag(tag):
    """Print what a tag name parses to (GTO's hidden command)."""
    from .. import tags as T
    from ..api import RegistryError
    from .render import echo_json

    parsed = T.parse_tag(tag)
    if parsed is None or parsed.event == T.CREATION:
        raise RegistryError(f"Cannot parse tag name '{tag}'")
    data = {"name": parsed.name}
    if parsed.version:
        data["version"] = parsed.version
    if parsed.stage:
        data["stage"] = parsed.stage
    data["action"] = T.ACTIONS[parsed.event]
    if parsed.counter is not None:
        data["counter"] = parsed.counter
    echo_json(data)


@main.command()
@click.argument("directory", default="tagreg-demo", required=False)
def demo(directory):
    """Build a small example registry in DIRECTORY (default: tagreg-demo)."""
    from ..demo import build

    path = build(directory)
    click.echo(f"Built an example registry in {path}. Try:\n    cd {path} && tagreg show && tagreg history")


def run() -> None:
    """Entry point for `python -m tagreg`."""
    main(prog_name="tagreg")
