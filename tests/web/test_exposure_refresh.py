"""Stale while revalidating: once the inventory changed, the exposure pages keep showing the assessment held (saying
so) while the next one is made on a thread of its own; a write through this process is seen by its next read. Over
a copy of the replayed story's SQLite file, with the assessment held back until the test lets it finish."""

import threading
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.waiting import wait_until
from tests.support.web import FINAL, web_config
from tracker.config import load_config
from tracker.domain.inventory import Asset, AssetKind, ImportResult
from tracker.jobs import inventory
from tracker.jobs.inventory import import_inventory
from tracker.store.db import make_engine
from tracker.web import exposure
from tracker.web.exposure import ExposureCache

NOW = datetime.fromisoformat(FINAL)
NEW_HOST = Asset("esx-new-01.corp.example", AssetKind.ESXI, 18644231, "VMware ESXi 7.0.3 build-18644231", "vc01")


@pytest.fixture
def cache(story: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExposureCache:
    config = load_config(str(web_config(story, tmp_path)))
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
    let_go, real = threading.Event(), inventory.assess_exposure
    monkeypatch.setattr(inventory, "assess_exposure", lambda *args: let_go.wait(30) and real(*args))

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
