"""Hostile host, cluster and vendor text, as the real receivers get it: Slack (apprise's mrkdwn, at the local
webhook receiver) shows it as typed, with no link, mention or formatting of its own; the HTML mail (aiosmtpd) has
no tag or link target from it; control and bidi characters are written out, never sent raw."""

import re
from html.parser import HTMLParser

import pytest

from tests.notify.samples import KB_PULL, pulled
from tests.support.receivers import MailReceiver, WebhookReceiver
from tracker.domain.alerts import AffectedAsset, Target
from tracker.notify.channels import send
from tracker.notify.render import render_alert

SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"
LINK = "[x](https://evil)"
MENTION = "<!channel>"
RLO = "esx\u202elive.example.com"  # reads "esxmoc.elpmaxe.evil" on screen
HOSTILE = [LINK, MENTION, RLO, "<@U024BE7LH>", "<https://evil|x>", "*bold* _it_ ~gone~ `code`", "esx\x1b[31mred"]


def asset(name: str, cluster: str = "prod-cluster") -> AffectedAsset:
    return AffectedAsset(name, cluster, "vc01.example.com", "ESXi 7.0 U3 (18644231)", ("runs_pulled",))


def slack_text(receiver: WebhookReceiver, *names: str, **changes: object) -> str:
    message = pulled(assets=tuple(asset(n) for n in names), assets_total=len(names), **changes)
    before = len(receiver.posts)
    [outcome] = send([SLACK], *render_alert(message, "slack"))
    assert outcome.ok, outcome.error
    post = receiver.wait_for(before + 1)[-1]
    text: str = post.json["attachments"][0]["text"]
    return text


def host_line(text: str, index: int = 0) -> str:
    return [line for line in text.splitlines() if line.startswith("- ")][index]


# Slack's own syntax: <url|label>, <url>, <!channel>, <@user>, <#channel>.
SLACK_ANCHORS = re.compile(r"<[^<>]*>")


def test_a_host_named_as_a_markdown_link_reaches_slack_as_text_not_a_link(slack: WebhookReceiver):
    text = slack_text(slack, LINK)

    assert "https://evil" not in " ".join(SLACK_ANCHORS.findall(text))
    assert host_line(text).startswith(f"- `{LINK}` (prod-cluster")  # code: Slack shows it as typed, unlinked


def test_a_host_named_channel_reaches_slack_escaped_as_slack_documents(slack: WebhookReceiver):
    text = slack_text(slack, MENTION)

    assert "<!channel>" not in text
    assert host_line(text).startswith("- &lt;!channel&gt; (prod-cluster")


def test_a_right_to_left_override_in_a_host_name_is_written_out_in_slack(slack: WebhookReceiver):
    text = slack_text(slack, RLO)

    assert "\u202e" not in text
    assert "esx\\u202elive.example.com" in host_line(text)


@pytest.mark.parametrize("name", HOSTILE)
def test_no_hostile_name_adds_a_slack_link_mention_or_formatting(slack: WebhookReceiver, name: str):
    text = slack_text(slack, name)
    ours = slack_text(slack, "esx01.prod.example.com")

    assert SLACK_ANCHORS.findall(text) == SLACK_ANCHORS.findall(ours)  # only the evidence and release-notes links
    shown, rest = host_line(text).removeprefix("- ").split(" (prod-cluster", 1)
    assert rest == host_line(ours).split(" (prod-cluster", 1)[1]  # the rest of the line is as always
    code = re.fullmatch(r"`[^`]+`", shown)  # Slack shows a code span as typed: no format, no link
    assert code or not re.search(r"[*_~`<>\x00-\x1f\u202a-\u202e\u2066-\u2069]", shown), shown


def test_snake_case_names_stay_plain_text_in_slack(slack: WebhookReceiver):
    text = slack_text(slack, "esx_01.prod.example.com")

    assert host_line(text).startswith("- esx_01.prod.example.com (prod-cluster")
    assert "runs_pulled" in host_line(text)


def test_a_vendor_excerpt_and_detail_cannot_link_or_mention_in_slack(slack: WebhookReceiver):
    text = slack_text(
        slack,
        "esx01.prod.example.com",
        detail="Removed, see <!here> and [the fix](https://evil/fix)",
        evidence_excerpt="<https://evil|click here> for the patch",
    )

    assert SLACK_ANCHORS.findall(text) == [f"<{KB_PULL}>", SLACK_ANCHORS.findall(text)[-1]]
    assert "evil" not in SLACK_ANCHORS.findall(text)[-1]  # the last anchor is the release notes'


def test_a_javascript_link_target_from_a_page_is_not_linked_in_slack(slack: WebhookReceiver):
    text = slack_text(
        slack,
        "esx01.prod.example.com",
        evidence_url="javascript:alert(1)",
        target=Target("ESXi 7.0 U3c", 19193900, "javascript:alert(2)"),
    )

    assert SLACK_ANCHORS.findall(text) == []
    assert "ESXi 7.0 U3c (19193900)" in text


# --- HTML mail ----------------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for key, value in attrs if key == "href"]
        if any(key.startswith("on") for key, _ in attrs):
            self.tags.append(f"{tag} with an event handler")


def parsed(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def mailed(mail: MailReceiver, *names: str, **changes: object) -> str:
    message = pulled(assets=tuple(asset(n) for n in names), assets_total=len(names), **changes)
    before = len(mail.messages)
    [outcome] = send([mail.url("ops@example.com")], *render_alert(message, "email"))
    assert outcome.ok, outcome.error
    html = mail.wait_for(before + 1)[-1].html
    assert html is not None
    return html


def test_the_html_mail_gets_no_tag_or_link_from_host_names_or_the_vendors_links(mail: MailReceiver):
    evil = ['<img src=x onerror="alert(1)">', '" onmouseover="alert(2)', LINK, MENTION]
    reference = parsed(mailed(mail, "esx01.prod.example.com"))

    html = mailed(
        mail,
        *evil,
        evidence_url="javascript:alert(3)",
        target=Target("ESXi 7.0 U3c", 19193900, 'https://docs.example.com/notes"><script>alert(4)</script>'),
    )

    found = parsed(html)
    assert set(found.tags) == set(reference.tags)  # no tag and no event handler of the names' own
    assert found.tags.count("a") == 1  # the release notes: the javascript: evidence URL is shown as text
    assert found.hrefs == ["https://docs.example.com/notes%22%3E%3Cscript%3Ealert%284%29%3C/script%3E"]
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_a_right_to_left_override_in_a_host_name_is_written_out_in_the_mail(mail: MailReceiver):
    html = mailed(mail, RLO)

    assert "\u202e" not in html
    assert "esx\\u202elive.example.com" in html


def test_a_line_break_in_a_release_name_cannot_add_a_mail_header(mail: MailReceiver):
    message = pulled(release="ESXi 7.0 U3\r\nBcc: victim@example.com")
    [outcome] = send([mail.url("ops@example.com")], *render_alert(message, "email"))

    assert outcome.ok
    [received] = mail.wait_for(1)
    assert received.to == ("ops@example.com",)
    assert "\\x0d\\x0aBcc: victim@example.com" in received.subject
