"""`tagreg.gto.api`: GTO's Python API on tagreg, called as scripts written for `gto.api` call it.

tests/differential/test_gto_api.py compares every answer with gto 1.10.1's own; these run
without gto, and check what such a script relies on and what the package must not pull in.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

import tagreg.gto.api as gto_api
from tagreg.gto.base import Assignment, Deregistration, Registration, Unassignment, Version, VStage
from tagreg.gto.constants import Action
from tagreg.gto.exceptions import ArtifactNotFound, GTOException, VersionRequired, WrongArgs


def test_a_script_written_for_gto_api_runs_unchanged(repo, monkeypatch):
    """What a seed-era deployment script does with gto.api, through tagreg.gto.api: each answer has
    the type, fields and subscripts GTO's has."""
    monkeypatch.chdir(repo.path)
    sha = repo.git("rev-parse", "HEAD").strip()
    registration = gto_api.register(".", "churn", "HEAD")
    assert isinstance(registration, Registration) and (registration.tag, registration.version) == ("churn@v0.0.1",
                                                                                                   "v0.0.1")
    assignment = gto_api.assign(".", "churn", "prod", "v0.0.1")  # GTO's 4th positional: the version
    assert isinstance(assignment, Assignment) and assignment.ref == "churn#prod#1"

    rev = gto_api.find_versions_in_stage(".", "churn", "prod")
    assert isinstance(rev, list) and isinstance(rev[0], VStage)
    assert (rev[0].ref, rev[0].stage, rev[0].version, rev[0].commit_hexsha) == ("churn#prod#1", "prod", "v0.0.1", sha)
    assert gto_api.find_versions_in_stage(".", "churn", "staging") is None
    (event,) = gto_api.check_ref(".", "churn#prod#1")
    assert (event.artifact, event.commit_hexsha, event.event) == ("churn", sha, "assignment")
    assert str(event) == 'Stage "prod" was assigned to version "v0.0.1" of artifact "churn"'

    rows = gto_api.history(".", artifact="churn")
    assert [(row["event"], row["ref"]) for row in rows] == [("assignment", "churn#prod#1"),
                                                            ("registration", "churn@v0.0.1")]
    assert isinstance(rows[0]["timestamp"], datetime)
    table, keys = gto_api.history(".", "churn", table=True)
    assert keys == "keys" and list(table[0]) == ["timestamp", "artifact", "event", "version", "stage", "commit", "ref"]
    assert gto_api.show(".") == {"churn": {"version": "v0.0.1", "stage": {"prod": "v0.0.1"}, "registered": True,
                                           "active": True}}
    (shown,) = gto_api.show(".", "churn", versions_per_stage=-1)
    assert shown["version"] == "v0.0.1" and [s["ref"] for s in shown["stages"]] == ["churn#prod#1"]
    latest = gto_api.find_latest_version(".", "churn")
    assert isinstance(latest, Version) and latest.version == "v0.0.1" and latest.model_dump()["commit_hexsha"] == sha
    assert gto_api.get_stages(".") == ["prod"]
    assert gto_api.parse_tag("churn#prod#1") == {"name": "churn", "stage": "prod", "action": Action.ASSIGN,
                                                 "counter": 1}

    unassignment = gto_api.unassign(".", "churn", version="v0.0.1", stage="prod")
    assert isinstance(unassignment, Unassignment) and unassignment.tag == "churn#prod!#2"
    deregistration = gto_api.deregister(".", "churn", ref="HEAD")
    assert isinstance(deregistration, Deregistration) and deregistration.tag == "churn@v0.0.1!"
    assert sorted(repo.tags()) == ["churn#prod!#2", "churn#prod#1", "churn@v0.0.1", "churn@v0.0.1!"]


def test_mistakes_raise_gtos_exceptions(repo, monkeypatch):
    monkeypatch.chdir(repo.path)
    gto_api.register(".", "churn", "HEAD")
    with pytest.raises(ArtifactNotFound, match=r"^Cannot find artifact 'chrun'$") as raised:
        gto_api.show(".", "chrun")
    assert isinstance(raised.value, GTOException) and raised.value.message == "Cannot find artifact 'chrun'"
    with pytest.raises(VersionRequired, match=r"^No versions found for 'churn'$"):
        gto_api.deregister(".", "churn", version="v9.9.9")
    with pytest.raises(WrongArgs, match=r"^One and only one of \(version, rev\) must be specified\.$"):
        gto_api.assign(".", "churn", "prod")
    assert repo.tags() == ["churn@v0.0.1"]


def test_it_needs_neither_gto_nor_pydantic():
    code = ("import sys, tagreg.gto.api, tagreg.gto.exceptions\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gto', 'pydantic', 'scmrepo')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_cli_does_not_import_it(repo):
    """tagreg.gto sits beside tagreg.api, for scripts: no command of the CLI loads it."""
    repo.tag("churn@v0.0.1", "HEAD", "Registering artifact churn version v0.0.1")
    code = ("import sys\nfrom tagreg.cli import main\n"
            "for args in (['show'], ['show', 'churn', '--json'], ['history'], ['check-ref', 'churn@v0.0.1']):\n"
            "    try:\n        main(args, prog_name='tagreg')\n    except SystemExit:\n        pass\n"
            "print([m for m in sys.modules if m == 'tagreg.gto' or m.startswith('tagreg.gto.')])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"
