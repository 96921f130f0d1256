"""Parser speed on big inputs (targets: a 5 MB metadata.zip, a 1,000-entry feed and a 200-row Response Matrix each
parse in under 200 ms; a 300 KB KB page in under 100 ms).

Generates the inputs in memory from the shapes of the fixtures (tests/fixtures/depot, advisories, feeds, kb),
parses each one 5 times after a warm-up and prints the median and the worst, in a table.

    .venv/bin/python benchmarks/bench_parsers.py
"""

import io
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures"


def metadata_zip(target_bytes: int = 5_000_000) -> bytes:
    """A metadata.zip of ~5 MB: vmware.xml with many bulletins and image profiles, and per-VIB files."""
    profiles, bulletins, members = [], [], {}
    build = 17_000_000
    while sum(len(v) for v in members.values()) < target_bytes * 0.78:  # vmware.xml adds the rest
        build += 1
        base = f"7.0.3-0.{build % 100}.{build}"
        vibs = "".join(
            f"<vibID>VMware_bootbank_{v}_{base}</vibID>" for v in ("esx-base", "vsan", "esx-update", "bmcal")
        )
        bulletins.append(
            f"<bulletin><id>ESXi_{base}</id><vendor>VMware, Inc.</vendor><summary>ESXi core</summary>"
            f"<releaseDate>2022-01-27T00:00:00</releaseDate><vibList>{vibs}</vibList></bulletin>"
        )
        for suffix in ("standard", "no-tools"):
            profiles.append(
                f"<imageProfile><name>ESXi-7.0U3c-{build}-{suffix}</name><creator>VMware, Inc.</creator>"
                f"<vibList>{vibs}</vibList></imageProfile>"
            )
        members[f"vibs/esx-base-{build}.xml"] = (
            f"<vib><name>esx-base</name><version>{base}</version><description>{'x' * 4000}</description></vib>"
        )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n<metadataResponse><version>3.0</version>'
        + "".join(bulletins)
        + "".join(profiles)
        + "</metadataResponse>\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # stored: the size is the 5 MB on the wire
        archive.writestr("vmware.xml", xml)
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def vmsa_feed(entries: int = 1000) -> bytes:
    items = "".join(
        f"<item><title>VMSA-20{20 + n % 6}-{n:04d}: VMware ESXi updates address multiple vulnerabilities</title>"
        f"<link>https://www.vmware.com/security/advisories/VMSA-2022-{n:04d}.html</link>"
        f"<description>Severity: Critical. CVSSv3 range 5.3-8.4. CVE-2022-{n:05d}</description>"
        f"<pubDate>Tue, 15 Feb 2022 00:00:00 GMT</pubDate></item>"
        for n in range(entries)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>VMSA</title>{items}</channel></rss>'.encode()


def response_matrix(rows: int = 200) -> bytes:
    page = (FIXTURES / "advisories" / "vmsa-2022-0004.html").read_text(encoding="utf-8")
    row = (
        "<tr><td>ESXi</td><td>7.0</td><td>Any</td><td>CVE-2021-22040, CVE-2021-22041</td><td>8.4</td>"
        "<td>critical</td><td>ESXi70U3c-19193900<br>ESXi70U2e-19290878</td><td>KB87349</td><td>None</td></tr>"
    )
    return page.replace("<tbody>", "<tbody>" + row * rows, 1).encode()


def blog_feed(entries: int = 1000) -> bytes:
    items = "".join(
        f"<item><title>Post {n}: ESXi 7.0 Update 3 news</title><link>https://blogs.example/{n}</link>"
        f"<description>VMware has removed ESXi 7.0 Update 3, 7.0 Update 3a and 7.0 Update 3b.</description>"
        f"<pubDate>Fri, 19 Nov 2021 00:00:00 GMT</pubDate></item>"
        for n in range(entries)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>blog</title>{items}</channel></rss>'.encode()


def timings(parse: Callable[[], object], runs: int = 5) -> list[float]:
    parse()  # warm up imports and caches
    result = []
    for _ in range(runs):
        started = time.perf_counter()
        parse()
        result.append((time.perf_counter() - started) * 1000)
    return result


def tools_kb(rows: int) -> bytes:
    """KB 304809's page with `rows` Tools versions (10.0.0 on, patch levels 0-31): the KB grows one row a release."""
    from tests.fixtures.tools.make_tools_fixtures import page

    versions = [(10 + i // 320, i // 32 % 10, i % 32) for i in range(rows)]
    return page(
        tuple(
            (f"{a}.{b}.{c}", "03/25/2025", 20000000 + n, (a << 10) + (b << 5) + c)
            for n, (a, b, c) in enumerate(versions)
        )
    ).encode()


def main() -> None:
    from tracker.domain.versions import Product
    from tracker.sources import advisory_feed, depot_index, feed, kb_build_table

    esxi = Product.ESXI
    kb = (FIXTURES / "kb" / "broadcom-316595-esxi.html").read_bytes()
    kb9 = (FIXTURES / "kb" / "broadcom-316595-esxi-9x.html").read_bytes()
    vc9 = (FIXTURES / "kb" / "broadcom-326316-vcenter-9x.html").read_bytes()
    tools = (FIXTURES / "tools" / "broadcom-304809-tools-1252.html").read_bytes()
    tools_long = tools_kb(300)
    zipped, rss, matrix, blog = metadata_zip(), vmsa_feed(), response_matrix(), blog_feed()
    cases = [
        (
            f"metadata.zip, {len(zipped) / 1e6:.1f} MB (depot_index)",
            200,
            lambda: depot_index.parse(zipped, url="https://depot.example/m.zip", product=esxi),
        ),
        (
            "VMSA feed, 1,000 entries (advisory_feed)",
            200,
            lambda: advisory_feed.parse(rss, url="https://www.vmware.com/security/advisories.xml", product=esxi),
        ),
        (
            "advisory page, 200-row Response Matrix",
            200,
            lambda: advisory_feed.parse(
                matrix, url="https://www.vmware.com/security/advisories/VMSA-2022-0004.html", product=esxi
            ),
        ),
        (
            "blog feed, 1,000 entries (feed: newest 200 read)",
            200,
            lambda: feed.parse(blog, url="https://blogs.example/", product=esxi),
        ),
        (
            f"KB 316595 page, {len(kb) // 1000} KB (kb_build_table)",
            100,
            lambda: kb_build_table.parse(kb, url="https://knowledge.broadcom.com/x", product=esxi),
        ),
        (
            f"KB 316595 page with the ESX 9.x table, {len(kb9) // 1000} KB (kb_build_table)",
            100,
            lambda: kb_build_table.parse(kb9, url="https://knowledge.broadcom.com/x", product=esxi),
        ),
        (
            f"KB 326316 page with the vCenter 9.x table, {len(vc9) // 1000} KB (kb_build_table)",
            100,
            lambda: kb_build_table.parse(vc9, url="https://knowledge.broadcom.com/x", product=Product.VCENTER),
        ),
        (
            f"KB 304809 page (VMware Tools), {len(tools) // 1000} KB (kb_build_table, product tools)",
            100,
            lambda: kb_build_table.parse(tools, url="https://knowledge.broadcom.com/x", product=Product.TOOLS),
        ),
        (
            f"KB 304809 page grown to 300 rows, {len(tools_long) // 1000} KB (kb_build_table, product tools)",
            100,
            lambda: kb_build_table.parse(tools_long, url="https://knowledge.broadcom.com/x", product=Product.TOOLS),
        ),
    ]
    rows = [("input", "median ms", "worst ms", "target ms", "met?")]
    for label, target, parse in cases:
        measured = timings(parse)
        worst = max(measured)
        rows.append(
            (
                label,
                f"{statistics.median(measured):.1f}",
                f"{worst:.1f}",
                f"< {target}",
                "yes" if worst < target else "NO",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
