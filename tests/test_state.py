"""Conversation state stores (SQL and Redis): expiry, lost-update protection, crash re-runs."""
from datetime import timedelta

import pytest

from bot.state import RedisStateStore, SqlStateStore, StateConflict
from scheduling.store.db import transaction
from scheduling.store.models import utcnow

USER = "U" + "c" * 32
TTL = timedelta(minutes=30)


@pytest.fixture(params=["sql", "redis"])
def store(request, sessions):
    if request.param == "sql":
        return SqlStateStore(TTL)
    import redis
    url = request.getfixturevalue("redis_url")
    return RedisStateStore(redis.Redis.from_url(url), TTL)


def save(store, sessions, *, expected, data, event_id, before=None, now=None):
    with transaction(sessions) as session:
        store.save(session, USER, expected=expected, data=data, event_id=event_id, before=before,
                   now=now or utcnow())


def load(store, sessions, now=None):
    with transaction(sessions) as session:
        return store.load(session, USER, now or utcnow())


def test_save_and_load_round_trip(store, sessions):
    assert load(store, sessions).version == 0
    save(store, sessions, expected=0, data={"dialog": "screening", "step": "birth"}, event_id=1)
    stored = load(store, sessions)
    assert stored.version == 1
    assert stored.data == {"dialog": "screening", "step": "birth"}


def test_a_concurrent_update_is_refused_not_lost(store, sessions):
    save(store, sessions, expected=0, data={"n": 1}, event_id=1)
    first, second = load(store, sessions), load(store, sessions)
    save(store, sessions, expected=first.version, data={"n": 2}, event_id=2)
    with pytest.raises(StateConflict):
        save(store, sessions, expected=second.version, data={"n": 99}, event_id=3)
    assert load(store, sessions).data == {"n": 2}


def test_two_first_saves_conflict(store, sessions):
    save(store, sessions, expected=0, data={"n": 1}, event_id=1)
    with pytest.raises(StateConflict):
        save(store, sessions, expected=0, data={"n": 2}, event_id=2)


def test_an_event_re_run_after_a_crash_starts_from_the_state_before_it(store, sessions):
    save(store, sessions, expected=0, data={"step": "a"}, event_id=1)
    stored = load(store, sessions)
    save(store, sessions, expected=stored.version, data={"step": "b"}, event_id=2, before=stored.data)
    again = load(store, sessions)
    assert again.base_for(2) == {"step": "a"}  # event 2 ran but was not marked done: re-run from "a"
    assert again.base_for(3) == {"step": "b"}


def test_sql_state_expires(sessions):
    store = SqlStateStore(TTL)
    now = utcnow()
    save(store, sessions, expected=0, data={"step": "a"}, event_id=1, now=now)
    assert load(store, sessions, now + TTL - timedelta(seconds=1)).data == {"step": "a"}
    expired = load(store, sessions, now + TTL)
    assert expired.data is None
    save(store, sessions, expected=expired.version, data={"step": "new"}, event_id=2, now=now + TTL)
    assert load(store, sessions, now + TTL).data == {"step": "new"}


def test_redis_state_expires(sessions, redis_url):
    import redis
    client = redis.Redis.from_url(redis_url)
    store = RedisStateStore(client, TTL)
    save(store, sessions, expected=0, data={"step": "a"}, event_id=1)
    assert 0 < client.ttl("hagukumi:state:" + USER) <= TTL.total_seconds()
