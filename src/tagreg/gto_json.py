"""Registry objects as the JSON GTO 1.10.1 prints, key for key, so scripts written for GTO keep working.

Pure functions from `state` objects (plus commit information and annotations gathered by the
API) to plain dicts and lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import tags as T
from .annotations import Annotation
from .state import CommitInfo, Event, Stage, Version, iso, newest, to_datetime


def event_base(event: Event) -> dict[str, Any]:
    """The fields every tag event has, in GTO's order."""
    return {
        "artifact": event.artifact,
        "created_at": iso(event.created_at),
        "author": event.author,
        "author_email": event.author_email,
        "message": event.message,
        "commit_hexsha": event.commit,
        "tag": event.tag,
    }


def version_event(event: Event) -> dict[str, Any]:
    """A registration or deregistration inside a version object."""
    out: dict[str, Any] = {"priority": event.priority, "addition": event.event == T.REGISTRATION}
    out.update(event_base(event))
    out["version"] = event.version
    return out


def stage_event(event: Event) -> dict[str, Any]:
    """An assignment or unassignment inside a stage object."""
    out: dict[str, Any] = {"priority": event.priority, "addition": event.event == T.ASSIGNMENT}
    out.update(event_base(event))
    out.update({"version": event.version, "stage": event.stage, "event": event.event})
    return out


def check_ref_event(event: Event) -> dict[str, Any]:
    """`check-ref --json`: the event without priority and addition."""
    out = event_base(event)
    if event.event in (T.REGISTRATION, T.DEREGISTRATION):
        out["version"] = event.version
    elif event.event in (T.ASSIGNMENT, T.UNASSIGNMENT):
        out.update({"version": event.version, "stage": event.stage})
    out["event"] = event.event
    return out


def history_event(event: Event) -> dict[str, Any]:
    """One row of `history --json`."""
    return {
        "timestamp": iso(event.created_at),
        "artifact": event.artifact,
        "event": event.event,
        "priority": event.priority,
        "version": event.version,
        "stage": event.stage,
        "commit": event.commit,
        "author": event.author,
        "author_email": event.author_email,
        "message": event.message,
        "ref": event.tag,
    }


def _commit_event(version: Version, info: CommitInfo, annotation: Annotation | None) -> dict[str, Any]:
    enrichments = []
    if annotation is not None:
        enrichments.append({"source": "gto" if annotation.source.endswith("artifacts.yaml") else "dvc",
                            "artifact": annotation.gto_dict()})
    return {
        "priority": 0,
        "addition": True,
        "artifact": version.artifact,
        "created_at": iso(to_datetime(info.timestamp, info.tz)),
        "author": info.author,
        "author_email": info.author_email,
        "message": info.message,
        "commit_hexsha": version.commit,
        "version": version.version,
        "enrichments": enrichments,
        "committer": info.committer,
        "committer_email": info.committer_email,
    }


def stage_object(stage: Stage) -> dict[str, Any]:
    """A stage of a version ('vstage')."""
    source = stage.source
    activated = stage.activated_at or source
    return {
        "artifact": stage.artifact,
        "commit_hexsha": stage.commit,
        "version": stage.version,
        "stage": stage.stage,
        "assignments": [stage_event(e) for e in stage.assignments],
        "unassignments": [stage_event(e) for e in stage.unassignments],
        "is_active": stage.is_active,
        "activated_at": iso(activated.created_at),
        "created_at": iso(source.created_at),
        "author": source.author,
        "author_email": source.author_email,
        "message": source.message,
        "ref": source.tag,
    }


def version_object(
    version: Version, stages: list[Stage], annotation: Annotation | None
) -> dict[str, Any]:
    """A version as `show NAME --json` prints it; stages are those the version is shown in."""
    info = version.commit_info
    commit_events = [_commit_event(version, info, annotation)] if info is not None else []
    source = version.source
    newest_registration = newest(version.registrations)
    activated: datetime | None
    if newest_registration is not None:
        activated = newest_registration.created_at
    elif info is not None:
        activated = to_datetime(info.timestamp, info.tz)
    else:
        activated = source.created_at if source else None
    if source is not None:
        created, author, email, message, ref = (
            source.created_at, source.author, source.author_email, source.message, source.tag)
    elif info is not None:
        created = to_datetime(info.timestamp, info.tz)
        author, email, message, ref = info.author, info.author_email, info.message, version.commit
    else:
        created, author, email, message, ref = None, None, None, None, version.commit
    return {
        "artifact": version.artifact,
        "commit_hexsha": version.commit,
        "version": version.version,
        "enrichments": commit_events,
        "registrations": [version_event(e) for e in version.registrations],
        "deregistrations": [version_event(e) for e in version.deregistrations],
        "stages": [stage_object(s) for s in stages],
        "is_active": version.is_active,
        "activated_at": iso(activated),
        "created_at": iso(created),
        "author": author,
        "author_email": email,
        "message": message,
        "ref": ref,
        "discovered": version.discovered,
    }
