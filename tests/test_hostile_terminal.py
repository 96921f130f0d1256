"""The terminal never gets a raw control character, ANSI escape sequence or bidi override from the inventory or a
message: the tables, the import summary, the digest preview and the demo's console write them out (`\\u202e`);
`--json` keeps the exact names."""

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tracker.demo import console_channel
from tracker.notify.channels import send

NOW = "2022-02-05T08:00:00Z"
RLO = "esx\u202elive.example.com"  # shows as "esxmoc.elpmaxe.evil"
ANSI = "esx\x1b[2J\x1b[31mred.example.com"  # would clear the screen and turn it red
ISOLATE = "esx\u2066x\u2069\u200f.example.com"
NAMES = [RLO, ANSI, ISOLATE, "[x](https://evil)", "<!channel>"]
# What must never reach the terminal raw: C0/C1 controls (ESC among them), bidi embeddings, overrides, isolates, marks.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Cli, str]:
    """The hosts imported; the CLI and what the import printed."""
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/tracker.db\n"
        "channels:\n  ops: {urls: ['json://127.0.0.1:9/unused']}\n"
        "watchlists:\n  - {name: prod, clusters: ['prod-*'], digest: [ops]}\n",
        encoding="utf-8",
    )
    rows = [f"{name},esxi,18644231,,vc-01,dc-berlin,prod-a,,team-a," for name in NAMES]
    inventory = tmp_path / "hosts.csv"
    inventory.write_text(
        "name,kind,build,version,vcenter,datacenter,cluster,tags,owner,vibs\n" + "\n".join(rows) + "\n", "utf-8"
    )
    runner = Cli(config)
    return runner, runner("inventory", "import", str(inventory), now=NOW)


@pytest.fixture
def cli(imported: tuple[Cli, str]) -> Cli:
    return imported[0]


def test_the_import_summary_writes_out_bidi_and_escape_characters(imported: tuple[Cli, str]):
    _, summary = imported
    assert not RAW.search(summary)
    assert "esx\\u202elive.example.com" in summary
    assert "esx\\x1b[2J\\x1b[31mred.example.com" in summary


@pytest.mark.parametrize("command", [("inventory", "list"), ("exposure",)])
def test_the_tables_write_out_bidi_and_escape_characters(cli: Cli, command: tuple[str, ...]):
    table = cli(*command, now=NOW)

    assert not RAW.search(table)
    assert "esx\\u202elive.example.com" in table
    assert "esx\\x1b[2J\\x1b[31mred.example.com" in table
    assert "esx\\u2066x\\u2069\\u200f.example.com" in table
    assert "[x](https://evil)" in table and "<!channel>" in table  # plain text on a terminal: shown as is


@pytest.mark.parametrize("command", [("inventory", "list"), ("exposure",)])
def test_json_output_keeps_the_exact_names(cli: Cli, command: tuple[str, ...]):
    out = cli(*command, "--json", now=NOW)

    assert not RAW.search(out)  # json.dumps writes them as \u escapes
    rows = json.loads(out)
    assert sorted(r.get("name") or r["asset"] for r in rows) == sorted(NAMES)


def test_the_digest_preview_writes_out_bidi_and_escape_characters(cli: Cli):
    preview = cli("digest", "--preview", now=NOW)

    assert "esx\\u202elive.example.com" in preview
    assert not RAW.search(preview)


def test_the_demo_console_writes_out_what_a_message_would_do_to_the_terminal():
    printed: list[str] = []
    with console_channel(printed.append) as url:
        [outcome] = send([url], "PULLED \x1b]0;owned\x07", f"- {RLO} runs ESXi 7.0 U3", "text")

    assert outcome.ok
    [shown] = printed  # printed before the console channel answered
    assert not RAW.search(shown)
    assert "PULLED \\x1b]0;owned\\x07" in shown and "esx\\u202elive.example.com" in shown
