"""Start-up stays light: `tracker --help` and a poll cycle where every page answered 304 load none of the heavy
libraries (SQLAlchemy alone costs more than such a whole cycle). Modules that must load lazily say so where they
import; this guards it."""

import json
import subprocess
import sys
from pathlib import Path

from tests.support.configs import kb_config
from tests.support.site import FixtureSite
from tests.test_story import STAGES

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "apprise", "jinja2", "bs4", "feedparser", "openpyxl", "pyVmomi")
PROBE = """
import json, sys
from tracker.cli import main
sys.argv = ["tracker", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as done:
    code = done.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[-1])))
print("LOADED=" + json.dumps(heavy), file=sys.stderr)
"""


def loaded(*args: str) -> list[str]:
    """The heavy top-level packages a `tracker` command imported."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("json.loads(sys.argv[-1])", repr(list(HEAVY))), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(line for line in result.stderr.splitlines() if line.startswith("LOADED="))
    heavy: list[str] = json.loads(line.removeprefix("LOADED="))
    return heavy


def test_tracker_help_loads_no_heavy_library():
    assert loaded("--help") == []


QUIET_NOW = "2021-10-06T09:00:00Z"  # a poll of `quiet_config` at this time: every page answers 304


def quiet_config(site: FixtureSite, folder: Path) -> Path:
    """A config (with a channel and a watchlist, as every real config has) polled through the story's first two
    stages, so its next poll at QUIET_NOW is a cycle of unchanged pages."""
    config = kb_config(site, folder)
    text = config.read_text(encoding="utf-8")
    text += "channels:\n  ops: {urls: ['json://127.0.0.1:9/hook']}\n"
    text += "watchlists:\n  - {name: all, products: [esxi], immediate: [ops]}\n"
    config.write_text(text, encoding="utf-8")
    for stage, now in STAGES[:2]:
        site.stage(stage)
        subprocess.run(
            [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", now, "poll"], check=True, timeout=60
        )
    return config


def test_a_cycle_of_unchanged_pages_loads_neither_the_orm_nor_a_parser(site: FixtureSite, tmp_path: Path):
    config = quiet_config(site, tmp_path)
    assert loaded("--config", str(config), "--now", QUIET_NOW, "poll") == []
    assert "sqlalchemy" in loaded("--config", str(config), "--now", QUIET_NOW, "events")  # the probe sees


def test_listing_the_builds_of_a_sqlite_file_loads_no_orm(site: FixtureSite, tmp_path: Path):
    config = kb_config(site, tmp_path)
    subprocess.run([sys.executable, "-m", "tracker.cli", "--config", str(config), "init"], check=True, timeout=60)
    assert loaded("--config", str(config), "builds") == []  # an empty catalog: the first listing a new user asks for
    site.stage(STAGES[0][0])
    subprocess.run(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", STAGES[0][1], "poll"],
        check=True,
        timeout=60,
    )
    assert loaded("--config", str(config), "builds", "--status", "available") == []


def test_the_command_runs_as_the_console_script_and_as_python_dash_m():
    script = Path(sys.executable).parent / "tracker"  # the console script pyproject.toml installs beside python
    for command in ([str(script)], [sys.executable, "-m", "tracker"], [sys.executable, "-m", "tracker.cli"]):
        done = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout and "inventory" in done.stdout and "deliveries" in done.stdout
