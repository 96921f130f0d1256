"""Honest claims: a sender takes one message at a time and renews its claim while it sends, so a sender that dies
holds only the message in flight; a send that outlived its claim records nothing over the sender that took the
message over; every send of a message carries the same idempotency key. Real SQLite files, real receivers."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.holding import HoldingReceiver
from tests.support.queued import opened, outbox_config, queue
from tests.support.receivers import WebhookReceiver
from tests.support.waiting import wait_until
from tracker.jobs.delivery import outbox_chores
from tracker.notify.channels import IDEMPOTENCY_HEADER
from tracker.notify.outbox import Stop, WorkReport, work_outbox
from tracker.store.db import session_scope
from tracker.store.models import OutboxRow
from tracker.store.outbox import Attempt, ClaimTerms, Cursor, Delivery, Result, claim_next, deliveries, finish, record

NOW = datetime(2021, 11, 19, 8, 0, tzinfo=UTC)


def rows(engine) -> list[OutboxRow]:
    with session_scope(engine) as session:
        return [row for row, _ in deliveries(session)]


def test_a_sender_claims_one_message_at_a_time_and_renews_its_claim_while_it_sends(tmp_path: Path):
    with HoldingReceiver() as hook:
        config, engine = opened(
            outbox_config(tmp_path, {"ops": f"json://127.0.0.1:{hook.port}/ops"}, delivery="{claim_timeout: 3s}")
        )
        queue(engine, "ops", 3, NOW)
        hook.hold(1)
        reports: list[WorkReport] = []
        first = threading.Thread(target=lambda: reports.append(work_outbox(config, engine, NOW)))
        first.start()
        hook.wait_for(1)  # message 1 is in flight, and its receiver holds it
        assert [r.status for r in rows(engine)] == ["sending", "pending", "pending"]
        claimed = rows(engine)[0].claimed_at
        wait_until(lambda: rows(engine)[0].claimed_at != claimed, 30, "the claim on message 1 is renewed")
        # A second sender beside it (another process) finds message 1 held, and sends only the other two.
        other = work_outbox(config, engine, NOW)
        assert (other.sent, other.lost) == (2, 0)
        hook.release()
        first.join(30)
        assert [(r.sent, r.lost) for r in reports] == [(1, 0)], "the renewed claim was still the first sender's"
    assert [r.status for r in rows(engine)] == ["sent", "sent", "sent"]
    assert len(hook.posts) == 3 and len({p.json["title"] for p in hook.posts}) == 3  # each message once


def test_a_send_that_outlived_its_claim_records_nothing_over_the_sender_that_took_it_over(tmp_path: Path):
    with WebhookReceiver() as hook:
        config, engine = opened(outbox_config(tmp_path, {"ops": f"json://127.0.0.1:{hook.port}/ops"}))
        queue(engine, "ops", 1, NOW)
        # A sender claimed the message two minutes ago and stalled (a paused VM, a stuck thread) ...
        stalled = claim_next(
            engine, Cursor("ops", NOW), ClaimTerms(clock=lambda: datetime.now(UTC) - timedelta(minutes=2))
        )
        assert stalled is not None
        # ... so another sender takes it over and delivers it.
        assert work_outbox(config, engine, NOW).sent == 1
        # The stalled sender wakes up with its outcome: nothing of it is written.
        late = Attempt("target", "json://127.0.0.1/ops", ok=False, error="connection reset")
        assert record(engine, stalled, late, NOW) is None  # nothing recorded: no message comes back
        assert finish(engine, stalled, Delivery(transient=("connection reset",), last=late), NOW) == Result.LOST
    with session_scope(engine) as session:
        [(row, attempts)] = deliveries(session)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert [(a.ok, a.error) for a in attempts] == [(True, None)]
    assert len(hook.posts) == 1


def test_every_send_of_a_message_carries_the_same_idempotency_key_and_each_message_its_own(tmp_path: Path):
    with WebhookReceiver() as hook:
        config, engine = opened(outbox_config(tmp_path, {"ops": f"json://127.0.0.1:{hook.port}/ops"}))
        queue(engine, "ops", 2, NOW)
        hook.fail_next(1)  # the first message's first send gets a 500: it is retried a minute later
        first = work_outbox(config, engine, NOW)
        assert (first.retrying, first.sent) == (1, 1)
        assert work_outbox(config, engine, NOW + timedelta(minutes=2)).sent == 1
        posts = hook.wait_for(3)
    keys = [p.headers.get(IDEMPOTENCY_HEADER) for p in posts]
    assert keys[0] is not None and len(keys[0]) == 32
    assert keys[0] != keys[1] and keys[2] == keys[0]  # the re-send of message 1 carries message 1's key
    assert posts[2].json["title"] == posts[0].json["title"]


def test_the_services_chores_fail_the_messages_of_a_channel_no_longer_in_the_config(tmp_path: Path):
    with WebhookReceiver() as hook:
        config, engine = opened(outbox_config(tmp_path, {"ops": f"json://127.0.0.1:{hook.port}/ops"}))
        queue(engine, "ops", 1, NOW)
        queue(engine, "retired", 2, NOW)  # queued before the channel was taken out of the config

        said = outbox_chores(config, engine, NOW, Stop())

        assert said == "outbox: 2 messages of channels no longer in the config failed"
        assert [(r.channel, r.status) for r in rows(engine)] == [
            ("ops", "pending"),
            ("retired", "failed"),
            ("retired", "failed"),
        ]
        assert rows(engine)[1].last_error == "channel 'retired' is no longer in the config"
        assert hook.posts == []  # the configured channel is its own sender's to work
