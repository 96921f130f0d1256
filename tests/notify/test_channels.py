"""Sending through apprise to real local receivers: outcomes per target, and secrets that never show."""

import logging

import pytest

from tests.notify.samples import NOTES_U3C, pulled
from tests.support.holding import HoldingReceiver
from tests.support.receivers import MailReceiver, WebhookReceiver
from tracker.notify.channels import (
    IDEMPOTENCY_HEADER,
    Outgoing,
    TargetOutcome,
    body_kind,
    deliver,
    privacy,
    send,
    validate,
)
from tracker.notify.render import render_alert

SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"
SECRET = "s3cr3t-Token_42"


def alert_for(url: str) -> tuple[str, str, str]:
    return render_alert(pulled(), body_kind(url))


def test_a_mailto_url_delivers_one_mail_per_recipient_with_the_rendered_subject_and_html(mail: MailReceiver):
    url = mail.url("ops@example.com", "oncall@example.com")

    [outcome] = send([url], *alert_for(url))

    assert outcome.ok and outcome.error is None
    delivered = mail.wait_for(2)
    assert sorted(m.to for m in delivered) == [("oncall@example.com",), ("ops@example.com",)]
    for message in delivered:
        assert message.subject == "[Release Tracker] PULLED: ESXi 7.0 U3 (18644231) — 3 of your hosts affected"
        assert message.html is not None and f'<a href="{NOTES_U3C}">release notes</a>' in message.html
        assert message.text is not None and "esx01.prod.example.com" in message.text  # apprise's text part


def test_a_json_url_posts_the_title_and_the_text_body(hook: WebhookReceiver):
    url = f"json://127.0.0.1:{hook.port}/hook"

    [outcome] = send([url], *alert_for(url))

    assert outcome == TargetOutcome(privacy(url), ok=True, permanent=False, error=None)
    [post] = hook.wait_for(1)
    assert post.path == "/hook"
    assert post.json["title"].startswith("[Release Tracker] PULLED: ESXi 7.0 U3 (18644231)")
    assert "Recommended target: ESXi 7.0 U3c (19193900)" in post.json["message"]


def test_a_slack_webhook_url_posts_slack_mrkdwn(slack: WebhookReceiver):
    [outcome] = send([SLACK], *alert_for(SLACK))

    assert outcome.ok
    [post] = slack.wait_for(1)
    assert post.path == "/services/T000/B000/XXXX"
    assert post.json["mrkdwn"] is True
    text = post.json["attachments"][0]["text"]
    assert "*Recommended target:*" in text and "**" not in text
    assert f"<{NOTES_U3C}|ESXi 7.0 U3c (19193900)>" in text


@pytest.mark.parametrize("url", ["nosuch://host/path", "json://", "mailto://", "not a url at all"])
def test_a_url_apprise_cannot_load_is_a_permanent_failure(url: str):
    [outcome] = send([url], "title", "body", "text")

    assert not outcome.ok and outcome.permanent
    assert outcome.error


def test_a_receiver_answering_500_is_a_transient_failure_that_names_the_status(hook: WebhookReceiver):
    hook.fail_always()

    [outcome] = send([f"json://127.0.0.1:{hook.port}/hook"], "title", "body", "text")

    assert not outcome.ok and not outcome.permanent
    assert outcome.error is not None and "500" in outcome.error
    assert len(hook.posts) == 1


def test_a_receiver_that_fails_once_gets_the_message_when_the_url_asks_apprise_to_retry(hook: WebhookReceiver):
    hook.fail_next(1)

    [outcome] = send([f"json://127.0.0.1:{hook.port}/hook?retry=1&wait=0"], "title", "body", "text")

    assert outcome.ok
    assert len(hook.wait_for(2)) == 2


def test_a_receiver_that_is_down_is_a_transient_failure_and_gets_the_next_send_once_it_is_back(
    hook: WebhookReceiver,
):
    url = f"json://127.0.0.1:{hook.port}/hook"
    hook.go_down()

    [down] = send([url], "title", "body", "text")
    hook.come_up()
    [back] = send([url], "title", "body", "text")

    assert not down.ok and not down.permanent and down.error is not None and "onnection" in down.error
    assert back.ok
    assert len(hook.wait_for(1)) == 1


def test_each_url_gets_its_own_outcome_in_order(hook: WebhookReceiver):
    good, bad = f"json://127.0.0.1:{hook.port}/hook", "nosuch://host"

    outcomes = send([good, bad, good], "title", "body", "text")

    assert [(o.ok, o.permanent) for o in outcomes] == [(True, False), (False, True), (True, False)]
    assert len(hook.wait_for(2)) == 2


def test_a_secret_in_a_payload_key_or_header_is_sent_but_never_shown_or_logged(hook: WebhookReceiver, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"json://127.0.0.1:{hook.port}/hook?:token={SECRET}&+X-Api-Key={SECRET}"

    [outcome] = send([url], "title", "body", "text", secrets=[SECRET])

    [post] = hook.wait_for(1)
    assert post.json["token"] == SECRET and post.headers["X-Api-Key"] == SECRET
    assert outcome.ok
    assert "***" in outcome.target
    assert SECRET not in outcome.target
    assert SECRET not in privacy(url, [SECRET])
    assert SECRET not in caplog.text
    assert "Payload" in caplog.text  # apprise did log the payload at DEBUG, masked


def test_a_secret_in_a_path_token_is_masked_even_where_apprise_keeps_it(hook: WebhookReceiver, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"json://127.0.0.1:{hook.port}/hook/{SECRET}"

    [outcome] = send([url], "title", "body", "text", secrets=[SECRET])

    assert outcome.ok and hook.wait_for(1)[0].path == f"/hook/{SECRET}"
    assert SECRET not in outcome.target
    assert SECRET not in privacy(url, [SECRET])
    assert SECRET not in caplog.text
    assert SECRET in privacy(url)  # apprise's own privacy form keeps path tokens


def test_a_mail_password_never_shows_in_the_outcome_its_error_or_the_logs(mail: MailReceiver, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"mailto://tracker:{SECRET}@127.0.0.1:{mail.port}?from=tracker@example.com&to=ops@example.com"

    [outcome] = send([url], "title", "body", "html", secrets=[SECRET])

    assert not outcome.ok and not outcome.permanent  # the test server offers no AUTH without TLS
    assert SECRET not in outcome.target
    assert outcome.error is not None and SECRET not in outcome.error
    assert SECRET not in caplog.text
    assert SECRET[0] + "..." + SECRET[-1] not in caplog.text  # apprise's CWE-312 form of it, too


def test_a_secret_in_an_unloadable_url_never_shows():
    url = f"nosuch://user:{SECRET}@host"

    [outcome] = send([url], "title", "body", "text", secrets=[SECRET])

    assert outcome.target == "nosuch://***"
    assert outcome.error is not None and SECRET not in outcome.error and url not in outcome.error


def test_the_privacy_form_of_an_unloadable_url_is_its_scheme_only():
    assert privacy("nosuch://user:pw@host") == "nosuch://***"
    assert privacy("not a url") == "invalid://***"


def test_validate_accepts_a_url_apprise_loads_and_gives_a_short_reason_for_one_it_cannot():
    assert validate("json://127.0.0.1:8080/hook") is None
    assert validate(SLACK) is None
    reason = validate(f"nosuch://user:{SECRET}@host", [SECRET])
    assert reason is not None and SECRET not in reason


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (SLACK, "slack"),
        ("slack://T000/B000/XXXX/#ops", "slack"),
        ("mailto://127.0.0.1:25?to=ops@example.com", "email"),
        ("mailtos://user:pw@mail.example.com?mode=starttls", "email"),
        ("json://127.0.0.1/hook", "text"),
        ("form://127.0.0.1/hook", "text"),
        ("https://example.webhook.office.com/webhookb2/abc", "text"),
        ("workflows://host:443/workflow/signature", "text"),
    ],
)
def test_body_kind_picks_the_template_for_a_url_and_falls_back_to_text(url: str, kind: str):
    assert body_kind(url) == kind


# --- the deadline and the idempotency key --------------------------------------------------------------------


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline_as_a_transient_failure():
    with HoldingReceiver() as stuck:
        stuck.hold()  # apprise's own timeouts are per read: a byte every 0.2 s never trips them
        url = f"json://127.0.0.1:{stuck.port}/hook?:token={SECRET}"

        outcome = deliver(url, Outgoing("title", "body", "text"), [SECRET], deadline=1)

        assert stuck.wait_for(1)  # the request did go out
        assert not outcome.ok and not outcome.permanent and outcome.late
        assert outcome.error == "no answer within the delivery deadline (1 s): cut off"
        assert outcome.target == privacy(url, [SECRET]) and SECRET not in outcome.target


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_a_webhook_target_gets_the_messages_idempotency_key_as_a_header_the_same_on_a_resend(
    hook: WebhookReceiver, scheme: str
):
    url = f"{scheme}://127.0.0.1:{hook.port}/hook?:token={SECRET}"
    hook.fail_next(1)

    first = deliver(url, Outgoing("title", "body", "text", idempotency_key="k-1f2e"), [SECRET])
    again = deliver(url, Outgoing("title", "body", "text", idempotency_key="k-1f2e"), [SECRET])
    other = deliver(url, Outgoing("title", "other", "text", idempotency_key="k-9a8b"), [SECRET])

    assert (first.ok, again.ok, other.ok) == (False, True, True)
    keys = [post.headers.get(IDEMPOTENCY_HEADER) for post in hook.wait_for(3)]
    assert keys == ["k-1f2e", "k-1f2e", "k-9a8b"]
    assert all(IDEMPOTENCY_HEADER not in o.target for o in (first, again, other))  # shown as configured


def test_a_target_without_custom_headers_gets_the_message_as_before(mail: MailReceiver):
    url = mail.url("ops@example.com")

    outcome = deliver(url, Outgoing("title", "body", "text", idempotency_key="k-1f2e"))

    assert outcome.ok
    [message] = mail.wait_for(1)
    assert message.subject == "title" and IDEMPOTENCY_HEADER not in message.message
