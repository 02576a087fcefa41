"""(b) Tags written by GTO read the same in tagreg as in GTO."""

import pytest

from . import scenario

pytestmark = pytest.mark.differential
SCENARIOS = {"main-gto": scenario.SCENARIOS["main-gto"]}

# the fixture `built` and the tests shared by every writer's repository
globals().update(scenario.make_tests("main-gto"))
