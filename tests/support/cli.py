"""Running `tracker` in-process as a user would, with a fixed clock: output kept, exit code checked."""

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tracker.cli import app


class Cli:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.outputs: list[str] = []  # everything printed, stdout and stderr, for "no secret anywhere" checks

    def __call__(self, *args: str, now: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, ["--config", str(self.config), "--now", now, *args])
        self.outputs.append(result.output)
        assert result.exit_code == code, result.output
        return result.stdout

    def json(self, *args: str, now: str) -> Any:
        return json.loads(self(*args, "--json", now=now))
