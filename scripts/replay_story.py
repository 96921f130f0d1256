"""`make start`: replay the ESXi 7.0 U3 story (Sept 2021 to Jan 2022) offline, as a newcomer's first look.

Serves the bundled pages (tracker/demo/story) on 127.0.0.1, imports the example inventory
(config/inventory.example.csv), runs `tracker poll --now ...` once per stage with config/offline.yaml into a fresh
SQLite file, and shows what an admin would look at: the events, the catalog, and what it all means for the hosts
right after the pull and once the reissue is past its cooldown.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.site import FixtureSite  # noqa: E402  (the fixture site the tests use)

STAGES = [
    ("01-2021-09-20", "2021-09-20T08:00:00Z", "baseline: what the KB tables list in September 2021"),
    ("02-2021-10-06", "2021-10-06T08:00:00Z", "ESXi and vCenter 7.0 Update 3 are released"),
    ("03-2021-10-29", "2021-10-29T08:00:00Z", "7.0 U3a"),
    ("04-2021-11-13", "2021-11-13T08:00:00Z", "7.0 U3b"),
    ("05-2021-11-18", "2021-11-18T08:00:00Z", "ESXi 7.0 U3b's row is gone from the KB (once: not yet a pull)"),
    ("06-2021-11-19", "2021-11-19T08:00:00Z", "still gone; the 7.0 U3 release notes announce the removal"),
    ("07-2021-11-22", "2021-11-22T08:00:00Z", "the U3 and U3a rows vanish too"),
    ("08-2021-11-23", "2021-11-23T08:00:00Z", "a quiet day: the pages did not change"),
    ("09-2022-01-28", "2022-01-28T08:00:00Z", "7.0 U3c appears: the reissue"),
]


def tracker(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "-m", "tracker.cli", "--config", str(ROOT / "config" / "offline.yaml"), *args]
    subprocess.run(command, env=env, check=True, cwd=ROOT)


def main() -> None:
    site = FixtureSite().start()
    with tempfile.TemporaryDirectory(prefix="tracker-story-") as data:
        env = {**os.environ, "TRACKER_SITE": site.url("").rstrip("/"), "TRACKER_DATA": data}
        print("\n=== the hosts we run (config/inventory.example.csv)", flush=True)
        tracker(env, "--now", STAGES[0][1], "inventory", "import", "config/inventory.example.csv")
        for stage, now, what in STAGES:
            site.stage(stage)
            print(f"\n=== {now[:10]}: {what}", flush=True)
            tracker(env, "--now", now, "poll")
            if stage.startswith("06-"):
                print("\n=== what the pull means for our hosts", flush=True)
                tracker(env, "--now", now, "exposure")
        print("\n=== every event the tracker recorded", flush=True)
        tracker(env, "events")
        print("\n=== the ESXi 7.0 catalog at the end", flush=True)
        tracker(env, "builds", "--product", "esxi", "--line", "7.0")
        print("\n=== 2022-02-05: the hosts, once 7.0 U3c is past its 7-day cooldown", flush=True)
        tracker(env, "--now", "2022-02-05T08:00:00Z", "exposure")
    site.stop()


if __name__ == "__main__":
    main()
