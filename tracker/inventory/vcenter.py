"""Live import from a vCenter through pyVmomi: its ESXi hosts, its VMs' VMware Tools and the vCenter itself, as
inventory Assets.

Hosts report `summary.config.product` (fullName "VMware ESXi 7.0.3 build-18644231", version, build); the
vCenter reports `content.about`; a VM `guest.toolsVersion`, the packed number tracker/domain/tools.py decodes
(12448 is Tools 12.5.0), and sits in its host's cluster (`runtime.host`). A VM whose number is no version (0:
not installed; 2147483647: open-vm-tools its OS manages) is imported with an unknown version and a warning.
Cluster and datacenter come from the inventory tree: a host's parent is a ClusterComputeResource (or, for a
standalone host, a plain ComputeResource), above it sit host folders, then the Datacenter. The whole tree is read
in one paged PropertyCollector call over a container view, not one round trip per host and property.

`read_vcenter` never raises: a failure (connection, TLS, login, a fault) becomes one ImportProblem whose message
says what went wrong and never contains the password. pyVmomi loads with this module, which only the
`tracker inventory sync-vcenter` command imports, so start-up never pays for it (tests/test_startup.py).
"""

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from tracker.domain.inventory import Asset, AssetKind, ImportProblem, ImportResult, build_from_text
from tracker.domain.tools import parse_tools_build
from tracker.domain.versions import VersionError

_HOST_PROPERTIES = ["name", "parent", "summary.config.product", "runtime.connectionState"]
_VM_PROPERTIES = ["name", "runtime.host", "guest.toolsVersion"]
_TREE_PROPERTIES = ["name", "parent"]  # compute resources, folders, datacenters: enough to place a host


class VcenterError(Exception):
    """A failure already worded for the user."""


@dataclass(frozen=True)
class _Node:
    """One inventory object: its vSphere type name (HostSystem, ClusterComputeResource ...) and properties."""

    kind: str
    props: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.props.get("name", ""))

    @property
    def parent(self) -> str | None:
        parent = self.props.get("parent")
        return str(parent._moId) if parent is not None else None


def read_vcenter(
    name: str,
    *,
    host: str,
    port: int = 443,
    user: str,
    password: str,
    verify_tls: bool = True,
    timeout: float = 30.0,
) -> ImportResult:
    """The vCenter `name` (as the config names it) and its ESXi hosts, sorted by name; or one problem."""
    try:
        with _session(host, port, user, password, verify_tls, timeout) as content:
            vcenter = _vcenter_asset(name, content.about)
            nodes = _collect(content)
            hosts, warnings = _host_assets(name, nodes)
            vms, vm_warnings = _vm_assets(name, nodes)
    except Exception as exc:
        message = _describe(exc, host=host, port=port, user=user, timeout=timeout)
        if password:
            message = message.replace(password, "***")
        return ImportResult(problems=(ImportProblem(f"vcenter {name}", None, None, message),))
    return ImportResult(assets=(vcenter, *hosts, *vms), warnings=(*warnings, *vm_warnings))


@contextmanager
def _session(host: str, port: int, user: str, password: str, verify_tls: bool, timeout: float) -> Iterator[Any]:
    """The vCenter's ServiceContent, logged in; logs out on the way out, whatever happened."""
    context = _tls_context(verify_tls)
    _handshake(host, port, context, timeout)
    instance = SmartConnect(  # type: ignore[no-untyped-call]
        host=host,
        port=port,
        user=user,
        pwd=password,
        sslContext=context,
        disableSslCertValidation=not verify_tls,
        httpConnectionTimeout=timeout,
    )
    try:
        content = instance.RetrieveContent()
        if content.about.apiType != "VirtualCenter":
            raise VcenterError(
                f"{host}:{port} is not a vCenter but {content.about.fullName!r} (API type "
                f"{content.about.apiType}); give the vCenter's address"
            )
        yield content
    finally:
        with suppress(Exception):  # a failed logout must not hide the result or the real error
            Disconnect(instance)  # type: ignore[no-untyped-call]


def _tls_context(verify_tls: bool) -> ssl.SSLContext:
    """Always an explicit context: given none, pyVmomi skips certificate checks for 127.0.0.1 and localhost."""
    context = ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
    """Connect and complete a TLS handshake within `timeout`. pyVmomi's first request (its API version probe) has
    no timeout, so a host that accepts and then stays silent would hang it; and errors read better from here."""
    with socket.create_connection((host, port), timeout=timeout) as raw, context.wrap_socket(raw, server_hostname=host):
        pass


def _collect(content: Any) -> dict[str, _Node]:
    """Every host, compute resource, folder and datacenter under the root folder, by managed object id."""
    collector: Any = vmodl.query.PropertyCollector  # the stubs leave its data object constructors untyped
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim.HostSystem, vim.VirtualMachine, vim.ComputeResource, vim.Folder, vim.Datacenter], True
    )
    try:
        traverse = collector.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)
        spec = collector.FilterSpec(
            objectSet=[collector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])],
            propSet=[
                collector.PropertySpec(type=vim.HostSystem, pathSet=_HOST_PROPERTIES),
                collector.PropertySpec(type=vim.VirtualMachine, pathSet=_VM_PROPERTIES),
                collector.PropertySpec(type=vim.ComputeResource, pathSet=_TREE_PROPERTIES),
                collector.PropertySpec(type=vim.ClusterComputeResource, pathSet=_TREE_PROPERTIES),
                collector.PropertySpec(type=vim.Folder, pathSet=_TREE_PROPERTIES),
                collector.PropertySpec(type=vim.Datacenter, pathSet=_TREE_PROPERTIES),
            ],
        )
        return dict(_pages(content.propertyCollector, spec, collector.RetrieveOptions()))
    finally:
        view.Destroy()


def _pages(pc: Any, spec: Any, options: Any) -> Iterator[tuple[str, _Node]]:
    result = pc.RetrievePropertiesEx([spec], options)
    while result is not None:
        for item in result.objects:
            props = {prop.name: prop.val for prop in item.propSet}
            yield str(item.obj._moId), _Node(type(item.obj).__name__.rpartition(".")[2], props)
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None


def _host_assets(vcenter: str, nodes: dict[str, _Node]) -> tuple[list[Asset], list[str]]:
    hosts = sorted((n for n in nodes.values() if n.kind == "HostSystem"), key=lambda n: (n.name.casefold(), n.name))
    assets, warnings = [], []
    for node in hosts:
        datacenter, cluster = _place(node, nodes)
        product = node.props.get("summary.config.product")
        if product is None:
            state = node.props.get("runtime.connectionState", "unknown")
            warnings.append(f"host {node.name}: reports no product (connection state {state}); build unknown")
        build = _build(product, AssetKind.ESXI)
        if product is not None and build is None:
            warnings.append(f"host {node.name}: no build number in {product.fullName!r} / {product.build!r}")
        assets.append(
            Asset(
                name=node.name,
                kind=AssetKind.ESXI,
                build=build,
                version_text=str(product.fullName or "") if product is not None else "",
                vcenter=vcenter,
                datacenter=datacenter,
                cluster=cluster,
                origin=f"vcenter:{vcenter}",
            )
        )
    return assets, warnings


def _vm_assets(vcenter: str, nodes: dict[str, _Node]) -> tuple[list[Asset], list[str]]:
    """Every VM, sorted by name, with its Tools version as reported and its host's datacenter and cluster."""
    vms = sorted((n for n in nodes.values() if n.kind == "VirtualMachine"), key=lambda n: (n.name.casefold(), n.name))
    assets, warnings = [], []
    for node in vms:
        host = nodes.get(str(node.props["runtime.host"]._moId)) if node.props.get("runtime.host") else None
        datacenter, cluster = _place(host, nodes) if host is not None else ("", "")
        text = str(node.props.get("guest.toolsVersion") or "").strip()
        try:
            parse_tools_build(text) if text else None
        except VersionError as error:
            warnings.append(f"vm {node.name}: {error}; its Tools are not assessed")
            text = ""
        assets.append(
            Asset(
                name=node.name,
                kind=AssetKind.VM,
                build=None,  # a VM reports its Tools version; exposure places it in the catalog
                version_text=text,
                vcenter=vcenter,
                datacenter=datacenter,
                cluster=cluster,
                origin=f"vcenter:{vcenter}",
            )
        )
    return assets, warnings


def _place(host: _Node, nodes: dict[str, _Node]) -> tuple[str, str]:
    """(datacenter, cluster) of a host; cluster is "" for a standalone host."""
    parent = nodes.get(host.parent or "")
    cluster = parent.name if parent is not None and parent.kind == "ClusterComputeResource" else ""
    node = parent
    for _ in range(len(nodes)):  # the walk up ends at the datacenter; bounded, should a server send a cycle
        if node is None or node.kind == "Datacenter":
            break
        node = nodes.get(node.parent or "")
    datacenter = node.name if node is not None and node.kind == "Datacenter" else ""
    return datacenter, cluster


def _vcenter_asset(name: str, about: Any) -> Asset:
    """The vCenter itself, named as the config names it (its `about.name` is the same for every vCenter)."""
    return Asset(
        name=name,
        kind=AssetKind.VCENTER,
        build=_build(about, AssetKind.VCENTER),
        version_text=str(about.fullName or ""),
        vcenter=name,
        origin=f"vcenter:{name}",
    )


def _build(product: Any, kind: AssetKind) -> int | None:
    """The build in an AboutInfo: read from fullName, else its `build` field; None when neither has one."""
    if product is None:
        return None
    try:
        return build_from_text(str(product.fullName or ""), kind)
    except VersionError:
        build = str(product.build or "").strip()
        return int(build) if build.isdigit() else None


def _describe(exc: Exception, *, host: str, port: int, user: str, timeout: float) -> str:
    """A message for the user; built from the exception's type and fields, never from the credentials."""
    where = f"{host}:{port}"
    match exc:
        case VcenterError():
            return str(exc)
        case vim.fault.InvalidLogin():
            return f"login to {where} refused for user {user!r}: wrong user name or password"
        case vim.fault.NoPermission():
            return f"user {user!r} may not read the inventory of {where} (needs at least read-only access)"
        case vmodl.MethodFault():
            return f"{where} answered with a fault: {type(exc).__name__.rpartition('.')[2]}: {getattr(exc, 'msg', '')}"
        case ssl.SSLCertVerificationError():
            return (
                f"TLS certificate of {where} is not trusted ({exc.verify_message}); add its CA to the system's "
                "trust store, or set verify_tls: false for this vCenter"
            )
        case ssl.SSLError():
            return f"TLS handshake with {where} failed: {exc.reason or exc}"
        case ConnectionRefusedError():
            return f"cannot connect to {where}: connection refused (is the host and port of the vCenter right?)"
        case TimeoutError():
            return f"no answer from {where} within {timeout:g} s"
        case socket.gaierror():
            return f"cannot resolve the vCenter host name {host!r}: {exc.strerror}"
        case OSError():
            return f"cannot connect to {where}: {exc.strerror or exc}"
    return f"reading {where} failed: {type(exc).__name__}: {exc}"
