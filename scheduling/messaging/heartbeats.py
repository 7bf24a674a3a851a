"""Signs of life of the worker and dispatcher loops, kept in the database so every webhook process's
/healthz sees them, whichever process or machine runs the loops."""
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduling.store.models import Heartbeat
from scheduling.store.sql import affected

BEAT_EVERY = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=30)
ROLES = ("worker", "dispatcher")


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def beat(session: Session, *, role: str, now: datetime, who: str | None = None) -> None:
    who = who or holder()
    if not affected(session, update(Heartbeat).where(Heartbeat.role == role, Heartbeat.holder == who)
                           .values(beat_at=now)):
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(Heartbeat).values(role=role, holder=who, beat_at=now)
                        .on_conflict_do_update(index_elements=["role", "holder"], set_={"beat_at": now}))
        session.execute(delete(Heartbeat).where(Heartbeat.beat_at < now - timedelta(days=1)))


def ages(session: Session, *, now: datetime) -> dict[str, float | None]:
    """Seconds since the newest beat of each role (None: it never beat)."""
    newest = dict(session.execute(select(Heartbeat.role, func.max(Heartbeat.beat_at)).group_by(Heartbeat.role)).all())
    return {role: (now - newest[role]).total_seconds() if newest.get(role) else None for role in ROLES}


class Pacemaker:
    """Beats for a loop at most every BEAT_EVERY (a loop may run ten times a second)."""

    def __init__(self, role: str):
        self.role = role
        self._last: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._last is None or now - self._last >= BEAT_EVERY

    def beat(self, session: Session, now: datetime) -> None:
        beat(session, role=self.role, now=now)
        self._last = now
