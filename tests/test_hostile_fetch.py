"""Issue 10, the fetch edge and hostile documents, through `tracker poll` and `tracker run --once` as a user runs
them, against real servers on 127.0.0.1 (tests/support/hostile_site.py trickles and redirects; the fixture site
serves the story's pages) and a real SQLite file:

- a page trickled one byte at a time fails at the fetch's deadline, where the poll used to hang for good;
- a KB page redirected to another host is not trusted (no pull from a "(Recalled)" mark there), unless the source
  lists the host in `allow_hosts:`; then evidence names where the page was read;
- a metadata.zip whose vmware.xml holds millions of tiny elements is refused (benchmarks/bench_hostile.py measures);
- feeds declared in EBCDIC or UTF-7 (where `<!ENTITY` is not ASCII bytes) are refused.
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.hostile_site import HostileSite
from tests.support.hostile_xml import element_bomb_zip, encoded_feed
from tests.support.site import FIXTURES, STORY, FixtureSite
from tracker.domain.versions import Product
from tracker.sources import advisory_feed, depot_index

DOES_NOT_HANG = 60.0  # seconds: a generous bound for a poll whose page trickles forever (deadline: 2 s)
BASELINE = (STORY / "04-2021-11-13" / "kb" / "316595.html").read_bytes()  # lists ESXi 7.0 U3b 18905247
RECALLED = BASELINE.replace(b">ESXi 7.0 Update 3b</a>", b">ESXi 7.0 Update 3b</a> (Recalled)")
ENTRY_POINTS = [("poll",), ("run", "--once")]


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    server = HostileSite().start()
    try:
        yield server
    finally:
        server.stop()


def write_config(folder: Path, sources: list[dict[str, object]], http: str = "{politeness_delay: 0}") -> Path:
    config = folder / "tracker.yaml"
    lines = [f"database: sqlite:///{folder}/tracker.db", "sources:"]
    lines += [f"  - {json.dumps(source)}" for source in sources]
    config.write_text("\n".join([*lines, f"http: {http}", ""]), encoding="utf-8")
    return config


def tracker(config: Path, *args: str, now: str) -> subprocess.CompletedProcess[str]:
    """`tracker` as its own process, as cron or a shell runs it; killed (and the test failed) if it hangs."""
    command = [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", now, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=DOES_NOT_HANG, check=False)


def source_health(config: Path, now: str) -> dict[str, dict[str, object]]:
    listed = tracker(config, "sources", "--json", now=now)
    assert listed.returncode == 0, listed.stderr
    return {row["id"]: row for row in json.loads(listed.stdout)}


# --- the deadline ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=" ".join)
def test_a_trickled_kb_page_fails_at_the_deadline_and_the_other_sources_are_polled(
    entry: tuple[str, ...], hostile: HostileSite, site: FixtureSite, tmp_path: Path
):
    site.stage("04-2021-11-13")
    hostile.trickle("/kb/316595.html", BASELINE)
    slow = {"id": "esxi-kb", "kind": "kb_build_table", "url": hostile.url("/kb/316595.html"), "product": "esxi"}
    fine = {"id": "vcenter-kb", "kind": "kb_build_table", "url": site.url("/kb/326316.html"), "product": "vcenter"}
    config = write_config(tmp_path, [slow, fine], http="{politeness_delay: 0, deadline: 2}")

    done = tracker(config, *entry, now="2021-11-13T08:00:00Z")  # used to hang: 1 byte per read never times out

    assert done.returncode == 0, done.stderr
    assert hostile.trickling.is_set()  # the page really was being read when the deadline struck
    health = source_health(config, "2021-11-13T08:01:00Z")
    assert health["esxi-kb"]["health"] != "ok"
    assert health["esxi-kb"]["last_error"] == f"{slow['url']}: not fetched within its 2 s deadline"
    assert health["vcenter-kb"]["health"] == "ok" and health["vcenter-kb"]["rows_seen"]


# --- redirects ------------------------------------------------------------------------------------------------
def _redirect_story(hostile: HostileSite, folder: Path, entry: tuple[str, ...], allow: list[str]) -> Cli:
    """A baseline poll of the KB page, then the KB URL redirected to another host serving it with a 7.0 U3b row
    marked "(Recalled)"."""
    kb = {"id": "esxi-kb", "kind": "kb_build_table", "url": hostile.url("/kb/316595.html"), "product": "esxi"}
    kb["follow_links"] = False
    if allow:
        kb["allow_hosts"] = allow
    cli = Cli(write_config(folder, [kb]))
    hostile.serve("/kb/316595.html", BASELINE)
    cli(*entry, now="2021-11-13T08:00:00Z")
    hostile.redirect("/kb/316595.html", hostile.url("/mirror/316595.html", host="localhost"))
    hostile.serve("/mirror/316595.html", RECALLED)
    cli(*entry, now="2021-11-14T08:00:00Z")
    return cli


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=" ".join)
def test_a_recalled_mark_on_another_host_that_the_kb_redirected_to_raises_no_pull(
    entry: tuple[str, ...], hostile: HostileSite, tmp_path: Path
):
    cli = _redirect_story(hostile, tmp_path, entry, allow=[])

    assert cli.json("events", "--kind", "pulled", now="2021-11-14T09:00:00Z") == []
    [source] = cli.json("sources", now="2021-11-14T09:00:00Z")
    port = hostile.port
    assert source["health"] == "anomaly"
    assert source["last_error"] == (
        f"http://127.0.0.1:{port}/kb/316595.html: redirected from 127.0.0.1:{port} to localhost:{port}, another "
        "host; not followed (list 'localhost' in the source's allow_hosts to follow it)"
    )
    assert all(hit.path != "/mirror/316595.html" for hit in hostile.requests)


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=" ".join)
def test_a_redirect_to_an_allowed_host_is_followed_and_the_evidence_names_the_page_it_reached(
    entry: tuple[str, ...], hostile: HostileSite, tmp_path: Path
):
    cli = _redirect_story(hostile, tmp_path, entry, allow=["LocalHost"])

    [pulled] = cli.json("events", "--kind", "pulled", now="2021-11-14T09:00:00Z")
    assert (pulled["build"], pulled["confidence"]) == (18905247, "high")
    assert [e["url"] for e in pulled["evidence"]] == [hostile.url("/mirror/316595.html", host="localhost")]


def test_allow_hosts_takes_host_names_only(hostile: HostileSite, tmp_path: Path):
    kb = {"id": "esxi-kb", "kind": "kb_build_table", "url": hostile.url("/kb.html"), "product": "esxi"}
    kb["allow_hosts"] = ["techdocs.broadcom.com", "https://user:pa55w0rd@evil.example.com/x"]
    config = write_config(tmp_path, [kb])
    done = tracker(config, "poll", now="2021-11-13T08:00:00Z")
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "sources[0] (id esxi-kb).allow_hosts: item 2 is not a host name: expected a name such as "
        "techdocs.broadcom.com or an IP address, without scheme, port, path or wildcard"
    )
    assert "pa55w0rd" not in done.stdout + done.stderr


# --- hostile documents ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=" ".join)
def test_a_metadata_zip_holding_millions_of_tiny_elements_is_refused(
    entry: tuple[str, ...], hostile: HostileSite, tmp_path: Path
):
    index = (STORY / "common" / "depot" / "vmw-depot-index.xml").read_bytes()
    vendor = (STORY / "common" / "depot" / "esx" / "vmw" / "vmw-esx-index.xml").read_bytes()
    hostile.serve("/depot/vmw-depot-index.xml", index, "application/xml")
    hostile.serve("/depot/esx/vmw/vmw-esx-index.xml", vendor, "application/xml")
    hostile.serve("/depot/esx/vmw/vmw-ESXi-7.0.0-metadata.zip", element_bomb_zip(3_000_000), "application/zip")
    depot = {"id": "esxi-depot", "kind": "depot_index", "url": hostile.url("/depot/vmw-depot-index.xml")}
    config = write_config(tmp_path, [{**depot, "product": "esxi"}])

    done = tracker(config, *entry, now="2021-11-13T08:00:00Z")

    assert done.returncode == 0, done.stderr
    [source] = source_health(config, "2021-11-13T08:01:00Z").values()
    assert source["health"] == "anomaly"
    expected = "vmw-ESXi-7.0.0-metadata.zip/metadata/vmware.xml refused: it holds more than 1,000,000 elements"
    assert source["last_error"] == expected


@pytest.mark.parametrize("kind", ["feed", "advisory_feed"])
@pytest.mark.parametrize("encoding", ["cp037", "cp500", "utf-7"])
def test_a_feed_declared_in_an_encoding_that_hides_its_entities_is_refused(
    kind: str, encoding: str, hostile: HostileSite, tmp_path: Path
):
    hostile.serve("/feed.xml", encoded_feed(encoding), "application/rss+xml")
    config = write_config(tmp_path, [{"id": "feed", "kind": kind, "url": hostile.url("/feed.xml"), "product": "esxi"}])
    cli = Cli(config)

    cli("poll", now="2021-11-13T08:00:00Z")

    [source] = cli.json("sources", now="2021-11-13T08:01:00Z")
    assert source["health"] == "anomaly"
    assert source["last_error"] == (
        f"refused: the XML's encoding {encoding!r} is not accepted (only UTF-8, UTF-16, ISO-8859-1 and ASCII are)"
    )


# --- the same rules, one document at a time -------------------------------------------------------------------
U3D = (FIXTURES / "depot" / "vmware-7.0-u3d.xml").read_text(encoding="utf-8")  # ESXi 7.0 U3d image profiles
VMWARE_XML = "http://127.0.0.1/depot/vmware.xml"


def test_a_utf16_vmware_xml_is_read_like_its_utf8_original():
    original = depot_index.parse(U3D.encode("utf-8"), url=VMWARE_XML, product=Product.ESXI)
    wide = U3D.replace('encoding="utf-8"', 'encoding="UTF-16"').encode("utf-16")
    assert original.records
    assert depot_index.parse(wide, url=VMWARE_XML, product=Product.ESXI).records == original.records


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (U3D.replace('encoding="utf-8"', 'encoding="UTF-32"').encode("utf-32"), "'UTF-32' is not accepted"),
        (U3D.replace('encoding="utf-8"', 'encoding="windows-1252"').encode("cp1252"), "'windows-1252' is not accepted"),
        (U3D.encode("utf-16"), "declares the encoding 'utf-8', but is not written in it"),
        (U3D.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-8"), "'utf-16', but is not written in it"),
    ],
    ids=["utf-32", "windows-1252", "utf-16 declared utf-8", "utf-8 declared utf-16"],
)
def test_a_vmware_xml_in_an_encoding_outside_the_four_or_declaring_another_is_refused(document: bytes, problem: str):
    result = depot_index.parse(document, url=VMWARE_XML, product=Product.ESXI)
    assert result.records == () and result.problem is not None
    assert result.problem.startswith("vmware.xml refused: ") and problem in result.problem


def test_a_vmware_xml_nesting_a_hundred_levels_deep_is_refused():
    deep = "<bulletin>" * 100 + "</bulletin>" * 100
    document = U3D.replace("<metadataResponse>", "<metadataResponse>" + deep, 1).encode("utf-8")
    result = depot_index.parse(document, url=VMWARE_XML, product=Product.ESXI)
    assert result.problem == "vmware.xml refused: it nests elements more than 64 deep"


def test_a_utf16_advisory_feed_declaring_entities_is_refused_not_read_as_an_advisory_page():
    document = encoded_feed("UTF-16")  # its `<rss` is not ASCII bytes: it used to be read as an HTML page
    result = advisory_feed.parse(document, url="http://127.0.0.1/vmsa.rss", product=Product.ESXI)
    assert (result.advisories, result.problem) == ((), "refused: the XML declares entities (never expanded)")


@pytest.mark.parametrize("deadline", ["0", "-5", "7200", "soon"])
def test_a_deadline_that_is_not_a_sensible_number_of_seconds_is_a_config_error(deadline: str, tmp_path: Path):
    kb = {"id": "esxi-kb", "kind": "kb_build_table", "url": "http://127.0.0.1:9/kb.html", "product": "esxi"}
    done = tracker(write_config(tmp_path, [kb], http=f"{{deadline: {deadline}}}"), "poll", now="2021-11-13T08:00:00Z")
    assert done.returncode == 2
    assert f"{tmp_path / 'tracker.yaml'}: http.deadline: " in done.stderr
