"""Delivery under faults, the digest's schedule, snoozes and bad alert config, against real local receivers.

Each test polls the story up to the pull of ESXi 7.0 U3 (stage 06), which raises three pulled events the
watchlist `prod-esxi` hears about on its channels.
"""

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import Cli
from tests.support.receivers import MailReceiver, WebhookReceiver
from tests.support.site import FixtureSite
from tests.test_exposure_story import INVENTORY
from tests.test_story import STAGES
from tracker.cli import app
from tracker.config import load_config
from tracker.store.db import make_engine
from tracker.store.outbox import ClaimTerms, Cursor, claim_next

PULL_DAY = "2021-11-19T08:00:00Z"
SECRET = "tok-9f8e7d6c5b4a"


@pytest.fixture
def world(
    tmp_path: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Cli, WebhookReceiver, MailReceiver, Path]]:
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    with WebhookReceiver() as hook, MailReceiver() as mail:
        config = tmp_path / "tracker.yaml"
        config.write_text(
            f"database: sqlite:///{tmp_path}/tracker.db\n"
            "timezone: Europe/Berlin\n"
            "sources:\n"
            f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
            "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n"
            "channels:\n"
            f"  ops-hook: {{urls: ['json://{hook.url('/hook').removeprefix('http://')}?:token=${{HOOK_TOKEN}}']}}\n"
            f"  team-mail: {{urls: ['{mail.url('team@example.com')}']}}\n"
            "watchlists:\n"
            "  - {name: prod-esxi, products: [esxi], lines: ['7.0'], events: [pulled, reissued],\n"
            "     immediate: [ops-hook], digest: [team-mail]}\n"
            "digest: {schedule: '0 8 * * *', send_when_empty: true}\n",
            encoding="utf-8",
        )
        (tmp_path / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
        cli = Cli(config)
        cli("inventory", "import", str(tmp_path / "hosts.csv"), now=STAGES[0][1])
        yield cli, hook, mail, tmp_path


def poll_until_the_pull(cli: Cli, site: FixtureSite, before_last: bool = False) -> None:
    stages = STAGES[:6]
    for stage, now in stages[:-1] if before_last else stages:
        site.stage(stage)
        cli("poll", now=now)


def test_a_receiver_that_is_down_gets_the_messages_after_the_retry(world, site: FixtureSite):
    cli, hook, _, _ = world
    poll_until_the_pull(cli, site, before_last=True)
    hook.go_down()
    site.stage(STAGES[5][0])
    cli("poll", now=PULL_DAY)
    waiting = cli.json("deliveries", "--status", "pending", now=PULL_DAY)
    assert len(waiting) == 3 and all(r["attempts"] == 1 for r in waiting)
    assert waiting[0]["next_attempt_at"] == "2021-11-19T08:01:00Z"  # the first retry, a minute later
    hook.come_up()
    cli("poll", now="2021-11-19T08:00:30Z")  # not yet due
    assert hook.posts == []
    cli("poll", now="2021-11-19T08:01:00Z")
    assert len(hook.wait_for(3)) == 3
    assert {r["status"] for r in cli.json("deliveries", now="2021-11-19T08:02:00Z")} == {"sent"}


def test_a_receiver_answering_500_forever_is_marked_failed_and_can_be_retried(world, site: FixtureSite):
    cli, hook, _, _ = world
    hook.fail_always()
    poll_until_the_pull(cli, site)
    times = [
        "2021-11-19T08:01:00Z",
        "2021-11-19T08:06:00Z",
        "2021-11-19T08:36:00Z",
        "2021-11-19T10:36:00Z",
        "2021-11-19T16:36:00Z",
        "2021-11-19T22:36:00Z",
        "2021-11-20T04:36:00Z",
        "2021-11-20T10:36:00Z",
    ]
    for now in times:
        cli("poll", now=now)
    failed = cli.json("deliveries", "--status", "failed", now="2021-11-20T11:00:00Z")
    assert len(failed) == 3
    assert all("500" in (r["last_error"] or "") for r in failed)
    assert all(r["attempts"] >= 7 for r in failed)
    hook.recover()
    tried = len(hook.posts)  # the receiver keeps what it refused too
    cli("deliveries", "retry", str(failed[0]["id"]), now="2021-11-20T11:00:00Z")
    assert len(hook.wait_for(tried + 1)) == tried + 1
    assert cli.json("deliveries", "--status", "sent", now="2021-11-20T11:01:00Z")[0]["id"] == failed[0]["id"]


def test_a_process_killed_between_claim_and_record_delivers_exactly_once_after_restart(world, site: FixtureSite):
    cli, hook, _, _folder = world
    hook.go_down()  # the alerts are queued, not yet delivered
    poll_until_the_pull(cli, site)
    hook.come_up()
    config = load_config(str(cli.config))
    engine = make_engine(config.database)
    from tracker.config import clock

    claimed_at = clock("2021-11-19T08:01:00Z")
    # Claims are timed on the real clock whatever --now says: two claimed two minutes ago, one just now ...
    minutes_ago = ClaimTerms(clock=lambda: datetime.now(UTC) - timedelta(minutes=2))
    first = claim_next(engine, Cursor("ops-hook", claimed_at), minutes_ago)
    second = claim_next(engine, Cursor("ops-hook", claimed_at, after=first.id or 0), minutes_ago)
    assert first is not None and second is not None
    assert claim_next(engine, Cursor("ops-hook", claimed_at, after=second.id or 0), ClaimTerms()) is not None
    # ... and the process dies here
    cli("poll", now="2021-11-19T08:05:00Z")  # the stale claims are taken over and sent once; the fresh one holds
    assert len(hook.wait_for(2)) == 2
    cli("poll", now="2021-11-19T09:00:00Z")
    assert len(hook.posts) == 2
    assert [r["status"] for r in cli.json("deliveries", now="2021-11-19T09:00:00Z")] == ["sent", "sent", "sending"]


def test_a_secret_in_a_channel_url_never_appears_in_output_or_logs(
    world, site: FixtureSite, caplog: pytest.LogCaptureFixture
):
    cli, hook, _, _ = world
    caplog.set_level(logging.DEBUG)
    hook.fail_next(1)
    poll_until_the_pull(cli, site)
    cli("poll", now="2021-11-19T08:01:00Z")
    cli("deliveries", now="2021-11-19T08:02:00Z")
    cli.json("deliveries", now="2021-11-19T08:02:00Z")
    cli("notify", "test", "ops-hook", now="2021-11-19T08:02:00Z")
    assert hook.posts and hook.posts[0].json  # the secret did reach the receiver (it is part of the URL)
    everything = "\n".join(cli.outputs) + caplog.text
    assert SECRET not in everything
    assert "***" in "\n".join(cli.outputs)


def test_notify_test_reports_per_target(world):
    cli, hook, mail, _ = world
    report = cli.json("notify", "test", "team-mail", now=PULL_DAY)
    assert report["targets"][0]["ok"] is True
    assert mail.wait_for(1)[0].subject == "[Release Tracker] test message"
    hook.fail_always()
    failing = CliRunner().invoke(app, ["--config", str(cli.config), "notify", "test", "ops-hook", "--json"])
    assert failing.exit_code == 1
    assert json.loads(failing.stdout)["targets"][0]["ok"] is False


def test_the_digest_goes_out_once_at_8_in_the_configured_time_zone(world, site: FixtureSite):
    cli, _, mail, _folder = world
    poll_until_the_pull(cli, site)
    config = load_config(str(cli.config))
    engine = make_engine(config.database)
    from tracker.config import clock
    from tracker.jobs.delivery import digest_tick

    assert digest_tick(config, engine, clock("2021-11-19T09:00:00Z")) == "digest: nothing due"  # starts the schedule
    assert digest_tick(config, engine, clock("2021-11-20T06:59:00Z")) == "digest: nothing due"  # 07:59 Berlin
    assert "1 queued, 1 sent" in digest_tick(config, engine, clock("2021-11-20T07:01:00Z"))
    restarted = load_config(str(cli.config))  # a restart: nothing kept in memory
    assert digest_tick(restarted, make_engine(config.database), clock("2021-11-20T07:05:00Z")) == "digest: nothing due"
    digest = mail.wait_for(1)[0]
    assert "Digest" in digest.subject or "digest" in digest.subject
    assert "18644231" in (digest.html or digest.text or "")  # the pull of 7.0 U3 on the 19th
    assert len(mail.messages) == 1


def test_a_restart_after_8_still_sends_the_due_digest_once(world, site: FixtureSite):
    cli, _, mail, _ = world
    config = load_config(str(cli.config))
    from tracker.config import clock
    from tracker.jobs.delivery import digest_tick

    digest_tick(config, make_engine(config.database), clock("2021-11-19T07:30:00Z"))  # running on the 19th
    # the service was down over 08:00 Berlin on the 20th; it comes back at 08:20
    assert "1 queued, 1 sent" in digest_tick(config, make_engine(config.database), clock("2021-11-20T07:20:00Z"))
    assert digest_tick(config, make_engine(config.database), clock("2021-11-20T07:21:00Z")) == "digest: nothing due"
    assert len(mail.wait_for(1)) == 1


def test_an_empty_day_sends_a_digest_that_says_so_unless_told_not_to(world, tmp_path: Path):
    cli, _, mail, _ = world
    cli("digest", "--send", now="2021-11-20T07:00:00Z")
    assert "nothing" in (mail.wait_for(1)[0].html or "").lower()
    quiet = cli.config.read_text(encoding="utf-8").replace("send_when_empty: true", "send_when_empty: false")
    cli.config.write_text(quiet, encoding="utf-8")
    out = cli("digest", "--send", now="2021-11-21T07:00:00Z")
    assert out.startswith("0 digests queued")
    assert len(mail.messages) == 1


def test_a_snoozed_host_leaves_immediate_alerts(world, site: FixtureSite):
    cli, hook, _, _ = world
    poll_until_the_pull(cli, site)
    cli(
        "snooze",
        "add",
        "--asset",
        "esx-u3.example.com",
        "--until",
        "2022-03-01",
        "--reason",
        "change window Mar 1",
        now="2021-11-19T09:00:00Z",
    )
    before = len(hook.wait_for(3))
    for stage, now in STAGES[6:]:
        site.stage(stage)
        cli("poll", now=now)
    reissue = next(p for p in hook.wait_for(before + 1) if "19193900" in p.json["title"])
    assert "esx-u3.example.com" not in reissue.json["message"]  # still pulled, same advice: the snooze holds
    assert "esx-u3b.example.com" in reissue.json["message"]
    snoozes = cli.json("snooze", "list", now="2022-01-28T09:00:00Z")
    assert snoozes[0]["state"] == "standing" and snoozes[0]["reason"] == "change window Mar 1"


def test_a_snooze_reopens_when_its_finding_changes(world, site: FixtureSite):
    cli, hook, _, _ = world
    poll_until_the_pull(cli, site, before_last=True)
    cli(
        "snooze",
        "add",
        "--asset",
        "esx-u3.example.com",
        "--until",
        "2021-12-01",
        "--reason",
        "change window",
        now="2021-11-18T09:00:00Z",
    )  # then it was merely behind
    site.stage(STAGES[5][0])
    cli("poll", now=PULL_DAY)  # now its build is pulled: a material change
    u3 = next(p for p in hook.wait_for(3) if "18644231" in p.json["title"])
    assert "esx-u3.example.com" in u3.json["message"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("watchlists:\n  - {name: w, immediate: [nowhere]}\n", "unknown channel 'nowhere'"),
        ("digest: {schedule: '0 25 * * *'}\n", "expected a cron schedule"),
        ("channels:\n  bad: {urls: ['nosuchscheme://x']}\n", "channels.bad.urls[0]"),
    ],
)
def test_bad_alert_config_is_a_clear_error_at_start_up(tmp_path: Path, extra: str, message: str):
    config = tmp_path / "tracker.yaml"
    config.write_text(f"database: sqlite:///{tmp_path}/t.db\n{extra}", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "poll"])
    assert result.exit_code == 2
    assert message in result.output
    assert str(config) in result.output


def test_a_leap_day_digest_schedule_queues_no_new_period_tick_after_tick(world):
    cli, _, mail, _ = world
    text = cli.config.read_text(encoding="utf-8").replace("schedule: '0 8 * * *'", "schedule: '0 8 29 2 *'")
    cli.config.write_text(text, encoding="utf-8")
    config = load_config(str(cli.config))
    engine = make_engine(config.database)
    from datetime import timedelta

    from tracker.config import clock
    from tracker.jobs.delivery import digest_tick

    start = clock("2021-11-19T09:00:00Z")
    said = [digest_tick(config, engine, start + timedelta(minutes=minute)) for minute in range(0, 180)]
    assert set(said) == {"digest: nothing due"}  # the last fire was 2020-02-29: no period ends in these 3 hours
    assert "1 queued" in digest_tick(config, engine, clock("2024-02-29T07:00:00Z"))  # 08:00 Berlin, a leap day
    assert digest_tick(config, engine, clock("2024-02-29T07:01:00Z")) == "digest: nothing due"
    assert len(mail.wait_for(1)) == 1


@pytest.mark.parametrize("schedule", ["0 8 31 2 *", "0 25 * * *", "every day"])
def test_a_digest_schedule_that_never_fires_or_is_not_cron_is_refused_at_load(tmp_path: Path, schedule: str):
    config = tmp_path / "tracker.yaml"
    config.write_text(f"database: sqlite:///{tmp_path}/t.db\ndigest: {{schedule: '{schedule}'}}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "sources"])
    assert result.exit_code == 2
    assert "digest.schedule" in result.output and "expected a cron schedule such as '0 8 * * *'" in result.output


def test_a_snooze_that_reopens_is_told_once_with_the_asset_the_change_and_the_old_reason(world, site: FixtureSite):
    cli, hook, _, _ = world
    poll_until_the_pull(cli, site, before_last=True)
    cli("snooze", "add", "--asset", "esx-u3.example.com", "--until", "2021-12-01", "--reason", "change window",
        now="2021-11-18T09:00:00Z")  # fmt: skip
    site.stage(STAGES[5][0])
    cli("poll", now=PULL_DAY)  # its build is pulled: a material change
    cli("run", "--once", now="2021-11-19T08:01:00Z")  # the service's next minute
    cli("run", "--once", now="2021-11-19T08:02:00Z")
    reminders = [p for p in hook.posts if "REOPENED" in p.json["title"]]
    assert len(reminders) == 1, [p.json["title"] for p in hook.posts]
    text = reminders[0].json["message"]
    assert "esx-u3.example.com" in reminders[0].json["title"] and "esx-u3.example.com" in text
    assert "its finding changed" in text and "pulled" in text  # why it reopened
    assert "change window" in text  # the old snooze's reason
    listed = cli.json("snooze", "list", now="2021-11-19T09:00:00Z")
    assert listed[0]["state"].startswith("reopened: its finding changed")


def test_a_snooze_that_runs_out_is_told_once(world, site: FixtureSite):
    cli, hook, _, _ = world
    poll_until_the_pull(cli, site)
    cli("snooze", "add", "--asset", "esx-u3.example.com", "--until", "2021-11-20", "--reason", "waiting for U3c",
        now="2021-11-19T09:00:00Z")  # fmt: skip
    cli("run", "--once", now="2021-11-19T22:59:00Z")
    assert not [p for p in hook.posts if "REOPENED" in p.json["title"]]  # still snoozed
    cli("run", "--once", now="2021-11-19T23:01:00Z")  # midnight in Berlin, the config's zone, where the day is read
    cli("run", "--once", now="2021-11-19T23:02:00Z")
    reminders = [p for p in hook.posts if "REOPENED" in p.json["title"]]
    assert len(reminders) == 1
    assert "ran out on 2021-11-20" in reminders[0].json["message"] and "waiting for U3c" in reminders[0].json["message"]
