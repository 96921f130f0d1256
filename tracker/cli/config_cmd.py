"""`tracker config schema | check`: the config's JSON Schema for editors, and a check of a config file that
opens no database.

Both come from the models `load_config` validates with (tracker/config/models.py): the schema is theirs
(`model_json_schema()`), and `check` runs `load_config` itself and lists the problems its ConfigError names, each
with the line of the YAML node its key points at. config/tracker.schema.json is this command's output, shipped;
a test keeps the two equal.
"""

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.cli.common import STATE, JsonOpt
from tracker.cli.output import echo_json
from tracker.domain.words import count
from tracker.escape import visible

if TYPE_CHECKING:
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import core_schema
    from yaml import Node

config_app = typer.Typer(help="The config file: its JSON Schema for editors, and a check that opens no database.")

DRAFT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "Release Tracker configuration"
# What parse_interval (tracker/config/models.py) reads: a number of seconds, or one with a unit s, m, h or d.
DURATION = {"type": "string", "pattern": r"^\s*\d+\s*[smhd]?\s*$", "description": "A duration: 90s, 15m, 1h, 1d."}
BAD_CONFIG = 2  # the CLI's exit code for a bad config or option (tracker/cli/__init__.py)


@config_app.command("schema")
def schema() -> None:
    """Print the config's JSON Schema (draft 2020-12), as shipped in config/tracker.schema.json."""
    typer.echo(schema_text(), nl=False)


def schema_text() -> str:
    """The JSON Schema of the config file, as config/tracker.schema.json holds it (ends with a newline)."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


def config_schema() -> dict[str, Any]:
    import tracker.config  # lazy: pydantic and every source module, which --help does not need
    from tracker.sources import REGISTRY

    body = tracker.config.Config.model_json_schema(schema_generator=_generator())
    body.pop("title", None)
    body["$defs"]["SourceConfig"]["properties"]["kind"]["enum"] = list(REGISTRY)  # what its validator accepts
    return {"$schema": DRAFT, "title": TITLE, "description": (tracker.config.__doc__ or "").strip(), **body}


def _generator() -> type:
    """pydantic's schema generator, also told what a before-validator reveals: a duration field takes `15m`."""
    from pydantic.json_schema import GenerateJsonSchema  # lazy: 0.1 s, only `tracker config schema` needs it

    class EditorSchema(GenerateJsonSchema):
        def function_before_schema(self, schema: "core_schema.BeforeValidatorFunctionSchema") -> "JsonSchemaValue":
            inner = super().function_before_schema(schema)
            function = schema["function"]
            if inner.get("type") == "integer" and function["type"] == "no-info" and _reads_durations(function):
                return {"anyOf": [inner, DURATION]}
            return inner

    return EditorSchema


def _reads_durations(function: Any) -> bool:
    """Whether a field's before-validator reads `15m` as 900 seconds (those that call parse_interval do)."""
    try:
        return bool(function["function"]("15m") == 900)
    except Exception:  # it refuses text: not a duration field
        return False


@config_app.command("check")
def check(
    path: Annotated[
        str | None, typer.Argument(help="The config file (default: --config, TRACKER_CONFIG, config/tracker.yaml).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate a config file without opening the database: every problem with its line and key. Exit 0 valid,
    2 not. An unset ${VAR} that only some commands need is a note, not a problem (as for those commands)."""
    from tracker.config import config_path  # lazy: the config's models (pydantic), which --help must not load

    file = config_path(path or STATE.config_path)
    report = _check(file)
    if as_json:
        echo_json(report)
    else:
        _print(report)
    if not report["ok"]:
        raise typer.Exit(BAD_CONFIG)


def _check(file: Path) -> dict[str, Any]:
    from tracker.config import DEFERRED, ConfigError, load_config  # lazy: see config_schema

    tree = _yaml_tree(file)
    try:
        config = load_config(str(file))
    except ConfigError as error:
        problems = [_problem(text, str(file), tree) for text in _messages(str(error), str(file))]
        return {"file": str(file), "ok": False, "problems": problems}
    unset = [{"line": _line(tree, key), "key": key, "variable": name} for key, name in config.unset(*DEFERRED)]
    counts = {"sources": len(config.sources), "channels": len(config.channels)}
    return {"file": str(file), "ok": True, "problems": [], "unset": unset, **counts}


def _messages(text: str, file: str) -> list[str]:
    """ConfigError's problems, one per `FILE: ...` line (a line without that start continues the one before)."""
    messages: list[str] = []
    for line in text.split("\n"):
        if line.startswith(f"{file}:") or not messages:
            messages.append(line.removeprefix(f"{file}:"))
        else:
            messages[-1] += "\n" + line
    return messages


_YAML_AT = re.compile(r"\s*line (\d+), column \d+:\s*")


def _problem(text: str, file: str, tree: "Node | None") -> dict[str, Any]:
    """{line, key, message} from one of ConfigError's `FILE: KEY: MESSAGE` (or `FILE: MESSAGE`) lines."""
    at_yaml = _YAML_AT.match(text)
    if at_yaml:  # not valid YAML: the parser gave the place
        return {"line": int(at_yaml.group(1)), "key": None, "message": text[at_yaml.end() :]}
    key, sep, message = text.lstrip(":").strip().partition(": ")
    if not sep:
        return {"line": None, "key": None, "message": key}
    if key == "(top level)":  # a check across keys (a watchlist's unknown channel) names its key in the message
        inner, inner_sep, rest = message.partition(": ")
        if inner_sep and _line(tree, inner) is not None:
            key, message = inner, rest
    return {"line": _line(tree, key), "key": key, "message": message}


def _yaml_tree(file: Path) -> "Node | None":
    """The file's YAML nodes (which know their lines), or None when it cannot be read or parsed."""
    import yaml  # lazy: see config_schema

    try:
        return yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)  # aliases stay shared nodes
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


_INDEX = re.compile(r"\[(\d+)\](?: \(.*?\)(?=$|[.\[]))?")  # `[0]`, `[0] (id esxi-kb)`, `[1] (prod-esxi)`


def _line(tree: "Node | None", key: str) -> int | None:
    """The line of the deepest node of `key` (`sources[0] (id a).url`) found in the file: for a missing key,
    the line of the mapping that lacks it."""
    node, rest, line = tree, key, None
    while rest and node is not None:
        index = _INDEX.match(rest)
        if index:
            node, rest = _item(node, int(index.group(1))), rest[index.end() :]
            found = node
        else:
            rest = rest.removeprefix(".")
            found, node = _entry(node, rest)
            rest = rest[len(found.value) :] if found is not None else ""
        line = found.start_mark.line + 1 if found is not None else line
    return line


def _item(node: "Node", index: int) -> "Node | None":
    from yaml import SequenceNode  # lazy: see _yaml_tree

    return node.value[index] if isinstance(node, SequenceNode) and index < len(node.value) else None


def _entry(node: "Node", path: str) -> "tuple[Node, Node] | tuple[None, None]":
    """The (key node, value node) of a mapping whose key starts `path` (the longest such: keys may hold dots)."""
    fits = [p for p in _pairs(node) if re.match(re.escape(str(p[0].value)) + r"(?=$|[.\[])", path)]
    return max(fits, key=lambda p: len(str(p[0].value))) if fits else (None, None)


def _pairs(node: "Node") -> "list[tuple[Node, Node]]":
    """A mapping's entries, then those it merges with `<<: *anchor`."""
    from yaml import MappingNode, SequenceNode  # lazy: see _yaml_tree

    if not isinstance(node, MappingNode):
        return []
    own = [(k, v) for k, v in node.value if k.value != "<<"]
    merged = [v for k, v in node.value if k.value == "<<"]
    sources = [m for v in merged for m in (v.value if isinstance(v, SequenceNode) else [v])]
    return own + [pair for source in sources for pair in _pairs(source)]


def _print(report: dict[str, Any]) -> None:
    file = report["file"]
    for item in report.get("unset", []):
        note = f"${{{item['variable']}}} is not set here (only the commands that use it need it)"
        typer.echo(visible(f"note: {_place(file, item['line'])}: {item['key']}: {note}"))
    for problem in report["problems"]:
        key = f"{problem['key']}: " if problem["key"] else ""
        typer.echo(visible(f"{_place(file, problem['line'])}: {key}{problem['message']}"))
    if report["ok"]:
        counted = f"{count(report['sources'], 'source')}, {count(report['channels'], 'channel')}"
        typer.echo(visible(f"config OK: {file}: {counted}"))
    else:
        typer.echo(visible(f"config invalid: {file}: {count(len(report['problems']), 'problem')}"), err=True)


def _place(file: str, line: int | None) -> str:
    """`FILE:LINE`, as compilers write it (editors jump there), or `FILE` when the line is not known."""
    return f"{file}:{line}" if line else file
