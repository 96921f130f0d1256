"""The live vCenter import, against govmomi's simulator (tests/vcsim) on 127.0.0.1: no mocks of pyVmomi."""

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from pyVim.connect import Disconnect, SmartConnect

from tests.support.site import FixtureSite
from tests.support.vcsim import Vcsim
from tracker.domain.inventory import Asset, AssetKind, ImportResult
from tracker.inventory import vcenter as vcenter_module
from tracker.inventory.vcenter import read_vcenter

StartVcsim = Callable[..., Vcsim]

# The ESXi 7.0 U3 story (PRODUCT.md 2.2), given to the simulator out of name order (it answers in random order
# anyway); it spreads them round-robin over its clusters DC0_C0, DC0_C1 in the order given.
STORY_HOSTS = {
    "esx-04": "7.0.2:18538813",  # 7.0 U2d
    "esx-02": "7.0.3:18825058",  # 7.0 U3a, pulled
    "esx-01": "7.0.3:18644231",  # 7.0 U3, pulled
    "esx-03": "7.0.3:18905247",  # 7.0 U3b, pulled
}


def read(sim: Vcsim, name: str = "vc01", **overrides: Any) -> ImportResult:
    options: dict[str, Any] = {
        "host": sim.host,
        "port": sim.port,
        "user": sim.user,
        "password": sim.password,
        "verify_tls": False,
        "timeout": 10.0,
    } | overrides
    return read_vcenter(name, **options)


def hosts_of(result: ImportResult) -> list[Asset]:
    return [asset for asset in result.assets if asset.kind is AssetKind.ESXI]


def only_problem(result: ImportResult) -> str:
    assert not result.assets
    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    assert (problem.file, problem.row, problem.column) == ("vcenter vc01", None, None)
    return problem.message


def closed_port() -> int:
    """A port nothing listens on: bound by the OS, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_hosts_on_the_story_builds_come_back_sorted_with_build_version_cluster_and_datacenter(
    vcsim: StartVcsim,
) -> None:
    sim = vcsim(hosts=STORY_HOSTS, clusters=2)

    result = read(sim)

    assert result.ok, result.problems
    assert [(h.name, h.build, h.version_text, h.datacenter, h.cluster) for h in hosts_of(result)] == [
        ("esx-01", 18644231, "VMware ESXi 7.0.3 build-18644231", "DC0", "DC0_C0"),
        ("esx-02", 18825058, "VMware ESXi 7.0.3 build-18825058", "DC0", "DC0_C1"),
        ("esx-03", 18905247, "VMware ESXi 7.0.3 build-18905247", "DC0", "DC0_C1"),
        ("esx-04", 18538813, "VMware ESXi 7.0.2 build-18538813", "DC0", "DC0_C0"),
    ]
    assert {(h.vcenter, h.origin, h.vibs) for h in hosts_of(result)} == {("vc01", "vcenter:vc01", ())}
    assert result.warnings == ()


def test_the_vcenter_comes_back_first_as_a_vcenter_asset_named_as_the_config_names_it(vcsim: StartVcsim) -> None:
    sim = vcsim(hosts={"esx-01": "7.0.3:18644231"}, vcenter="7.0.3:19234570")

    result = read(sim, "vc-lab")

    assert result.assets[0] == Asset(
        name="vc-lab",
        kind=AssetKind.VCENTER,
        build=19234570,
        version_text="VMware vCenter Server 7.0.3 build-19234570",
        vcenter="vc-lab",
        origin="vcenter:vc-lab",
    )
    assert result.assets[0].reported is not None and result.assets[0].reported.line == "7.0"


def test_a_standalone_host_has_its_datacenter_but_no_cluster(vcsim: StartVcsim) -> None:
    sim = vcsim(hosts={"esx-01": "7.0.3:18644231"}, standalone={"esx-lab": "7.0.2:18538813"})

    result = read(sim)

    assert [(h.name, h.datacenter, h.cluster, h.build) for h in hosts_of(result)] == [
        ("esx-01", "DC0", "DC0_C0", 18644231),
        ("esx-lab", "DC0", "", 18538813),
    ]


def test_a_vcenter_without_hosts_gives_just_the_vcenter(vcsim: StartVcsim) -> None:
    sim = vcsim(hosts={})

    result = read(sim)

    assert result.ok
    assert [(a.kind, a.name) for a in result.assets] == [(AssetKind.VCENTER, "vc01")]


def test_a_wrong_password_gives_one_problem_that_never_shows_the_password(vcsim: StartVcsim) -> None:
    sim = vcsim(hosts={"esx-01": "7.0.3:18644231"}, user="tracker", password="s3cret-Pa55")

    result = read(sim, password="wr0ng-Pa55word")

    message = only_problem(result)
    assert "wrong user name or password" in message
    assert "'tracker'" in message
    assert "wr0ng-Pa55word" not in repr(result)
    assert "s3cret-Pa55" not in repr(result)


def test_a_closed_port_gives_a_clear_connection_problem() -> None:
    port = closed_port()

    result = read_vcenter("vc01", host="127.0.0.1", port=port, user="u", password="hunter2-x", timeout=5)

    message = only_problem(result)
    assert message == (
        f"cannot connect to 127.0.0.1:{port}: connection refused (is the host and port of the vCenter right?)"
    )
    assert "hunter2-x" not in repr(result)


def test_a_server_that_never_answers_gives_a_timeout_problem_instead_of_hanging() -> None:
    with socket.socket() as silent:  # listens (the kernel completes TCP connects) but never reads or writes
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        result = read_vcenter("vc01", host="127.0.0.1", port=port, user="u", password="pw-1234", timeout=0.5)

    assert only_problem(result) == f"no answer from 127.0.0.1:{port} within 0.5 s"


def test_an_untrusted_certificate_gives_a_tls_problem_when_verification_is_on(vcsim: StartVcsim) -> None:
    sim = vcsim(hosts={"esx-01": "7.0.3:18644231"})

    result = read(sim, verify_tls=True)

    message = only_problem(result)
    assert message.startswith(f"TLS certificate of 127.0.0.1:{sim.port} is not trusted (")
    assert "verify_tls: false" in message


def test_a_server_that_is_no_vcenter_gives_a_problem_rather_than_an_exception(site: FixtureSite) -> None:
    address = urlsplit(site.url("x"))
    assert address.port is not None

    result = read_vcenter("vc01", host="127.0.0.1", port=address.port, user="u", password="pw-1234", verify_tls=False)

    message = only_problem(result)
    assert message.startswith(f"TLS handshake with 127.0.0.1:{address.port} failed")
    assert "pw-1234" not in repr(result)


def sessions(sim: Vcsim) -> int:
    """How many sessions the simulator holds, not counting the one that asks."""
    instance = SmartConnect(  # type: ignore[no-untyped-call]
        host=sim.host, port=sim.port, user=sim.user, pwd=sim.password, disableSslCertValidation=True
    )
    try:
        return len(instance.content.sessionManager.sessionList) - 1
    finally:
        Disconnect(instance)  # type: ignore[no-untyped-call]


def test_the_import_logs_out_after_reading(vcsim: StartVcsim) -> None:
    sim = vcsim(hosts={"esx-01": "7.0.3:18644231"})

    assert read(sim).ok

    assert sessions(sim) == 0


def test_the_import_logs_out_when_reading_fails_midway(vcsim: StartVcsim, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = vcsim(hosts={"esx-01": "7.0.3:18644231"})

    def broken(content: object) -> None:
        raise RuntimeError("the property collector fell over")

    monkeypatch.setattr(vcenter_module, "_collect", broken)

    result = read(sim)

    assert only_problem(result) == (
        f"reading 127.0.0.1:{sim.port} failed: RuntimeError: the property collector fell over"
    )
    assert sessions(sim) == 0
