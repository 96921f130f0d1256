"""`tracker run`: the service polls on its own, delivers, and stops cleanly on SIGTERM."""

import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.receivers import WebhookReceiver
from tests.support.site import FixtureSite


def test_the_service_polls_at_start_and_stops_cleanly_on_sigterm(site: FixtureSite, tmp_path: Path):
    site.stage("01-2021-09-20")
    with WebhookReceiver() as hook:
        config = tmp_path / "tracker.yaml"
        config.write_text(
            f"database: sqlite:///{tmp_path}/tracker.db\n"
            f"sources:\n  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}',"
            " product: esxi, interval: 1h, follow_links: false}\n"
            "http: {politeness_delay: 0}\n"
            f"channels:\n  ops: {{urls: ['json://{hook.url('/hook').removeprefix('http://')}']}}\n",
            encoding="utf-8",
        )
        service = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli", "--config", str(config), "run"], stderr=subprocess.PIPE, text=True
        )
        lines: list[str] = []
        polled = threading.Event()

        def read() -> None:
            assert service.stderr is not None
            for line in service.stderr:
                lines.append(line)
                if line.startswith("poll: "):
                    polled.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert polled.wait(30), "".join(lines)
            service.send_signal(signal.SIGTERM)
            assert service.wait(20) == 0
        finally:
            if service.poll() is None:
                service.kill()
        reader.join(5)
    text = "".join(lines)
    assert "poll: 1 page(s): 1 parsed; 0 event(s)" in text
    assert "received signal 15: stopping" in text and text.rstrip().endswith("stopped")
    assert "Traceback" not in text
