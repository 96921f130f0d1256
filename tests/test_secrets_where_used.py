"""Secrets are resolved where they are used: a command needs only the ${VAR}s of the channels, vCenters and
sources it touches, names every missing one at once, and one broken channel never blocks another."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.receivers import WebhookReceiver
from tests.support.site import FixtureSite
from tracker.cli import app

NOW = "2021-09-20T08:00:00Z"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_WEBHOOK_URL", "SLACK_CHANNEL", "DEPOT_TOKEN", "VC01_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def _config(folder: Path, site: FixtureSite, hook: WebhookReceiver, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{folder / 'tracker.db'}\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, product: esxi, url: '{site.url('/kb/316595.html')}',"
        " follow_links: false}\n"
        f"  - {{id: esxi-depot, kind: depot_index, product: esxi, url: '{site.url('/${DEPOT_TOKEN}/index.xml')}'}}\n"
        "http: {politeness_delay: 0, timeout: 5}\n"
        "channels:\n"
        "  ops-slack: {urls: ['${SLACK_WEBHOOK_URL}', 'slack://${SLACK_CHANNEL}']}\n"
        f"  team-hook: {{urls: ['json://{hook.url('/team').removeprefix('http://')}']}}\n"
        "vcenters:\n"
        "  vc01: {host: 127.0.0.1, user: reader, password: '${VC01_PASSWORD}'}\n" + extra,
        encoding="utf-8",
    )
    return config


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "--now", NOW, *args])
    return result.exit_code, result.output


def test_commands_that_use_no_secret_run_with_every_secret_unset(site: FixtureSite, tmp_path: Path):
    with WebhookReceiver() as hook:
        config = _config(tmp_path, site, hook)
        for command in (["init"], ["builds"], ["sources"], ["events"]):
            code, output = _run(config, *command)
            assert code == 0, (command, output)
            assert "SLACK_WEBHOOK_URL" not in output
        code, output = _run(config, "health")  # runs, and says what cannot be used: degraded, not a config error
        assert code == 3
        assert (
            "channel ops-slack: cannot be used: ${SLACK_WEBHOOK_URL} is not set, ${SLACK_CHANNEL} is not set" in output
        )


def test_notify_test_needs_only_its_own_channels_secrets_and_names_every_missing_one(site: FixtureSite, tmp_path: Path):
    with WebhookReceiver() as hook:
        config = _config(tmp_path, site, hook)
        code, output = _run(config, "notify", "test", "team-hook")
        assert code == 0, output
        assert [p.path for p in hook.wait_for(1)] == ["/team"]
        code, output = _run(config, "notify", "test", "ops-slack")
    assert code == 2
    assert "channels.ops-slack.urls[0]: environment variable SLACK_WEBHOOK_URL" in output
    assert "channels.ops-slack.urls[1]: environment variable SLACK_CHANNEL" in output  # both at once


def test_one_broken_channel_does_not_block_a_test_of_another(site: FixtureSite, tmp_path: Path):
    with WebhookReceiver() as hook:
        config = _config(tmp_path, site, hook, "")
        text = config.read_text().replace("channels:\n", "channels:\n  broken: {urls: ['nosuchscheme://x']}\n")
        config.write_text(text, encoding="utf-8")
        code, output = _run(config, "notify", "test", "team-hook")
        assert code == 0, output
        assert len(hook.wait_for(1)) == 1


def test_poll_needs_the_secrets_of_the_pages_it_fetches_not_the_channels(site: FixtureSite, tmp_path: Path):
    site.stage("01-2021-09-20")
    with WebhookReceiver() as hook:
        config = _config(tmp_path, site, hook)
        code, output = _run(config, "poll")
        assert code == 2 and "sources[1].url: environment variable DEPOT_TOKEN" in output
        code, output = _run(config, "poll", "--source", "esxi-kb")  # the KB page needs no secret
        assert code == 0, output
        code, output = _run(config, "inventory", "sync-vcenter", "vc01")
        assert code == 2 and "vcenters.vc01.password: environment variable VC01_PASSWORD" in output
