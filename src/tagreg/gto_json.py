"""Registry objects as the JSON GTO 1.10.1 prints, key for key, so scripts written for GTO keep working.

The one way each `state` object becomes GTO's JSON: `event` (check-ref), `history_row` (history),
`version` (show NAME); plain dicts and lists, used by the CLI's `--json`, the server and `.to_gto()`.
"""

from __future__ import annotations

from typing import Any

from . import tags as T
from .annotations import Annotation
from .state import CommitInfo, Event, Stage, Version, to_datetime

# The annotation inside a version's `enrichments`, as GTO prints it.
ENRICHMENT_KEYS = ("type", "path", "virtual", "labels", "description", "custom")


def _event_base(event: Event) -> dict[str, Any]:
    """The fields every tag event has, in GTO's order."""
    return {
        "artifact": event.artifact,
        "created_at": event.created_at.isoformat(),
        "author": event.author,
        "author_email": event.author_email,
        "message": event.message,
        "commit_hexsha": event.commit,
        "tag": event.tag,
    }


def event(event: Event) -> dict[str, Any]:
    """An event as GTO's `check-ref --json` prints it."""
    out = _event_base(event)
    if event.event in (T.REGISTRATION, T.DEREGISTRATION):
        out["version"] = event.version
    elif event.event in (T.ASSIGNMENT, T.UNASSIGNMENT):
        out.update({"version": event.version, "stage": event.stage})
    out["event"] = event.event
    return out


def history_row(event: Event) -> dict[str, Any]:
    """An event as one row of GTO's `history --json`."""
    return {
        "timestamp": event.created_at.isoformat(),
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


def _version_event(event: Event) -> dict[str, Any]:
    """A registration or deregistration inside a version object."""
    out: dict[str, Any] = {"priority": event.priority, "addition": event.event == T.REGISTRATION}
    out.update(_event_base(event))
    out["version"] = event.version
    return out


def _stage_event(event: Event) -> dict[str, Any]:
    """An assignment or unassignment inside a stage object."""
    out: dict[str, Any] = {"priority": event.priority, "addition": event.event == T.ASSIGNMENT}
    out.update(_event_base(event))
    out.update({"version": event.version, "stage": event.stage, "event": event.event})
    return out


def _commit_event(version: Version, info: CommitInfo, annotation: Annotation | None) -> dict[str, Any]:
    enrichments = []
    if annotation is not None:
        enrichments.append({"source": "gto" if annotation.source.endswith("artifacts.yaml") else "dvc",
                            "artifact": annotation.to_dict(ENRICHMENT_KEYS)})
    return {
        "priority": 0,
        "addition": True,
        "artifact": version.artifact,
        "created_at": to_datetime(info.timestamp, info.tz).isoformat(),
        "author": info.author,
        "author_email": info.author_email,
        "message": info.message,
        "commit_hexsha": version.commit,
        "version": version.version,
        "enrichments": enrichments,
        "committer": info.committer,
        "committer_email": info.committer_email,
    }


def stage(stage: Stage) -> dict[str, Any]:
    """A stage of a version (GTO's 'vstage')."""
    source = stage.source
    activated = stage.activated_at or source
    return {
        "artifact": stage.artifact,
        "commit_hexsha": stage.commit,
        "version": stage.version,
        "stage": stage.stage,
        "assignments": [_stage_event(e) for e in stage.assignments],
        "unassignments": [_stage_event(e) for e in stage.unassignments],
        "is_active": stage.is_active,
        "activated_at": activated.created_at.isoformat(),
        "created_at": source.created_at.isoformat(),
        "author": source.author,
        "author_email": source.author_email,
        "message": source.message,
        "ref": source.tag,
    }


def version(version: Version, stages: list[Stage], annotation: Annotation | None) -> dict[str, Any]:
    """A version as `show NAME --json` prints it: stages are those it is shown in, annotation the
    one at its commit (GTO's enrichment, with its `commit_info`)."""
    info = version.commit_info
    activated, created = version.activated_at, version.created_at
    return {
        "artifact": version.artifact,
        "commit_hexsha": version.commit,
        "version": version.version,
        "enrichments": [_commit_event(version, info, annotation)] if info is not None else [],
        "registrations": [_version_event(e) for e in version.registrations],
        "deregistrations": [_version_event(e) for e in version.deregistrations],
        "stages": [stage(s) for s in stages],
        "is_active": version.is_active,
        "activated_at": activated.isoformat() if activated else None,
        "created_at": created.isoformat() if created else None,
        "author": version.author,
        "author_email": version.author_email,
        "message": version.message,
        "ref": version.ref,
        "discovered": version.discovered,
    }
