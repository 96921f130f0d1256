"""A schema for editors, and a check that opens no database: `tracker config schema` prints the config's JSON Schema
(shipped as config/tracker.schema.json, which the example config names), and `tracker config check` lists every
problem of a config file with its line and key, exit 2, without creating a database."""

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.cli import Cli
from tests.support.running import Tracker
from tests.test_startup import loaded
from tracker.config import parse_interval

CONFIG = Path(__file__).parents[1] / "config"
EXAMPLE = CONFIG / "tracker.yaml"
SHIPPED = CONFIG / "tracker.schema.json"
NOW = "2021-11-19T08:00:00Z"

# One of each kind of mistake, each on its own line: a value of the wrong type, a value outside a closed vocabulary,
# a required key left out, a duration that is not one.
BROKEN = """\
database: sqlite:///tracker.db
sources:
  - id: esxi-kb
    kind: kb_build_table
    url: https://example.com/kb.html
    product: nsx
  - id: vc-kb
    kind: kb_build_table
    product: vcenter
policy:
  failing_after: often
service:
  tick: soon
"""
PROBLEMS = [  # (line, key, what the message says)
    (6, "sources[0] (id esxi-kb).product", "unknown product 'nsx' (expected one of esxi, vcenter, tools, vcf)"),
    (7, "sources[1] (id vc-kb).url", "Field required"),
    (11, "policy.failing_after", "valid integer"),
    (13, "service.tick", "expected a duration like 30m"),
]


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SHIPPED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def write(folder: Path, text: str) -> Path:
    path = folder / "tracker.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_names_the_shipped_schema_and_validates_against_it():
    assert EXAMPLE.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=./tracker.schema.json\n")
    errors = [f"{list(e.path)}: {e.message}" for e in validator().iter_errors(yaml.safe_load(EXAMPLE.read_text()))]
    assert errors == []


def test_the_shipped_schema_is_what_tracker_config_schema_prints(tmp_path: Path):
    printed = Cli(tmp_path / "absent.yaml")("config", "schema", now=NOW)  # the schema needs no config file
    assert printed == SHIPPED.read_text(encoding="utf-8"), "run: tracker config schema > config/tracker.schema.json"
    schema = json.loads(printed)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]
    assert "apprise" in schema["$defs"]["ChannelConfig"]["description"]  # the models' docstrings


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        ({"sources": [{"id": "a", "kind": "rss", "url": "https://x", "product": "esxi"}]}, True),
        ({"sources": [{"id": "a", "kind": "feed", "url": "https://x", "product": "nsx"}]}, True),
        ({"sources": [{"id": "a", "kind": "feed", "url": "https://x", "product": "esxi", "interval": "soon"}]}, True),
        ({"sources": [{"id": "a", "kind": "feed", "url": "https://x", "product": "esxi", "interval": "6h"}]}, False),
        ({"service": {"tick": 30, "lease_ttl": "2m", "cycle_deadline": " 10 m "}}, False),
        ({"policy": {"pull_confirmation": 2}}, True),
        ({"web": {"read": "maybe"}}, True),
        ({"watchlists": [{"name": "w", "events": ["pulled"], "min_severity": "urgent"}]}, True),
    ],
)
def test_an_editor_refuses_what_the_loader_refuses(data: dict[str, Any], refused: bool):
    assert bool(list(validator().iter_errors(data))) is refused


@pytest.mark.parametrize("text", ["90", "90s", "15m", " 1 h ", "2d", "soon", "1w", "1.5h", "-5m", ""])
def test_the_schemas_durations_are_what_the_loader_reads(text: str):
    pattern = validator().schema["$defs"]["ServiceConfig"]["properties"]["tick"]["anyOf"][1]
    try:
        parse_interval(text)
        read = True
    except ValueError:
        read = False
    accepted = jsonschema.Draft202012Validator(pattern).is_valid(text)
    assert accepted == read


def test_config_check_names_each_problem_with_its_line_and_key(tmp_path: Path):
    path = write(tmp_path, BROKEN)
    printed = Cli(path)("config", "check", now=NOW, code=2)
    for line, key, said in PROBLEMS:
        assert any(row.startswith(f"{path}:{line}: {key}: ") and said in row for row in printed.splitlines()), key
    assert len(printed.splitlines()) == len(PROBLEMS)


def test_config_check_json_lists_the_same_problems(tmp_path: Path):
    path = write(tmp_path, BROKEN)
    report = json.loads(Cli(tmp_path / "other.yaml")("config", "check", str(path), "--json", now=NOW, code=2))
    assert (report["file"], report["ok"]) == (str(path), False)
    found = [(p["line"], p["key"]) for p in report["problems"]]
    assert found == [(line, key) for line, key, _ in PROBLEMS]
    assert all(said in p["message"] for p, (_, _, said) in zip(report["problems"], PROBLEMS, strict=True))


@pytest.mark.parametrize(
    ("text", "line", "key", "said"),
    [
        ("sources: [\n  {id: a\n", 3, None, "not valid YAML"),
        ("sources: []\nsources: []\n", 2, None, "duplicate key 'sources'"),
        ("sources: []\nhttp:\n  timeout: 5\n  user_agnet: x\n", 4, "http.user_agnet", "unknown key"),
        (
            "sources: []\nchannels: {ops: {urls: ['json://127.0.0.1:9']}}\nwatchlists:\n  - name: w\n"
            "    immediate: [pager]\n",
            5,
            "watchlists[0] (w).immediate",
            "unknown channel 'pager'",
        ),
        ("sources: []\nhttp: {user_agent: '${TRACKER_TEST_UNSET_AGENT}'}\n", 2, "http.user_agent", "is not set"),
    ],
)
def test_config_check_finds_the_line_of_each_kind_of_mistake(tmp_path: Path, text: str, line: int, key: str, said: str):
    report = json.loads(Cli(write(tmp_path, text))("config", "check", "--json", now=NOW, code=2))
    assert len(report["problems"]) == 1
    problem = report["problems"][0]
    assert (problem["line"], problem["key"]) == (line, key)
    assert said in problem["message"]


def test_a_missing_config_file_is_a_problem_without_a_line(tmp_path: Path):
    report = json.loads(Cli(tmp_path / "nope.yaml")("config", "check", "--json", now=NOW, code=2))
    assert report["problems"] == [{"line": None, "key": None, "message": report["problems"][0]["message"]}]
    assert "no such config file" in report["problems"][0]["message"]


def test_an_unset_variable_only_some_commands_need_is_a_note_not_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("TRACKER_TEST_HOOK", raising=False)
    monkeypatch.delenv("TRACKER_TEST_HOOK_FILE", raising=False)
    path = write(tmp_path, "sources: []\nchannels:\n  ops: {urls: ['${TRACKER_TEST_HOOK}']}\n")
    cli = Cli(path)
    report = json.loads(cli("config", "check", "--json", now=NOW))
    assert report["ok"] is True and report["problems"] == []
    assert report["unset"] == [{"line": 3, "key": "channels.ops.urls[0]", "variable": "TRACKER_TEST_HOOK"}]
    assert "${TRACKER_TEST_HOOK} is not set" in cli("config", "check", now=NOW)


def test_config_check_of_the_example_config_passes_and_creates_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "tracker.yaml")
    monkeypatch.chdir(folder)  # wherever its relative SQLite path is read from, it lands under tmp_path
    printed = Cli(folder / "tracker.yaml")("config", "check", now=NOW)
    assert printed.splitlines()[-1].startswith(f"config OK: {folder / 'tracker.yaml'}: 2 sources, ")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["config", "config/tracker.yaml"]


def test_config_check_loads_no_database_library():
    assert loaded("config", "check", str(EXAMPLE)) == []


def test_config_check_exits_2_as_a_separate_process(tmp_path: Path):
    with Tracker(write(tmp_path, BROKEN), "config", "check") as process:
        assert process.wait(60) == 2
        assert f"config invalid: {tmp_path / 'tracker.yaml'}: {len(PROBLEMS)} problems" in process.text
