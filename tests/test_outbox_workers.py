"""Two workers draining one outbox at the same moment (two `tracker run` replicas, or a `tracker poll` beside the
service) send every message exactly once: claims are atomic on SQLite and on PostgreSQL."""

from collections import Counter
from pathlib import Path

from tests.support.cli import Cli
from tests.support.receivers import WebhookReceiver
from tests.support.site import FixtureSite
from tests.support.together import together
from tests.test_exposure_story import INVENTORY
from tests.test_story import STAGES
from tracker.config import clock, load_config
from tracker.notify.outbox import WorkReport, work_outbox
from tracker.store.db import make_engine

CHANNELS = 40
PULL_DAY = "2021-11-19T08:00:00Z"
LATER = "2021-11-19T08:05:00Z"


def test_two_workers_at_once_send_each_message_exactly_once(database: str, site: FixtureSite, tmp_path: Path) -> None:
    with WebhookReceiver() as hook:
        channels = "".join(
            f"  hook-{n:02d}: {{urls: ['json://{hook.url(f'/hook/{n:02d}').removeprefix('http://')}']}}\n"
            for n in range(CHANNELS)
        )
        config_file = tmp_path / "tracker.yaml"
        config_file.write_text(
            f"database: '{database}'\n"
            "sources:\n"
            f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
            "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n"
            f"channels:\n{channels}"
            "watchlists:\n"
            "  - {name: prod-esxi, products: [esxi], lines: ['7.0'], events: [pulled],\n"
            f"     immediate: [{', '.join(f'hook-{n:02d}' for n in range(CHANNELS))}]}}\n",
            encoding="utf-8",
        )
        (tmp_path / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
        cli = Cli(config_file)
        cli("inventory", "import", str(tmp_path / "hosts.csv"), now=STAGES[0][1])
        hook.go_down()  # the pulls' alerts are queued, none delivered yet
        for stage, now in STAGES[:6]:
            site.stage(stage)
            cli("poll", now=now)
        pending = cli.json("deliveries", "--status", "pending", now=PULL_DAY)
        assert len(pending) == 3 * CHANNELS  # three pulled events, one message per channel
        hook.come_up()

        config = load_config(str(config_file))

        def worker() -> WorkReport:
            engine = make_engine(config.database)  # its own engine and connections, as another process has
            return work_outbox(config, engine, clock(LATER))

        reports = together([worker, worker])
        assert len(reports) == 2
        posts = hook.wait_for(3 * CHANNELS)
        per_channel = Counter(post.path for post in posts)
        assert per_channel == {f"/hook/{n:02d}": 3 for n in range(CHANNELS)}
        assert sum(r.sent for r in reports) == 3 * CHANNELS
        assert {r["status"] for r in cli.json("deliveries", now=LATER)} == {"sent"}
