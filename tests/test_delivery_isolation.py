"""A hung receiver costs only its own channel: the other channels' messages arrive while it hangs, through
`tracker poll`, `tracker run --once` and the service; each send has a deadline, and the attempt that misses it is
recorded as a failure to retry, with no secret in its error.

Each test polls the 7.0 U3 story up to the day before the pull in-process, then runs the pull's poll (stage 06:
three pulled events, one message per event and channel) in a separate `tracker` process, as cron or the service
would, while the `stuck` channel's receiver holds every request it gets.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.holding import HoldingReceiver
from tests.support.receivers import WebhookReceiver
from tests.support.running import Tracker
from tests.support.site import FixtureSite
from tests.test_exposure_story import INVENTORY
from tests.test_story import STAGES

PULL_DAY = STAGES[5][1]
SECRET = "tok-51f0a9e2d7c4"
ENV = {"STUCK_TOKEN": SECRET}
EVENTS = 3  # the pulls of 7.0 U3, U3a and U3b
STARTED_WITHIN = 30  # seconds a `tracker` process may take to start, poll and send (a loaded 2-core machine)
ENTRY_POINTS = [pytest.param(("poll",), id="tracker poll"), pytest.param(("run", "--once"), id="tracker run --once")]


class World:
    def __init__(self, folder: Path, site: FixtureSite, ops: WebhookReceiver, stuck: HoldingReceiver) -> None:
        self.folder, self.site, self.ops, self.stuck = folder, site, ops, stuck
        self.config = folder / "tracker.yaml"

    def write(self, delivery: str = "", service: str = "{tick: 1s}") -> Path:
        """The config: two channels that hear of every pull, `ops` (healthy) and `stuck` (its token a secret)."""
        delivery_line = f"delivery: {delivery}\n" if delivery else ""
        self.config.write_text(
            f"database: sqlite:///{self.folder}/tracker.db\n"
            "sources:\n"
            f"  - {{id: esxi-kb, kind: kb_build_table, url: '{self.site.url('/kb/316595.html')}', product: esxi}}\n"
            "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n"
            f"service: {service}\n"
            f"{delivery_line}"
            "channels:\n"
            f"  ops: {{urls: ['json://127.0.0.1:{self.ops.port}/ops']}}\n"
            f"  stuck: {{urls: ['json://127.0.0.1:{self.stuck.port}/stuck?:token=${{STUCK_TOKEN}}']}}\n"
            "watchlists:\n"
            "  - {name: prod-esxi, products: [esxi], lines: ['7.0'], events: [pulled], immediate: [stuck, ops]}\n"
            "digest: {schedule: '0 0 1 1 *'}\n",
            encoding="utf-8",
        )
        return self.config

    def until_the_day_before_the_pull(self) -> Cli:
        cli = Cli(self.config)
        (self.folder / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
        cli("inventory", "import", str(self.folder / "hosts.csv"), now=STAGES[0][1])
        for stage, now in STAGES[:5]:
            self.site.stage(stage)
            cli("poll", now=now)
        self.site.stage(STAGES[5][0])
        return cli


@pytest.fixture
def world(tmp_path: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("STUCK_TOKEN", SECRET)
    with WebhookReceiver() as ops, HoldingReceiver() as stuck:
        stuck.hold()
        yield World(tmp_path, site, ops, stuck)


@pytest.mark.parametrize("command", ENTRY_POINTS)
def test_a_hung_receiver_delays_no_other_channel(world: World, command: tuple[str, ...]):
    world.write()  # the default deadline, 30 s: the healthy messages arrive long before it (WAIT, 10 s)
    world.until_the_day_before_the_pull()
    with Tracker(world.config, *command, now=PULL_DAY, env=ENV) as tracker:
        world.stuck.wait_for(1, STARTED_WITHIN)  # the stuck channel's first message is in flight, and hangs
        posts = world.ops.wait_for(EVENTS)  # ... while every healthy message arrives
        assert tracker.process.poll() is None, "the hung send is still in flight"
        assert len(world.stuck.posts) == 1, "the stuck channel sends one message at a time, in order"
        world.stuck.release()
        assert tracker.wait(30) == 0
    titles = sorted(p.json["title"].split(" — ")[0] for p in posts)
    assert titles == [
        f"[Release Tracker] PULLED: ESXi 7.0 {r}" for r in ("U3 (18644231)", "U3a (18825058)", "U3b (18905247)")
    ]
    assert len(world.stuck.wait_for(EVENTS)) == EVENTS  # once released, the stuck channel's rest goes out too


@pytest.mark.parametrize("command", ENTRY_POINTS)
def test_a_send_that_misses_its_deadline_fails_and_is_retried_without_showing_the_token(
    world: World, command: tuple[str, ...]
):
    world.write(delivery="{deadline: 2s}")
    cli = world.until_the_day_before_the_pull()
    with Tracker(world.config, *command, now=PULL_DAY, env=ENV) as tracker:
        assert tracker.wait(60) == 0, tracker.text  # it used to hang as long as the receiver did: for ever
    assert len(world.ops.wait_for(EVENTS)) == EVENTS
    assert len(world.stuck.posts) == 1, "one late send stalls its channel for this pass, not once per message"
    rows = {(r["channel"], r["status"]) for r in cli.json("deliveries", now=PULL_DAY)}
    assert rows == {("ops", "sent"), ("stuck", "pending")}
    [late] = [r for r in cli.json("deliveries", now=PULL_DAY) if r["channel"] == "stuck" and r["attempts"]]
    assert "no answer within the delivery deadline (2 s)" in late["last_error"]
    assert late["next_attempt_at"] == "2021-11-19T08:01:00Z"  # retried like any transient failure
    everything = tracker.text + "\n".join(cli.outputs) + str(cli.json("deliveries", now=PULL_DAY))
    assert SECRET not in everything
    world.stuck.release()
    cli("poll", now="2021-11-19T08:02:00Z")
    assert {r["status"] for r in cli.json("deliveries", now="2021-11-19T08:02:00Z")} == {"sent"}


def test_the_service_delivers_the_other_channels_and_goes_on_polling_while_a_receiver_hangs(world: World):
    world.write()
    world.until_the_day_before_the_pull()
    with Tracker(world.config, "run", now=PULL_DAY, env=ENV) as service:
        world.stuck.wait_for(1, STARTED_WITHIN)
        assert len(world.ops.wait_for(EVENTS)) == EVENTS
        service.wait_for_line(lambda line: line.startswith("poll: "), count=3)  # a tick a second, still polling
        assert len(world.stuck.posts) == 1 and service.process.poll() is None
        world.stuck.release()
        assert len(world.stuck.wait_for(EVENTS)) == EVENTS
        service.terminate()
        assert service.wait(30) == 0
    assert "Traceback" not in service.text
