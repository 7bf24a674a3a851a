"""SQLAlchemy models. Every datetime is stored as UTC and read back as an aware datetime."""
from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class LineUser(Base):
    """A LINE user who has talked to the account. No name is kept: LINE carries transport only."""
    __tablename__ = "line_users"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundEvent(Base):
    """A webhook event, stored before LINE gets its 200 so that an acknowledged event is never lost.

    `lease_until` is the claim of the worker handling it; per user only the oldest pending event
    can be claimed, which keeps each user's events in order across worker processes.
    """
    __tablename__ = "inbound_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_inbound_events_user_pending", "user_id", "status", "occurred_at", "id"),
        Index("ix_inbound_events_status_received", "status", "received_at"),
    )


class OutgoingMessage(Base):
    """One request to LINE (up to five messages): a reply, or a push when no reply token is usable."""
    __tablename__ = "outgoing_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    messages: Mapped[str] = mapped_column(Text)  # JSON list of LINE message objects
    reply_token: Mapped[str | None] = mapped_column(String(255))
    reply_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed | skipped
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_via: Mapped[str | None] = mapped_column(String(8))  # reply | push
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_event_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_outgoing_messages_status_not_before", "status", "not_before"),)


class ConversationState(Base):
    """A user's dialog state when no Redis is configured. `version` guards against lost updates."""
    __tablename__ = "conversation_states"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Screening(Base):
    """A finished 産後ケア screening: her answers and the decision, with the rules version used,
    so staff can see why the bot said what it said."""
    __tablename__ = "screenings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    rules_version: Mapped[str] = mapped_column(String(64))
    care_date: Mapped[str] = mapped_column(String(10))  # the date the decision was made for (JST)
    answers: Mapped[str] = mapped_column(Text)  # JSON
    decision: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source_event_id: Mapped[int | None] = mapped_column(Integer, unique=True)
