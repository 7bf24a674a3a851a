"""Conversation state per user, with an expiry and a version that refuses a lost update.

Each saved record remembers which event produced it and the state before it, so an event
re-run after a crash (state saved, event not yet marked done) starts again from the same state.
On SQL the state is saved in the event's own transaction; on Redis it is shared by all processes.
"""
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from scheduling.store import raw
from scheduling.store.models import ConversationState
from scheduling.store.sql import insert_ignoring_duplicates


class StateConflict(Exception):
    """Someone else saved this user's state since it was loaded."""


class StateStoreUnavailable(Exception):
    """The state store (Redis) does not answer: the event waits until it does; it has not failed."""


@dataclass(frozen=True)
class Stored:
    version: int  # 0: never saved
    data: dict | None = None  # None when expired or over
    event_id: int | None = None
    before: dict | None = None

    def base_for(self, event_id: int) -> dict | None:
        """The state a dialog should start from for this event."""
        return self.before if self.event_id == event_id else self.data


def _encode(data, event_id, before) -> str:
    return json.dumps({"data": data, "event": event_id, "before": before}, ensure_ascii=False)


def _decode(version: int, text: str) -> Stored:
    record = json.loads(text)
    return Stored(version, record["data"], record["event"], record["before"])


_LOAD = raw.Sql("SELECT version, data, expires_at > :now FROM conversation_states WHERE user_id = :user")
_SAVE = raw.Sql("""UPDATE conversation_states SET data = :text, version = :next, expires_at = :expires
                   WHERE user_id = :user AND version = :expected""")


class SqlStateStore:
    """Plain statements on the event's own connection (the worker's hot path)."""

    def __init__(self, ttl: timedelta):
        self.ttl = ttl

    def load(self, session: Session, user_id: str, now: datetime) -> Stored:
        rows = raw.execute(session, _LOAD, {"user": user_id, "now": now}).fetchall()
        if not rows:
            return Stored(0)
        version, text, live = rows[0]
        return _decode(version, text) if live else Stored(version)

    def save(self, session: Session, user_id: str, *, expected: int, data: dict | None,
             event_id: int, before: dict | None, now: datetime) -> None:
        text, expires = _encode(data, event_id, before), now + self.ttl
        if expected == 0:
            row = dict(user_id=user_id, data=text, version=1, expires_at=expires)
            if not insert_ignoring_duplicates(session, ConversationState.__table__, [row], "user_id"):
                raise StateConflict(user_id)
            return
        changed = raw.execute(session, _SAVE, {"user": user_id, "expected": expected, "text": text,
                                               "next": expected + 1, "expires": expires}).rowcount
        if not changed:
            raise StateConflict(user_id)

    def forget(self, session: Session, user_id: str) -> None:
        """Her state is gone (she deleted her data); the next event starts afresh."""
        session.execute(delete(ConversationState).where(ConversationState.user_id == user_id))


_CAS = """
local current = redis.call('GET', KEYS[1])
local version = 0
if current then version = tonumber(string.match(current, '^(%d+):')) end
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], (version + 1) .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
"""


class RedisStateStore:
    """Values are 'version:json'. The version survives expiry only as long as the key does."""

    def __init__(self, client, ttl: timedelta, prefix: str = "hagukumi:state:"):
        self.client, self.ttl, self.prefix = client, ttl, prefix
        self._cas = client.register_script(_CAS)

    def load(self, session: Session, user_id: str, now: datetime) -> Stored:
        with _unavailable_as_such():
            value = self.client.get(self.prefix + user_id)
        if value is None:
            return Stored(0)
        version, _, text = value.decode().partition(":")
        return _decode(int(version), text)

    def save(self, session: Session, user_id: str, *, expected: int, data: dict | None,
             event_id: int, before: dict | None, now: datetime) -> None:
        with _unavailable_as_such():
            ok = self._cas(keys=[self.prefix + user_id],
                           args=[expected, _encode(data, event_id, before), int(self.ttl.total_seconds())])
        if not ok:
            raise StateConflict(user_id)

    def forget(self, session: Session, user_id: str) -> None:
        with _unavailable_as_such():
            self.client.delete(self.prefix + user_id)


StateStore = SqlStateStore | RedisStateStore


@contextmanager
def _unavailable_as_such():
    import redis
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as error:
        raise StateStoreUnavailable(f"Redis: {type(error).__name__}: {error}") from error
