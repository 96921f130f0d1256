"""`tracker health`: exit 0 healthy, 3 degraded with each problem named, 1 when it cannot check, 2 on a bad
config; a source that was never polled is its own state, and a problem once its interval has passed."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import Cli
from tests.support.configs import kb_config
from tests.support.queued import opened, outbox_config, queue
from tests.support.receivers import free_port
from tests.support.site import FixtureSite
from tracker.cli import app
from tracker.domain.health import Facts, FailedDelivery, Readiness, SourceFacts, Status, assess, readiness

NOW = "2021-09-20T08:00:00Z"


def _closed_port_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{folder / 'tracker.db'}\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, product: esxi, url: 'http://127.0.0.1:{free_port()}/kb.html'}}\n"
        "http: {politeness_delay: 0}\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("command", [["poll"], ["run", "--once"]])
def test_a_source_on_a_closed_port_makes_health_exit_3_naming_the_source_and_its_error(
    tmp_path: Path, command: list[str]
):
    cli = Cli(_closed_port_config(tmp_path))
    cli(*command, now=NOW)
    out = cli("health", now=NOW, code=3)
    assert "degraded" in out and "source esxi-kb" in out and "cannot connect" in out
    report = json.loads(cli("health", "--json", now=NOW, code=3))
    assert report["status"] == "degraded"
    assert [p["subject"] for p in report["problems"]] == ["source esxi-kb"]
    assert "Connection refused" in report["problems"][0]["reason"]


def test_polled_sources_that_answer_are_healthy(site: FixtureSite, tmp_path: Path):
    site.stage("01-2021-09-20")
    cli = Cli(kb_config(site, tmp_path))
    cli("poll", now=NOW)
    report = json.loads(cli("health", "--json", now=NOW))
    assert report["status"] == "healthy" and report["problems"] == []
    assert {s["id"]: s["state"] for s in report["sources"]} == {"esxi-kb": "ok", "vcenter-kb": "ok"}


def test_a_source_never_polled_is_not_ok_and_degrades_health_once_its_interval_has_passed(
    site: FixtureSite, tmp_path: Path
):
    cli = Cli(kb_config(site, tmp_path))
    cli("init", now=NOW)
    within = json.loads(cli("health", "--json", now="2021-09-20T08:30:00Z"))
    assert within["status"] == "healthy"
    assert {s["state"] for s in within["sources"]} == {"never polled"}
    sources = json.loads(cli("sources", "--json", now="2021-09-20T08:30:00Z"))
    assert {s["health"] for s in sources if s["configured"]} == {"never polled"}  # not `ok`: the same word

    late = json.loads(cli("health", "--json", now="2021-09-20T09:30:00Z", code=3))
    assert [p["subject"] for p in late["problems"]] == ["source esxi-kb", "source vcenter-kb"]
    assert all("never polled" in p["reason"] for p in late["problems"])


def test_a_service_that_stopped_polling_is_degraded(site: FixtureSite, tmp_path: Path):
    site.stage("01-2021-09-20")
    cli = Cli(kb_config(site, tmp_path))
    cli("poll", now=NOW)
    assert json.loads(cli("health", "--json", now="2021-09-20T09:59:00Z"))["status"] == "healthy"
    stalled = json.loads(cli("health", "--json", now="2021-09-20T10:01:00Z", code=3))
    assert [p["subject"] for p in stalled["problems"]] == ["polling"]
    assert "is `tracker run` running?" in stalled["problems"][0]["reason"]


def test_health_on_a_bad_config_exits_2_and_on_a_database_it_cannot_open_exits_1(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [{id: x, kind: no_such_kind, url: 'http://127.0.0.1/'}]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(bad), "--now", NOW, "health"])
    assert result.exit_code == 2 and "Traceback" not in result.output

    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the database's folder should be", encoding="utf-8")
    config = tmp_path / "db.yaml"
    config.write_text(f"database: sqlite:///{blocked / 'tracker.db'}\nsources: []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "--now", NOW, "health"])
    assert result.exit_code == 1 and "cannot open the database" in result.output


# --- the rules, pure ---------------------------------------------------------------------------------------------
T0 = datetime(2021, 11, 19, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_delivery_failed_for_good_is_a_problem_for_a_week():
    ok = SourceFacts("esxi-kb", "ok", HOUR, T0 - 10 * HOUR, T0, T0)
    failed = FailedDelivery("team-mail", "alert event:17", "SMTP 550 mailbox unavailable", T0 - HOUR)
    verdict = assess(Facts((ok,), (failed,)), T0)
    assert not verdict.healthy
    assert verdict.problems[0].subject == "channel team-mail"
    assert "alert event:17 failed for good: SMTP 550" in verdict.problems[0].reason
    assert (
        assess(Facts((ok,), (failed,)), T0 + timedelta(days=8)).problems[-1].subject == "polling"
    )  # the failure aged out


def test_a_failing_source_reports_since_its_last_success():
    failing = SourceFacts("depot", "failing", HOUR, T0 - 48 * HOUR, T0, T0 - 5 * HOUR, "HTTP 503", T0)
    (problem,) = assess(Facts((failing,)), T0).problems
    assert (problem.subject, problem.reason, problem.since) == ("source depot", "failing: HTTP 503", T0 - 5 * HOUR)


def test_a_channel_that_cannot_be_used_and_a_digest_not_sent_within_an_hour_are_problems():
    ok = SourceFacts("esxi-kb", "ok", HOUR, T0 - 10 * HOUR, T0, T0)
    digest = FailedDelivery("team-mail", "digest digest:2021-11-19T07:00:00+00:00", "SMTP 421", T0 - 2 * HOUR)
    fresh = FailedDelivery("ops", "digest digest:2021-11-19T07:30:00+00:00", None, T0 - timedelta(minutes=20))
    facts = Facts((ok,), unusable=(("ops-slack", "${SLACK_WEBHOOK_URL} is not set"),), unsent_digests=(digest, fresh))
    problems = assess(facts, T0).problems
    assert [(p.subject, p.reason) for p in problems] == [
        ("channel ops-slack", "cannot be used: ${SLACK_WEBHOOK_URL} is not set"),
        ("channel team-mail", "digest digest:2021-11-19T07:00:00+00:00 is overdue: queued, not sent (SMTP 421)"),
    ]


def test_a_message_due_more_than_five_minutes_and_not_sent_is_a_stalled_outbox_named_by_channel():
    ok = SourceFacts("esxi-kb", "ok", HOUR, T0 - 10 * HOUR, T0, T0)
    late = FailedDelivery("ops-slack", "alert event:3", None, T0 - timedelta(minutes=7))
    later = FailedDelivery("ops-slack", "alert event:4", None, T0 - timedelta(minutes=6))
    fresh = FailedDelivery("team-mail", "alert event:5", None, T0 - timedelta(minutes=2))  # within the grace
    [problem] = assess(Facts((ok,), waiting=(later, late, fresh)), T0).problems
    assert (problem.subject, problem.since) == ("channel ops-slack", T0 - timedelta(minutes=7))
    assert problem.reason.startswith("outbox stalled: 2 messages due since")


def test_health_names_a_stalled_outbox_until_its_messages_go_out(tmp_path: Path):
    config_file = outbox_config(tmp_path, {"ops": f"json://127.0.0.1:{free_port()}/ops"})
    _config, engine = opened(config_file)
    queue(engine, "ops", 2, datetime(2021, 11, 19, 8, tzinfo=UTC))
    cli = Cli(config_file)
    cli("health", now="2021-11-19T08:03:00Z")  # due 3 min ago: healthy (exit 0), not stalled yet
    report = json.loads(cli("health", "--json", now="2021-11-19T08:10:00Z", code=3))
    [stalled] = [p for p in report["problems"] if p["subject"] == "channel ops"]
    assert stalled["reason"].startswith("outbox stalled: 2 messages due since 2021-11-19 08:00 UTC, not sent")


def test_each_source_gets_one_state_with_its_reasons_and_only_configured_trouble_is_a_problem():
    polled = SourceFacts("vmsa", "ok", HOUR, T0 - 10 * HOUR, T0, T0)
    fresh = SourceFacts("new-kb", "ok", HOUR, T0 - timedelta(minutes=10))
    late = SourceFacts("late-kb", "ok", HOUR, T0 - 2 * HOUR)
    gone = SourceFacts("old-blog", "failing", HOUR, T0 - 90 * HOUR, T0 - HOUR, None, "HTTP 404", in_config=False)
    failing = SourceFacts("depot", "failing", HOUR, T0 - 48 * HOUR, T0, T0 - 5 * HOUR, "HTTP 503", T0)
    warned = (("vmsa", "advisory_unmapped: VMSA-2022-0004 ..."),)
    verdict = assess(Facts((polled, fresh, late, gone, failing), advisory_warnings=warned), T0)
    states = {s.id: (s.state.value, s.problem) for s in verdict.sources}
    assert states == {
        "vmsa": ("warning", True),  # answered, but what it said could not all be used: never `ok`
        "new-kb": ("never polled", False),  # within its interval
        "late-kb": ("never polled", True),
        "depot": ("failing", True),
        "old-blog": ("removed", False),  # listed last, never a problem
    }
    assert list(states) == ["depot", "late-kb", "new-kb", "vmsa", "old-blog"]
    assert [(p.subject, p.source) for p in verdict.problems] == [
        ("source depot", "depot"),
        ("source late-kb", "late-kb"),
        ("advisories of vmsa", "vmsa"),
    ]
    assert not verdict.every_source_ok and verdict.status == Status.DEGRADED


def test_readiness_is_can_serve_a_degraded_tracker_serves_and_a_stalled_one_does_not():
    ok = SourceFacts("esxi-kb", "ok", HOUR, T0 - 10 * HOUR, T0, T0)
    failing = SourceFacts("depot", "failing", HOUR, T0 - 48 * HOUR, T0, T0 - 5 * HOUR, "HTTP 503", T0)
    degraded = assess(Facts((ok, failing)), T0)
    assert degraded.status == Status.DEGRADED and readiness(degraded, starting=False) == Readiness(True)
    stalled = assess(Facts((ok,)), T0 + 3 * HOUR)
    assert readiness(stalled, starting=False).ready is False
    assert "no source polled for 3 h" in (readiness(stalled, starting=False).reason or "")
    assert readiness(stalled, starting=True) == Readiness(True)  # a service just started gets its grace
    assert readiness(assess(Facts((ok,)), T0), starting=False) == Readiness(True)
