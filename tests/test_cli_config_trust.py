"""The config and the command line as a newcomer meets them, through the real `tracker` program: the version, a
key written twice, relative paths read from the config file's folder whatever the current directory, and the global
options written after the command."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tracker import __version__
from tracker.store import SCHEMA_HEAD

REPO = Path(__file__).resolve().parents[1]
NOW = "2021-11-19T08:00:00Z"


def tracker(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_version_prints_the_package_version_and_the_schema_head(tmp_path: Path):
    done = tracker("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (
        0,
        f"release-tracker {__version__} (database schema {SCHEMA_HEAD})",
    )


def test_a_key_written_twice_is_refused_naming_both_lines(tmp_path: Path):
    config = tmp_path / "tracker.yaml"
    config.write_text(
        "sources:\n"
        "  - {id: a, kind: kb_build_table, url: 'http://127.0.0.1:9/a', product: esxi}\n"
        "policy: {cooldown_days: 7}\n"
        "sources:\n"
        "  - {id: b, kind: kb_build_table, url: 'http://127.0.0.1:9/b', product: esxi}\n",
        encoding="utf-8",
    )
    done = tracker("--config", str(config), "sources", cwd=tmp_path)
    assert done.returncode == 2
    assert "line 4, column 1" in done.stderr and "duplicate key 'sources': first written at line 1" in done.stderr
    assert not (tmp_path / "data").exists()  # nothing created


def test_relative_paths_are_read_from_the_config_files_folder_and_init_prints_the_absolute_database(tmp_path: Path):
    folder = tmp_path / "etc" / "tracker"
    shutil.copytree(REPO / "config", folder)
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    done = tracker("--config", str(folder / "tracker.yaml"), "init", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    database = (tmp_path / "etc" / "data" / "tracker.db").resolve()  # sqlite:///../data/tracker.db
    assert database.is_file() and str(database) in done.stdout + done.stderr
    assert list(elsewhere.iterdir()) == []  # nothing made in the current directory
    imported = tracker("--config", str(folder / "tracker.yaml"), "inventory", "import", "--dry-run", cwd=elsewhere)
    assert imported.returncode == 0, imported.stderr  # inventory.example.csv, beside the config


def test_the_global_options_work_after_the_command_too(tmp_path: Path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    after = tracker("init", "--config", str(tmp_path / "config" / "tracker.yaml"), "--now", NOW, cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    joined = tracker(
        "sources", "--json", f"--config={tmp_path / 'config' / 'tracker.yaml'}", f"--now={NOW}", cwd=tmp_path
    )
    assert joined.returncode == 0 and joined.stdout.lstrip().startswith("["), joined.stderr


def test_the_example_config_is_healthy_right_after_init_and_warns_that_no_channel_is_configured(tmp_path: Path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    config = str(tmp_path / "config" / "tracker.yaml")
    assert tracker("--config", config, "init", cwd=tmp_path).returncode == 0
    done = tracker("--config", config, "health", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: no channel configured" in done.stdout


def test_messages_speak_the_users_words(tmp_path: Path):
    config = tmp_path / "tracker.yaml"
    config.write_text("sources:\n  - {id: a, kind: kb_table, url: 'http://127.0.0.1:9/a', product: esx}\n", "utf-8")
    done = tracker("--config", str(config), "sources", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown source kind 'kb_table' (did you mean 'kb_build_table'?)" in done.stderr
    assert "unknown product 'esx' (did you mean 'esxi'?)" in done.stderr
    assert done.stderr.count("'kb_table'") == 1  # not repeated as "(got 'kb_table')"
    folder = tmp_path / "a-folder"
    folder.mkdir()
    config.write_text(f"database: sqlite:///{folder}\nsources: []\n", "utf-8")
    opened = tracker("--config", str(config), "sources", cwd=tmp_path)
    assert opened.returncode == 1 and "is a directory" in opened.stderr and "sqlalche.me" not in opened.stderr
    clock = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "sources"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "TRACKER_NOW": "yesterday"},
        timeout=60,
    )
    assert clock.returncode == 2 and "TRACKER_NOW: expected an ISO-8601 time" in clock.stderr
    retry = tracker("--config", str(config), "deliveries", "retry", "abc", cwd=tmp_path)
    assert retry.returncode == 2 and "outbox_id" not in retry.stderr and "'ID'" in retry.stderr
