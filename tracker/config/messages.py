"""The wording of config errors: ConfigError, what a validation error says (file, key path, expectation, and a
did-you-mean for a near miss), never showing a value that may be a secret (tracker/config/masking.py)."""

import difflib
import re
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from tracker.config.masking import names_a_url, shown_input


class ConfigError(Exception):
    """A configuration that cannot be used: the message names the file, the key and what was expected."""


def unset_text(name: str) -> str:
    return f"environment variable {name} (or {name}_FILE) is not set"


def explain(path: Path, raw: dict[str, Any], error: ValidationError, root: type[BaseModel]) -> str:
    """One line per problem pydantic found in `raw`, the file's data as written (`root`: the top model)."""
    problems = []
    for item in error.errors():
        key = _key_path(raw, item["loc"])
        if item["type"] == "extra_forbidden":  # the value of an unknown key is never shown: it may be a secret
            problems.append(f"{path}: {key}: unknown key{_suggestion(item['loc'], root)}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "string_pattern_mismatch" and names_a_url(key):
            message = "expected an http:// or https:// URL"
        if item["type"] in ("enum", "literal_error") and isinstance(item.get("input"), str):
            choices = re.findall(r"'([^']*)'", str((item.get("ctx") or {}).get("expected", "")))
            noun = str(item["loc"][-1]).replace("_", " ") if isinstance(item["loc"][-1], str) else "value"
            message = f"unknown {noun} {item['input']!r}{did_you_mean(item['input'], choices)}"
        quoted = isinstance(item.get("input"), str) and repr(item["input"]) in message
        # ours quote it; a database URL may carry credentials, and its message names its scheme already
        shown = "" if " got " in message or quoted or key == "database" else shown_input(key, item.get("input"))
        problems.append(f"{path}: {key}: {message}{shown}")
    return "\n".join(problems)


def did_you_mean(value: str, choices: list[str]) -> str:
    """` (did you mean 'kb_build_table'?)` for a near miss, else ` (expected one of a, b, c)`."""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (expected one of {', '.join(choices)})"


def _suggestion(loc: tuple[int | str, ...], root: type[BaseModel]) -> str:
    """` (did you mean 'password'?)` for a misspelt key, from the keys the model knows at that place."""
    model = _model_at(loc[:-1], root)
    if model is None:
        return ""
    names = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (expected one of {', '.join(names)})"


def _model_at(loc: tuple[int | str, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    """The config model at a location such as ("vcenters", "lab") under `root`, or None when it cannot be told."""
    model = root
    parts = list(loc)
    while parts:
        part = str(parts.pop(0))
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        inner, in_collection = _held_model(field.annotation if field else None)
        if inner is None:
            return None
        if in_collection and parts:
            parts.pop(0)  # the index in a list, or the name in a mapping
        model = inner
    return model


def _held_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds, and whether inside a collection (a tuple of models, a mapping of names to them)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = get_args(annotation)
    item = args[-1] if len(args) == 2 and args[-1] is not Ellipsis else (args[0] if args else None)
    if isinstance(item, type) and issubclass(item, BaseModel):
        return item, True
    return None, False


def _key_path(raw: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    node: Any = raw
    for part in loc:
        if isinstance(part, int):
            ident = node[part].get("id") if isinstance(node, list) and isinstance(node[part], dict) else None
            parts.append(f"[{part}]" + (f" (id {ident})" if ident else ""))
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            parts.append(("." if parts else "") + part)
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"
