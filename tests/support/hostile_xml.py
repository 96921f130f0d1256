"""Hostile XML the tests and benchmarks/bench_hostile.py build on the fly (too big, or too odd, to check in).

- `element_bomb_zip(n)`: a metadata.zip whose vmware.xml is a `<metadataResponse>` holding `n` tiny elements:
  a few hundred KB of zip, tens of MB of XML, millions of tree nodes once parsed.
- `encoded_feed(encoding)`: the billion-laughs feed (tests/fixtures/feeds/billion-laughs.xml) written in an
  encoding where `<!ENTITY` is not ASCII bytes: EBCDIC (cp037, cp500: the whole document, declaration included,
  as a parser detects it) or UTF-7 (an ASCII declaration, then `+ADw-!ENTITY` ...).
"""

import io
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Tags of a depot's vmware.xml, so the bomb looks like metadata until it is counted.
_TAGS = (b"vibID", b"name", b"version", b"vendor", b"summary", b"bulletin", b"platform", b"tag")


def element_bomb_xml(elements: int, tags: tuple[bytes, ...] = _TAGS) -> bytes:
    row = b"".join(b"<" + tag + b"/>" for tag in tags)
    rows, rest = divmod(elements, len(tags))
    body = row * rows + b"".join(b"<" + tag + b"/>" for tag in tags[:rest])
    return b'<?xml version="1.0" encoding="utf-8"?>\n<metadataResponse>' + body + b"</metadataResponse>\n"


def element_bomb_zip(elements: int, tags: tuple[bytes, ...] = _TAGS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("metadata/vmware.xml", element_bomb_xml(elements, tags))
    return buffer.getvalue()


def encoded_feed(encoding: str) -> bytes:
    text = (FIXTURES / "feeds" / "billion-laughs.xml").read_text(encoding="utf-8")
    body = text.removeprefix('<?xml version="1.0"?>\n')
    if encoding.lower().startswith("utf-7"):  # "<" as UTF-7 spells it in base64, which Python's encoder never does
        shifted = body.encode(encoding).replace(b"<", b"+ADw-").replace(b">", b"+AD4-")
        assert shifted.decode(encoding) == body
        return f'<?xml version="1.0" encoding="{encoding}"?>\n'.encode("ascii") + shifted
    return f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'.encode(encoding)
