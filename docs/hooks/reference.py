"""MkDocs hook: writes the configuration and CLI references at build time, so they cannot drift from the code.

docs/configuration.md and docs/cli.md each hold a marker line; this hook replaces it with tables made from
the config's JSON Schema (`tracker config schema`'s: the schema of the models `load_config` validates with, as
config/tracker.schema.json ships it) with examples from config/tracker.yaml, and from the Typer app's command
tree (`typer.main.get_command(tracker.cli.app)`).
Keys are written as paths: `policy.cooldown_days`, `sources[].url` (a list's items), `channels.<name>.urls`
(a mapping's values); tests/test_docs.py compares them with the config models' fields.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.main
import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from tracker.cli import app
from tracker.cli.config_cmd import config_schema

CONFIG_MARKER = "<!-- generated: configuration reference -->"
CLI_MARKER = "<!-- generated: cli reference -->"
EXAMPLE_CONFIG = Path("config/tracker.yaml")

Schema = dict[str, Any]


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Fill in the markers of the reference pages; every other page passes through unchanged."""
    root = Path(config.config_file_path).parent
    if CONFIG_MARKER in markdown:
        example = yaml.safe_load((root / EXAMPLE_CONFIG).read_text(encoding="utf-8"))
        markdown = markdown.replace(CONFIG_MARKER, config_reference(config_schema(), example))
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown


# The configuration reference


@dataclass(frozen=True)
class Section:
    """One mapping of the config (the top level, `policy`, each item of `sources`): its path and its schema."""

    path: str  # "" for the top level, else e.g. "sources[]" or "channels.<name>"
    title: str
    schema: Schema


def config_reference(schema: Schema, example: Any) -> str:
    """Markdown: one table per mapping of the config, each key with its type, default and example."""
    defs = schema.get("$defs", {})
    sections = _sections(Section("", "", schema), defs)
    return "\n\n".join(_section_markdown(section, defs, example) for section in sections)


def _sections(section: Section, defs: Schema) -> Iterator[Section]:
    """This section, then every mapping under it, depth first, in the order the model declares them."""
    yield section
    for key, prop in section.schema.get("properties", {}).items():
        child = _child_section(_join(section.path, key), prop, defs)
        if child is not None:
            yield from _sections(child, defs)


def _child_section(path: str, prop: Schema, defs: Schema) -> Section | None:
    """The section a key opens: a mapping of keys, a list of them (`key[]`) or named ones (`key.<name>`)."""
    node = _resolve(_non_null(prop, defs), defs)
    if "properties" in node:
        return Section(path, path, node)
    held = node.get("items") if node.get("type") == "array" else node.get("additionalProperties")
    inner = _resolve(held, defs) if isinstance(held, dict) else {}
    if "properties" in inner:
        inner_path = f"{path}[]" if node.get("type") == "array" else f"{path}.<name>"
        return Section(inner_path, inner_path, inner)
    return None


def _section_markdown(section: Section, defs: Schema, example: Any) -> str:
    heading = f"## `{section.title}` {{#{_anchor(section.path)}}}" if section.path else "## Top-level keys {#top-level}"
    lines = [heading, ""]
    if section.path and section.schema.get("description"):  # the top level's is the config module's docstring
        lines += [_cell(section.schema["description"], multiline=True), ""]
    lines += ["| key | type | default | example |", "|---|---|---|---|"]
    required = set(section.schema.get("required", ()))
    for key, prop in section.schema.get("properties", {}).items():
        path = _join(section.path, key)
        child = _child_section(path, prop, defs)
        kind = f"[{_type(prop, defs)}](#{_anchor(child.path)})" if child else _type(prop, defs)
        default = "**required**" if key in required else _default(prop, child is not None)
        shown = "" if child else _example(example, path)
        lines.append(f"| `{path}` | {kind} | {default} | {shown} |")
    return "\n".join(lines)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _anchor(path: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in path.replace("[]", "").replace(".<name>", "")).strip("-")


def _resolve(node: Schema, defs: Schema) -> Schema:
    ref = node.get("$ref", "")
    return _resolve(defs[ref.rsplit("/", 1)[-1]], defs) if ref else node


def _non_null(node: Schema, defs: Schema) -> Schema:
    """`X | None` as X (the section it opens); anything else as it is."""
    options = [option for option in node.get("anyOf", ()) if option.get("type") != "null"]
    return options[0] if len(options) == 1 else node


def _type(prop: Schema, defs: Schema) -> str:
    node = _resolve(prop, defs)
    if "anyOf" in node:
        options = [option for option in node["anyOf"] if option.get("type") != "null"]
        text = " or ".join(_type(option, defs) for option in options)
        return f"{text}, or null" if len(options) < len(node["anyOf"]) else text
    if "enum" in node:
        return "one of " + ", ".join(f"`{value}`" for value in node["enum"])
    if node.get("type") == "array":
        return f"list of: {_type(node.get('items', {}), defs)}" + _constraints(node)
    if "properties" in node:
        return "mapping"
    if node.get("type") == "object":
        return f"mapping of names to: {_type(node.get('additionalProperties', {}), defs)}"
    if node.get("description"):  # a value with a name of its own, e.g. "A duration: 90s, 15m, 1h, 1d."
        text = str(node["description"]).rstrip(".")
        return text[:1].lower() + text[1:]
    return str(node.get("type", "any")) + _constraints(node)


_BOUNDS = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}


def _constraints(node: Schema) -> str:
    parts = [f"{sign} {node[bound]}" for bound, sign in _BOUNDS.items() if bound in node]
    if "pattern" in node:
        parts.append(f"matching `{node['pattern']}`")
    if "minItems" in node:
        parts.append(f"at least {node['minItems']}")
    return f" ({', '.join(parts)})" if parts else ""


def _default(prop: Schema, opens_section: bool) -> str:
    if "default" not in prop:
        return "empty" if prop.get("type") == "object" else ""
    if opens_section and isinstance(prop["default"], dict):
        return "the defaults below"
    return "unset" if prop["default"] is None else f"`{_yaml(prop['default'])}`"


def _example(example: Any, path: str) -> str:
    """The value config/tracker.yaml sets at this path (a list's first item, a mapping's first name), if any."""
    node = example
    for part in path.replace("[]", ".[]").split("."):
        if part == "[]":
            node = node[0] if isinstance(node, list) and node else None
        elif part == "<name>":
            node = next(iter(node.values()), None) if isinstance(node, dict) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else f"`{_yaml(node)}`"


def _yaml(value: Any) -> str:
    """A value as it would be written in the config file, on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1_000_000)
    return _cell(text.removesuffix("\n").removesuffix("\n...").strip())


def _cell(text: str, multiline: bool = False) -> str:
    """Text safe in a Markdown table cell: no pipes that would split it, no line breaks unless asked."""
    text = text.replace("|", "\\|")
    return text if multiline else " ".join(text.split())


# The CLI reference


def cli_reference() -> str:
    """Markdown: every command of `tracker`, with its help, its usage and its options, as `--help` has them."""
    root = typer.main.get_command(app)
    top = root.context_class(root, info_name="tracker")
    return "\n\n".join(_command_markdown(command, ctx) for command, ctx in _commands(root, top))


def _commands(command: Any, ctx: Any) -> Iterator[tuple[Any, Any]]:
    """The command tree, depth first, in `--help` order, hidden commands left out."""
    yield command, ctx
    if not hasattr(command, "list_commands"):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            yield from _commands(sub, sub.context_class(sub, info_name=name, parent=ctx))


def _command_markdown(command: Any, ctx: Any) -> str:
    path = ctx.command_path
    usage = " ".join([path, *command.collect_usage_pieces(ctx)])
    lines = [f"## `{path}` {{#{_anchor(path)}}}", "", command.help or "", "", "```text", usage, "```"]
    records = [param.get_help_record(ctx) for param in command.get_params(ctx) if not param.hidden]
    rows = [(names, what) for names, what in filter(None, records) if names != "--help"]
    if rows:
        lines += ["", "| option | what |", "|---|---|"]
        lines += [f"| `{_cell(names)}` | {_cell(what)} |" for names, what in rows]
    return "\n".join(lines)
