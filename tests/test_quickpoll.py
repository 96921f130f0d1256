"""The unchanged-cycle fast path of `tracker poll` writes exactly what the full path writes, and hands over to the
full path (without fetching twice) whenever the cycle is not a quiet one."""

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.configs import kb_config
from tests.support.site import FixtureSite
from tracker.cli import app
from tracker.config import clock, load_config
from tracker.polling import poll_once
from tracker.quickpoll import try_unchanged_cycle
from tracker.store.db import make_engine

QUIET = "2021-10-06T09:00:00Z"


def setup(site: FixtureSite, folder: Path) -> Path:
    config = kb_config(site, folder)
    for stage, now in (("01-2021-09-20", "2021-09-20T08:00:00Z"), ("02-2021-10-06", "2021-10-06T08:00:00Z")):
        site.stage(stage)
        assert CliRunner().invoke(app, ["--config", str(config), "--now", now, "poll"]).exit_code == 0
    return config


def tables(config: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(Path(load_config(str(config)).database.removeprefix("sqlite:///")))
    queries = {
        "source": "SELECT id, health, failures, baselined, last_fetch_at, last_success_at, rows_seen, etag FROM source",
        "fetch": "SELECT source_id, started_at, outcome, http_status, bytes, rows, error, skipped FROM fetch",
        "sighting": "SELECT source_id, product, build, last_seen, misses, gone FROM sighting",
        "event": "SELECT kind, build FROM event",
    }
    return {name: sorted(db.execute(query)) for name, query in queries.items()}


def test_a_quiet_cycle_recorded_by_the_fast_path_equals_the_full_paths_record(site: FixtureSite, tmp_path: Path):
    quick_config = setup(site, tmp_path / "quick")
    full_config = setup(site, tmp_path / "full")
    assert try_unchanged_cycle(load_config(str(quick_config)), clock(QUIET)).done
    config = load_config(str(full_config))
    poll_once(config, make_engine(config.database), clock(QUIET))
    quick, full = tables(quick_config), tables(full_config)
    assert quick == full
    assert [r for r in quick["fetch"] if r[1].startswith("2021-10-06 09:00")]  # the quiet cycle was recorded


def test_a_changed_page_goes_to_the_full_path_without_being_fetched_twice(site: FixtureSite, tmp_path: Path):
    config = setup(site, tmp_path)
    site.stage("03-2021-10-29")  # U3a appears
    site.reset_log()
    result = CliRunner().invoke(app, ["--config", str(config), "--now", "2021-10-29T08:00:00Z", "poll", "--json"])
    assert result.exit_code == 0
    assert '"kind": "new"' in result.stdout
    kb_requests = [hit for hit in site.requests if hit.path == "/kb/316595.html"]
    assert len(kb_requests) == 1


@pytest.mark.parametrize("reason", ["a vanished row waits for confirmation", "a source is new in the config"])
def test_cycles_that_need_the_domain_are_not_taken_by_the_fast_path(site: FixtureSite, tmp_path: Path, reason: str):
    config = setup(site, tmp_path)
    if reason.startswith("a vanished"):
        site.stage("04-2021-11-13")
        CliRunner().invoke(app, ["--config", str(config), "--now", "2021-11-13T08:00:00Z", "poll"])
        site.stage("05-2021-11-18")  # U3b's row is gone once: the next cycle must count it again
        CliRunner().invoke(app, ["--config", str(config), "--now", "2021-11-18T08:00:00Z", "poll"])
    else:
        extra = (
            f"  - {{id: extra-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi,"
            " follow_links: false}\n"
        )
        text = config.read_text(encoding="utf-8").replace("http: {", extra + "http: {")
        config.write_text(text, encoding="utf-8")
    assert not try_unchanged_cycle(load_config(str(config)), clock("2021-11-18T09:00:00Z")).done
