"""The vendor's dates: every shape the KB tables and release notes write, US month-first slashes included,
and what is refused rather than guessed (tracker/domain/vendor_dates.py)."""

import csv
from datetime import date
from pathlib import Path

import pytest

from tracker.domain.vendor_dates import read_vendor_date
from tracker.sources.html import parse_date

DATA = Path(__file__).resolve().parent.parent / "data" / "vmware-builds.csv"

READ: list[tuple[str, date]] = [
    ("10/17/2016", date(2016, 10, 17)),  # issue 12, pattern 7 (ESXi 6.0 Express Patch 7, build 4510822)
    ("4/2/2020", date(2020, 4, 2)),  # KB 2143832: ESXi 7.0 GA, 15843807
    ("6/23/2020", date(2020, 6, 23)),  # KB 2143832: ESXi 7.0b, 16324942
    ("10/6/2020", date(2020, 10, 6)),  # KB 2143832: ESXi 7.0.1 Update 1, 16850804
    ("12/19/2019", date(2019, 12, 19)),
    ("2026/07/29", date(2026, 7, 29)),  # Broadcom KB 316595 / 326316
    ("2026-07-29", date(2026, 7, 29)),
    ("May 27, 2026", date(2026, 5, 27)),
    ("27 JAN 2022", date(2022, 1, 27)),  # release notes header
    (" 10/17/2016\xa0(Recalled)", date(2016, 10, 17)),
]


@pytest.mark.parametrize(("text", "expected"), READ, ids=repr)
def test_every_date_shape_the_vendor_writes_is_read(text: str, expected: date) -> None:
    assert read_vendor_date(text) == expected


REFUSED = [
    "17/10/2016",  # day first: not the KB's convention, so not read as if it were
    "10/17/16",  # a two-digit year
    "2/30/2020",  # no such day
    "13/13/2020",
    "",
    "TBD",
    "10/2016",
    "1/10/2016/3",
]


@pytest.mark.parametrize("text", REFUSED, ids=repr)
def test_a_date_the_vendor_convention_cannot_place_is_no_date_never_a_guess(text: str) -> None:
    assert read_vendor_date(text) is None


def _data_dates() -> list[date]:
    with DATA.open(newline="", encoding="utf-8") as handle:
        return [date.fromisoformat(row["release_date"]) for row in csv.DictReader(handle)]


@pytest.mark.parametrize("day", _data_dates()[:60], ids=str)
def test_every_release_date_in_the_data_reads_back_from_the_kbs_us_spelling(day: date) -> None:
    assert read_vendor_date(f"{day.month}/{day.day}/{day.year}") == day
    assert read_vendor_date(f"{day.month:02d}/{day.day:02d}/{day.year}") == day


@pytest.mark.parametrize("text", [t for t, _ in READ if "/" not in t or t.startswith("20")] + REFUSED[1:], ids=repr)
def test_it_reads_every_date_the_html_helper_reads_today_the_same_way(text: str) -> None:
    # So that tracker/sources/html.parse_date can hand over to it without changing a date it already reads.
    assert read_vendor_date(text) == parse_date(text)
