"""`tracker exposure` over more than a thousand hosts: `--json` is written a row at a time and still reads as the
same rows (`exposure_item` of each assessed asset, worst first), and the text ends with the counts by severity."""

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from tracker.cli import app
from tracker.config import load_config
from tracker.jobs.inventory import assess_exposure
from tracker.listings import exposure_item
from tracker.store.db import make_engine

NOW = "2022-03-01T08:00:00Z"
BUILDS = ["VMware ESXi 7.0.3 build-18644231", "VMware ESXi 7.0.2 build-17867351", "VMware ESXi 6.7.0 build-8169922", ""]


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--config", str(config), "--now", NOW, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_long_json_listing_is_streamed_as_the_same_rows_and_the_text_counts_them_by_severity(tmp_path: Path):
    config = tmp_path / "tracker.yaml"
    config.write_text(f"database: 'sqlite:///{tmp_path}/tracker.db'\nsources: []\n", encoding="utf-8")
    rows = ["name,kind,build,version,vcenter,datacenter,cluster,tags,owner,vibs"]
    for n in range(1001):
        version = BUILDS[n % len(BUILDS)] or "VMware ESXi 7.0.3"
        rows.append(f'esx-{n:04d}.example.com,esxi,,{version},vc-{n % 3},dc,"prod-{n % 7}",,team,')
    (tmp_path / "hosts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _cli(config, "inventory", "import", str(tmp_path / "hosts.csv"))

    listed = json.loads(_cli(config, "exposure", "--json"))
    loaded = load_config(str(config))
    assessed = assess_exposure(loaded, make_engine(loaded.database), datetime(2022, 3, 1, 8, tzinfo=UTC))
    assert listed == [exposure_item(e) for e in assessed] and len(listed) == 1001

    text = _cli(config, "exposure")
    by_severity = text[text.index("by severity: ") :].split("\n")[0]
    counted = {p.split(" ")[1]: int(p.split(" ")[0]) for p in by_severity.removeprefix("by severity: ").split(", ")}
    assert list(counted) == ["critical", "important", "moderate", "low", "none"] and sum(counted.values()) == 1001
    assert counted == {s: sum(1 for r in listed if r["severity"] == s) for s in counted}
