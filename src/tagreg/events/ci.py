"""CI/CD outputs of `check-ref`: GitHub Actions, GitLab dotenv, JSON and shell.

The same keys in every format. The first seven are GTO's GitHub Action's (gto-action v2), with its
values: event, name, version, stage (only for an assignment: empty for an unassignment, so that a
ported `if: stage == 'prod'` does not fire on one), type, path, description. `path` is the path in
the repository (`api.RefEvent.path`: a folder's dvc.yaml names paths relative to it, and gto-action
gives them as written, which TAGREG_GTO_EXACT=1 keeps). What tagreg knows
more has names of its own: event_stage (the stage an assignment or unassignment names), repo
and rev for links, and the policy's verdict: policy (allowed, refused, or none when no policy
governs), policy_reason (a refusal's one line), signature and signed_by (the tag's signature,
checked against the policy's keys). A ref that is not a registry event gives empty values (and
policy none), so a job on every tag does not fail on foreign tags; nor does a tag the policy
refuses give its event's values: it is not in effect, as for every reader.
"""

from __future__ import annotations

import json
import secrets
import shlex

KEYS = ["event", "name", "version", "stage", "type", "path", "description", "event_stage"]
LINK_KEYS = ["repo", "rev"]
POLICY_KEYS = ["policy", "policy_reason", "signature", "signed_by"]

# GitLab refuses a dotenv report of 5 KiB or more (Ci::ParseDotenvArtifactService: the file must be
# smaller than 5.kilobytes), and then the jobs that need it see no variables at all.
DOTENV_MOST = 5 * 1024 - 1
TRUNCATED = " [truncated]"


def outputs(found, verdict=None) -> dict[str, str]:
    """The output values of a check-ref result (an api.RefEvent or None) and the policy's verdict on
    the ref (an api.TagVerdict; None: no policy consulted), all strings."""
    values = dict.fromkeys(KEYS, "")
    if found is not None:
        note = found.annotation
        values.update({
            "event": found.event,
            "name": found.name,
            "version": found.version or "",
            "stage": (found.stage or "") if found.event == "assignment" else "",
            "type": (note.type or "") if note else "",
            "path": found.path or "",
            "description": (note.description or "") if note else "",
            "event_stage": found.stage or "",
        })
        if note is not None and note.repo:  # as written, even if not a link a reader may follow
            values.update({"repo": str(note.repo), "rev": "" if note.rev is None else str(note.rev)})
    if verdict is None:
        values.update(dict.fromkeys(POLICY_KEYS, ""), policy="none")
    else:
        values.update(zip(POLICY_KEYS, (verdict.policy, verdict.reason, verdict.signature, verdict.signed_by)))
    return values


def github(values: dict[str, str]) -> str:
    """`$GITHUB_OUTPUT` lines, multi-line safe: `key<<DELIMITER`, value, `DELIMITER`."""
    lines = []
    for key, value in values.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            while delimiter in value:  # practically never; but a value must not end the block early
                delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            lines += [f"{key}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def dotenv(values: dict[str, str]) -> str:
    """GitLab's `artifacts:reports:dotenv`: KEY=VALUE, one line each (GitLab reads no quotes and no
    multi-line values, so line breaks become the two characters `\\n`); see `dotenv_report`."""
    return dotenv_report(values)[0]


def dotenv_report(values: dict[str, str]) -> tuple[str, list[str]]:
    """The dotenv text, kept under GitLab's size limit by cutting the description (marked
    `[truncated]`), and what was cut, as warnings."""
    flat = {key: "".join(_escaped(value)) for key, value in values.items()}
    text = _dotenv_text(flat)
    warnings = []
    over = len(text.encode()) - DOTENV_MOST
    description = values.get("description", "")
    if over > 0 and description:
        pieces = _escaped(description)
        budget = len(flat["description"].encode()) - over - len(TRUNCATED)
        kept = 0
        for piece in pieces:
            budget -= len(piece.encode())
            if budget < 0:
                break
            kept += 1
        flat["description"] = "".join(pieces[:kept]) + TRUNCATED
        text = _dotenv_text(flat)
        warnings.append(f"the description is cut to its first {kept} of {len(pieces)} characters in the dotenv "
                        "report: GitLab refuses a report of 5 KiB or more")
    if len(text.encode()) > DOTENV_MOST:
        warnings.append(f"the dotenv report is {len(text.encode())} bytes: GitLab refuses a report of 5 KiB or more")
    return text, warnings


def _escaped(value: str) -> list[str]:
    """value as dotenv writes it, one piece per character: `\\` as `\\\\`, a line break as `\\n`."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return ["\\\\" if c == "\\" else "\\n" if c == "\n" else c for c in value]


def _dotenv_text(flat: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in flat.items())


def shell_name(key: str) -> str:
    """The shell variable of an output key: `TAGREG_EVENT`, … (a bare `path` would clobber zsh's PATH)."""
    return f"TAGREG_{key.upper()}"


def shell(values: dict[str, str]) -> str:
    """`TAGREG_KEY='VALUE'` lines, quoted so that `eval "$(tagreg check-ref … --format shell)"` is safe."""
    return "".join(f"{shell_name(key)}={shlex.quote(value)}\n" for key, value in values.items())


def as_json(values: dict[str, str]) -> str:
    """The outputs as one JSON object."""
    return json.dumps(values, indent=4) + "\n"


FORMATS = {"github": github, "dotenv": dotenv, "shell": shell, "json": as_json}


def render(fmt: str, found, verdict=None) -> str:
    """The outputs of found (or of nothing) and of the policy's verdict in format fmt."""
    return FORMATS[fmt](outputs(found, verdict))


def report(fmt: str, found, verdict=None) -> tuple[str, list[str]]:
    """`render`, and warnings about what had to change for the format's reader (a description cut
    to fit GitLab's dotenv limit)."""
    if fmt == "dotenv":
        return dotenv_report(outputs(found, verdict))
    return render(fmt, found, verdict), []


def lightweight_event_tag(repo, ref: str) -> str | None:
    """The tag ref names, if it is a lightweight tag with a registry event's name in repo (an
    api.Repository or a path): not an event, though most likely a pushed one. actions/checkout
    replaces the annotated tag a workflow runs for with a lightweight tag at its commit
    (actions/checkout#290, #882), so that the registry read from that clone misses its event."""
    from .. import tags as T
    from ..api import Repository

    tag = ref.removeprefix("refs/tags/")
    parsed = T.parse_tag(tag)
    if parsed is None:
        return None
    r = repo if isinstance(repo, Repository) else Repository(repo)
    return tag if any(t.tag == tag and not t.annotated for t in r.tags(parsed.name)) else None


def lightweight_message(tag: str, repo=None) -> str:
    """Why check-ref will not answer for a lightweight `tag` (`lightweight_event_tag`), and the fix."""
    mirror = getattr(repo, "mirror", None)
    if mirror is not None:  # the remote itself has it lightweight: no fetch mends that
        return f"'{tag}' is a lightweight tag in {mirror.display}, and a registry event is an annotated tag"
    return (f"'{tag}' is a lightweight tag here, and a registry event is an annotated tag (actions/checkout "
            "replaces the pushed tag with a lightweight one): fetch the tags with `git fetch --force --tags "
            "origin` first")


def write_github(text: str, path: str | None) -> bool:
    """Append to the `$GITHUB_OUTPUT` file; False if there is none (then the caller prints)."""
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
    return True
