"""Real local receivers for the notification tests (tests/support/receivers.py)."""

from collections.abc import Iterator

import pytest

from tests.support.receivers import MailReceiver, WebhookReceiver, slack_webhook_pointed_at


@pytest.fixture
def mail() -> Iterator[MailReceiver]:
    with MailReceiver() as receiver:
        yield receiver


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def slack(hook: WebhookReceiver) -> Iterator[WebhookReceiver]:
    """The webhook receiver, standing in for hooks.slack.com (it gets /services/T/B/X)."""
    with slack_webhook_pointed_at(hook.url("/services")):
        yield hook
