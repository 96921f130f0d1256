"""The exposure listing pages by keyset: every row once, in order, whatever the filter or sort, and a re-assessment
between two pages neither repeats nor skips a row that kept its place."""

from datetime import UTC, datetime

import pytest

from tracker.domain.exposure import Exposure, Status
from tracker.domain.exposure_filter import ExposureFilter
from tracker.domain.fixes import Severity
from tracker.domain.inventory import Asset, AssetKind
from tracker.web.exposure import SORTS, Assessed, BadCursor

SEVERITIES = [Severity.CRITICAL, Severity.IMPORTANT, Severity.NONE]


def exposure(n: int) -> Exposure:
    severity = SEVERITIES[n % 3]
    status = Status.PULLED if severity == Severity.CRITICAL else Status.OK
    asset = Asset(f"esx-{n:03d}", AssetKind.ESXI, 18644231 + n % 5, cluster=f"c{n % 4}", vcenter=f"vc{n % 2}")
    return Exposure(asset, (status,), severity, (), None, None)


def assessed(rows: list[Exposure]) -> Assessed:
    return Assessed(("v",), datetime(2022, 2, 16, tzinfo=UTC), rows)


def walk(source: Assessed, wanted: ExposureFilter, sort: str, limit: int) -> list[str]:
    names, cursor = [], None
    while True:
        rows, cursor = source.select(wanted, sort).page(cursor, limit)
        names += [r.asset.name for r in rows]
        if cursor is None:
            return names


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("wanted", [ExposureFilter(), ExposureFilter(status="pulled"), ExposureFilter(cluster="c1")])
def test_walking_the_pages_gives_every_selected_row_once_in_the_listings_order(sort: str, wanted: ExposureFilter):
    source = assessed([exposure(n) for n in range(103)])
    whole = [r.asset.name for r in source.select(wanted, sort).rows]
    assert walk(source, wanted, sort, 10) == whole
    assert len(whole) == len({*whole}) > 0


def test_an_asset_added_before_the_cursor_between_two_pages_does_not_repeat_the_rows_shown():
    rows = [exposure(n) for n in range(1, 30)]
    first, cursor = assessed(rows).select(ExposureFilter(), "asset").page(None, 10)
    later = assessed([exposure(0), *rows])  # esx-000 sorts before every row shown
    rest, _ = later.select(ExposureFilter(), "asset").page(cursor, 100)
    assert [r.asset.name for r in first + rest] == [r.asset.name for r in rows]


def test_a_cursor_it_did_not_hand_out_is_refused():
    source = assessed([exposure(n) for n in range(5)])
    with pytest.raises(BadCursor):
        source.select(ExposureFilter(), "asset").page("not-a-cursor!", 2)
    _, cursor = source.select(ExposureFilter(), "build").page(None, 2)
    with pytest.raises(BadCursor):
        source.select(ExposureFilter(), "cluster").page(cursor, 2)


def test_severity_selects_exactly_that_severity_and_min_severity_that_or_worse():
    rows = [exposure(n) for n in range(9)]  # critical, important, none, in turn
    source = assessed(rows)
    exactly = source.select(ExposureFilter(severity="important"), "asset").rows
    at_least = source.select(ExposureFilter(min_severity="important"), "asset").rows
    assert {r.severity for r in exactly} == {Severity.IMPORTANT} and len(exactly) == 3
    assert {r.severity for r in at_least} == {Severity.CRITICAL, Severity.IMPORTANT} and len(at_least) == 6
    assert source.counts() == {"critical": 3, "important": 3, "moderate": 0, "low": 0, "none": 3}
    assert ExposureFilter(severity="low").label() == "severity low"
    assert ExposureFilter(min_severity="low", cluster="c*").label() == "cluster c*, severity at least low"
