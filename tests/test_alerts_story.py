"""Alerts end to end: inventory imported, the 7.0 U3 story polled through `tracker poll`, and what a real SMTP server
(aiosmtpd) and a real webhook receiver on 127.0.0.1 got: one message per event per channel, naming the right hosts
and the target, none for events no watchlist concerns, none twice."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.receivers import MailReceiver, WebhookReceiver
from tests.support.site import FixtureSite
from tests.test_exposure_story import INVENTORY
from tests.test_story import STAGES

U3, U3A, U3B, U3C = 18644231, 18825058, 18905247, 19193900


def write_config(folder: Path, site: FixtureSite, mail: MailReceiver, hook: WebhookReceiver, extra: str = "") -> Path:
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{folder}/tracker.db\n"
        "timezone: Europe/Berlin\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
        "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n"
        "channels:\n"
        f"  ops-mail: {{urls: ['{mail.url('ops@example.com')}']}}\n"
        f"  ops-hook: {{urls: ['json://{hook.url('/hook').removeprefix('http://')}']}}\n"
        "watchlists:\n"
        "  - {name: prod-esxi, owner: vsphere-team, products: [esxi], lines: ['7.0'], clusters: ['prod-*'],\n"
        "     events: [pulled, reissued, restored], immediate: [ops-mail, ops-hook], digest: [ops-mail]}\n" + extra,
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, MailReceiver, WebhookReceiver]]:
    folder = tmp_path_factory.mktemp("alerts")
    site = FixtureSite().start()
    with MailReceiver() as mail, WebhookReceiver() as hook:
        cli = Cli(write_config(folder, site, mail, hook))
        (folder / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
        cli("inventory", "import", str(folder / "hosts.csv"), now=STAGES[0][1])
        for stage, now in STAGES:
            site.stage(stage)
            cli("poll", now=now)
        cli("poll", now="2022-01-28T09:00:00Z")  # unchanged pages: nothing new, nothing re-sent
        try:
            yield cli, mail, hook
        finally:
            site.stop()


def test_each_concerning_event_reaches_each_channel_exactly_once(story: tuple[Cli, MailReceiver, WebhookReceiver]):
    _cli, mail, hook = story
    subjects = [m.subject for m in mail.messages]
    assert len(subjects) == 4, subjects
    assert [s.split(":")[0] for s in subjects] == ["[Release Tracker] PULLED"] * 3 + ["[Release Tracker] REISSUED"]
    for build in (U3B, U3, U3A, U3C):
        assert sum(str(build) in s for s in subjects) == 1, (build, subjects)
    posts = hook.posts
    assert len(posts) == 4
    assert sorted(p.json["title"] for p in posts) == sorted(subjects)
    assert [tuple(m.to) for m in mail.messages] == [("ops@example.com",)] * 4


def test_events_no_watchlist_concerns_send_nothing(story: tuple[Cli, MailReceiver, WebhookReceiver]):
    _, mail, _ = story
    text = " ".join(m.subject for m in mail.messages)
    assert "NEW" not in text  # new builds: not in the watchlist's event kinds
    assert "vCenter" not in text  # vCenter U3b's pull: the watchlist watches ESXi only


def test_the_messages_name_the_watchlists_hosts_and_the_target(story: tuple[Cli, MailReceiver, WebhookReceiver]):
    _, mail, _ = story
    by_build = {b: next(m for m in mail.messages if str(b) in m.subject) for b in (U3, U3B, U3C)}
    pulled_u3 = by_build[U3].html
    assert "esx-u3.example.com" in pulled_u3
    assert "esx-u3b.example.com" not in pulled_u3  # cluster lab is not the watchlist's
    assert "hold: no safe target yet" in pulled_u3
    reissue = by_build[U3C].html
    assert "esx-u3.example.com" in reissue and "19193900" in reissue
    assert "18644231" in reissue  # what it replaces
    lab_pull = by_build[U3B].html  # no asset of the watchlist runs U3b: it still matters before a rollout
    assert "esx-u3b.example.com" not in lab_pull


def test_deliveries_shows_every_message_sent_with_each_target(story: tuple[Cli, MailReceiver, WebhookReceiver]):
    cli, _, _ = story
    rows = cli.json("deliveries", now="2022-01-28T10:00:00Z")
    assert len(rows) == 8 and {r["status"] for r in rows} == {"sent"}
    assert {r["channel"] for r in rows} == {"ops-mail", "ops-hook"}
    assert all(len(r["targets"]) == 1 and r["targets"][0]["ok"] for r in rows)


def test_the_digest_preview_tells_the_period(story: tuple[Cli, MailReceiver, WebhookReceiver]):
    cli, _, _ = story
    text = cli("digest", "--preview", now="2022-01-28T10:00:00Z")
    assert "digest for ops-mail" in text
    assert "19193900" in text


def test_one_event_reads_the_same_time_in_the_configured_zone_on_every_face(
    story: tuple[Cli, MailReceiver, WebhookReceiver],
):
    """timezone: Europe/Berlin; U3c's reissue was observed 2022-01-28 08:00 UTC: 09:00 CET for people, in the alert,
    the digest and `tracker events`; `--json` keeps ISO 8601 with its offset."""
    cli, _, hook = story
    alert = next(p.json["message"] for p in hook.posts if str(U3C) in p.json["title"])
    digest = cli("digest", "--preview", now="2022-01-28T10:00:00Z")
    table = cli("events", "--kind", "reissued", now="2022-01-28T10:00:00Z")
    machine = cli.json("events", "--kind", "reissued", now="2022-01-28T10:00:00Z")
    assert "2022-01-28 09:00 CET" in alert
    assert "2022-01-28 09:00 CET: REISSUED: ESXi 7.0 U3c (19193900)" in digest
    assert "2022-01-28 09:00 CET" in table and "UTC" not in table
    assert [e["observed_at"] for e in machine if e["build"] == U3C] == ["2022-01-28T08:00:00Z"]
