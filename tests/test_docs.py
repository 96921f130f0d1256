"""The documentation site builds as `make docs` builds it (mkdocs build --strict: a warning fails), and its
configuration reference, generated at build time by docs/hooks/reference.py, lists every key the config models
define: walked here from the models' fields, not from the schema the hook reads."""

import html
import os
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from tracker.config import Config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # as `make docs`: no banner about Material's end of life
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return out


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key a config file may hold, as the reference writes it: `policy.cooldown_days`, `sources[].url`,
    `channels.<name>.urls`."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        keys.add(key)
        inner, suffix = held_model(field.annotation)
        if inner is not None:
            keys |= model_keys(inner, f"{key}{suffix}.")
    return keys


def held_model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model a field holds and how its keys are reached: directly (`X`, `X | None`), as a list's items
    (`tuple[X, ...]`: `[]`) or as a mapping's values (`dict[str, X]`: `.<name>`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        options = [held_model(arg) for arg in args if arg is not type(None)]
        return options[0] if len(options) == 1 else (None, "")
    if origin is tuple and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], "[]"
    if origin is dict and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
        return args[-1], ".<name>"
    return None, ""


def reference_keys(page: Path) -> set[str]:
    """The keys in the first column of the reference's tables."""
    cells = re.findall(r"<tr>\s*<td><code>(.*?)</code></td>", page.read_text(encoding="utf-8"))
    return {html.unescape(cell) for cell in cells}


def test_the_documentation_site_builds_strictly(site: Path) -> None:
    for page in ("index", "first-hour/index", "configuration/index", "operations/index", "cli/index"):
        assert (site / f"{page}.html").is_file(), page
    assert (site / "decisions/index.html").is_file()


def test_the_configuration_reference_lists_every_key_the_config_models_define(site: Path) -> None:
    expected = model_keys(Config)
    listed = reference_keys(site / "configuration/index.html")
    assert {"policy.cooldown_days", "sources[].url", "channels.<name>.urls", "web.read_tokens"} <= expected
    assert sorted(expected - listed) == [], "keys the models define that the reference does not list"
    assert sorted(listed - expected) == [], "keys the reference lists that no model defines"


def test_the_cli_reference_shows_every_command_with_its_options(site: Path) -> None:
    page = html.unescape((site / "cli/index.html").read_text(encoding="utf-8"))
    for command in ("tracker poll", "tracker run", "tracker health", "tracker inventory import", "tracker snooze add"):
        assert f"<code>{command}</code>" in page, command
    assert "--once" in page
    assert "--dry-run" in page
