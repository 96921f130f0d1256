"""Release Tracker: watches VMware ESXi and vCenter releases for pulled and reissued builds."""

__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it (tool.setuptools.dynamic)


def build_info() -> dict[str, str]:
    """What `tracker --version`, /healthz and the `tracker_build_info` metric say this build is."""
    from tracker.store import SCHEMA_HEAD  # lazy: tracker.store stays light, but the package root lighter still

    return {"version": __version__, "schema": SCHEMA_HEAD}
