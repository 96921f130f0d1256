"""Saving the catalog: what a diff changed is written once, updated in place on later polls, and read back the
same; the upsert (SQLite, PostgreSQL) and the lookup-then-write path (other databases) store the same rows."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tracker.domain.catalog import Policy
from tracker.domain.diff import observe
from tracker.domain.observations import BuildRecord, ParseResult
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product
from tracker.store import repo
from tracker.store.db import make_engine, migrate, session_scope
from tracker.store.models import SourceRow

POLICY = Policy(pull_confirmations=2, max_drop_ratio=0.2, failing_after=3, cooldown_days=7)
U3 = (18644231, "ESXi 7.0 Update 3")
U3A = (18825058, "ESXi 7.0 Update 3a")
U3B = (18905247, "ESXi 7.0 Update 3b")
U2D = (18538813, "ESXi 7.0 Update 2d")
U2C = (18426014, "ESXi 7.0 Update 2c")
U2A = (17867351, "ESXi 7.0 Update 2a")


def _page(*rows: tuple[int, str]) -> ParseResult:
    return ParseResult(
        records=tuple(
            BuildRecord(Product.ESXI, build, parse_release(name), name, excerpt=f"{name} {build}")
            for build, name in rows
        ),
        tables=("ESXi 7.0",),
    )


def _poll(engine: Engine, result: ParseResult, now: datetime) -> None:
    with session_scope(engine) as session:
        catalog = repo.load_catalog(session)
        observe(catalog, "esxi-kb", result, POLICY, now)
        repo.save_catalog(session, catalog)


def _stored(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as connection:
        builds = connection.execute(text("SELECT build, release_name, status, first_seen FROM build ORDER BY build"))
        sightings = connection.execute(
            text("SELECT build, first_seen, last_seen, misses, gone FROM sighting ORDER BY build")
        )
        return [tuple(r) for r in builds], [tuple(r) for r in sightings]


@pytest.fixture(params=["upsert", "lookup then write"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    if request.param == "lookup then write":
        monkeypatch.setattr(repo, "_upsert_for", lambda dialect: None)  # as on a database without ON CONFLICT
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    migrate(engine)
    with session_scope(engine) as session:
        session.add(
            SourceRow(
                id="esxi-kb",
                kind="kb_build_table",
                url="https://knowledge.broadcom.com/external/article/316595",
                product="esxi",
                role="index",
                created_at=datetime(2021, 9, 1, tzinfo=UTC),
            )
        )
    return engine


def test_builds_are_inserted_then_updated_in_place_keeping_when_they_were_first_seen(engine: Engine) -> None:
    first, second, third = (datetime(2021, 11, day, 8, tzinfo=UTC) for day in (13, 18, 19))
    _poll(engine, _page(U2A, U2C, U2D, U3, U3A, U3B), first)
    _poll(engine, _page(U2A, U2C, U2D, U3, U3A), second)  # U3b's row vanished once: not yet a pull
    _poll(engine, _page(U2A, U2C, U2D, U3, U3A), third)  # twice: pulled

    builds, sightings = _stored(engine)
    assert [(b[0], b[2]) for b in builds] == [
        (U2A[0], "available"),
        (U2C[0], "available"),
        (U2D[0], "available"),
        (U3[0], "available"),
        (U3A[0], "available"),
        (U3B[0], "pulled"),
    ]
    assert {str(b[3]) for b in builds} == {"2021-11-13 08:00:00.000000"}  # updates keep when each build was first seen
    by_build = {s[0]: s for s in sightings}
    assert by_build[U3B[0]][1:] == ("2021-11-13 08:00:00.000000", "2021-11-13 08:00:00.000000", 2, 1)
    assert by_build[U3[0]][2] == "2021-11-19 08:00:00.000000"  # still listed: last seen now

    with session_scope(engine) as session:  # and the stored rows read back as the catalog the diff left
        catalog = repo.load_catalog(session)
    assert catalog.entries[(Product.ESXI, U3B[0])].status.value == "pulled"
    assert catalog.sighting("esxi-kb", (Product.ESXI, U3A[0])) is not None


def test_saving_never_rewrites_when_a_build_or_sighting_was_first_seen(engine: Engine) -> None:
    first = datetime(2021, 11, 13, 8, tzinfo=UTC)
    _poll(engine, _page(U2A, U2C, U2D, U3, U3A, U3B), first)
    with session_scope(engine) as session:
        catalog = repo.load_catalog(session)
        entry = catalog.entries[(Product.ESXI, U3[0])]
        sighting = catalog.sighting("esxi-kb", (Product.ESXI, U3[0]))
        assert sighting is not None
        entry.first_seen = sighting.first_seen = datetime(2022, 1, 1, tzinfo=UTC)  # a later value, saved again
        entry.release_name = "ESXi 7.0 Update 3 (renamed)"
        catalog.mark(entry=entry, sighting=sighting)
        repo.save_catalog(session, catalog)
    with engine.connect() as connection:
        build = connection.execute(text("SELECT release_name, first_seen FROM build WHERE build = :b"), {"b": U3[0]})
        seen = connection.execute(text("SELECT first_seen FROM sighting WHERE build = :b"), {"b": U3[0]})
        assert tuple(build.one()) == ("ESXi 7.0 Update 3 (renamed)", "2021-11-13 08:00:00.000000")  # the rest is
        assert seen.scalar_one() == "2021-11-13 08:00:00.000000"  # updated, first_seen kept
