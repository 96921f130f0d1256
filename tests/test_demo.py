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


def test_the_demo_sends_the_digest_and_stays_quiet_on_the_baseline(demo_output: str):
    assert "Digest for console" in demo_output
    baseline = demo_output.split("=== 2021-10-06")[0]
    assert "┌─" not in baseline  # no alerts about the builds that existed before the tracker started
    assert demo_output.count("] PULLED: ESXi 7.0 U3 (18644231)") == 1  # never twice
