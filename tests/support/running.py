"""`tracker` as a separate process, as cron or systemd runs it: stderr kept line by line, waited on by condition.

with Tracker(config, "run", now=PULL_DAY) as service:
    service.wait_for_line(lambda line: line.startswith("poll: "))
    service.terminate()                  # SIGTERM
    assert service.wait(10) == 0
"""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

WAIT = 30.0  # seconds a test waits for a line before it fails


class Tracker:
    def __init__(self, config: Path, *args: str, now: str | None = None, env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "tracker.cli", "--config", str(config)]
        command += ["--now", now] if now else []
        self.process = subprocess.Popen(
            [*command, *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, wanted: Callable[[str], bool], timeout: float = WAIT, count: int = 1) -> list[str]:
        """The first `count` lines that pass `wanted`, once they were printed; fails at the deadline."""
        with self._changed:
            found = self._changed.wait_for(lambda: len([x for x in self._lines if wanted(x)]) >= count, timeout)
            if not found:
                raise AssertionError(f"no such line within {timeout} s; stderr so far:\n{''.join(self._lines)}")
            return [x for x in self._lines if wanted(x)][:count]

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no handler, no clean-up, as a crash
        self.process.wait()

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(5)
