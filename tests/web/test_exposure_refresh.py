"""Stale while revalidating: once the inventory changed, the exposure pages keep showing the assessment held (saying
so) while the next one is made on a thread of its own; a write through this process is seen by its next read; a
server started again lists what it showed before (kept beside the database) while it assesses again. Over a copy
of the replayed story's SQLite file, with the assessment held back until the test lets it finish."""

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support.waiting import wait_until
from tests.support.web import FINAL, web_config
from tracker.config import Config, load_config
from tracker.domain.exposure_filter import ExposureFilter
from tracker.domain.inventory import Asset, AssetKind, ImportResult
from tracker.jobs import inventory
from tracker.jobs.inventory import import_inventory
from tracker.listings import exposure_item
from tracker.store.db import make_engine
from tracker.web import exposure
from tracker.web.exposure import ExposureCache

NOW = datetime.fromisoformat(FINAL)
NEW_HOST = Asset("esx-new-01.corp.example", AssetKind.ESXI, 18644231, "VMware ESXi 7.0.3 build-18644231", "vc01")


@pytest.fixture
def config(story: Path, tmp_path: Path) -> Config:
    return load_config(str(web_config(story, tmp_path)))


@pytest.fixture
def cache(config: Config, monkeypatch: pytest.MonkeyPatch) -> ExposureCache:
    monkeypatch.setattr(exposure, "RECHECK", 0.0)  # look at the data version at every read
    return ExposureCache(config, make_engine(config.database), lambda: NOW)


def _names(cache: ExposureCache) -> set[str]:
    return {e.asset.name for e in cache.current().rows}


def test_a_changed_inventory_is_assessed_in_the_background_while_the_last_assessment_is_shown(
    cache: ExposureCache, monkeypatch: pytest.MonkeyPatch
):
    before = _names(cache)
    assert NEW_HOST.name not in before and not cache.refreshing
    import_inventory(cache.engine, ImportResult((NEW_HOST,)), "another process", NOW)
    let_go = _hold_back(monkeypatch)

    assert _names(cache) == before and cache.refreshing  # served at once, stale, saying a newer one is coming
    assert _names(cache) == before  # still the held one: one assessment at a time
    let_go.set()
    wait_until(lambda: not cache.refreshing, 30, "the background assessment to finish")
    assert _names(cache) == before | {NEW_HOST.name}


def test_a_write_through_this_process_is_seen_by_its_next_read(cache: ExposureCache):
    before = _names(cache)
    import_inventory(cache.engine, ImportResult((NEW_HOST,)), "the web", NOW)
    cache.changed()  # what writes.py says after each write
    assert _names(cache) == before | {NEW_HOST.name}


def _hold_back(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold every assessment back until the event is set."""
    let_go, real = threading.Event(), inventory.assess_exposure
    monkeypatch.setattr(inventory, "assess_exposure", lambda *args: let_go.wait(30) and real(*args))
    return let_go


def test_a_server_started_again_lists_what_it_showed_before_while_it_assesses_again(
    config: Config, monkeypatch: pytest.MonkeyPatch
):
    first = ExposureCache(config, make_engine(config.database), lambda: NOW)
    first.warm()
    wait_until(lambda: not first.refreshing, 60, "the first start's assessment, kept beside the database")
    shown = first.current()
    whole = [json.dumps(exposure_item(e), separators=(",", ":")) for e in shown.exposures]
    assert shown.rows_json(list(shown.rows)) == "[" + ",".join(whole) + "]"  # the listings' dicts, as JSON text

    let_go = _hold_back(monkeypatch)
    again = ExposureCache(config, make_engine(config.database), lambda: NOW + timedelta(hours=1))
    again.warm()
    stale = again.current()
    assert stale.stored and stale.at == shown.at and again.refreshing
    for wanted in (ExposureFilter(), ExposureFilter(min_severity="low"), ExposureFilter(cluster="prod-*")):
        for sort in ("severity", "cluster", "build"):
            before, now = shown.select(wanted, sort).rows, stale.select(wanted, sort).rows
            assert stale.rows_json(now) == shown.rows_json(before)  # the very rows, in the very order
    assert stale.counts() == shown.counts()
    let_go.set()
    fresh = again.current(full=True)  # the overview and an asset's page wait for every finding
    assert not fresh.stored and fresh.at == NOW + timedelta(hours=1)
    assert fresh.rows_json(fresh.select(ExposureFilter(), "severity").rows) == shown.rows_json(
        shown.select(ExposureFilter(), "severity").rows
    )
