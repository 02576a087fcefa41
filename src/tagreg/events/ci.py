"""CI/CD outputs of `check-ref`: GitHub Actions, GitLab dotenv, JSON and shell.

The same keys in every format, as GTO's GitHub Action names them: event, name, version, stage,
type, path, description (plus repo and rev for links). A ref that is not a registry event gives
empty values, so a job on every tag does not fail on foreign tags.
"""

from __future__ import annotations

import json
import secrets
import shlex

KEYS = ["event", "name", "version", "stage", "type", "path", "description"]
LINK_KEYS = ["repo", "rev"]


def outputs(found) -> dict[str, str]:
    """The output values of a check-ref result (an api.RefEvent or None), all strings."""
    values = dict.fromkeys(KEYS, "")
    if found is None:
        return values
    note = found.annotation
    values.update({
        "event": found.event,
        "name": found.name,
        "version": found.version or "",
        "stage": found.stage or "",
        "type": (note.type or "") if note else "",
        "path": (note.path or "") if note else "",
        "description": (note.description or "") if note else "",
    })
    if note is not None and note.repo:  # as written, even if not a link a reader may follow
        values.update({"repo": str(note.repo), "rev": "" if note.rev is None else str(note.rev)})
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
    multi-line values, so line breaks become the two characters `\\n`)."""
    lines = []
    for key, value in values.items():
        flat = value.replace("\\", "\\\\").replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
        lines.append(f"{key}={flat}")
    return "\n".join(lines) + "\n"


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


def render(fmt: str, found) -> str:
    """The outputs of found (or of nothing) in format fmt."""
    return FORMATS[fmt](outputs(found))


def write_github(text: str, path: str | None) -> bool:
    """Append to the `$GITHUB_OUTPUT` file; False if there is none (then the caller prints)."""
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
    return True
