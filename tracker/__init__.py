"""Release Tracker: watches VMware ESXi and vCenter releases for pulled and reissued builds."""

__version__ = "0.1.0"
