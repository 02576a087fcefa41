"""Commands that read the registry: describe, show, history, latest, which, stages, check-ref, doctor, get."""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from .options import GtoChoice, complete_names, complete_stages, opens_repo
from .options import repo as repo_option
from .output import NOTHING, echo, format_flag, printable


@click.command()
@opens_repo(reads=True)
@click.argument("name", shell_complete=complete_names)
@click.option("--rev", "--ref", help="Read the annotation at this commit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--path", "want_path", is_flag=True, help="Print the path in the repository (with --type/--description: "
              "one line each, in the order path, type, description).")
@click.option("--type", "want_type", is_flag=True, help="Print the type.")
@click.option("--description", "want_description", is_flag=True, help="Print the description.")
def describe(repo, name, rev, as_json, want_path, want_type, want_description):
    """Print the annotation of NAME[@VERSION|#STAGE] at that version's commit."""
    from .. import api
    from .render import echo_json

    annotation = api.describe(repo, name, rev=rev)
    if annotation is None:
        from ..names import did_you_mean
        from ..tags import parse_shortcut

        shortcut = parse_shortcut(name)
        close = api.close_artifacts(repo, shortcut.name) if shortcut else []  # describe refused a name that is none
        raise api.RegistryError(f"No annotation found for '{name}'" + did_you_mean(close))
    data = annotation.to_dict(only_set=True, in_repository=True)  # the path as check-ref --path prints it
    fields = [f for f, wanted in (("path", want_path), ("type", want_type), ("description", want_description))
              if wanted]
    if len(fields) == 1:
        value = data.get(fields[0])
        if value is not None:
            echo(printable(value, multiline=fields[0] == "description"))
    elif fields:  # one line each, an empty one for a field with no value: line N is always field N
        for field in fields:
            echo(printable(data.get(field) or ""))
    elif as_json:
        echo_json(data)
    else:
        import yaml

        echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True), nl=False)


@click.command()
@opens_repo(reads=True)
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (GTO's shape).")
@click.option("--plain", is_flag=True, help="Print a plain table.")
@click.option("--name", "f_name", is_flag=True, help="Print artifact names only.")
@click.option("--version", "f_version", is_flag=True, help="Print versions only.")
@click.option("--stage", "f_stage", is_flag=True, help="Print stages only.")
@click.option("--ref", "f_ref", is_flag=True, help="Print refs (tags) only.")
@click.option("--ro", "--registered-only", "registered_only", is_flag=True, help="Registered versions only.")
@click.option("-d", "--deprecated", is_flag=True, help="Include deprecated artifacts.")
@click.option("--av", "--assignments-per-version", type=int, help="Stage assignments to keep per version (-1: "
              "all; default: the policy's show.av, else -1).")
@click.option("--vs", "--versions-per-stage", type=int, help="Versions to show per stage (-1: all; default: the "
              "policy's show.vs, else 1).")
@click.option("--sort", type=GtoChoice(["timestamp", "semver"]), help="Which version wins a stage: the newest "
              "assignment, or the greatest version (default: the policy's show.sort, else timestamp).")
@click.option("--type", "type_", help="Only artifacts of this type.")
@click.option("--label", "labels", multiple=True, help="Only artifacts with this label (repeatable).")
def show(repo, name, as_json, plain, f_name, f_version, f_stage, f_ref, registered_only, deprecated, av, vs, sort,
         type_, labels):
    """Show the registry, or the versions of NAME (also NAME@latest, NAME@vX.Y.Z, NAME#stage)."""
    from .. import api
    from ..api import RegistryError
    from .render import echo_json, echo_lines, short, table

    fmt = format_flag({"json": as_json, "plain": plain, "name": f_name, "version": f_version, "stage": f_stage,
                        "ref": f_ref})
    options = {"deprecated": deprecated, "registered_only": registered_only, "vs": vs, "av": av, "sort": sort}
    if name is None:
        view = api.show_registry(repo, type=type_, label=tuple(labels), cached=True, **options)
        if fmt in ("version", "stage", "ref", "name") and not view.artifacts:
            return  # GTO: a field of no row prints nothing, whether or not the field applies
        if fmt in ("version", "stage", "ref"):
            raise RegistryError(f"Cannot apply --{fmt} to the registry table: it needs a NAME (show NAME --{fmt})")
        if fmt == "json":
            echo_json(view.to_gto())
            return
        if fmt == "name":  # the table's name column
            echo_lines(a.name if a.registered else f"*{a.name}" for a in sorted(view.artifacts, key=lambda a: a.name))
            return
        if not view.artifacts:
            echo(NOTHING)
            return
        rows, marks = [], 0
        for a in sorted(view.artifacts, key=lambda a: a.name):
            row = [a.name if a.registered else f"*{a.name}", short(a.latest)]
            for s in view.stages:
                cell = ", ".join(short(v) or "" for v in a.stages.get(s, [])) or None
                if view.marked(a.name, s):
                    cell, marks = f"{cell or '-'} {MARK}", marks + 1
                row.append(cell)
            rows.append(row)
        headers = ["name", "latest", *(f"#{s}" for s in view.stages)]
        echo(table(rows, headers, plain=plain), raw=True)  # table() escapes every cell
        _legend(marks)
        return
    versions = api.show(repo, name, **options)
    if fmt == "name":
        if not versions:  # GTO: a field of no row prints nothing, whether or not the field applies
            return
        raise RegistryError("Cannot apply --name to the versions of one artifact: it lists the registry's names "
                            "(show --name)")
    if fmt == "json":
        echo_json([v.to_gto() for v in versions])
        return
    if fmt in ("version", "stage", "ref"):
        echo_lines({"version": lambda v: short(v.version), "stage": lambda v: ", ".join(v.in_stages),
                    "ref": lambda v: short(v.ref)}[fmt](v) for v in versions)
        return
    if not versions:
        echo(NOTHING)
        return
    rows = [[v.artifact if v.artifact_registered else f"*{v.artifact}",
             short(v.version), " ".join([", ".join(v.in_stages)] + ([MARK] if v.not_in_effect else [])).strip(),
             str(v.created_at) if v.created_at else None, short(v.ref)]
            for v in versions]
    headers = ["artifact", "version", "stage", "created_at", "ref"]
    echo(table(rows, headers, plain=plain), raw=True)  # table() escapes every cell
    _legend(sum(1 for v in versions if v.not_in_effect))


MARK = "(!)"  # a table's cell that an event left out by the policy would change


def _legend(marks: int) -> None:
    """Say what the table's marks mean (each left-out event has its own line, with the reason)."""
    if marks:
        echo(f"{MARK}: an event the policy does not allow would change this; it is not in effect (see below)",
             err=True)


@click.command()
@opens_repo(reads=True)
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (GTO's shape).")
@click.option("--plain", is_flag=True, help="Print a plain table.")
@click.option("--asc", "--ascending", "ascending", is_flag=True, help="Oldest first.")
def history(repo, name, as_json, plain, ascending):
    """Show every registry event (of NAME), newest first."""
    from .. import api
    from ..gto_json import history_row
    from .render import echo_json, short, table

    format_flag({"json": as_json, "plain": plain})
    entries = api.history(repo, name, ascending=ascending)
    if name is not None and not entries:  # GTO's empty answer, and what the name may have meant
        from ..names import did_you_mean
        from .render import warn

        close = api.close_artifacts(repo, name)
        if close:
            warn(f"no artifact '{name}'" + did_you_mean(close))
    if as_json:
        echo_json([history_row(e) for e in entries])
        return
    if not entries:
        echo(NOTHING)
        return
    rows = [[str(e.created_at), e.artifact, e.event, short(e.version), e.stage, e.commit[:7], e.ref] for e in entries]
    headers = ["timestamp", "artifact", "event", "version", "stage", "commit", "ref"]
    echo(table(rows, headers, plain=plain), raw=True)  # table() escapes every cell


@click.command()
@opens_repo(reads=True)
@click.argument("name", shell_complete=complete_names)
@click.option("--ref", "as_ref", is_flag=True, help="Print the tag instead of the version.")
def latest(repo, name, as_ref):
    """Print the greatest registered version of NAME."""
    from .. import api

    found = api.latest(repo, name)
    if found is not None:
        echo(found.ref if as_ref else found.version)


@click.command()
@opens_repo(reads=True)
@click.argument("name", shell_complete=complete_names)
@click.argument("stage", shell_complete=complete_stages)
@click.option("--ref", "as_ref", is_flag=True, help="Print the assignment tag instead of the version.")
def which(repo, name, stage, as_ref):
    """Print the version of NAME that is in STAGE (nothing if it is empty; exit 1 if no .gto allows it and no
    artifact ever had it)."""
    from .. import api

    found = api.which(repo, name, stage)
    if found is not None:
        echo(api.assignment_ref(found, stage) if as_ref else found.version)
    elif sys.stderr is not None and sys.stderr.isatty():  # a person reads it; a script gets GTO's empty answer
        echo(f"No version of '{name}' is in stage '{stage}'", err=True)


@click.command()
@opens_repo(reads=True)
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


@click.command()
@opens_repo(reads=True)
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (GTO's shape).")
@click.option("--name", "f_name", is_flag=True, help="Print the artifact name.")
@click.option("--version", "f_version", is_flag=True, help="Print the version.")
@click.option("--event", "f_event", is_flag=True, help="Print the event.")
@click.option("--stage", "f_stage", is_flag=True, help="Print the stage.")
@click.option("--path", "f_path", is_flag=True, help="Print the annotated path, in the repository.")
@click.option("--type", "f_type", is_flag=True, help="Print the annotated type.")
@click.option("--description", "f_description", is_flag=True, help="Print the annotated description.")
@click.option("--format", "fmt", type=click.Choice(["github", "dotenv", "json", "shell"]), help="CI outputs: github "
              "appends to $GITHUB_OUTPUT; dotenv for GitLab; json; shell (eval-safe).")
@click.option("--strict", is_flag=True, help="Exit 1 if REF is not a registry event (also if the policy refuses it).")
@click.option("--policy", "check_policy", is_flag=True, help="Exit 1 if the policy (at the protected ref) does not "
              "allow REF (after writing --format's outputs): a deploy job refuses it.")
def check_ref(repo, ref, as_json, f_name, f_version, f_event, f_stage, f_path, f_type, f_description, fmt, strict,
              check_policy):
    """Say what a pushed tag means (nothing for tags that are not registry events)."""
    from .. import api
    from .render import CHECKED, echo_json, echo_lines, emoji

    flag = format_flag({"json": as_json, "name": f_name, "version": f_version, "event": f_event,
                         "stage": f_stage, "path": f_path, "type": f_type, "description": f_description,
                         "format": bool(fmt)})
    found = api.check_ref(repo, ref)
    # CI would act on a registry that misses the event: tagreg's own forms refuse (GTO's print nothing)
    if not found and (fmt or strict or check_policy or flag in ("path", "type", "description")):
        from ..events import ci

        stale = ci.lightweight_event_tag(repo, ref)
        if stale is not None:
            raise api.RegistryError(ci.lightweight_message(stale, repo))
    verdict = api.tag_verdict(repo, ref, required=check_policy) if fmt or strict or check_policy else None
    refusal = verdict.reason if verdict is not None and verdict.refused and (check_policy or strict) else None
    if strict and not found and refusal is None:
        raise api.RegistryError(f"'{ref}' is not a registry event")
    if refusal is not None:  # the error says it: not also the notice that the tag is not in effect
        _unsay_withheld(repo, ref.removeprefix("refs/tags/"))
    if refusal is not None and not fmt:
        raise api.RegistryError(refusal)
    if fmt:
        from ..events import ci
        from .render import warn

        text, warnings = ci.report(fmt, found[0] if found else None, verdict)
        for warning in warnings:
            warn(warning)
        if fmt != "github" or not ci.write_github(text, os.environ.get("GITHUB_OUTPUT")):
            # Exact values for a file or `eval` (each format delimits or quotes them); on a terminal a
            # person reads them, and a repository's escape sequences would act on it.
            echo(text, nl=False, raw=not sys.stdout.isatty())
        if refusal is not None:  # after the outputs, so a workflow that continues on error reads the verdict
            raise api.RegistryError(refusal)
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
                           "path": f.path, "type": note.type if note else None,
                           "description": note.description if note else None}[flag])
        echo_lines((v for v in values if v is not None), multiline=flag == "description")
        return
    for f in found:
        echo(emoji("✅") + " " + CHECKED[f.event].format(name=f.name, version=f.version, stage=f.stage))


def _unsay_withheld(repo, tag: str) -> None:
    """Drop the pending notice that tag is not in effect (an error is about to say why)."""
    from .. import api

    if isinstance(repo, api.Repository):
        said = {w.notice for w in repo.withheld if w.tag == tag}
        repo.warnings = [w for w in repo.warnings if w not in said]


@click.command()
@repo_option
@click.option("--offline", "no_network", is_flag=True, help="Use the cached copy of a remote --repo as it is; do "
              "not compare the tags with the push remote's.")
@click.option("--remote", default="origin", show_default=True, help="The push remote whose tags are compared with "
              "the repository's (tags it lacks are listed).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 if any problem is found.")
def doctor(repo, no_network, remote, as_json, strict):
    """Check the repository, config, tags and annotations."""
    from .. import api
    from .. import config as C
    from ..errors import UserError
    from .render import emoji

    r: api.Repository | None = None
    try:
        opened = repo if isinstance(repo, api.Repository) else api.Repository(
            repo, offline=no_network, progress=False if as_json else None)
    except UserError as exc:
        checks, pushed = [api.Check("error", str(exc))], None
    else:
        r = opened
        checks = api.doctor(opened)
        pushed = api.remote_tags(opened, remote=remote, offline=no_network)
    found = [c for c in checks if c.level != "ok"]
    unpushed = [] if pushed is None else (
        [api.Check("warning", f"tag '{t}' is not on remote '{remote}' (push it: git push {remote} {t})")
         for t in pushed.missing]
        + [api.Check("warning", f"tag '{t}' on remote '{remote}' is another tag object than here")
           for t in pushed.different])
    problems = found + unpushed
    failed = any(c.level == "error" for c in problems) or (strict and bool(problems))
    if as_json:
        import json
        from dataclasses import asdict

        echo(json.dumps({"checks": [asdict(c) for c in checks + unpushed],
                         "remote": asdict(pushed) if pushed is not None else None}, indent=2))
        if failed:
            sys.exit(1)
        return
    echo(f"{emoji('🪴')} tagreg {__version__}")
    echo("---------------------------------")
    if r is not None:
        cfg = r.config
        echo(f"repository={r.git.path.resolve()}")
        echo(f"config_file={cfg.source or '(none)'}")
        echo(f"index={cfg.index}")
        echo(f"stages={cfg.stages}")
        echo(f"types={cfg.types}")
        echo(f"emojis={C.emojis_enabled()}")
    echo("---------------------------------")
    for check in found:
        echo(f"{emoji('❌' if check.level == 'error' else '⚠️')}{printable(check.message)}")
    if pushed is not None:
        where = f"remote '{remote}'" + (f" ({pushed.url})" if pushed.url else "")
        if not pushed.checked:
            echo(f"{where}: tags not compared: {pushed.note}")
        elif unpushed:
            echo(f"{where} lacks {len(unpushed)} registry tag(s) of this repository (a push interrupted or "
                 "never made: `which` and `show` here count them, the remote's CI never saw them):")
        else:
            echo(f"{where} has every registry tag of this repository")
        for check in unpushed:
            echo(f"{emoji('⚠️')}{printable(check.message)}")
    if not problems:
        echo(f"{emoji('✅')} No issues found")
    if failed:
        sys.exit(1)


@click.command()
@opens_repo()
@click.argument("name", shell_complete=complete_names)
@click.option("-o", "--out", type=click.Path(), help="Where to write (default: the artifact's file name).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--print-path", is_flag=True, help="Print the annotated path instead of fetching.")
@click.option("--print-rev", is_flag=True, help="Print the commit the files are read at instead of fetching.")
@click.option("--max-files", type=int, help="Refuse an artifact of more files than this (default: "
              "$TAGREG_MAX_FILES, else 10000).")
@click.option("--max-bytes", help="Refuse an artifact bigger than this, e.g. 500M, 20G (default: $TAGREG_MAX_BYTES, "
              "else 10G).")
def get(repo, name, out, force, print_path, print_rev, max_files, max_bytes):
    """Write the artifact NAME[@vX.Y.Z|@latest|#stage] (its annotated path) to disk."""
    from .. import api

    if print_path or print_rev:
        where = api.locate(name, repo=repo)
        if print_path:
            echo(printable(where.path))
        if print_rev:
            echo(where.commit)
        return
    if max_bytes is not None:
        max_bytes = api.parse_size(max_bytes, what="--max-bytes")
    result = api.get(name, repo=repo, out=out, force=force, max_files=max_files, max_bytes=max_bytes)
    version = f"{result.name}@{result.version}" if result.version else result.name
    if result.kind == "external":
        echo(printable(f"{version} is stored outside Git, at {result.path}; fetch it with that storage's tools."))
        return
    source = f" from {result.repo}" if result.repo else ""
    count = len(result.written)
    what = result.written[0] if count == 1 else f"{count} files into {result.target}"
    echo(printable(f"Wrote {version} ({result.kind}, commit {result.commit[:7]}{source}) to {what}"))


