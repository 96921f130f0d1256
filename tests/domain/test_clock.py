"""The one clock for people: a moment in the configured zone with the zone's name; ISO 8601 for machines."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tracker.domain.clock import human, machine

NOV_19 = datetime(2021, 11, 19, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (NOV_19, "UTC", "2021-11-19 08:00 UTC"),
        (NOV_19, "Europe/Berlin", "2021-11-19 09:00 CET"),
        (datetime(2021, 10, 6, 8, 0, tzinfo=UTC), "Europe/Berlin", "2021-10-06 10:00 CEST"),  # summer time
        (NOV_19.replace(tzinfo=None), "Europe/Berlin", "2021-11-19 09:00 CET"),  # the store's naive UTC
        ("2021-11-19T08:00:00Z", "Europe/Berlin", "2021-11-19 09:00 CET"),  # a listing's ISO text
        (NOV_19.astimezone(timezone(timedelta(hours=-5))), "America/New_York", "2021-11-19 03:00 EST"),
        (NOV_19, "Asia/Kolkata", "2021-11-19 13:30 IST"),
        (None, "Europe/Berlin", ""),
        ("", "Europe/Berlin", ""),
        ("never", "Europe/Berlin", "never"),  # a note, not a time: shown as it is
    ],
)
def test_people_read_a_moment_in_the_configured_zone_with_its_name(moment: object, zone: str, shown: str):
    assert human(moment, zone) == shown  # type: ignore[arg-type]


def test_machines_read_iso_8601_in_utc_with_its_offset():
    assert machine(NOV_19) == "2021-11-19T08:00:00Z"
    assert machine(NOV_19.replace(tzinfo=None)) == "2021-11-19T08:00:00Z"
    assert machine(NOV_19.astimezone(timezone(timedelta(hours=1)))) == "2021-11-19T08:00:00Z"
    assert machine(None) is None
