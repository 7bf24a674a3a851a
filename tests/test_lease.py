"""The lease and the backoff the outbox and the timed pushes share (scheduling/messaging/lease.py)."""
from datetime import timedelta

from scheduling.messaging import lease, outbox, reminders
from scheduling.store.db import transaction
from scheduling.store.models import OutgoingMessage, Reminder, utcnow

USER = "U" + "7" * 32
TEXT = [{"type": "text", "text": "こんにちは"}]


def test_the_backoff_doubles_up_to_its_cap_and_honours_retry_after_up_to_an_hour():
    now = utcnow()
    assert [lease.next_try(n, now, None) - now for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (2, 4, 8)]
    assert lease.next_try(12, now, None) == now + lease.MAX_BACKOFF
    assert lease.next_try(1, now, 120) == now + timedelta(seconds=120)
    assert lease.next_try(1, now, 10 ** 6) == now + lease.MAX_RETRY_AFTER


def test_a_claimed_message_is_held_for_the_lease_then_free_again(sessions):
    now = utcnow()
    with transaction(sessions) as session:
        message_id = outbox.add(session, user_id=USER, messages=TEXT, now=now).id
    with transaction(sessions) as session:
        assert outbox.claim(session, message_id=message_id, now=now) is not None
        assert outbox.claim(session, message_id=message_id, now=now + lease.LEASE - timedelta(seconds=1)) is None
        assert outbox.due_ids(session, now=now + lease.LEASE - timedelta(seconds=1)) == []
        assert outbox.due_ids(session, now=now + lease.LEASE) == [message_id]
        row = outbox.claim(session, message_id=message_id, now=now + lease.LEASE)
        assert row is not None and row.attempts == 2 and row.lease_until == now + 2 * lease.LEASE


def test_a_message_is_retried_by_push_until_23_hours_after_it_was_written_then_fails(sessions):
    now = utcnow()
    with transaction(sessions) as session:
        message_id = outbox.add(session, user_id=USER, messages=TEXT, now=now, reply_token="token", claimed=True).id
        outbox.retry_later(session, message_id=message_id, error="HTTP 500", now=now)
        row = session.get(OutgoingMessage, message_id)
        assert (row.status, row.not_before, row.reply_token, row.lease_until) == ("pending", now + timedelta(seconds=2),
                                                                                  None, None)
        late = now + lease.GIVE_UP_AFTER
        outbox.retry_later(session, message_id=message_id, error="HTTP 500 again", now=late)
        row = session.get(OutgoingMessage, message_id)
        assert (row.status, row.last_error, row.not_before) == ("failed", "HTTP 500 again", now + timedelta(seconds=2))


def test_a_push_is_retried_until_23_hours_after_its_first_try_then_fails(sessions):
    now = utcnow()
    with transaction(sessions) as session:
        reminder_id = reminders.add(session, user_id=USER, kind="care_confirmed", facts={}, due_at=now, now=now).id
    with transaction(sessions) as session:
        [row] = reminders.claim_due(session, now=now)
        assert (row.attempts, row.first_tried_at, row.lease_until) == (1, now, now + lease.LEASE)
        reminders.retry_later(session, reminder_id=reminder_id, error="HTTP 503", now=now, retry_after=30)
        row = session.get(Reminder, reminder_id)
        assert (row.status, row.due_at, row.lease_until) == ("pending", now + timedelta(seconds=30), None)
        reminders.retry_later(session, reminder_id=reminder_id, error="HTTP 503",
                              now=now + lease.GIVE_UP_AFTER - timedelta(seconds=1))
        assert session.get(Reminder, reminder_id).status == "pending"
        reminders.retry_later(session, reminder_id=reminder_id, error="HTTP 503", now=now + lease.GIVE_UP_AFTER)
        row = session.get(Reminder, reminder_id)
        assert (row.status, row.lease_until) == ("failed", None)
