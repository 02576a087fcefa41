"""Commands around the registry: events and watch, the cache of remotes, serve, demo."""

from __future__ import annotations

import click

from .options import opens_repo
from .output import NOTHING, printable


@click.command()
@opens_repo(reads=True)
@click.option("--since", help="Only events after this event id, or after this date (ISO 8601).")
@click.option("--name", "name", help="Only events of this artifact.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of the events (each in the webhook schema).")
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


@click.group(invoke_without_command=True)
@click.option("--config", "config_path", default="watch.yaml", show_default=True, type=click.Path(),
              help="The watch configuration.")
@click.option("--replay", is_flag=True, help="On a first start, deliver existing events too.")
@click.option("--listen", help="HOST:PORT of an endpoint that a push webhook calls to fetch at once.")
@click.option("--once", is_flag=True,
              help="Poll and deliver once, then exit (exit code 1 if a repository could not be read).")
@click.pass_context
def watch(ctx, config_path, replay, listen, once):
    """Follow registries and deliver their events to webhooks and commands (durably)."""
    if ctx.invoked_subcommand is not None:
        return
    import signal

    from ..events.watch import Watcher
    from ..events.watch_config import load

    config = load(config_path)
    host, port = config.listen_host, config.listen_port
    if listen:
        host, _, port_text = listen.rpartition(":")
        if not port_text.isdecimal():
            from ..events.watch_config import WatchConfigError

            raise WatchConfigError(f"--listen {listen}: expected HOST:PORT, e.g. 127.0.0.1:8787")
        host, port = host or "127.0.0.1", int(port_text)
    watcher = Watcher(config, replay=replay, echo=lambda line: click.echo(printable(line), err=True),
                      listen_at=(host or "127.0.0.1", port) if port else None)
    if watcher.server is not None:
        bound = watcher.server.server_address
        click.echo(f"listening for push webhooks on http://{bound[0]!s}:{bound[1]}/", err=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: watcher.stop())
    click.echo(f"watching {len(config.repos)} repositor{'y' if len(config.repos) == 1 else 'ies'}, "
               f"{len(config.targets)} target(s); state in {config.state}", err=True)
    try:
        watcher.run(once=once)
    finally:
        watcher.close()
    if once and watcher.unreadable:  # each was named on its own line as it failed
        ctx.exit(1)


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

    config = load(ctx.parent.params["config_path"], secrets=False)
    if not config.state.exists():  # not made here: a new outbox is the watcher's to announce
        if as_json:
            echo_json({"targets": {}, "dead": [], "repos": []})
        else:
            click.echo(f"no outbox at {config.state} yet: the watcher has not run")
        return
    outbox = Outbox(config.state, config.recover_command)
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
    for repo, _polled, error, seen in repos:
        click.echo(printable(f"{repo}: {seen} events" + (f", last error: {error}" if error else "")))


@watch.command("recover")
@click.pass_context
def watch_recover(ctx):
    """Keep a corrupt outbox aside and start a new one from what it can still read (at-least-once)."""
    from ..events.recovery import recover
    from ..events.watch_config import load

    config = load(ctx.parent.params["config_path"], secrets=False)
    report = recover(config.state, [r.label for r in config.repos],
                     lambda event: [t.id for t in config.targets if t.filter.matches(event)])
    if report.kept is None:
        click.echo(f"the watch outbox {config.state} is not corrupt: nothing to recover")
        return
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.deliveries.items())) or "none"
    click.echo(f"the corrupt outbox ({report.problem}) is kept as {report.kept}")
    click.echo(f"new outbox {config.state}: deliveries read: {counts}; {report.seen} events known as seen, "
               f"{report.repos} repositor{'y' if report.repos == 1 else 'ies'}")
    if report.unreadable:
        click.echo(f"unreadable rows in: {', '.join(report.unreadable)}; events whose rows were lost are "
                   "delivered again (at-least-once: receivers deduplicate by event id)")
    if report.requeued:
        click.echo(f"{report.requeued} deliver{'y' if report.requeued == 1 else 'ies'} queued again: "
                   "not known delivered")


@click.group()
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


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="registries.yaml listing the repositories (default: the repository here).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--write", is_flag=True,
              help="Allow register/assign/deprecate with the token in TAGREG_TOKEN or a token of the config's tokens.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="A host name clients use, besides localhost and the --host address (repeatable; "
                   "`*.example.com` for subdomains, `*` for any).")
@click.option("--header-timeout", default=10.0, show_default=True, type=float, metavar="SECONDS",
              help="Close connections whose request headers take longer.")
@click.option("--body-timeout", default=30.0, show_default=True, type=float, metavar="SECONDS",
              help="Answer 408 to requests whose body takes longer.")
@click.option("--max-connections", type=int, metavar="N",
              help="Open connections at most (default: 500, fewer if the open-files limit is low).")
@click.option("--hash-token", is_flag=True,
              help="Read a token from stdin and print the `hash:` line of its entry in the config's tokens, then exit.")
def serve(config_file, host, port, write, allowed_hosts, header_timeout, body_timeout, max_connections, hash_token):
    """Serve the web dashboard and REST API (needs the server extra: pip install -e ".[server]" in a checkout of
    tagreg)."""
    if hash_token:
        import sys

        from ..server import hash_token_line

        click.echo(hash_token_line(sys.stdin))
        return
    from ..server import launch

    launch(config_file, host=host, port=port, write=write, allowed_hosts=allowed_hosts,
           header_timeout=header_timeout, body_timeout=body_timeout, max_connections=max_connections)


@click.command("parse-tag", hidden=True)
@click.argument("tag")
@click.option("--key", help="Print only this part (name, version, stage, action or counter).")
def parse_tag(tag, key):
    """Print what a tag name parses to (GTO's hidden command)."""
    from .. import tags as T
    from ..api import RegistryError
    from .render import echo_json

    parsed = T.parse_tag(tag)
    if parsed is None:
        raise RegistryError(f"Cannot parse tag name '{tag}'")
    data: dict = {"name": parsed.name}
    if parsed.version:
        data["version"] = parsed.version
    if parsed.stage:
        data["stage"] = parsed.stage
    if parsed.event in T.ACTIONS:  # GTO gives NAME@created no action
        data["action"] = T.ACTIONS[parsed.event]
    if parsed.counter is not None:
        data["counter"] = parsed.counter
    if key:  # GTO: an empty --key is no key
        if key not in data:
            raise RegistryError(f"Tag '{tag}' has no '{key}' (it has: {', '.join(data)})")
        echo_json(data[key])
        return
    echo_json(data)


@click.command()
@click.argument("directory", default="tagreg-demo", required=False)
def demo(directory):
    """Build a small example registry in DIRECTORY (default: tagreg-demo)."""
    from ..demo import build

    path = build(directory)
    click.echo(f"Built an example registry in {path}. Try:\n    cd {path} && tagreg show && tagreg history")


