"""`tracker serve` and `tracker run` serve the web face on 127.0.0.1; it answers with the security headers."""

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.waiting import wait_until
from tests.support.web import WRITE_TOKEN, WebServer, web_config, web_server


def test_tracker_serve_answers_healthz_with_a_content_security_policy(web: WebServer):
    response = web.client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_tracker_run_serves_the_web_face_beside_the_scheduler(story: Path, tmp_path: Path):
    config = web_config(story, tmp_path, extra="service: {tick: 3600}\n")
    with web_server(config, "run") as server:
        assert server.client().get("/healthz").json()["mode"] == "service"


def test_a_token_written_in_the_config_itself_is_refused_naming_the_key(story: Path, tmp_path: Path):
    config = web_config(story, tmp_path)
    config.write_text(config.read_text().replace("'${TRACKER_WRITE_TOKEN}'", f"'{WRITE_TOKEN}'"))
    result = WebServer("", config, None).cli("serve")  # type: ignore[arg-type]
    assert result.returncode == 2
    assert "web.write_tokens[0]" in result.stderr
    assert WRITE_TOKEN not in result.stderr


def test_tracker_demo_serve_keeps_the_dashboard_up_over_the_story_until_ctrl_c(tmp_path: Path):
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "tracker.cli", "demo", "--serve", "--listen", "127.0.0.1:0"]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        found = wait_until(lambda: re.search(r"web: serving on (http://\S+)", log.read_text()), 120, "the dashboard")
        builds = httpx.get(f"{found.group(1)}/api/v1/builds?status=pulled", timeout=30)
        assert builds.status_code == 200
        assert {b["build"] for b in builds.json()["items"]} >= {18644231, 18825058, 18905247}
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
    assert "PULLED: ESXi 7.0 U3 (18644231)" in log.read_text()  # the story was told first
