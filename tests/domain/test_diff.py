"""The diff's rules (PRODUCT.md section 4), on hand-built observations: pure, no I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from tracker.domain.catalog import BuildStatus, Catalog, Health, Policy, SourceState
from tracker.domain.corroboration import settle
from tracker.domain.diff import growth_limit, observe, observe_unchanged, record_failure
from tracker.domain.events import Change, Confidence, Event, EventKind, EventUpdate
from tracker.domain.observations import BuildRecord, Notice, NoticeKind, ParseResult
from tracker.domain.roles import SourceRole
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Build, Product

T0 = datetime(2021, 9, 20, 8, tzinfo=UTC)
POLICY = Policy(pull_confirmations=2, max_drop_ratio=0.2, failing_after=3)

# The ESXi 7.0 builds of the story, and enough older ones that losing two rows stays under the drop guard.
OLDER = {
    15843807: "ESXi 7.0 GA",
    16324942: "ESXi 7.0b",
    16850804: "ESXi 7.0 Update 1",
    17119627: "ESXi 7.0 Update 1a",
    17168206: "ESXi 7.0 Update 1b",
    17325551: "ESXi 7.0 Update 1c",
    17551050: "ESXi 7.0 Update 1d",
    17630552: "ESXi 7.0 Update 2",
    17867351: "ESXi 7.0 Update 2a",
    18426014: "ESXi 7.0 Update 2c",
    18538813: "ESXi 7.0 Update 2d",
}
U3, U3A, U3B, U3C = 18644231, 18825058, 18905247, 19193900
U2E, P67 = 19290878, 17700523
NAMES = {
    **OLDER,
    U2E: "ESXi 7.0 Update 2e",
    P67: "ESXi670-202103001",
    U3: "ESXi 7.0 Update 3",
    U3A: "ESXi 7.0 Update 3a",
    U3B: "ESXi 7.0 Update 3b",
    U3C: "ESXi 7.0 Update 3c",
}


def record(build: int, recalled: bool = False) -> BuildRecord:
    name = NAMES[build]
    return BuildRecord(Product.ESXI, build, parse_release(name), name, recalled=recalled, excerpt=f"{name} | {build}")


def page(*builds: int, notices: tuple[Notice, ...] = (), recalled: tuple[int, ...] = ()) -> ParseResult:
    return ParseResult(records=tuple(record(b, b in recalled) for b in builds), notices=notices)


def kb(*extra: int, without: tuple[int, ...] = (), **kwargs: object) -> ParseResult:
    builds = [b for b in [*OLDER, *extra] if b not in without]
    return page(*builds, **kwargs)  # type: ignore[arg-type]


def removed(*builds: int) -> Notice:
    subjects = tuple(Build(Product.ESXI, None, parse_release(NAMES[b])) for b in builds)
    return Notice(NoticeKind.PULLED, subjects, "VMware has removed " + ", ".join(NAMES[b] for b in builds))


def replaces(new: int, *old: int) -> Notice:
    subjects = tuple(Build(Product.ESXI, b, None) for b in old)
    return Notice(NoticeKind.REPLACED, subjects, f"Build {new} replaces {old}", Build(Product.ESXI, new, None))


class World:
    """A catalog with sources, polled at successive days."""

    def __init__(self, *sources: tuple[str, SourceRole]) -> None:
        self.catalog = Catalog()
        self.day = 0
        for source_id, role in sources or (("kb", SourceRole.INDEX),):
            self.add_source(source_id, role)

    @property
    def now(self) -> datetime:
        return T0 + timedelta(days=self.day)

    def add_source(self, source_id: str, role: SourceRole) -> None:
        self.catalog.sources[source_id] = SourceState(
            source_id, "kind", f"http://127.0.0.1/{source_id}", Product.ESXI, role, created_at=self.now
        )

    def poll(self, source_id: str, result: ParseResult, next_day: bool = True) -> list[Change]:
        if next_day:
            self.day += 1
        return observe(self.catalog, source_id, result, POLICY, self.now)

    def status(self, build: int) -> BuildStatus:
        return self.catalog.entries[(Product.ESXI, build)].status


def events(changes: list[Change]) -> list[tuple[str, int | None, str]]:
    return [(c.kind.value, c.build, c.confidence.value) for c in changes if isinstance(c, Event)]


def updates(changes: list[Change]) -> list[EventUpdate]:
    return [c for c in changes if isinstance(c, EventUpdate)]


def test_the_first_poll_is_a_silent_baseline():
    world = World()
    assert world.poll("kb", kb(U3)) == []
    assert len(world.catalog.entries) == len(OLDER) + 1


def test_a_build_seen_after_the_baseline_is_new():
    world = World()
    world.poll("kb", kb())
    assert events(world.poll("kb", kb(U3))) == [("new", U3, "high")]


def test_a_source_added_later_starts_its_own_baseline():
    world = World()
    world.poll("kb", kb())
    world.add_source("old-kb", SourceRole.INDEX)
    assert world.poll("old-kb", kb(U3)) == []
    assert events(world.poll("old-kb", kb(U3, U3A))) == [("new", U3A, "high")]


def test_a_row_missing_once_is_not_yet_a_pull():
    world = World()
    world.poll("kb", kb(U3B))
    assert world.poll("kb", kb()) == []
    assert world.status(U3B) is BuildStatus.AVAILABLE


def test_it_marks_a_build_pulled_when_its_row_disappears_twice():
    world = World()
    world.poll("kb", kb(U3B))
    world.poll("kb", kb())
    changes = world.poll("kb", kb())
    assert events(changes) == [("pulled", U3B, "medium")]
    assert "no longer listed (2 polls in a row)" in changes[0].evidence[0].excerpt  # type: ignore[union-attr]
    assert world.status(U3B) is BuildStatus.PULLED
    assert world.poll("kb", kb()) == []  # one pulled event per build


def test_an_unchanged_page_still_confirms_a_vanished_row():
    world = World()
    world.poll("kb", kb(U3B))
    world.poll("kb", kb())
    world.day += 1
    changes = observe_unchanged(world.catalog, "kb", POLICY, world.now)
    assert events(changes) == [("pulled", U3B, "medium")]


def test_a_removal_notice_is_a_high_confidence_pull_and_later_evidence_only_adds_to_it():
    world = World(("kb", SourceRole.INDEX), ("notes", SourceRole.NOTES))
    world.poll("kb", kb(U3, U3A))
    world.poll("notes", page(U3))
    changes = world.poll("notes", page(U3, notices=(removed(U3, U3A),)))
    assert events(changes) == [("pulled", U3, "high"), ("pulled", U3A, "high")]
    world.poll("kb", kb(without=()))
    later = world.poll("kb", kb())
    assert events(later) == []
    assert {(u.build, u.confidence) for u in updates(later)} == {(U3, None), (U3A, None)}


def test_a_notice_raises_the_confidence_of_a_pull_seen_as_a_vanished_row():
    world = World(("kb", SourceRole.INDEX), ("notes", SourceRole.NOTES))
    world.poll("kb", kb(U3B))
    world.poll("notes", page(U3))
    world.poll("kb", kb())
    world.poll("kb", kb())
    changes = world.poll("notes", page(U3, notices=(removed(U3B),)))
    assert events(changes) == []
    assert [(u.build, u.confidence) for u in updates(changes)] == [(U3B, Confidence.HIGH)]


def test_x_replaces_y_makes_x_the_reissue_and_only_y_pulled():
    world = World(("kb", SourceRole.INDEX), ("notes", SourceRole.NOTES))
    world.poll("kb", kb(U3, U3A, U3B))
    world.poll("notes", page(U3))
    changes = world.poll("notes", page(U3C, notices=(replaces(U3C, U3, U3A, U3B),)))
    assert events(changes) == [
        ("pulled", U3, "high"),
        ("pulled", U3A, "high"),
        ("pulled", U3B, "high"),
        ("reissued", U3C, "high"),
    ]
    reissue = next(c for c in changes if isinstance(c, Event) and c.kind is EventKind.REISSUED)
    assert reissue.replaces == (U3, U3A, U3B)
    assert world.status(U3C) is BuildStatus.AVAILABLE
    assert {world.catalog.entries[(Product.ESXI, b)].replaced_by for b in (U3, U3A, U3B)} == {U3C}


def test_a_new_build_in_the_update_line_of_pulled_builds_is_their_reissue_not_a_new_build():
    world = World()
    world.poll("kb", kb(U3, U3A))
    world.poll("kb", kb())
    world.poll("kb", kb())
    changes = world.poll("kb", kb(U3C))
    assert events(changes) == [("reissued", U3C, "high")]
    assert changes[0].replaces == (U3, U3A)  # type: ignore[union-attr]


def test_a_build_in_another_update_line_is_simply_new():
    world = World()
    world.poll("kb", kb(U3))
    world.poll("kb", kb())
    world.poll("kb", kb())
    assert events(world.poll("kb", kb(U2E))) == [("new", U2E, "high")]


def test_a_pulled_build_listed_again_is_restored():
    world = World()
    world.poll("kb", kb(U3B))
    world.poll("kb", kb())
    world.poll("kb", kb())
    assert events(world.poll("kb", kb(U3B))) == [("restored", U3B, "medium")]
    assert world.status(U3B) is BuildStatus.AVAILABLE


def test_a_standing_notice_keeps_a_listed_build_pulled():
    world = World(("kb", SourceRole.INDEX), ("notes", SourceRole.NOTES))
    world.poll("kb", kb(U3))
    world.poll("notes", page(U3))
    world.poll("notes", page(U3, notices=(removed(U3),)))
    assert events(world.poll("kb", kb(U3))) == []
    assert world.status(U3) is BuildStatus.PULLED


def test_a_recalled_label_pulls_while_it_stays_and_its_removal_restores():
    world = World()
    world.poll("kb", kb(U3))
    assert events(world.poll("kb", kb(U3, recalled=(U3,)))) == [("pulled", U3, "high")]
    assert events(world.poll("kb", kb(U3, recalled=(U3,)))) == []
    assert events(world.poll("kb", kb(U3))) == [("restored", U3, "medium")]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (ParseResult(problem="a login page"), "a login page"),
        (ParseResult(), "the page lists no builds"),
        (kb(without=tuple(list(OLDER)[:5])), "lost 6 of the 12 rows"),
        (page(U3, *[b for b in OLDER if b > 17000000]), "lost"),
    ],
)
def test_an_untrustworthy_page_infers_nothing_and_marks_the_source(bad: ParseResult, reason: str):
    world = World()
    world.poll("kb", kb(U3))
    changes = world.poll("kb", bad)
    assert events(changes) == [("source_anomaly", None, "high")]
    assert reason in world.catalog.sources["kb"].last_error  # type: ignore[operator]
    assert all(s.misses == 0 for s in world.catalog.all_sightings())
    assert world.status(U3) is BuildStatus.AVAILABLE


def flood(count: int, start: int = 30_000_000) -> tuple[BuildRecord, ...]:
    """`count` rows no vendor page ever added at once: ESXi 8.0 Update 3 under made-up build numbers."""
    name = "ESXi 8.0 Update 3"
    return tuple(BuildRecord(Product.ESXI, start + i, parse_release(name), name) for i in range(count))


def test_a_page_that_suddenly_adds_thousands_of_rows_is_an_anomaly_and_keeps_the_last_good_baseline():
    world = World()
    world.poll("kb", kb(U3))
    flooded = ParseResult(records=kb(U3).records + flood(10_000))
    changes = world.poll("kb", flooded)
    assert events(changes) == [("source_anomaly", None, "high")]  # not 10,000 `new` events
    assert world.catalog.sources["kb"].last_error == (
        "the page added 10000 rows to the 12 it had, more than the 10 a page may add at once"
    )
    assert len(world.catalog.entries) == 12 and len(list(world.catalog.all_sightings())) == 12
    assert events(world.poll("kb", kb(U3))) == [("source_recovered", None, "high")]  # not "lost 10000 of 10012"
    assert events(world.poll("kb", kb(U3, U3A))) == [("new", U3A, "high")]


@pytest.mark.parametrize(("before", "limit"), [(0, 10), (2, 10), (45, 22), (91, 45), (300, 50), (100_000, 50)])
def test_a_page_may_add_a_share_of_its_rows_at_once_never_fewer_than_ten_nor_more_than_fifty(before: int, limit: int):
    assert growth_limit(before) == limit


def test_a_release_with_its_variants_is_news_on_a_small_page():
    world = World()
    world.poll("kb", page(U3))
    assert [e[1] for e in events(world.poll("kb", page(U3, *list(OLDER)[:10])))] == list(OLDER)[:10]


def test_growth_at_the_limit_is_news_and_one_more_row_is_an_anomaly():
    at_limit, over = World(), World()
    for world, extra in ((at_limit, 10), (over, 11)):
        world.poll("kb", kb(U3))
        world.poll("kb", ParseResult(records=kb(U3).records + flood(extra)))
    assert at_limit.catalog.sources["kb"].health is Health.OK and len(at_limit.catalog.entries) == 22
    assert over.catalog.sources["kb"].health is Health.ANOMALY and len(over.catalog.entries) == 12


def test_a_first_poll_of_any_size_is_its_baseline():
    world = World()
    assert events(world.poll("kb", ParseResult(records=flood(10_000)))) == []
    assert world.catalog.sources["kb"].health is Health.OK


def test_a_whole_release_line_vanishing_at_once_is_an_anomaly():
    world = World()
    world.poll("kb", kb(U3, P67))
    world.poll("kb", kb(U3))
    assert world.catalog.sources["kb"].last_error == "the whole 6.7 table vanished at once"


def test_source_health_is_a_state_anomaly_then_failing_then_recovered():
    world = World()
    world.poll("kb", kb())
    kinds = []
    for _ in range(4):
        world.day += 1
        kinds.append(events(record_failure(world.catalog, "kb", "HTTP 500", POLICY, world.now)))
    assert kinds == [[("source_anomaly", None, "high")], [], [("source_failing", None, "high")], []]
    assert world.catalog.sources["kb"].health is Health.FAILING
    assert events(world.poll("kb", kb())) == [("source_recovered", None, "high")]
    assert world.catalog.sources["kb"].health is Health.OK


def test_a_notice_on_the_first_poll_of_a_baseline_era_page_is_quiet_but_recorded():
    world = World(("kb", SourceRole.INDEX), ("notes", SourceRole.NOTES))
    world.poll("kb", kb(U3))
    assert world.poll("notes", page(U3, notices=(removed(U3),)), next_day=False) == []
    assert world.status(U3) is BuildStatus.PULLED


def test_a_notice_on_the_first_poll_of_a_page_found_later_is_news():
    world = World()
    world.poll("kb", kb(U3, U3A))
    world.day += 1
    world.add_source("notes", SourceRole.NOTES)
    changes = world.poll("notes", page(U3C, notices=(replaces(U3C, U3, U3A),)), next_day=False)
    assert [k for k, _, _ in events(changes)] == ["pulled", "pulled", "reissued"]


def cycle(world: World, *polls: tuple[str, ParseResult]) -> list[Change]:
    """One poll cycle: each source once, then the end-of-cycle decision on what vanished from availability."""
    world.day += 1
    changes = [c for source, result in polls for c in observe(world.catalog, source, result, POLICY, world.now)]
    return changes + settle(world.catalog, world.now)


def test_availability_sources_that_disagree_raise_a_discrepancy_not_a_pull():
    world = World(("downloads", SourceRole.AVAILABILITY), ("depot", SourceRole.AVAILABILITY))
    cycle(world, ("downloads", kb(U3)), ("depot", kb(U3)))
    assert events(cycle(world, ("downloads", kb()), ("depot", kb(U3)))) == []
    changes = cycle(world, ("downloads", kb()), ("depot", kb(U3)))
    assert events(changes) == [("discrepancy", U3, "medium")]
    assert "no longer offered by downloads, while depot still offers it" in changes[0].detail  # type: ignore[union-attr]
    assert world.status(U3) is BuildStatus.AVAILABLE
    cycle(world, ("downloads", kb()), ("depot", kb()))
    changes = cycle(world, ("downloads", kb()), ("depot", kb()))
    assert events(changes) == [("pulled", U3, "high")]  # gone from both now: they agree
    assert world.status(U3) is BuildStatus.PULLED


def test_two_availability_sources_dropping_a_build_in_the_same_cycle_agree_on_a_high_confidence_pull():
    world = World(("downloads", SourceRole.AVAILABILITY), ("depot", SourceRole.AVAILABILITY))
    cycle(world, ("downloads", kb(U3)), ("depot", kb(U3)))
    cycle(world, ("downloads", kb()), ("depot", kb()))
    changes = cycle(world, ("downloads", kb()), ("depot", kb()))
    assert events(changes) == [("pulled", U3, "high")]  # no discrepancy on the way
    assert {e.source_id for e in changes[0].evidence} == {"downloads", "depot"}  # type: ignore[union-attr]


def test_a_kb_that_still_lists_a_build_does_not_contradict_the_availability_sources():
    world = World(("kb", SourceRole.INDEX), ("downloads", SourceRole.AVAILABILITY))
    cycle(world, ("kb", kb(U3)), ("downloads", kb(U3)))
    cycle(world, ("kb", kb(U3)), ("downloads", kb()))
    assert events(cycle(world, ("kb", kb(U3)), ("downloads", kb()))) == [("pulled", U3, "medium")]
    assert world.status(U3) is BuildStatus.PULLED


def test_a_sibling_that_dropped_the_build_a_cycle_later_agrees_rather_than_disagrees():
    world = World(("downloads", SourceRole.AVAILABILITY), ("depot", SourceRole.AVAILABILITY))
    cycle(world, ("downloads", kb(U3)), ("depot", kb(U3)))
    cycle(world, ("downloads", kb()), ("depot", kb(U3)))
    changes = cycle(world, ("downloads", kb()), ("depot", kb()))  # the depot spoke this cycle: it no longer offers
    assert events(changes) == [("pulled", U3, "high")]
    assert "no longer offered by depot, downloads" in changes[0].detail  # type: ignore[union-attr]


def test_a_sibling_that_did_not_speak_this_cycle_neither_confirms_nor_contradicts():
    world = World(("downloads", SourceRole.AVAILABILITY), ("depot", SourceRole.AVAILABILITY))
    cycle(world, ("downloads", kb(U3)), ("depot", kb(U3)))
    cycle(world, ("downloads", kb()))
    changes = cycle(world, ("downloads", kb()))  # the depot could not be fetched: its old sighting says nothing
    assert events(changes) == [("pulled", U3, "medium")]
