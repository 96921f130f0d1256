"""What the store hands out is a frozen record typed with the domain's enums, never an ORM row, and a face that
reads records loads no SQLAlchemy (tracker/store/records.py)."""

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker.config import load_config
from tracker.domain.alerts import SnoozeKind
from tracker.domain.catalog import Health
from tracker.domain.events import Confidence, Event, EventKind, Evidence
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Product
from tracker.store import MessageKind, OutboxStatus, repo
from tracker.store.db import make_engine, migrate, session_scope
from tracker.store.digests import events_between
from tracker.store.outbox import Message, deliveries, enqueue
from tracker.store.reads import EventFilter, events_page
from tracker.store.records import EventRecord, OutboxMessage, SnoozeRecord, SourceStatus
from tracker.store.snoozes import NewSnooze, add, every
from tracker.store.sources import source_statuses, sync_sources

NOW = datetime(2021, 11, 19, 8, 0, tzinfo=UTC)


def test_the_record_types_and_the_listings_load_no_sqlalchemy():
    probe = "import sys, tracker.store.records, tracker.listings; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", f"import json; {probe}"], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"sqlalchemy", "sqlmodel", "alembic"}


def test_reads_hand_out_frozen_records_typed_with_the_enums(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    migrate(engine)
    config = tmp_path / "tracker.yaml"
    config.write_text(
        "database: 'sqlite:///tracker.db'\n"
        "sources:\n  - {id: esxi-kb, kind: kb_build_table, url: 'https://example.test/kb', product: esxi}\n",
        encoding="utf-8",
    )
    evidence = (Evidence("esxi-kb", "https://example.test/kb", "no longer listed", NOW),)
    pulled = Event(EventKind.PULLED, NOW, Confidence.HIGH, evidence, Product.ESXI, 18644231, "ESXi 7.0 U3")
    with session_scope(engine) as session:
        sync_sources(session, load_config(config), NOW)
        [created] = repo.record_changes(session, [pulled])
        enqueue(session, Message("event:1", "ops", MessageKind.ALERT, {"detail": "pulled"}, 1), NOW)
        add(session, NewSnooze(SnoozeKind.BUILD, "18644231", NOW, "window"), NOW)
    with session_scope(engine) as session:
        [(event, [said])] = events_page(session, EventFilter(), None, 10)
        [between] = events_between(session, datetime(2021, 11, 1, tzinfo=UTC), NOW)
        [(message, attempts)] = deliveries(session)
        [snooze] = every(session)
        [source] = source_statuses(session)
    assert event == created == between
    assert isinstance(event, EventRecord) and (event.kind, event.product, event.confidence) == (
        EventKind.PULLED,
        Product.ESXI,
        Confidence.HIGH,
    )
    assert event.observed_at == NOW and said.observed_at.tzinfo is not None  # aware UTC, as written
    assert isinstance(message, OutboxMessage) and (message.kind, message.status) == (
        MessageKind.ALERT,
        OutboxStatus.PENDING,
    )
    assert attempts == []
    assert isinstance(snooze, SnoozeRecord) and snooze.target_kind is SnoozeKind.BUILD
    assert isinstance(source, SourceStatus) and (source.health, source.role, source.polled) == (
        Health.OK,
        SourceRole.INDEX,  # a KB build table indexes the builds
        False,
    )
    typed = (event.kind, event.product, event.confidence, message.kind, message.status, snooze.target_kind)
    assert not [value for value in (*typed, source.health, source.role) if type(value) is str]  # enums, not text
    for record in (event, said, message, snooze, source):
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.id = 0  # type: ignore[misc]  # no record is a session's row: changing one changes nothing
