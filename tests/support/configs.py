"""Configs the tests write: the two KB build tables of the story (ESXi 316595, vCenter 326316) on the fixture site."""

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.site import FixtureSite

if TYPE_CHECKING:
    from tests.support.cli import Cli


def kb_config(site: FixtureSite, folder: Path, database: str | None = None) -> Path:
    """`folder`/tracker.yaml polling both KB tables (their release-notes links followed); the database is a SQLite
    file in `folder` unless `database` (any SQLAlchemy URL) is given."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: {json.dumps(database or f'sqlite:///{folder}/tracker.db')}\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
        "http: {politeness_delay: 0, follow_limit: 500}\n",
        encoding="utf-8",
    )
    return config


def replay(site: FixtureSite, folder: Path, stages: list[tuple[str, str]], database: str | None = None) -> "Cli":
    """`tracker poll` at each (stage, --now) of the story on `kb_config`; the CLI, to read the result with."""
    from tests.support.cli import Cli

    cli = Cli(kb_config(site, folder, database))
    for stage, now in stages:
        site.stage(stage)
        cli("poll", now=now)
    return cli
