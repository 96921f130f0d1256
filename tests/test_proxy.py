"""Behind a proxy: HTTP_PROXY / HTTPS_PROXY from the environment carry every fetch, with the same deadline."""

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.site import FixtureSite


@pytest.fixture
def proxy(site: FixtureSite) -> Iterator[tuple[str, list[str]]]:
    """A forwarding proxy on 127.0.0.1 that answers every absolute URI from the fixture site, and logs it."""
    seen: list[str] = []
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the proxy itself goes direct

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            path = "/" + self.path.split("://", 1)[1].split("/", 1)[1]
            with direct.open(site.url(path), timeout=10) as answer:
                body = answer.read()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_poll_behind_a_proxy_reaches_the_vendor_through_it(
    site: FixtureSite, tmp_path: Path, proxy: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
):
    address, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", address)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    site.stage("01-2021-09-20")
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'tracker.db'}\n"
        "sources:\n"
        "  - {id: esxi-kb, kind: kb_build_table, product: esxi, follow_links: false,"
        " url: 'http://knowledge.vendor.invalid/kb/316595.html'}\n"
        "http: {politeness_delay: 0, timeout: 5}\n",
        encoding="utf-8",
    )
    cli = Cli(config)
    cli("poll", now="2021-09-20T08:00:00Z")
    assert seen == ["http://knowledge.vendor.invalid/kb/316595.html"]
    [source] = [s for s in cli.json("sources", now="2021-09-20T08:00:00Z") if s["id"] == "esxi-kb"]
    assert source["health"] == "ok" and source["rows_seen"] > 10
