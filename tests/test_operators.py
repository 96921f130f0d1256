"""The operators hear of the tracker's own health at once: a source turning `failing` (with its error), and
`recovered` when it answers again. Through `tracker poll` and through the service's tick (`tracker run --once`),
delivered to a real webhook receiver on 127.0.0.1."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import Cli
from tests.support.receivers import WebhookReceiver
from tests.support.site import FixtureSite
from tracker.cli import app

TIMES = [f"2021-09-20T{h:02d}:00:00Z" for h in range(8, 14)]


def _config(folder: Path, site: FixtureSite, hook: WebhookReceiver, operators: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{folder / 'tracker.db'}\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, product: esxi, interval: 1h, url: '{site.url('/kb/316595.html')}',"
        " follow_links: false}\n"
        "http: {politeness_delay: 0, timeout: 5}\n"
        "policy: {failing_after: 2}\n"
        "channels:\n"
        f"  ops-hook: {{urls: ['json://{hook.url('/ops').removeprefix('http://')}']}}\n"
        f"  team-hook: {{urls: ['json://{hook.url('/team').removeprefix('http://')}']}}\n"
        "watchlists:\n"
        "  - {name: prod-esxi, products: [esxi], events: [pulled, reissued, restored], immediate: [team-hook]}\n"
        f"{operators}",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("command", [["poll"], ["run", "--once"]])
def test_operators_hear_a_source_turn_failing_with_its_error_and_recover(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    site.stage("01-2021-09-20")
    with WebhookReceiver() as hook:
        cli = Cli(_config(tmp_path, site, hook, "operators: {immediate: [ops-hook]}\n"))
        cli(*command, now=TIMES[0])  # the baseline
        site.fail("/kb/316595.html", 503)
        cli(*command, now=TIMES[1])  # an anomaly: once is bad luck
        cli(*command, now=TIMES[2])  # twice in a row: failing
        [failing] = hook.wait_for(1)
        site.clear_faults()
        cli(*command, now=TIMES[3])
        posts = hook.wait_for(2)
    assert [p.path for p in posts] == ["/ops", "/ops"]  # the team's watchlist hears neither
    assert "failing" in str(failing.json).lower() and "esxi-kb" in str(failing.json) and "503" in str(failing.json)
    assert "recovered" in str(posts[1].json).lower() and "esxi-kb" in str(posts[1].json)
    body = failing.json["message"]
    assert body.count("has failed 2 polls in a row") == 1  # said once: no headline, detail and excerpt echo
    assert "How sure" not in body and "Affected" not in body and "tracker health" in body


def test_without_an_operators_route_nobody_is_told_and_the_config_names_unknown_channels(
    site: FixtureSite, tmp_path: Path
):
    site.stage("01-2021-09-20")
    with WebhookReceiver() as hook:
        cli = Cli(_config(tmp_path / "quiet", site, hook, ""))
        cli("poll", now=TIMES[0])
        site.fail("/kb/316595.html", 503)
        cli("poll", now=TIMES[1])
        cli("poll", now=TIMES[2])
        assert hook.posts == []
        bad = _config(tmp_path / "bad", site, hook, "operators: {immediate: [pager]}\n")
    result = CliRunner().invoke(app, ["--config", str(bad), "sources"])
    assert result.exit_code == 2
    assert "operators.immediate: unknown channel 'pager' (channels defined: ops-hook, team-hook)" in result.output


def test_operators_hear_once_of_a_channel_whose_secret_is_unset_and_of_its_messages_failing_for_good(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from tests.test_story import STAGES

    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL_FILE", raising=False)
    with WebhookReceiver() as hook:
        config = _config(tmp_path, site, hook, "operators: {immediate: [ops-hook]}\n")
        text = (
            config.read_text()
            .replace("channels:\n", "channels:\n  ops-slack: {urls: ['${SLACK_WEBHOOK_URL}']}\n")
            .replace("immediate: [team-hook]}", "lines: ['7.0'], immediate: [ops-slack]}")
        )
        config.write_text(text, encoding="utf-8")
        cli = Cli(config)
        for stage, now in STAGES[:6]:  # to the pulls of 2021-11-19
            site.stage(stage)
            cli("run", "--once", now=now)
        cli("run", "--once", now=STAGES[5][1])  # the next tick says nothing again
        notices = [p.json for p in hook.posts]
    failed = cli.json("deliveries", "--status", "failed", now=STAGES[5][1])
    assert failed and all("SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_URL_FILE) is not set" in r["last_error"] for r in failed)
    titles = [n["title"] for n in notices]
    unusable = [t for t in titles if "HEALTH: channel ops-slack: cannot be used: ${SLACK_WEBHOOK_URL} is not set" in t]
    assert len(unusable) == 1  # told once, not every tick
    assert sum("failed for good" in t for t in titles) == len(failed)  # each failed message, once
    assert all("tracker health" in n["message"] for n in notices if "HEALTH" in n["title"])
