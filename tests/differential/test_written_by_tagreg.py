"""(a) Tags written by tagreg read the same in GTO and in tagreg."""

import pytest

from . import scenario

pytestmark = pytest.mark.differential
SCENARIOS = {"main-tagreg": scenario.SCENARIOS["main-tagreg"]}

# the fixture `built` and the tests shared by every writer's repository
globals().update(scenario.make_tests("main-tagreg"))
