"""The fast paths of issue 16 keep their meaning: first come first answered under a backlog, duplicate
events skipped in the batched insert, the SDK's model still refusing what it refuses after a cache hit,
and a reply or push of a wrong shape refused without a call."""
from datetime import timedelta

import pytest

from bot.line_client import request_problem
from bot.render import check
from scheduling.messaging import inbox
from scheduling.store.db import transaction
from scheduling.store.models import utcnow


def event(n: int, user: str, at) -> dict:
    return dict(webhook_event_id=f"E{n:030d}", user_id=user, event_type="message", occurred_at=at,
                is_redelivery=False, body="{}")


def test_a_backlog_is_answered_longest_waiting_first(sessions):
    now = utcnow()
    with transaction(sessions) as session:   # received in this order, one request each
        for n, user in enumerate(["Ub", "Uc", "Ua"]):
            inbox.add(session, events=[event(n, user, now)], now=now + timedelta(seconds=n))
        inbox.add(session, events=[event(9, "Ub", now)], now=now + timedelta(seconds=9))
    with transaction(sessions) as session:
        waiting = inbox.users_waiting(session, now=now + timedelta(seconds=10))
    assert [(user, count) for user, count, _ in waiting] == [("Ub", 2), ("Uc", 1), ("Ua", 1)]
    assert [since for _, _, since in waiting] == [now, now + timedelta(seconds=1), now + timedelta(seconds=2)]


def test_the_batched_insert_skips_events_seen_before_and_counts_only_new_ones(sessions):
    now = utcnow()
    with transaction(sessions) as session:
        assert inbox.add(session, events=[event(1, "Ua", now), event(2, "Ua", now)], now=now) == 2
    rejected = dict(event(4, "Ub", now), status="rejected", last_error="too old")   # a row of another shape
    with sessions.kw["bind"].begin() as connection:   # as the webhook's writer: a Core connection
        assert inbox.add(connection, events=[event(2, "Ua", now), event(3, "Ua", now), rejected], now=now) == 2
    with transaction(sessions) as session:
        assert inbox.claim_next(session, user_id="Ua", now=now) is not None
        assert len(inbox.users_waiting(session, now=now)) == 1   # Ua's next ones wait behind her claim; Ub's rejected


def test_a_message_the_sdk_refuses_is_refused_every_time():
    good = {"type": "text", "text": "こんにちは"}
    check(good)
    check(good)   # remembered: no second model
    bad = {"type": "text", "text": "x", "quickReply": {"items": [{"type": "action", "action": {"type": "nonsense"}}]}}
    for _ in range(2):
        with pytest.raises(ValueError):
            check(bad)


@pytest.mark.parametrize("messages", [[], [{"type": "text", "text": "a"}] * 6, [{"text": "no type"}], "text"])
def test_a_request_of_a_wrong_shape_is_refused_before_any_call(messages):
    assert request_problem("to", "U" + "a" * 32, messages)
    assert request_problem("to", "", [{"type": "text", "text": "a"}])
    assert request_problem("to", "U" + "a" * 32, [{"type": "text", "text": "a"}] * 5) is None


def test_plain_sql_stores_a_time_as_sqlalchemy_does(sessions):
    """The worker's plain statements and Core/ORM code read and compare each other's times."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from scheduling.store import raw
    from scheduling.store.models import ConversationState
    moment = datetime(2026, 12, 2, 8, 0, 0, tzinfo=UTC)   # no microseconds: where formats would differ
    later = moment + timedelta(microseconds=1)
    insert = raw.Sql("INSERT INTO conversation_states (user_id, data, version, expires_at) VALUES (:u, '{}', 1, :t)")
    with transaction(sessions) as session:
        raw.execute(session, insert, {"u": "Ua", "t": moment})
        raw.execute(session, insert, {"u": "Uc", "t": later})
        session.add(ConversationState(user_id="Ub", data="{}", version=1, expires_at=moment))
    with transaction(sessions) as session:
        found = session.execute(select(ConversationState.user_id, ConversationState.expires_at)
                                .where(ConversationState.expires_at == moment)).all()
        assert sorted(found) == [("Ua", moment), ("Ub", moment)]
        assert session.scalar(select(ConversationState.user_id).order_by(ConversationState.expires_at.desc())) == "Uc"
        assert raw.execute(session, raw.Sql("SELECT user_id FROM conversation_states WHERE expires_at > :t"),
                           {"t": moment}).fetchall() == [("Uc",)]


def test_next_question_remembered_answers_as_computed_and_never_across_rule_sets():
    from dataclasses import replace
    from datetime import date
    from pathlib import Path

    from scheduling.rules import load_rules, next_question
    from scheduling.rules.questions import _memo, _next_question

    rules = load_rules(Path(__file__).resolve().parent.parent / "config" / "rules" / "hagukumi.toml")
    answers, on = {"relationship": "birth"}, date(2025, 6, 1)
    first = next_question(rules, answers, on)
    assert first == _next_question(rules, answers, on, False, (), 1, True)
    assert next_question(rules, dict(answers), on) is first   # the second ask of a tap: remembered
    assert next_question(rules, {**answers, "residence": "resident"}, on) != first
    # rules of another version in force (a new file loaded): asked of them, not of the memo
    no_rules = replace(rules, versions=())
    assert next_question(no_rules, answers, on) is None
    assert next_question(rules, answers, on) is first
    assert len(_memo) >= 3


def test_one_of_is_an_in_with_a_parameter_per_value_and_finds_the_same_rows(sessions):
    from sqlalchemy import select

    from scheduling.store.models import LineUser
    from scheduling.store.sql import one_of

    statement = select(LineUser.user_id).where(one_of(LineUser.user_id, ("Ua", "Uc")))
    assert "POSTCOMPILE" not in str(statement.compile(sessions.kw["bind"]))
    now = utcnow()
    with transaction(sessions) as session:
        for user in ("Ua", "Ub", "Uc"):
            session.add(LineUser(user_id=user, following=True, created_at=now))
    with transaction(sessions) as session:
        assert sorted(session.scalars(statement)) == ["Ua", "Uc"]


def test_the_words_left_out_of_a_checked_shape_are_any_string_to_the_sdk():
    from linebot.v3.messaging import Message

    from bot.render import FREE_TEXT

    action = {"type": "postback", "label": "はい", "data": "d"}
    samples = [
        {"type": "text", "text": "こんにちは", "quickReply": {"items": [
            {"type": "action", "action": action},
            {"type": "action", "action": {"type": "datetimepicker", "label": "日付", "data": "d", "mode": "date"}},
            {"type": "action", "action": {"type": "uri", "label": "開く", "uri": "https://example.jp"}}]}},
        {"type": "flex", "altText": "一覧", "contents": {"type": "bubble", "body": {
            "type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "教室"}]},
            "footer": {"type": "box", "layout": "vertical", "contents": [{"type": "button", "action": action}]}}}]

    def filled(value, field, text):
        if isinstance(value, dict):
            return {k: text if k == field and isinstance(v, str) else filled(v, field, text) for k, v in value.items()}
        return [filled(v, field, text) for v in value] if isinstance(value, list) else value

    for field in FREE_TEXT:
        assert any(filled(m, field, "") != m for m in samples), f"no {field} in the samples"
        for text in ("", "あ" * 100_000, "\n\t{}\"'"):
            for message in samples:
                Message.from_dict(filled(message, field, text))


def test_a_message_of_a_checked_shape_with_other_words_is_not_built_again_but_a_new_shape_is(monkeypatch):
    import bot.render

    built = []
    monkeypatch.setattr(bot.render, "_checked", set())
    monkeypatch.setattr(bot.render.Message, "from_dict", lambda message: built.append(message))
    item = {"type": "action", "action": {"type": "postback", "label": "はい", "data": "care:a|x|yes"}}
    bot.render.check({"type": "text", "text": "残り3人", "quickReply": {"items": [item]}})
    bot.render.check({"type": "text", "text": "残り12人", "quickReply": {"items": [dict(item, action=dict(
        item["action"], label="いいえ"))]}})
    assert len(built) == 1
    bot.render.check({"type": "text", "text": "残り3人", "quickReply": {"items": [dict(item, action=dict(
        item["action"], data="care:a|x|no"))]}})   # other data: its length is the model's to check
    bot.render.check({"type": "text", "text": "残り3人"})
    assert len(built) == 3
