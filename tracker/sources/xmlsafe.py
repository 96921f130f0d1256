"""XML from the network, parsed without expanding anything (PRODUCT.md section 4).

A document that declares entities (`<!ENTITY`), carries an internal DTD subset or points at an external DTD is
refused before libxml2 sees it, never expanded: that closes billion-laughs and XXE (`file:///etc/passwd`) in
one place. A plain `<!DOCTYPE vendorList>` line is fine. The byte scan is only sound for ASCII-compatible
encodings, so UTF-16/32 and exotic declared encodings are refused too (the vendor's depot XML is UTF-8). The
parser itself is locked down as well (no entity resolution, no network, no DTD loading, libxml2's size limits),
so a document that slipped past the scan still expands nothing.
"""

import re

from lxml import etree

__all__ = ["XmlProblem", "children_text", "load_xml", "local_name"]

MAX_XML_BYTES = 64 * 1024 * 1024

_ENTITY = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE([^>]*)>?", re.I)
_EXTERNAL_ID = re.compile(rb"\b(?:SYSTEM|PUBLIC)\b", re.I)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ASCII_COMPATIBLE = frozenset(
    {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}
)
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


class XmlProblem(ValueError):
    """A document we will not read: refused (entities, DTDs, odd encodings) or not well-formed."""


def load_xml(content: bytes, what: str = "document") -> etree._Element:
    """The root element of `content`, parsed safely; raises `XmlProblem` saying why it was refused."""
    if len(content) > MAX_XML_BYTES:
        raise XmlProblem(f"{what} is larger than {MAX_XML_BYTES:,} bytes")
    if reason := _refusal(content):
        raise XmlProblem(f"{what} refused: {reason}")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as error:
        raise XmlProblem(f"{what} is not well-formed XML ({error.msg})") from None
    if root is None:
        raise XmlProblem(f"{what} is empty")
    _check_tree(root, what)
    return root


def _refusal(content: bytes) -> str | None:
    head = content[:512]
    if head.startswith(_WIDE_BOMS) or b"\x00" in head[:4]:
        return "UTF-16/UTF-32 documents are not accepted"
    declared = _DECLARED_ENCODING.match(head)
    if declared and declared.group(1).decode("ascii").lower() not in _ASCII_COMPATIBLE:
        return f"encoding {declared.group(1).decode('ascii')!r} is not accepted"
    if _ENTITY.search(content):
        return "it declares entities (<!ENTITY>)"
    for doctype in _DOCTYPE.finditer(content):
        if b"[" in doctype.group(1):
            return "it carries an internal DTD subset"
        if _EXTERNAL_ID.search(doctype.group(1)):
            return "it references an external DTD"
    return None


def _check_tree(root: etree._Element, what: str) -> None:
    # Belt and braces: the byte scan should make all of these impossible. A plain `<!DOCTYPE x>` is allowed.
    # (getattr: lxml-stubs lack DocInfo.system_url and DTD.entities()/elements(), which lxml has.)
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "system_url", None) or docinfo.public_id:
        raise XmlProblem(f"{what} refused: it references an external DTD")
    dtd = docinfo.internalDTD
    if dtd is not None and (getattr(dtd, "entities")() or getattr(dtd, "elements")()):  # noqa: B009
        raise XmlProblem(f"{what} refused: it carries DTD declarations")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise XmlProblem(f"{what} refused: it references entities")


def local_name(element: etree._Element) -> str:
    """The tag without namespace, lower-cased (`imageProfile` -> `imageprofile`); "" for non-elements."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def children_text(element: etree._Element, name: str) -> list[str]:
    """The stripped texts of the direct children called `name` (case-insensitive, any namespace)."""
    return [(child.text or "").strip() for child in element if local_name(child) == name and (child.text or "").strip()]
