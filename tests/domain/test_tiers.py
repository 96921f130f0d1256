"""Followed release notes are re-fetched by how likely they are to change: recent or involved builds every cycle,
the newest of each update line daily, the rest weekly."""

from datetime import UTC, datetime, timedelta

import pytest

from tracker.domain.tiers import NotesFacts, Tier, due, tiers
from tracker.domain.versions import Product

NOW = datetime(2022, 3, 1, 8, tzinfo=UTC)
ESXI = Product.ESXI


def fact(build: int, released: str | None, line: tuple[str, int] | None = ("7.0", 2), involved: bool = False):
    return NotesFacts(ESXI, build, line, released, involved)


@pytest.mark.parametrize(
    ("facts", "build", "tier"),
    [
        ([fact(1, "2022-02-01")], 1, Tier.EVERY_CYCLE),  # released within 90 days
        ([fact(1, "2021-01-01"), fact(2, "2021-06-01")], 2, Tier.DAILY),  # the newest of its update line
        ([fact(1, "2021-01-01"), fact(2, "2021-06-01")], 1, Tier.WEEKLY),  # an old one
        ([fact(1, "2021-01-01", involved=True), fact(2, "2021-06-01")], 1, Tier.EVERY_CYCLE),  # pulled or reissued
        ([fact(1, None), fact(2, "2021-06-01")], 1, Tier.EVERY_CYCLE),  # no date: it may be new
        ([fact(1, "2021-01-01", line=None)], 1, Tier.EVERY_CYCLE),  # a release the catalog cannot place
        ([fact(1, "2021-01-01", ("7.0", 1)), fact(2, "2021-06-01", ("7.0", 2))], 1, Tier.DAILY),  # its own line
        ([fact(1, "2021-12-01"), fact(2, "2021-06-01")], 1, Tier.EVERY_CYCLE),  # exactly 90 days before
    ],
)
def test_each_build_gets_the_tier_its_notes_deserve(facts: list[NotesFacts], build: int, tier: Tier):
    assert tiers(facts, NOW)[(ESXI, build)] is tier


@pytest.mark.parametrize(
    ("tier", "ago", "expected"),
    [
        (Tier.EVERY_CYCLE, timedelta(minutes=1), True),
        (Tier.DAILY, timedelta(hours=23), False),
        (Tier.DAILY, timedelta(days=1), True),
        (Tier.WEEKLY, timedelta(days=6), False),
        (Tier.WEEKLY, timedelta(days=7), True),
    ],
)
def test_a_page_is_due_when_its_tier_has_rested(tier: Tier, ago: timedelta, expected: bool):
    assert due(tier, NOW - ago, NOW) is expected
    assert due(tier, None, NOW)  # never fetched: always
