"""An outbox with messages already queued, without a poll: a config with one webhook channel per receiver, and
real-shaped alerts (tests/notify/samples.py, one per event id) queued for a channel in a SQLite file.

    config = outbox_config(folder, {"ops": f"json://127.0.0.1:{hook.port}/ops"}, delivery="{claim_timeout: 3s}")
    queue(config, "ops", count=3, now=NOW)
"""

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from tests.notify.samples import pulled
from tracker.config import Config, load_config
from tracker.notify.pipeline import alert_payload
from tracker.store import MessageKind
from tracker.store.db import make_engine, migrate, session_scope
from tracker.store.outbox import Message, enqueue


def outbox_config(folder: Path, channels: dict[str, str], delivery: str = "", service: str = "{tick: 1s}") -> Path:
    """`folder`/tracker.yaml: a SQLite file in `folder`, no sources, these channels (name: apprise URL)."""
    lines = "".join(f"  {name}: {{urls: [{json.dumps(url)}]}}\n" for name, url in channels.items())
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{folder}/tracker.db\n"
        f"service: {service}\n"
        + (f"delivery: {delivery}\n" if delivery else "")
        + "digest: {schedule: '0 0 1 1 *'}\n"
        + f"channels:\n{lines}",
        encoding="utf-8",
    )
    return config


def opened(config_file: Path) -> tuple[Config, Engine]:
    config = load_config(str(config_file))
    engine = make_engine(config.database)
    migrate(engine)
    return config, engine


def queue(engine: Engine, channel: str, count: int, now: datetime, first: int = 1) -> list[int]:
    """Queue `count` pull alerts (event ids first..first+count-1) for the channel; their event ids."""
    ids = list(range(first, first + count))
    with session_scope(engine) as session:
        for event_id in ids:
            payload = alert_payload(replace(pulled(), event_id=event_id, build=18644231 + event_id))
            enqueue(session, Message(f"event:{event_id}", channel, MessageKind.ALERT, payload, event_id), now)
    return ids
