"""Text from the vendor's pages and the admins' inventory, made safe for each place it is shown. Pure, stdlib only.

One function per markup; each is applied where a value enters the output, never scattered:

    visible(text)   the terminal (and the first step of every other one): control characters, ANSI escape
                    sequences, bidi overrides and other invisible format characters shown as `\\x1b`, `\\u202e`
    slack(text)     the CommonMark the tracker hands apprise for Slack (apprise turns it into mrkdwn): no live
                    link, mention or formatting comes from the text (see the function)
    href(url)       a link target for any markup: http(s) only, with the characters that close a link encoded
    (HTML e-mail)   Jinja2 autoescape (markupsafe) over `visible()`: notify/render.py

A host named `[x](https://evil)`, `<!channel>` or `esx\\u202elive` therefore reads as exactly that, everywhere.
"""

import re
import unicodedata
from urllib.parse import quote, urlsplit

# Unicode categories never shown raw: Cc control (C0, DEL, C1: ESC starts an ANSI sequence), Cf format (the bidi
# embeddings, overrides and isolates U+202A-202E, U+2066-2069, the marks U+200E/F, zero-width characters),
# Zl/Zp line and paragraph separators, Cs lone surrogates.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Slack has no escape for its formatting characters (a backslash does not escape them, it only shows), and it
# turns any URL in text into a link: such text goes in an inline code span, which Slack shows as typed. `*`
# formats even inside a word (apprise reads CommonMark), `_` and `~` only at a word's edge (snake_case stays).
_SLACK_CODE = re.compile(r"[*`\\]|://|(?<![^\W_])[_~]|[_~](?![^\W_])")
# CommonMark punctuation that could still open a link, a mention or a heading: apprise turns `\[` `\]` `\#` into
# the plain character and `\<` `\>` into Slack's `&lt;` `&gt;` (`&` becomes `&amp;` by itself).
_SLACK_ESCAPED = str.maketrans({c: "\\" + c for c in "[]<>#"})
_URL_SAFE = "/:?#@!$&'*+,;=%~"  # RFC 3986 reserved and unreserved, less ( ) [ ] which end a Markdown link


def visible(text: object) -> str:
    """`text` with every invisible or terminal-controlling character written out (`\\x1b`, `\\u202e`)."""
    value = str(text)
    if value.isprintable():  # the common case, in C
        return value
    return "".join(_shown(c) if unicodedata.category(c) in _HIDDEN else c for c in value)


def _shown(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def slack(text: object) -> str:
    """Text that reads as typed in the CommonMark apprise turns into Slack mrkdwn: `<!channel>` stays text,
    `[x](https://evil)` is no link, `*bold*` no bold. Text with a formatting character or a URL goes in an inline
    code span (its backticks swapped for U+02CB, which looks the same); the rest has its link and mention
    characters backslash-escaped, which apprise turns into what Slack documents (`&lt;`, `&gt;`, `&amp;`)."""
    value = visible(text)
    if not _SLACK_CODE.search(value):
        return value.translate(_SLACK_ESCAPED)
    code = value.replace("`", "\u02cb")
    # A backslash before the closing backtick would make apprise read it as an escaped backtick.
    return f"`{code} `" if code.endswith("\\") else f"`{code}`"


class Verbatim(str):
    """Text that is already what the markup needs (a checked link target): templates pass it through as is."""


def href(url: object) -> Verbatim | None:
    """A link target safe in HTML attributes and Markdown links, or None when `url` is not plain http(s) (a
    `javascript:` or `data:` URL from a page is shown as text, never linked)."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return Verbatim(quote(url, safe=_URL_SAFE))
