"""The service survives its database: two `tracker run` replicas on a PostgreSQL server that is stopped until both
have met the outage (several ticks) and started again. No worker dies: during the outage `tracker health` says the
database cannot be reached, each replica says "database unreachable" once and "database back after N s" once, with
no traceback; after it, every alert queued before the outage and while it began arrives within a minute, none
twice."""

from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text

from tests.support.postgres import start_postgres
from tests.support.queued import opened, outbox_config, queue
from tests.support.receivers import WebhookReceiver
from tests.support.running import Tracker
from tests.support.waiting import wait_until
from tracker.notify.channels import IDEMPOTENCY_HEADER

NOW = "2021-11-19T08:00:00Z"


def test_two_replicas_outlive_a_database_outage_and_deliver_every_alert_once_after_it(tmp_path: Path):
    with start_postgres() as server, WebhookReceiver() as receiver:
        config_file = outbox_config(tmp_path, {"ops": f"json://127.0.0.1:{receiver.port}/ops"})
        text = config_file.read_text(encoding="utf-8")
        url = server.create_database("outage")
        config_file.write_text(text.replace(f"sqlite:///{tmp_path}/tracker.db", url), encoding="utf-8")
        _config, engine = opened(config_file)
        queue(engine, "ops", 3, datetime.fromisoformat(NOW))
        with Tracker(config_file, "run", now=NOW) as one, Tracker(config_file, "run", now=NOW) as two:
            receiver.wait_for(3, timeout=60)
            for replica in (one, two):  # both running (one may have sent all 3 while the other was still starting)
                replica.wait_for_line(lambda line: "stop with Ctrl-C or SIGTERM" in line, timeout=60)
            queue(engine, "ops", 3, datetime.fromisoformat(NOW), first=4)  # as the outage begins
            engine.dispose()
            server.stop()
            for replica in (one, two):  # each has met the outage (the server stays down for several ticks)
                replica.wait_for_line(lambda line: line.startswith("database unreachable:"), timeout=60)
            with Tracker(config_file, "health", now=NOW) as check:
                health = (check.wait(60), check.text)
            server.start()
            wait_until(lambda: len(_keys(receiver)) >= 6, 60, "every alert delivered after the outage")
            wait_until(lambda: _unsent(engine) == 0, 30, "every row recorded sent")  # no send left to duplicate
            for replica in (one, two):  # each has come back (it may be backing off: up to 30 s)
                replica.wait_for_line(lambda line: line.startswith("database back after"), timeout=60)
            for replica in (one, two):
                replica.terminate()
                assert replica.wait(30) == 0, replica.text
        logs = [one.text, two.text]
    keys = _keys(receiver)
    assert (len(set(keys)), max(Counter(keys).values())) == (6, 1), keys  # every alert, none twice
    assert health[0] == 1 and "database" in health[1].lower(), health  # 1: it cannot check, and says why
    for log in logs:
        assert "Traceback" not in log, log
        assert log.count("database unreachable:") == 1, log
        assert log.count("database back after") == 1, log


def _unsent(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(text("SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'SENT')")).scalar_one()
        )


def _keys(receiver: WebhookReceiver) -> list[str | None]:
    return [post.headers.get(IDEMPOTENCY_HEADER) for post in receiver.posts]
