"""A bad config gets one clear message naming the file, the key and what was expected; exit code 2."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.config import ConfigError, load_config, parse_interval

GOOD_SOURCE = '{id: esxi-kb, kind: kb_build_table, url: "http://127.0.0.1:1/kb.html", product: esxi}'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tracker.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  - {id: a, kind: rss, url: 'http://x', product: esxi}\n", "sources[0] (id a).kind"),
        ("sources:\n  - {id: a, kind: kb_build_table, url: 'ftp://x', product: esxi}\n", "sources[0] (id a).url"),
        ("sources:\n  - {id: a, kind: kb_build_table, url: 'http://x', product: nsx}\n", "sources[0] (id a).product"),
        (f"sources:\n  - {GOOD_SOURCE}\n  - {GOOD_SOURCE}\n", "used twice"),
        (f"sources:\n  - {GOOD_SOURCE}\npolicy: {{max_drop_ratio: 2}}\n", "policy.max_drop_ratio"),
        (f"sources:\n  - {GOOD_SOURCE}\npolicy: {{pull_confirmation: 2}}\n", "policy.pull_confirmation"),
        (
            "sources:\n  - {id: a, kind: kb_build_table, url: 'http://x', product: esxi, interval: soon}\n",
            "expected a duration like 30m",
        ),
        ("sources: [\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("database: '${TRACKER_TEST_UNSET_VAR}'\n", "TRACKER_TEST_UNSET_VAR"),
    ],
)
def test_a_bad_config_names_the_file_and_the_key(tmp_path: Path, text: str, expected: str):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_the_cli_exits_2_with_one_message_on_a_bad_config(tmp_path: Path):
    path = write(tmp_path, "sources:\n  - {id: a, kind: rss, url: 'http://x', product: esxi}\n")
    result = CliRunner().invoke(app, ["--config", str(path), "poll"])
    assert result.exit_code == 2
    assert f"{path}: sources[0] (id a).kind" in result.output
    assert "Traceback" not in result.output


def test_a_missing_config_file_is_a_config_error(tmp_path: Path):
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "nope.yaml"), "sources"])
    assert result.exit_code == 2
    assert "no such config file" in result.output


def test_an_unknown_source_id_is_refused(tmp_path: Path):
    path = write(tmp_path, f"database: sqlite:///{tmp_path}/t.db\nsources:\n  - {GOOD_SOURCE}\n")
    result = CliRunner().invoke(app, ["--config", str(path), "poll", "--source", "vc-kb"])
    assert result.exit_code == 2
    assert "no source with id 'vc-kb'" in result.output
    assert "esxi-kb" in result.output


def test_environment_variables_and_secret_files_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    secret = tmp_path / "db-url"
    secret.write_text("sqlite:///from-file.db\n", encoding="utf-8")
    monkeypatch.setenv("TRACKER_TEST_DB_FILE", str(secret))
    monkeypatch.setenv("TRACKER_TEST_HOST", "127.0.0.1:9")
    path = write(
        tmp_path,
        "database: '${TRACKER_TEST_DB}'\nsources:\n"
        "  - {id: a, kind: kb_build_table, url: 'http://${TRACKER_TEST_HOST}/kb', product: esxi}\n",
    )
    config = load_config(str(path))
    assert config.database == f"sqlite:///{tmp_path.resolve()}/from-file.db"  # read from the config's folder
    assert config.sources[0].url == "http://127.0.0.1:9/kb"


def test_the_bundled_example_config_is_valid():
    config = load_config(str(Path(__file__).parents[1] / "config" / "tracker.yaml"))
    assert {s.id for s in config.sources} == {"esxi-kb", "vcenter-kb"}
    assert config.policy.pull_confirmations == 2


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("1d", 86400), (30, 30)])
def test_intervals_read_as_people_write_them(text: str | int, seconds: int):
    assert parse_interval(text) == seconds


def test_a_bad_now_is_refused(tmp_path: Path):
    path = write(tmp_path, f"database: sqlite:///{tmp_path}/t.db\nsources:\n  - {GOOD_SOURCE}\n")
    result = CliRunner().invoke(app, ["--config", str(path), "--now", "yesterday", "poll"])
    assert result.exit_code == 2
    assert "--now: expected an ISO-8601 time" in result.output


# --- the broken-config corpus: each mistake, one message and exit 2, never a traceback -----------------------------
TRACKER = str(Path(sys.executable).parent / "tracker")
BROKEN: dict[str, bytes | None] = {
    "a directory": None,
    "not UTF-8": "sources: []\n# caf\xe9\n".encode("latin-1"),
    "empty": b"",
    "only comments": b"# sources: to come\n",
    "a misspelt key": f"sources:\n  - {GOOD_SOURCE}\npolicy: {{cooldown_day: 3}}\n".encode(),
    "a MySQL URL": b"database: mysql://tracker:pw@db/tracker\nsources: []\n",
    "PostgreSQL without its driver": b"database: postgresql://tracker:pw@db/tracker\nsources: []\n",
    "an interval in words": f"sources:\n  - {GOOD_SOURCE[:-1]}, interval: 1 hour}}\n".encode(),
    "bad YAML": b"sources: [\n",
}
EXPECTED = {
    "a directory": "is a directory",
    "not UTF-8": "not UTF-8",
    "empty": "the config is empty",
    "only comments": "the config is empty",
    "a misspelt key": "did you mean 'cooldown_days'?",
    "a MySQL URL": "mysql:// is not supported; expected sqlite:///PATH or postgresql+psycopg://",
    "PostgreSQL without its driver": "needs the driver psycopg2",
    "an interval in words": "expected a duration like 30m, 1h or 1d, got '1 hour'",
    "bad YAML": "not valid YAML",
}


@pytest.mark.parametrize(
    ("case", "command"), [(case, ["sources", "poll", "health"][n % 3]) for n, case in enumerate(BROKEN)]
)
def test_each_config_mistake_is_one_message_and_exit_2(tmp_path: Path, case: str, command: str):
    path = tmp_path / "tracker.yaml"
    content = BROKEN[case]
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = subprocess.run([TRACKER, "--config", str(path), command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("tracker: "), result.stderr
    assert EXPECTED[case] in result.stderr
    assert "Traceback" not in result.stderr and "got '1 hour' (got" not in result.stderr
    assert "pw@" not in result.stderr and "pydantic" not in result.stderr.lower()


@pytest.mark.parametrize("command", [["builds"], ["events"], ["sources"], ["exposure"], ["deliveries"]])
def test_a_bad_now_is_refused_by_every_command(tmp_path: Path, command: list[str]):
    path = write(tmp_path, f"database: sqlite:///{tmp_path}/t.db\nsources:\n  - {GOOD_SOURCE}\n")
    result = subprocess.run(
        [TRACKER, "--config", str(path), "--now", "garbage", *command], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "--now: expected an ISO-8601 time" in result.stderr
    assert not (tmp_path / "t.db").exists()  # refused before anything was opened
