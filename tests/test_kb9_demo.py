"""Issue 12: the demo's sample inventory shows an ESX 9.0 host beside the 7.0 ones, without changing the story."""

import subprocess
import sys

from tracker.demo import INVENTORY
from tracker.inventory.files import read_inventory


def test_the_sample_inventory_holds_an_esx_9_0_host():
    imported = read_inventory(INVENTORY)
    assert imported.problems == ()
    hosts = {h.name: h for h in imported.assets}
    esx9 = hosts["esx9-lab-01.corp.example"]
    assert esx9.build == 24755229 and esx9.reported is not None and esx9.reported.line == "9.0"
    assert len(hosts) == 14


def test_the_demo_lists_the_9_0_host_as_an_unknown_build_of_esx_9_0_and_alerts_nothing_about_it():
    done = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "14 hosts imported" in done.stdout
    final = done.stdout.split("what it means for the hosts")[-1]
    (row,) = [line for line in final.splitlines() if "esx9-lab-01.corp.example" in line]
    assert "unknown_build" in row
    alerts = done.stdout.split("what it means for the hosts")[0]
    assert "esx9-lab-01" not in alerts  # the 7.0 story's alerts concern the 7.0 hosts only
