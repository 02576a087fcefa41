"""Registry events as integrations see them: a stable id, GTO's event words, the annotation.

The id is derived from the tag name and the tag object's id, so it is the same in every clone,
changes if a tag is deleted and made again, and lets receivers deduplicate at-least-once deliveries.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from .. import api
from ..annotations import Annotation


def event_id(tag: str, object_id: str) -> str:
    """The stable id of the event a tag records."""
    return hashlib.sha256(f"{tag}\n{object_id}".encode()).hexdigest()[:20]


@dataclass
class RegistryEvent:
    """One registry event, with everything a webhook or a CI job needs (the documented schema)."""

    id: str
    repo: str
    tag: str
    event: str  # registration, deregistration, assignment, unassignment, deprecation
    name: str
    version: str | None
    stage: str | None
    commit: str
    author: str
    author_email: str
    created_at: str  # ISO 8601 with the tagger's offset
    message: str
    annotation: dict[str, Any] | None
    deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON payload of this event."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegistryEvent:
        """Read a payload back."""
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def _annotation_dict(note: Annotation | None) -> dict[str, Any] | None:
    """The annotation of the documented event schema: a link's repo and rev, and custom, only if set;
    `path` is the path in the repository, as `check-ref --path` prints it."""
    if note is None:
        return None
    data = note.to_dict(("type", "path", "description", "labels", *(("repo", "rev") if note.repo else ())),
                        in_repository=True)
    if note.custom is not None:
        data["custom"] = note.custom
    return data


def list_events(repo: api.Repository | str, label: str | None = None,
                with_annotations: bool = True) -> list[RegistryEvent]:
    """Every event of a registry, oldest first, with ids and annotations (one batched read)."""
    r = repo if isinstance(repo, api.Repository) else api.Repository(repo)
    entries = api.history(r, ascending=True)
    repo_label = r.location if r.mirror is not None else str(r.git.path.resolve())
    notes: dict[str, dict] = {}
    if with_annotations and entries:
        commits = list(dict.fromkeys(e.commit for e in entries))
        names = list(dict.fromkeys(e.artifact for e in entries))
        notes = r.annotations(commits, names)
    out = []
    for entry in entries:
        note = notes.get(entry.commit, {}).get(entry.artifact)
        out.append(RegistryEvent(
            id=event_id(entry.tag, entry.object_id),
            repo=label or repo_label,
            tag=entry.tag,
            event=entry.event,
            name=entry.artifact,
            version=entry.version,
            stage=entry.stage,
            commit=entry.commit,
            author=entry.author,
            author_email=entry.author_email,
            created_at=entry.created_at.isoformat(),
            message=entry.message,
            annotation=_annotation_dict(note),
        ))
    return out


def parse_since(value: str) -> tuple[str | None, datetime | None]:
    """`--since`: an event id, or a date/time (ISO 8601; naive means UTC)."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value, None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return None, when


def since(events: list[RegistryEvent], value: str | None) -> list[RegistryEvent]:
    """The events after an event id (exclusive) or after a date."""
    if not value:
        return events
    ident, when = parse_since(value)
    if when is not None:
        return [e for e in events if datetime.fromisoformat(e.created_at) > when]
    for i, event in enumerate(events):
        if event.id == ident:
            return events[i + 1:]
    raise api.RegistryError(f"No event with id '{value}' (ids come from `tagreg events`)")
