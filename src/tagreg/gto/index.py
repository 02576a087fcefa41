"""The annotation objects of GTO 1.10.1's `gto.index`: what `describe` returns, and what a version's
commit event carries in its `enrichments`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import Model


@dataclass(kw_only=True)
class Artifact(Model):
    """An artifact's annotation (an entry of `artifacts.yaml`)."""

    type: str | None = None
    path: str | None = None
    virtual: bool = True
    labels: list[str] = field(default_factory=list)
    description: str = ""
    custom: Any = None


@dataclass(kw_only=True)
class GTOInfo(Model):
    """An annotation found at a version's commit, as one of its commit event's `enrichments`."""

    source: str = "gto"
    artifact: Artifact

    def get_object(self) -> Artifact:
        """The annotation."""
        return self.artifact

    def get_dict(self) -> dict[str, Any]:
        """The annotation as a dict."""
        return self.artifact.model_dump()

    def get_human_readable(self) -> str:
        """The annotation as JSON."""
        return self.artifact.model_dump_json()

    def get_path(self) -> str | None:
        """The annotation's path."""
        return self.artifact.path
