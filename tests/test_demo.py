"""`tracker demo` runs offline, end to end, and prints the alerts and the digest a person must see."""

import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def demo_output() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_demo_tells_the_pull_of_7_0_u3_with_the_hosts_and_the_hold(demo_output: str):
    assert "PULLED: ESXi 7.0 U3 (18644231)" in demo_output
    assert "esx-prod-b01.corp.example" in demo_output
    assert "hold: no safe target yet" in demo_output
    assert "KB 86287" in demo_output  # hosts carrying both i40en and i40enu


def test_the_demo_tells_the_reissue_and_ends_with_u3c_as_the_target(demo_output: str):
    assert "REISSUED: ESXi 7.0 U3c (19193900)" in demo_output
    assert "Replaces build 18644231, 18825058, 18905247" in demo_output
    final = demo_output.split("what it means for the hosts")[-1]
    assert "esx-prod-b01.corp.example" in final and "-> ESXi 7.0 U3c (19193900)" in final
    b01 = next(line for line in final.splitlines() if "esx-prod-b01" in line)  # both i40en and i40enu
    assert b01.endswith("-> ESXi 7.0 U3c (19193900); caveat KB 86287"), b01


def stage_of(demo_output: str, day: str) -> str:
    """What the demo printed under its `=== <day>: ...` heading (the stage's alerts and its poll line)."""
    return demo_output.split(f"\n=== {day}: ")[1].split("\n=== ")[0]


def alert(text: str, title: str) -> str:
    """The alert whose title holds `title`, from its title to its closing line."""
    return next(a for a in text.split("┌─ ")[1:] if title in a.split("\n", 1)[0]).split("└─")[0]


def test_in_december_the_log4j_advisory_has_no_fix_for_vcenter_and_holds_vc01(demo_output: str):
    december = stage_of(demo_output, "2021-12-22")
    log4j = alert(december, "ADVISORY: VMSA-2021-0028.6")
    assert "1 of your vCenters affected" in log4j.split("\n", 1)[0]
    assert "no fix published yet: vCenter Server 7.x (Patch Pending)" in log4j
    assert "- vc01.corp.example" in log4j and "(18700403): vulnerable" in log4j
    assert "hold: no fix published yet (VMSA-2021-0028.6, Patch Pending)" in log4j
    assert "Recommended target" not in log4j  # no fix: nothing to upgrade to yet
    assert "esx-" not in log4j  # ESXi is not affected by Log4j


def test_the_log4j_fix_is_told_in_february_not_with_the_u3c_reissue(demo_output: str):
    january = stage_of(demo_output, "2022-01-28")
    assert "ADVISORY: VMSA-2021-0028" not in january  # the revision naming 7.0U3c is confirmed only by 01-31
    february = stage_of(demo_output, "2022-02-16")
    fixed = alert(february, "ADVISORY: VMSA-2021-0028")
    published = fixed.split("fix published: ")[1].split("(was Patch Pending)")[0]  # "vCenter Server 7.0 ... 7.0U3c"
    assert "revised" in fixed and published.startswith("vCenter Server 7.0 ") and "7.0U3c" in published
    assert "- vc01.corp.example" in fixed
    assert "Recommended target: vCenter Server 7.0 U3c (7.0.3.00300) (19234570)" in fixed
    assert "no fix published yet" not in fixed
    final = demo_output.split("what it means for the hosts")[-1]
    (vc01,) = [line for line in final.splitlines() if "vc01.corp.example" in line]
    assert "vulnerable" in vc01 and "-> vCenter Server 7.0 U3c (7.0.3.00300) (19234570)" in vc01


def test_the_demo_sends_the_digest_and_stays_quiet_on_the_baseline(demo_output: str):
    assert "Digest for console" in demo_output
    baseline = demo_output.split("=== 2021-10-06")[0]
    assert "┌─" not in baseline  # no alerts about the builds that existed before the tracker started
    assert demo_output.count("] PULLED: ESXi 7.0 U3 (18644231)") == 1  # never twice


def test_the_demo_tells_each_thing_at_its_time_and_only_calls_quiet_what_was(demo_output: str):
    stages = demo_output.split("\n=== ")
    order = [s.split(":", 1)[0][:10] for s in stages[1:]]
    assert order == sorted(order)  # the 2022-01-29 digest comes before the 2022-02-16 stage
    digest = next(s for s in stages if "the daily digest" in s.split("\n", 1)[0])
    assert "VMSA-2022-0004" not in digest  # published on 02-16: not known on 01-29
    for stage in stages:
        if "quiet" in stage.split("\n", 1)[0] or "nothing changed" in stage.split("\n", 1)[0]:
            assert "┌─" not in stage


def test_alerts_name_sources_as_people_know_them_and_say_the_title_once(demo_output: str):
    assert ":notes:" not in demo_output  # never an internal id
    assert "ESXi 7.0 U3 release notes" in demo_output and "the vSphere blog" in demo_output
    assert "KB 316595" in demo_output
    pulled = demo_output.split("] PULLED: ESXi 7.0 U3 (18644231)")[1].split("└─")[0]
    assert "PULLED: ESXi 7.0 U3 (18644231)" not in pulled  # the title is not repeated in the body
    assert "(18644231) was pulled" not in pulled  # nor said again as the detail


def test_the_demo_ends_by_itself_and_says_how_to_see_the_dashboard(demo_output: str):
    assert demo_output.rstrip().endswith("(the dashboard over this story, until Ctrl-C).")
    assert "tracker demo --serve" in demo_output
