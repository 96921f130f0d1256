"""XML from the network, parsed without expanding anything and within bounds (PRODUCT.md section 4).

Every XML reader goes through here: the depot's documents (`load_xml`), the feeds and the advisory feed (their
feedparser input is first checked with `markup`).

- Encodings: a document is read only in UTF-8, UTF-16, ISO-8859-1 or ASCII, as its byte-order mark, its first
  bytes and its declaration say, and only when they agree. In EBCDIC or UTF-7, `<!ENTITY` is not ASCII bytes, so a
  byte scan would miss it while the parser (libxml2, feedparser) decodes and expands it. UTF-16 is decoded before
  it is scanned.
- A document that declares entities (`<!ENTITY`), carries an internal DTD subset or points at an external DTD is
  refused before any parser sees it, never expanded: that closes billion-laughs and XXE (`file:///etc/passwd`).
  A plain `<!DOCTYPE vendorList>` line is fine.
- Bounds: at most `MAX_XML_BYTES`, `MAX_ELEMENTS` elements and `MAX_DEPTH` levels. A 172 KB zip can hold a
  vmware.xml of millions of tiny elements, which passes every size cap and used to cost 2.9 GB and a minute to
  parse; the document is now parsed in chunks and refused as soon as it passes a bound.
- The parser itself is locked down as well (no entity resolution, no network, no DTD loading, libxml2's own
  limits), so a document that slipped past the scan still expands nothing.
"""

import codecs
import re

from lxml import etree

__all__ = ["XmlProblem", "children_text", "load_xml", "local_name", "markup"]

MAX_XML_BYTES = 64 * 1024 * 1024
# A real vmware.xml lists some thousands of bulletins and image profiles, each with its VIB list (an image profile
# names ~200 VIBs): some hundred thousand elements for a whole product line. Ten times that leaves room to grow
# and bounds the tree (libxml2 takes ~100 bytes a node) to some hundred MB.
MAX_ELEMENTS = 1_000_000
MAX_DEPTH = 64  # depot metadata nests ~6 deep (metadataResponse/bulletin/vibList/vibID); libxml2 stops at 256
ACCEPTED = "UTF-8, UTF-16, ISO-8859-1 and ASCII"
_CHUNK = 64 * 1024

_ENTITY = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE([^>]*)>?", re.I)
_EXTERNAL_ID = re.compile(rb"\b(?:SYSTEM|PUBLIC)\b", re.I)
_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_ASCII_FAMILY = frozenset({"utf-8", "iso8859-1", "ascii"})  # Python's names for the accepted encodings
_UTF16_FAMILY = frozenset({"utf-16", "utf-16-le", "utf-16-be"})
_BOMS = (  # longest first: the UTF-32 LE mark begins with UTF-16 LE's
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_EBCDIC_DECLARATION = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC (XML 1.0, appendix F)


class XmlProblem(ValueError):
    """A document we will not read: refused (entities, DTDs, odd encodings) or not well-formed."""


def load_xml(content: bytes, what: str = "document") -> etree._Element:
    """The root element of `content`, parsed safely and within bounds; raises `XmlProblem` saying why not."""
    if len(content) > MAX_XML_BYTES:
        raise XmlProblem(f"{what} is larger than {MAX_XML_BYTES:,} bytes")
    try:
        reason = _refusal(markup(content))
    except XmlProblem as problem:
        reason = str(problem)
    if reason:
        raise XmlProblem(f"{what} refused: {reason}")
    root = _bounded_parse(content, what)
    _check_tree(root, what)
    return root


def markup(content: bytes) -> bytes:
    """`content` as bytes in which markup (`<!ENTITY`, `<!DOCTYPE`) is plain ASCII: itself when it is written in
    UTF-8, ISO-8859-1 or ASCII, re-encoded from UTF-16. Raises XmlProblem for any other encoding, or when the byte
    order mark, the first bytes and the declaration disagree."""
    codec = _encoding(content)
    if codec not in _UTF16_FAMILY:
        return content
    try:
        return content.decode(codec).encode("utf-8")
    except UnicodeError:
        raise XmlProblem("the XML is not valid UTF-16") from None


def _encoding(content: bytes) -> str:
    """The Python codec `content` is written in, from its byte-order mark or first bytes and its declaration."""
    detected = _detected(content[:4])
    if detected == "EBCDIC":
        raise XmlProblem(_not_accepted(_declared(content[:512].decode("cp037")) or detected))
    if detected == "UTF-32":
        raise XmlProblem(_not_accepted(detected))
    wide = detected in _UTF16_FAMILY
    declared = _declared(content[:1024].decode(detected if wide else "latin-1", "replace"))
    if declared is None:
        return detected
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        raise XmlProblem(_not_accepted(declared)) from None
    if name not in _ASCII_FAMILY | _UTF16_FAMILY:
        raise XmlProblem(_not_accepted(declared))
    if wide != (name in _UTF16_FAMILY) or (detected == "utf-8-sig" and name != "utf-8"):
        raise XmlProblem(f"the XML declares the encoding {declared!r}, but is not written in it")
    return detected if wide else name


def _detected(first: bytes) -> str:
    """What the first four bytes say: a byte-order mark, UTF-16's zero bytes, EBCDIC's `<?xm`; else UTF-8."""
    for bom, name in _BOMS:
        if first.startswith(bom):
            return name
    if first.startswith(_EBCDIC_DECLARATION):
        return "EBCDIC"
    zeros = first.count(0)
    if zeros >= 3:
        return "UTF-32"
    if zeros:
        return "utf-16-be" if first[:1] == b"\x00" else "utf-16-le"
    return "utf-8"


def _declared(head: str) -> str | None:
    match = _DECLARED_ENCODING.match(head.lstrip("\ufeff"))
    return match.group(1) if match else None


def _not_accepted(encoding: str) -> str:
    return f"the XML's encoding {encoding!r} is not accepted (only {ACCEPTED} are)"


def _refusal(content: bytes) -> str | None:
    if _ENTITY.search(content):
        return "it declares entities (<!ENTITY>)"
    for doctype in _DOCTYPE.finditer(content):
        if b"[" in doctype.group(1):
            return "it carries an internal DTD subset"
        if _EXTERNAL_ID.search(doctype.group(1)):
            return "it references an external DTD"
    return None


def _bounded_parse(content: bytes, what: str) -> etree._Element:
    """Parse in chunks, counting elements and depth as they open: a bomb stops at its bound, not at its end."""
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    elements = depth = 0
    try:
        for offset in range(0, len(content), _CHUNK):
            parser.feed(content[offset : offset + _CHUNK])
            for event, _ in parser.read_events():
                if event == "end":
                    depth -= 1
                    continue
                elements, depth = elements + 1, depth + 1
                if depth > MAX_DEPTH:
                    raise XmlProblem(f"{what} refused: it nests elements more than {MAX_DEPTH} deep")
            if elements > MAX_ELEMENTS:
                raise XmlProblem(f"{what} refused: it holds more than {MAX_ELEMENTS:,} elements")
        root = parser.close()
    except etree.XMLSyntaxError as error:
        raise XmlProblem(f"{what} is not well-formed XML ({error.msg})") from None
    if root is None:
        raise XmlProblem(f"{what} is empty")
    return root


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
