"""Inventory and exposure through the CLI: hosts imported, the 7.0 U3 story polled, `tracker exposure --json` read
as a script would, at the moments that matter."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.site import FixtureSite
from tests.test_story import STAGES
from tracker.cli import app

INVENTORY = """name,kind,build,version,vcenter,datacenter,cluster,tags,owner,vibs
esx-u2c.example.com,esxi,,VMware ESXi 7.0.2 build-18426014,vc-01,dc-berlin,prod-a,gold,team-a,i40en=1.10.6;i40enu=1.8.1
esx-u2d.example.com,esxi,18538813,,vc-01,dc-berlin,prod-a,,team-a,
esx-u3.example.com,esxi,,VMware ESXi 7.0.3 build-18644231,vc-01,dc-berlin,prod-b,,team-b,
esx-u3b.example.com,esxi,,VMware ESXi 7.0.3 build-18905247,vc-01,dc-berlin,lab,,team-b,
vc-01.example.com,vcenter,,VMware vCenter Server 7.0.3 build-18700403,vc-01,dc-berlin,,,team-a,
"""


class Cli:
    def __init__(self, config: Path) -> None:
        self.config = config

    def __call__(self, *args: str, now: str = "2022-02-05T08:00:00Z", code: int = 0) -> str:
        result = CliRunner().invoke(app, ["--config", str(self.config), "--now", now, *args])
        assert result.exit_code == code, result.output
        return result.stdout

    def exposure(self, now: str, *args: str) -> dict[str, dict[str, Any]]:
        rows = json.loads(self("exposure", "--json", *args, now=now))
        return {r["asset"]: r for r in rows}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cli(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[tuple[Cli, FixtureSite]]:
    """The inventory imported once per module, on the SQLite default and on PostgreSQL: every test holds on both."""
    folder = tmp_path_factory.mktemp("exposure")
    if request.param == "sqlite":
        database = f"sqlite:///{folder}/tracker.db"
    else:
        database = request.getfixturevalue("postgres_server").create_database("exposure")
    site = FixtureSite().start()
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: '{database}'\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
        "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n",
        encoding="utf-8",
    )
    (folder / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
    runner = Cli(config)
    runner("inventory", "import", str(folder / "hosts.csv"))
    try:
        yield runner, site
    finally:
        site.stop()


def poll_through(cli: Cli, site: FixtureSite, last_stage: str) -> None:
    for stage, now in STAGES:
        site.stage(stage)
        cli("poll", now=now)
        if stage == last_stage:
            return


def test_exposure_follows_the_story_from_the_pull_to_the_reissue(cli: tuple[Cli, FixtureSite]):
    runner, site = cli
    poll_through(runner, site, "08-2021-11-23")
    after_pull = runner.exposure("2021-11-23T09:00:00Z")
    u3 = after_pull["esx-u3.example.com"]
    assert u3["statuses"] == ["pulled"] and u3["severity"] == "critical"
    assert u3["recommended_build"] is None
    assert u3["hold"].startswith("hold: no safe target yet")
    assert after_pull["esx-u2d.example.com"]["statuses"] == ["ok"]  # nothing newer that is not pulled
    assert any("KB 86287" in r for r in after_pull["esx-u2c.example.com"]["reasons"])

    poll_through(runner, site, "09-2022-01-28")
    in_cooldown = runner.exposure("2022-01-28T09:00:00Z")
    assert "cooldown until 2022-02-03" in in_cooldown["esx-u3.example.com"]["hold"]

    after_reissue = runner.exposure("2022-02-05T08:00:00Z")
    for host in ("esx-u3.example.com", "esx-u3b.example.com", "esx-u2d.example.com"):
        assert after_reissue[host]["recommended_build"] == 19193900, host
        assert after_reissue[host]["recommended_release"] == "ESXi 7.0 U3c"
    assert after_reissue["vc-01.example.com"]["recommended_build"] == 19234570
    assert next(iter(after_reissue)) in ("esx-u3.example.com", "esx-u3b.example.com")  # worst first


def test_exposure_filters_by_status_and_cluster(cli: tuple[Cli, FixtureSite]):
    runner, site = cli
    poll_through(runner, site, "09-2022-01-28")
    pulled = runner.exposure("2022-02-05T08:00:00Z", "--status", "pulled")
    assert set(pulled) == {"esx-u3.example.com", "esx-u3b.example.com"}
    prod = runner.exposure("2022-02-05T08:00:00Z", "--cluster", "prod-*")
    assert set(prod) == {"esx-u2c.example.com", "esx-u2d.example.com", "esx-u3.example.com"}
    table = runner("exposure")
    assert "esx-u3.example.com" in table and "ESXi 7.0 U3c (19193900)" in table


def test_a_bad_status_is_refused(cli: tuple[Cli, FixtureSite]):
    runner, _ = cli
    result = CliRunner().invoke(app, ["--config", str(runner.config), "exposure", "--status", "doomed"])
    assert result.exit_code == 2
    assert "unknown status 'doomed'" in result.output
