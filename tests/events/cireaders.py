"""How CI systems read what `check-ref` writes: GitHub's `$GITHUB_OUTPUT` file and GitLab's dotenv
report, parsed the way the GitHub runner and GitLab parse them (not the way tagreg writes them)."""

from __future__ import annotations

import re


class OutputFileError(ValueError):
    """The GitHub runner would reject the file (the step fails)."""


def parse_github_output(text: str) -> dict[str, str]:
    """The GitHub runner's reading of a `$GITHUB_OUTPUT` file (actions/runner FileCommandManager):
    `NAME=VALUE` lines, or `NAME<<DELIMITER`, value lines, a line equal to DELIMITER; blank lines
    between entries are skipped; a later key overrides an earlier one."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line
    lines = [line.removesuffix("\r") for line in lines]
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line == "":
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            key, value = line.split("=", 1)
            if not key:
                raise OutputFileError(f"invalid format: {line!r}")
            out[key] = value
        elif heredoc >= 0 and (equals < 0 or heredoc < equals):
            key, delimiter = line.split("<<", 1)
            if not key or not delimiter:
                raise OutputFileError(f"invalid format: {line!r}")
            value_lines = []
            while True:
                if i >= len(lines):
                    raise OutputFileError(f"matching delimiter not found: {delimiter!r}")
                current = lines[i]
                i += 1
                if current == delimiter:
                    break
                value_lines.append(current)
            out[key] = "\n".join(value_lines)
        else:
            raise OutputFileError(f"invalid format: {line!r}")
    return out


_DOTENV_LINE = re.compile(r"^(.*?)=(.*)$")
_DOTENV_KEY = re.compile(r"^[a-zA-Z0-9_]+$")


DOTENV_SIZE_LIMIT = 5 * 1024  # bytes: a report must be smaller (GitLab's default `dotenv_size` limit)
DOTENV_VARIABLES_LIMIT = 20  # variables (GitLab's default `dotenv_variables` limit)


def parse_gitlab_dotenv(text: str) -> dict[str, str]:
    """GitLab's reading of an `artifacts:reports:dotenv` file (Ci::ParseDotenvArtifactService):
    smaller than 5 KiB, one `KEY=VALUE` per line, both sides stripped, no unquoting, no escapes, no
    multi-line values, at most 20 variables; any line without `=` (a blank line too), a bad key, or a
    file over a limit fails the job's report."""
    if len(text.encode()) >= DOTENV_SIZE_LIMIT:
        raise ValueError(f"Dotenv Artifact Too Big. Maximum Allowable Size: {DOTENV_SIZE_LIMIT}")
    out: dict[str, str] = {}
    for line in text.splitlines():
        found = _DOTENV_LINE.match(line)
        if found is None:
            raise ValueError(f"invalid dotenv line: {line!r}")
        key, value = found.group(1).strip(), found.group(2).strip()
        if not _DOTENV_KEY.match(key):
            raise ValueError(f"invalid dotenv key: {key!r}")
        out[key] = value
    if len(out) > DOTENV_VARIABLES_LIMIT:
        raise ValueError(f"Dotenv files cannot have more than {DOTENV_VARIABLES_LIMIT} variables")
    return out


def unescape_dotenv(value: str) -> str:
    """The value before tagreg's documented escaping (`\\n` for a line break, `\\\\` for `\\`)."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)
