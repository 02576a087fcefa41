"""Times as tagreg writes them: GTO's JSON (a tag's date in its tagger's offset) and the dashboard's API
(the server's own clock, in UTC to the second)."""

from __future__ import annotations

from tagreg.state import iso, to_datetime


def test_a_tag_date_keeps_its_offset():
    assert iso(to_datetime(1_700_000_000, "+0530")) == "2023-11-15T03:43:20+05:30"
    assert iso(to_datetime(1_700_000_000, "-0800")) == "2023-11-14T14:13:20-08:00"
    assert iso(to_datetime(1_700_000_000, "+0000")) == "2023-11-14T22:13:20+00:00"


def test_a_clock_reading_is_utc_to_the_second():
    assert iso(1_700_000_000.75) == "2023-11-14T22:13:20+00:00"
    assert iso(1_700_000_000) == "2023-11-14T22:13:20+00:00"


def test_no_time_is_none():
    assert iso(None) is None
