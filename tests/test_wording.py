"""Wording people read: counted nouns in the right number ("1 source", "2 sources", "0 deliveries", never
"source(s)"), a watchlist's severity floor said as what it means, and every command's --help without Python types
beside its options (`<str>`, `<bool>`): a metavar that says what to write (PATH, TIME, CHANNEL), nothing beside a
flag."""

import re
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from tests.support.cli import Cli
from tracker.cli import app
from tracker.cycle.report import outcome_tally
from tracker.domain.words import count, noun

NOW = "2021-11-19T08:00:00Z"
TYPE_PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")  # <str>, <bool>, <int>, <float range>, <list[str]>, <path>


def command_paths() -> list[list[str]]:
    """Every command and group of the real app: [], ["poll"], ["watch"], ["watch", "add"], ..."""
    paths: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def help_of(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return result.output


def option_line(text: str, option: str) -> str:
    """The help line of `option`, without the panel's border."""
    starts = re.compile(rf"^(\* +)?{re.escape(option)}(\s|$)")
    [line] = [line for line in text.splitlines() if starts.match(line.strip("│ "))]
    return " ".join(line.strip("│ ").split())


# --- help -------------------------------------------------------------------------------------------------------
def test_the_walk_sees_every_command():
    paths = {" ".join(p) for p in command_paths()}
    assert {"", "poll", "watch add", "snooze add", "deliveries retry", "config check", "inventory import"} <= paths
    assert len(paths) >= 30


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "tracker")
def test_no_help_shows_a_type_placeholder(path: list[str]):
    text = help_of(*path)
    assert "Usage:" in text
    assert TYPE_PLACEHOLDER.findall(text) == []
    assert option_line(text, "--help") == "--help Show this message and exit."  # a flag: nothing beside it


@pytest.mark.parametrize(
    ("path", "option", "shown"),
    [
        ([], "--config", "--config -c PATH Config file"),
        ([], "--now", "--now TIME Fix the clock"),
        ([], "--version", "--version Print the version"),
        (["poll"], "--source", "--source ID Poll only"),
        (["poll"], "--wait", "--wait SECONDS [x>=0] Seconds to wait"),
        (["poll"], "--json", "--json Print JSON"),
        (["events"], "--since", "--since TIME Only events"),
        (["watch", "add"], "--immediate", "--immediate CHANNEL Channel for immediate alerts"),
        (["watch", "add"], "--min-severity", "--min-severity SEVERITY none, low"),
        (["snooze", "add"], "--until", "* --until DATE Snoozed until"),
        (["snooze", "add"], "--build", "--build NUMBER A build number"),
        (["serve"], "--listen", "--listen HOST:PORT Where to listen"),
        (["inventory", "import"], "--format", "--format FORMAT auto, csv"),
        (["inventory", "import"], "--dry-run", "--dry-run Show what would change"),
    ],
)
def test_options_show_what_to_write_and_flags_show_nothing(path: list[str], option: str, shown: str):
    assert option_line(help_of(*path), option).startswith(shown)


# --- count ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (0, "source", "0 sources"),
        (1, "source", "1 source"),
        (2, "source", "2 sources"),
        (0, "delivery", "0 deliveries"),
        (1, "delivery", "1 delivery"),
        (2, "delivery", "2 deliveries"),
        (1, "snooze", "1 snooze"),
        (2, "snooze", "2 snoozes"),
        (2, "anomaly", "2 anomalies"),
        (2, "day", "2 days"),  # a vowel before the y
        (2, "status", "2 statuses"),
        (2, "match", "2 matches"),
        (2, "entry", "2 entries"),
        (3, "release-notes page", "3 release-notes pages"),  # a phrase: its last word
        (2, "VCF release", "2 VCF releases"),
    ],
)
def test_count_puts_the_noun_in_the_number_n_asks_for(n: int, word: str, expected: str):
    assert count(n, word) == expected


def test_an_irregular_plural_is_given():
    assert [count(n, "person", "people") for n in (0, 1, 2)] == ["0 people", "1 person", "2 people"]
    assert [noun(n, "product") for n in (1, 2)] == ["product", "products"]


def test_a_poll_tallies_its_outcomes_counting_the_nouns():
    tally = outcome_tally({"parsed": 3, "not_modified": 1, "error": 2, "anomaly": 1})
    assert tally == "1 anomaly, 2 errors, 1 not modified, 3 parsed"
    assert outcome_tally({"error": 1}) == "1 error"


def test_both_template_environments_count():
    from tracker.notify.render import _environment as messages
    from tracker.web.render import _environment as pages

    for environment in (messages("txt"), messages("html"), pages("UTC")):
        template = environment.from_string('{{ 1 | count("source") }}; {{ 0 | count("delivery") }}')
        assert template.render() == "1 source; 0 deliveries"


# --- real output ------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/tracker.db\n"
        "sources:\n"
        "  - {id: esxi-kb, kind: kb_build_table, url: 'http://127.0.0.1:9/kb.html', product: esxi}\n"
        "channels:\n"
        "  ops: {urls: ['json://127.0.0.1:9/hook']}\n"
        "  team: {urls: ['json://127.0.0.1:9/team']}\n",
        encoding="utf-8",
    )
    return Cli(config)


def test_the_commands_say_one_in_the_singular_and_none_or_many_in_the_plural(cli: Cli):
    assert cli("config", "check", now=NOW).rstrip().endswith(": 1 source, 2 channels")
    assert "(1 source configured)" in cli("init", now=NOW)
    listing = cli("deliveries", now=NOW)
    assert "0 deliveries" in listing and "(ies)" not in listing
    assert "0 snoozes" in cli("snooze", "list", now=NOW)
    assert "(s)" not in "".join(cli.outputs)


def test_a_watchlist_listing_says_its_severity_floor_as_words(cli: Cli):
    cli("init", now=NOW)
    cli("watch", "add", "all", "--event", "pulled", "--immediate", "ops", now=NOW)
    listing = " ".join(cli("watch", "list", now=NOW).split())
    assert "1 watchlist " in listing and ">=" not in listing and "none" not in listing  # every severity: no floor
    cli("watch", "add", "serious", "--min-severity", "important", "--digest", "team", now=NOW)
    listing = " ".join(cli("watch", "list", now=NOW).split())
    assert "2 watchlists" in listing and "(important or higher)" in listing and ">=" not in listing
