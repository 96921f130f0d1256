"""What alerts and digests say, in each body kind (Slack CommonMark, HTML e-mail, plain text)."""

import pytest

from tests.notify.samples import KB_PULL, NOTES_U3C, digest, held, host, pulled, reissued
from tracker.domain.alerts import Reminder, Target
from tracker.notify.pipeline import alert_from_payload, alert_payload
from tracker.notify.render import render_alert, render_digest, render_reminder

KINDS = ["slack", "email", "text"]


@pytest.mark.parametrize(("kind", "body_format"), [("slack", "markdown"), ("email", "html"), ("text", "text")])
def test_each_kind_comes_with_the_body_format_apprise_expects(kind, body_format):
    assert render_alert(pulled(), kind)[2] == body_format
    assert render_digest(digest(), kind)[2] == body_format


def test_the_title_says_what_happened_and_how_many_of_your_hosts_it_affects():
    title, _, _ = render_alert(pulled(hosts=3), "text")
    assert title == "[Release Tracker] PULLED: ESXi 7.0 U3 (18644231) — 3 of your hosts affected"


def test_a_pull_in_a_watched_line_that_no_host_runs_says_so():
    title, _, _ = render_alert(pulled(hosts=0), "text")
    assert title.endswith("— none of your hosts run it")


@pytest.mark.parametrize("kind", KINDS)
def test_the_alert_says_how_sure_we_are_and_links_the_evidence(kind):
    _, body, _ = render_alert(pulled(), kind)
    assert "high confidence" in body
    assert "kb-86287, release-notes" in body
    assert KB_PULL in body
    assert "remove ESXi 7.0 Update 3 from all sites" in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_pull_with_25_hosts_lists_20_and_says_and_5_more(kind):
    _, body, _ = render_alert(pulled(hosts=25), kind)
    assert "esx20.prod.example.com" in body
    assert "esx21.prod.example.com" not in body
    assert "and 5 more" in body
    assert "25" in body


@pytest.mark.parametrize("kind", KINDS)
def test_the_alert_names_the_recommended_target_and_its_release_notes(kind):
    _, body, _ = render_alert(pulled(), kind)
    assert "ESXi 7.0 U3c (19193900)" in body
    assert NOTES_U3C in body
    assert "Hold" not in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_hold_alert_gives_the_reason_to_hold(kind):
    _, body, _ = render_alert(held(), kind)
    assert "every fix for this line was pulled too; wait for the reissue" in body
    assert "Recommended target" not in body


@pytest.mark.parametrize("kind", KINDS)
def test_the_alert_lists_the_caveats(kind):
    _, body, _ = render_alert(pulled(), kind)
    assert "KB 86287: upgrades with the i40en VIB may fail" in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_reissue_says_which_builds_it_replaces(kind):
    title, body, _ = render_alert(reissued(), kind)
    assert title.startswith("[Release Tracker] REISSUED: ESXi 7.0 U3c (19193900)")
    assert "Replaces" in body
    assert "18644231, 18825058" in body


def test_the_html_mail_escapes_a_script_tag_in_an_asset_name():
    evil = host(1, name="<script>alert(1)</script>")
    _, body, _ = render_alert(pulled(assets=(evil,), assets_total=1), "email")
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_slack_text_cannot_open_a_slack_link_or_mention_from_an_asset_name():
    _, body, _ = render_alert(pulled(assets=(host(1, name="<!channel>"),), assets_total=1), "slack")
    assert "\\<!channel\\>" in body


def test_slack_text_shows_a_markdown_link_in_an_asset_name_as_code_not_a_link():
    _, body, _ = render_alert(pulled(assets=(host(1, name="[x](https://evil)"),), assets_total=1), "slack")
    assert "- `[x](https://evil)` (prod-cluster" in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_link_target_that_is_not_http_is_shown_as_text_never_linked(kind):
    message = pulled(evidence_url="javascript:alert(1)", target=Target("ESXi 7.0 U3c", 19193900, "data:text/html,x"))
    _, body, _ = render_alert(message, kind)
    assert "javascript:alert(1)" in body and "data:text/html,x" in body  # the reader still sees them
    assert "href" not in body and "](" not in body and "<javascript" not in body


def test_the_html_mail_encodes_a_quote_in_a_link_target_so_it_stays_in_its_attribute():
    message = pulled(target=Target("ESXi 7.0 U3c", 19193900, 'https://docs.example.com/n" onclick="alert(1)'))
    _, body, _ = render_alert(message, "email")
    assert '<a href="https://docs.example.com/n%22%20onclick=%22alert%281%29">release notes</a>' in body


@pytest.mark.parametrize("kind", KINDS)
def test_titles_and_bodies_write_out_control_and_bidi_characters(kind):
    message = pulled(release="ESXi 7.0 U3\r\nBcc: x@example.com", assets=(host(1, name="esx\u202elive"),))
    title, body, _ = render_alert(message, kind)
    assert title.startswith("[Release Tracker] PULLED: ESXi 7.0 U3\\x0d\\x0aBcc: x@example.com (18644231)")
    assert "\u202e" not in body and "\r" not in body
    assert "esx\\u202elive" in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_reminder_escapes_the_snooze_reason_and_names_in_its_title(kind):
    reminder = Reminder(
        snooze_id=7,
        target="esx\u202elive",
        reason="its target was pulled",
        snoozed_for="[call me](https://evil) <!channel>",
        until=pulled().observed_at,
        watchlist="prod",
        assets=(host(1, name="esx\u202elive"),),
    )
    title, body, _ = render_reminder(reminder, kind)
    assert title == "[Release Tracker] REOPENED: snooze of esx\\u202elive"
    assert "\u202e" not in body
    if kind == "slack":
        assert "`[call me](https://evil) <!channel>`" in body
    if kind == "email":
        assert "&lt;!channel&gt;" in body


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_digest_says_nothing_happened(kind):
    title, body, _ = render_digest(digest(), kind)
    assert title == "[Release Tracker] Digest for ops-mail: 1 source in trouble; nothing happened"
    assert "Nothing happened in this period" in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_digest_gives_its_period_in_its_time_zone_and_one_line_per_event(kind):
    title, body, _ = render_digest(digest(pulled(), reissued()), kind)
    assert title == "[Release Tracker] Digest for ops-mail: 1 source in trouble; 2 events"
    assert "2021-11-18 08:00 CET – 2021-11-19 08:00 CET (Europe/Berlin)" in body
    assert "2021-11-19 07:30 CET: PULLED: ESXi 7.0 U3 (18644231) — 3 of your hosts affected (watchlist prod)" in body
    assert "REISSUED: ESXi 7.0 U3c (19193900)" in body
    assert "Nothing happened" not in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_digest_shows_exposure_worst_assets_expiring_snoozes_and_source_health(kind):
    _, body, _ = render_digest(digest(), kind)
    assert "runs_pulled: 3" in body
    assert "esx01.prod.example.com" in body
    assert "waiting for the maintenance window" in body
    assert "kb-feed: failing (HTTP 503)" in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_digest_puts_the_trackers_own_health_first(kind):
    _, body, _ = render_digest(digest(pulled()), kind)
    attention = body.index("The tracker itself needs attention")
    assert attention < body.index("kb-feed: failing (HTTP 503)") < body.index("PULLED: ESXi 7.0 U3 (18644231)")


def test_an_unknown_body_kind_is_a_value_error():
    with pytest.raises(ValueError, match="unknown body kind 'pager'"):
        render_alert(pulled(), "pager")


@pytest.mark.parametrize("kind", KINDS)
def test_a_pull_names_the_vcf_releases_that_contain_the_build_and_survives_the_outbox(kind):
    message = alert_from_payload(alert_payload(pulled(vcf_releases=("VCF 9.0.0.0",))))
    _, body, _ = render_alert(message, kind)
    _, plain, _ = render_alert(pulled(), kind)

    assert "In VMware Cloud Foundation" in body and "VCF 9.0.0.0" in body
    assert "VMware Cloud Foundation" not in plain
