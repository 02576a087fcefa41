"""Differential tests: tagreg against GTO 1.10.1 on the same repositories.

gto comes from $TAGREG_GTO_BIN, or from a venv this suite creates once under
~/.cache/tagreg-tests/gto-1.10.1. Without network the suite is skipped, unless
TAGREG_REQUIRE_GTO=1 (CI), in which case it fails.

Read-only commands run batched in one process per tool (gto's start-up costs ~0.7 s);
TAGREG_DIFF_SUBPROCESS=1 runs every command as its own process instead (slow; to check the
batching changes nothing). TAGREG_DIFF_TIMING_LOG=FILE logs how long each scenario takes.
The harness is in harness.py, the main scenario in scenario.py.
"""

from __future__ import annotations

import pytest

from .harness import REQUIRE_GTO, Builds, GtoUnavailable, find_gto, tagreg_tool

# Scenario recipes of the modules selected in this run, so their builds can start together.
_SELECTED: dict = {}


def pytest_collection_finish(session):
    for item in session.items:
        for key, recipe in getattr(item.module, "SCENARIOS", {}).items():
            _SELECTED.setdefault(key, recipe)


@pytest.fixture(scope="session")
def gto_tool():
    """gto 1.10.1, found or installed once per session."""
    try:
        return find_gto()
    except GtoUnavailable as exc:
        if REQUIRE_GTO:
            pytest.fail(f"gto {exc} (TAGREG_REQUIRE_GTO=1)", pytrace=False)
        pytest.skip(f"gto 1.10.1 is not available: {exc}; set TAGREG_GTO_BIN to a gto executable")


@pytest.fixture(scope="session")
def builds(gto_tool, tmp_path_factory):
    """Scenario repositories, built in background threads so GTO's 1-second waits overlap."""
    tools = {"gto": gto_tool, "tagreg": tagreg_tool()}
    shared = Builds(tools, lambda key: tmp_path_factory.mktemp(key))
    for key, recipe in _SELECTED.items():
        shared.register(key, recipe)
    # the scenarios gto writes are bound by its 1-second spacing, not by CPU: start them first
    shared.start(sorted(_SELECTED, key=lambda key: key not in ("main-gto", "main-alternate")))
    yield shared
    shared.close()
