"""`tracker inventory import / sync-vcenter / list` as a user runs them: all or nothing, dry runs, replacements,
and secrets kept out of every message."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.vcsim import Vcsim
from tracker.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"


class Cli:
    def __init__(self, config: Path) -> None:
        self.config = config

    def run(self, *args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, ["--config", str(self.config), "--now", "2022-02-05T08:00:00Z", *args])
        assert result.exit_code == code, result.output
        return result

    def assets(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.run("inventory", "list", "--json").stdout)
        return rows


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    config = tmp_path / "tracker.yaml"
    config.write_text(f"database: sqlite:///{tmp_path}/tracker.db\n", encoding="utf-8")
    return Cli(config)


def test_an_rvtools_export_imports_and_a_second_import_updates_rather_than_duplicates(cli: Cli, tmp_path: Path):
    first = cli.run("inventory", "import", str(FIXTURES / "RVTools_tabvHost.csv"), "--json")
    added = json.loads(first.stdout)["added"]
    assert len(added) == len(cli.assets()) > 0
    again = json.loads(cli.run("inventory", "import", str(FIXTURES / "RVTools_tabvHost.csv"), "--json").stdout)
    assert again["added"] == [] and again["updated"] == [] and again["unchanged"] == len(added)
    assert len(cli.assets()) == len(added)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("RVTools_tabvHost_bad_version.csv", "row "),
        ("RVTools_tabvHost_duplicates.csv", "listed twice"),
        ("RVTools_tabvHost_missing_columns.csv", "ESX Version"),
        ("empty.csv", "empty"),
        ("picture.csv", ""),
        ("no_rvtools_sheets.xlsx", "vHost"),
    ],
)
def test_a_broken_file_is_refused_whole_with_its_problems_and_the_database_is_unchanged(
    cli: Cli, name: str, expected: str
):
    cli.run("inventory", "import", str(FIXTURES / "inventory.csv"))
    before = cli.assets()
    result = cli.run("inventory", "import", str(FIXTURES / "broken" / name), code=1)
    assert f"{FIXTURES / 'broken' / name}" in result.output
    assert expected in result.output
    assert "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert cli.assets() == before


def test_a_dry_run_shows_the_changes_and_writes_nothing(cli: Cli):
    result = cli.run("inventory", "import", str(FIXTURES / "inventory.csv"), "--dry-run")
    assert "would change" in result.stdout and "dry run: nothing was written" in result.stdout
    assert cli.assets() == []


def test_a_replacing_import_reports_the_hosts_that_vanished(cli: Cli, tmp_path: Path):
    source = FIXTURES / "RVTools_tabvHost.csv"
    cli.run("inventory", "import", str(source))
    lines = source.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    shorter = tmp_path / "RVTools_tabvHost.csv"
    shorter.write_text("".join(lines[:-1]), encoding="utf-8")  # the last host was decommissioned
    gone = lines[-1].split(",")[0]
    report = json.loads(cli.run("inventory", "import", str(shorter), "--replace", "--json").stdout)
    assert report["removed"] == [gone]
    assert gone not in {a["name"] for a in cli.assets()}


def test_import_without_a_path_reads_the_configured_files(tmp_path: Path):
    shutil.copy(FIXTURES / "inventory.yaml", tmp_path / "hosts.yaml")
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/tracker.db\ninventory: {{files: ['{tmp_path / 'hosts.yaml'}']}}\n",
        encoding="utf-8",
    )
    cli = Cli(config)
    cli.run("inventory", "import")
    assert len(cli.assets()) > 0


def test_sync_vcenter_imports_the_hosts_and_the_vcenter_and_never_shows_the_password(
    vcsim: Callable[..., Vcsim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    sim = vcsim(hosts={"esx-01": "7.0.3:18644231", "esx-02": "7.0.2:18538813"}, password="s3cret-Pa55")
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/tracker.db\n"
        f"vcenters:\n  vc-lab: {{host: {sim.host}, port: {sim.port}, user: {sim.user},"
        " password: '${VC_LAB_PASSWORD}', verify_tls: false}\n",
        encoding="utf-8",
    )
    cli = Cli(config)
    monkeypatch.setenv("VC_LAB_PASSWORD", "s3cret-Pa55")
    result = cli.run("inventory", "sync-vcenter", "vc-lab")
    assert "s3cret-Pa55" not in result.output
    assets = {a["name"]: a for a in cli.assets()}
    assert assets["esx-01"]["build"] == 18644231 and assets["esx-01"]["vcenter"] == "vc-lab"
    assert assets["vc-lab"]["kind"] == "vcenter" and assets["vc-lab"]["build"] == 19234570

    monkeypatch.setenv("VC_LAB_PASSWORD", "wrong-Pa55word")
    refused = cli.run("inventory", "sync-vcenter", "vc-lab", code=1)
    assert "wrong-Pa55word" not in refused.output and "s3cret-Pa55" not in refused.output
    assert "nothing was imported" in refused.output
    assert len(cli.assets()) == 3


def test_an_unknown_vcenter_name_is_a_config_error(cli: Cli):
    result = cli.run("inventory", "sync-vcenter", "nope", code=2)
    assert "no vCenter named 'nope'" in result.output
