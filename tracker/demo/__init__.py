"""`tracker demo`: the whole product in one offline command.

Serves the bundled pages of the ESXi 7.0 U3 story (tracker/demo/story: KB tables, release notes and, where the
stage has them, advisories, download listings, the depot and the vendor blog) on 127.0.0.1, imports a sample
inventory of a dozen hosts on 7.0 U2c to U3b (some with both the i40en and i40enu VIBs) and their vCenter on 7.0 U3,
replays the timeline from September 2021 to February 2022 with `--now` (the pull and reissue of 7.0 U3, the Log4j
advisory with no fix for vCenter in December and its fix in February, VMSA-2022-0004), and prints each alert as the
console channel receives it, the final digest and the exposure table, the way a person would read them. Everything
runs in a temporary folder; nothing leaves the machine.
"""

import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import formatdate
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.config import WebConfig, clock, load_config
from tracker.cycle import Request
from tracker.domain.words import count
from tracker.escape import visible
from tracker.inventory.files import read_inventory
from tracker.jobs import poll as use_case
from tracker.jobs.delivery import digest_now
from tracker.jobs.inventory import assess_exposure, import_inventory
from tracker.store.db import make_engine, migrate

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.config import Config
    from tracker.jobs.poll import PollResult

STORY = Path(__file__).parent / "story"
INVENTORY = Path(__file__).parent / "inventory.csv"
STAGES = (
    ("01-2021-09-20", "2021-09-20T08:00:00+00:00", "September 2021: the tracker starts watching (a silent baseline)"),
    ("02-2021-10-06", "2021-10-06T08:00:00+00:00", "ESXi and vCenter 7.0 Update 3 are released"),
    ("03-2021-10-29", "2021-10-29T08:00:00+00:00", "7.0 U3a"),
    ("04-2021-11-13", "2021-11-13T08:00:00+00:00", "7.0 U3b"),
    ("05-2021-11-18", "2021-11-18T08:00:00+00:00", "ESXi 7.0 U3b's row is gone from the KB (once: not yet a pull)"),
    ("06-2021-11-19", "2021-11-19T08:00:00+00:00", "still gone; the 7.0 U3 release notes announce the removal"),
    ("07-2021-11-22", "2021-11-22T08:00:00+00:00", "the U3 and U3a rows vanish too"),
    ("08-2021-11-23", "2021-11-23T08:00:00+00:00", "ESXi's pages are unchanged; vCenter 7.0 U3b stays gone: a pull"),
    ("08a-2021-12-22", "2021-12-22T08:00:00+00:00", "Log4j: VMSA-2021-0028.6 says 'Patch Pending' for vCenter Server"),
    ("09-2022-01-28", "2022-01-28T08:00:00+00:00", "7.0 U3c appears: the reissue"),
    ("10-2022-02-16", "2022-02-16T08:00:00+00:00", "VMSA-2022-0004 is published; VMSA-2021-0028 names 7.0U3c"),
)
DIGEST = "2022-01-29T07:00:00+00:00"  # 08:00 in Berlin, the morning after the reissue
FINAL = "2022-02-16T08:00:00+00:00"  # U3c past its cooldown and VMSA-2022-0004 out


@contextmanager
def story_site() -> Iterator[Callable[[str], str]]:
    """Serve the story on 127.0.0.1; yields `stage(name) -> base_url` that switches what is served."""
    current: list[Path] = [STORY / STAGES[0][0]]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0].lstrip("/")
            found = next((d / path for d in (current[0], STORY / "common") if (d / path).is_file()), None)
            if found is None or ".." in path:
                self.send_error(404)
                return
            body = found.read_bytes()
            etag = '"' + sha256(body).hexdigest()[:20] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", _content_type(found.name))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(usegmt=True))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    with _serving(Handler) as base:

        def stage(name: str) -> str:
            current[0] = STORY / name
            return base

        yield stage


@contextmanager
def console_channel(show: Callable[[str], None]) -> Iterator[str]:
    """A webhook receiver on 127.0.0.1 that prints what the tracker sends it; yields its json:// URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"{}")
            show(
                f"\n  ┌─ {visible(data.get('title', ''))}\n"
                + "".join(f"  │ {visible(line)}\n" for line in str(data.get("message", "")).splitlines())
                + "  └─"
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    with _serving(Handler) as base:
        yield "json://" + base.removeprefix("http://") + "/console"


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _content_type(name: str) -> str:
    if name.endswith((".xml", ".rss")):
        return "application/xml"
    if name.endswith(".json"):
        return "application/json"
    if name.endswith(".zip"):
        return "application/zip"
    return "text/html; charset=utf-8"


def config_text(base: str, console: str, folder: Path) -> str:
    sources = [
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{base}/kb/316595.html', product: esxi}}",
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{base}/kb/326316.html', product: vcenter}}",
    ]
    extra = {
        "downloads/esxi-70.html": "{id: esxi-downloads, kind: download_listing, url: '%s', product: esxi,"
        " name: ESXi 7.0 downloads}",
        "depot/vmw-depot-index.xml": "{id: esxi-depot, kind: depot_index, url: '%s', product: esxi,"
        " name: the ESXi online depot}",
        "advisories/vmsa.rss": "{id: vmsa, kind: advisory_feed, url: '%s', product: esxi,"
        " name: VMware security advisories}",
        "feeds/blog.rss": "{id: vendor-blog, kind: feed, url: '%s', product: esxi, name: the vSphere blog}",
    }
    for path, line in extra.items():
        if any((STORY / stage / path).is_file() for stage, _, _ in STAGES) or (STORY / "common" / path).is_file():
            sources.append("  - " + line % f"{base}/{path}")
    return "\n".join(
        [
            f"database: sqlite:///{folder / 'tracker.db'}",
            "timezone: Europe/Berlin",
            "sources:",
            *sources,
            "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}",
            f"channels:\n  console: {{urls: ['{console}']}}",
            "watchlists:",
            "  - {name: vsphere-team, owner: platform-team, products: [esxi, vcenter],",
            "     events: [pulled, reissued, restored, advisory, discrepancy],",
            "     immediate: [console], digest: [console]}",
            "digest: {schedule: '0 8 * * *', send_when_empty: true}",
            "",
        ]
    )


def run_demo(show: Callable[[str], None], serve: str | None = None) -> None:
    """Replay the story and print what a person would see; with `serve` (HOST:PORT), keep the dashboard up over
    the replayed story until Ctrl-C."""
    with tempfile.TemporaryDirectory(prefix="tracker-demo-") as tmp, story_site() as stage:
        config, engine = replay_story(Path(tmp), stage, show)
        if serve is None:
            show("\nSee it in a browser: tracker demo --serve (the dashboard over this story, until Ctrl-C).")
            return
        from tracker.web.server import serve as serve_web  # lazy: FastAPI, uvicorn and jinja2, only for --serve

        config = config.model_copy(update={"web": WebConfig(listen=serve)})
        show("")
        serve_web(config, engine, lambda: clock(FINAL), show)


def replay_story(folder: Path, stage: Callable[[str], str], show: Callable[[str], None]) -> tuple["Config", "Engine"]:
    """Replay every stage into a database in `folder`, the alerts reaching a console channel that `show`s them;
    the config and the database, as of the story's end."""

    with console_channel(show) as console:
        base = stage(STAGES[0][0])
        (folder / "tracker.yaml").write_text(config_text(base, console, folder), encoding="utf-8")
        config = load_config(str(folder / "tracker.yaml"))
        engine = make_engine(config.database)
        migrate(engine)
        hosts = read_inventory(INVENTORY)
        import_inventory(engine, hosts, "demo inventory", clock(STAGES[0][1]))
        show(f"Release Tracker demo: {len(hosts.assets)} hosts imported; replaying the ESXi 7.0 U3 story.")
        digest_shown = False
        after = use_case.AfterPoll(outbox=use_case.Outbox.YES)
        for name, now, what in STAGES:
            if not digest_shown and clock(now) > clock(DIGEST):  # each thing at its time, with the data as of then
                show(f"\n=== {DIGEST[:10]} 08:00 Europe/Berlin: the daily digest")
                show(digest_now(config, engine, clock(DIGEST), send=True))
                digest_shown = True
            stage(name)
            show(f"\n=== {now[:10]}: {what}")
            result = use_case.poll(config, lambda: engine, Request(clock(now)), after)  # alerts reach the console
            show(_poll_line(result))
        _show_exposure(config, engine, clock(FINAL), show)
    return config, engine


def _poll_line(result: "PollResult") -> str:
    report = result.report
    if report is None:
        return f"  not polled: {result.lease_lost}"
    kinds: dict[str, int] = {}
    for event in report.events:
        kinds[event.kind.value] = kinds.get(event.kind.value, 0) + 1
    nouns = ("advisory", "discrepancy")  # the other kinds are adjectives: "2 pulled"
    summary = ", ".join(count(n, k) if k in nouns else f"{n} {k}" for k, n in sorted(kinds.items())) or "no events"
    return f"  polled {count(len(report.outcomes), 'page')}: {summary}; {count(report.queued, 'alert')}"


def _show_exposure(config: object, engine: object, now: datetime, show: Callable[[str], None]) -> None:
    show(f"\n=== {now.date().isoformat()}: what it means for the hosts (tracker exposure)")
    for item in assess_exposure(config, engine, now):  # type: ignore[arg-type]
        target = (
            f"-> {item.recommended_release} ({item.recommended_build})"
            + (f"; {item.hold}" if item.hold else "")
            + "".join(f"; caveat {caveat.split(':')[0]}" for caveat in item.caveats)  # its id: the text is long
            if item.recommended
            else (item.hold or "nothing to do")
        )
        runs = item.release.short if item.release else "?"
        show(
            f"  {visible(item.asset.name):<26} {runs:<20} {','.join(s.value for s in item.statuses):<22} "
            f"{item.severity.value:<9} {visible(target)}"
        )
