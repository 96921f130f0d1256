"""The escaping functions, one per markup (tracker/escape.py), over a table of hostile and ordinary text."""

import pytest

from tracker.escape import href, slack, visible


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("esx01.prod.example.com", "esx01.prod.example.com"),
        ("Zürich-Rechenzentrum 東京 שרת", "Zürich-Rechenzentrum 東京 שרת"),  # letters of any script stay
        ("esx\u202elive", "esx\\u202elive"),  # right-to-left override
        ("a\u202ab\u202bc\u202cd\u202de", "a\\u202ab\\u202bc\\u202cd\\u202de"),  # embeddings, pop
        ("\u2066x\u2067y\u2068z\u2069", "\\u2066x\\u2067y\\u2068z\\u2069"),  # isolates
        ("\u200eleft\u200fright", "\\u200eleft\\u200fright"),  # marks
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # ANSI colour
        ("bell\x07 nul\x00 del\x7f csi\x9b", "bell\\x07 nul\\x00 del\\x7f csi\\x9b"),
        ("two\nlines\ttab\r", "two\\x0alines\\x09tab\\x0d"),
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ],
)
def test_visible_writes_out_every_invisible_or_terminal_controlling_character(text: str, shown: str):
    assert visible(text) == shown


@pytest.mark.parametrize(
    ("text", "commonmark"),
    [
        ("esx01.prod.example.com", "esx01.prod.example.com"),
        ("ESXi 7.0 U3 (18644231)", "ESXi 7.0 U3 (18644231)"),
        ("runs_pulled", "runs_pulled"),  # Slack formats _ only at a word's edge
        ("<!channel>", "\\<!channel\\>"),  # apprise turns \< \> into &lt; &gt;
        ("<@U024BE7LH>", "\\<@U024BE7LH\\>"),
        ("[x](evil)", "\\[x\\](evil)"),  # no link without its brackets
        ("# heading", "\\# heading"),
        ("[x](https://evil)", "`[x](https://evil)`"),  # a URL: code, which Slack never links
        ("*bold*", "`*bold*`"),
        ("a*b", "`a*b`"),  # CommonMark emphasis works inside words
        ("_it_", "`_it_`"),
        ("prod_", "`prod_`"),
        ("~gone~", "`~gone~`"),
        ("`code`", "`ˋcodeˋ`"),  # no backtick can close the span early
        ("C:\\temp", "`C:\\temp`"),
        ("ends\\", "`ends\\ `"),  # a backslash before the closing backtick would escape it
        ("esx\u202elive", "`esx\\u202elive`"),
    ],
)
def test_slack_text_keeps_links_mentions_and_formatting_out(text: str, commonmark: str):
    assert slack(text) == commonmark


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://kb.vmware.com/s/article/86287", "https://kb.vmware.com/s/article/86287"),
        ("http://docs.example.com/a?b=1&c=%20#x", "http://docs.example.com/a?b=1&c=%20#x"),
        ("https://x/a(b)c", "https://x/a%28b%29c"),  # would end a Markdown link
        ('https://x/"><script>', "https://x/%22%3E%3Cscript%3E"),
        ("https://x/a b|c\\d", "https://x/a%20b%7Cc%5Cd"),
        ("javascript:alert(1)", None),
        ("JAVASCRIPT:alert(1)", None),
        ("data:text/html,<script>", None),
        ("\x00javascript:alert(1)", None),
        ("//evil.example.com/x", None),
        ("https:///nohost", None),
        ("http://[::1", None),
        ("", None),
    ],
)
def test_href_links_only_plain_http_and_encodes_what_would_close_a_link(url: str, target: str | None):
    assert href(url) == target
