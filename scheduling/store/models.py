"""SQLAlchemy models. Every datetime is stored as UTC and read back as an aware datetime."""
from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    __table__: ClassVar[Table]  # every model maps a table of its own


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
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed | rejected
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


# --- booking ------------------------------------------------------------------------------------

class Provider(Base):
    """A contracted hospital, clinic or midwife, kept in step with config/booking.toml by its key."""
    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    types: Mapped[str] = mapped_column(String(100))  # comma-separated care types
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CapacityCounter(Base):
    """Places taken of one resource (a provider's beds on a night, a class session...) on one day and
    time. The database refuses `used > capacity` (a CHECK) and a booking takes places with one
    conditional UPDATE, so concurrent requests for the last place cannot both succeed."""
    __tablename__ = "capacity_counters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(String(80))   # e.g. "short_stay:3", "class:12"
    day: Mapped[str] = mapped_column(String(10))        # JST date, ISO
    slot: Mapped[str] = mapped_column(String(8), default="")  # a visit's time, else ""
    capacity: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("resource", "day", "slot", name="uq_capacity_counters_place"),
        CheckConstraint("used >= 0 AND used <= capacity", name="ck_capacity_counters_within"),
    )


class CareBooking(Base):
    """A request for 産後ケア on a day with a provider; staff confirm or decline it.

    status: requested → confirmed → attended | no_show; or declined, cancelled (by her or staff).
    `request_key` makes the same request (a double tap, a redelivered event) one booking."""
    __tablename__ = "care_bookings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    care_type: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    start_date: Mapped[str] = mapped_column(String(10))  # JST date, ISO
    nights: Mapped[int] = mapped_column(Integer, default=0)  # short stays
    slot: Mapped[str] = mapped_column(String(8), default="")  # home visits: the time
    units: Mapped[int] = mapped_column(Integer, default=1)  # how much it counts against the caps
    babies: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    screening_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)  # staff's reason for a decline or a cancellation
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_care_bookings_status_start", "status", "start_date"),)


class ClassSession(Base):
    """One session of a parent class (パパママ教室, 0歳児の親子教室) with its capacity in persons."""
    __tablename__ = "class_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_key: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | cancelled

    __table_args__ = (UniqueConstraint("class_key", "day", name="uq_class_sessions_class_day"),)


class ClassBooking(Base):
    """A place in a class session for her (party 1) or her and her partner (party 2).

    status: booked | requested (the city confirms) | waiting | offered (a freed place held for her
    until `hold_until`) | cancelled | declined | expired | attended | no_show."""
    __tablename__ = "class_bookings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    party: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # one open booking (or place on the waiting list) per mother and session
        Index("uq_class_bookings_open", "session_id", "user_id", unique=True,
              sqlite_where=text("status IN ('booked', 'requested', 'waiting', 'offered')"),
              postgresql_where=text("status IN ('booked', 'requested', 'waiting', 'offered')")),
    )


class BookingChange(Base):
    """Every change of a booking's state: who, when, from what to what (the admin and the figures
    read it)."""
    __tablename__ = "booking_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # care | class
    booking_id: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(80))  # "mother", "staff:<id>", "system"
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_booking_changes_booking", "kind", "booking_id"),)


class Reminder(Base):
    """A push due at a moment: the day-before reminder, a confirmation, a waiting-list offer, a timed
    message. Written in the transaction that causes it; sent by the dispatcher with X-Line-Retry-Key
    derived from the row's id. status: pending | sent | failed | skipped | cancelled."""
    __tablename__ = "reminders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)  # JSON: what to say (catalog keys, params, buttons)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    stage: Mapped[str | None] = mapped_column(String(16))  # "pregnancy": stops when a pregnancy ends
    care_booking_id: Mapped[int | None] = mapped_column(Integer, index=True)
    class_booking_id: Mapped[int | None] = mapped_column(Integer, index=True)
    plan_key: Mapped[str | None] = mapped_column(String(120), unique=True)  # one row per planned message
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_tried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its retry key holds 24 h from then

    __table_args__ = (Index("ix_reminders_status_due", "status", "due_at"),)


# --- pregnancy and birth, the 32-week call, audit -----------------------------------------------

class Mother(Base):
    """A pregnancy or a birth registered by her in the chat, or by staff at the 母子健康手帳 interview
    (then linked to her LINE account with a code). One row per pregnancy; `user_id` is None until
    linked, and again after she deleted her data (the row then keeps only what the figures count).

    status: pregnant → mother (birth registered), or ended (the pregnancy ended)."""
    __tablename__ = "mothers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[str | None] = mapped_column(String(10))
    babies: Mapped[int] = mapped_column(Integer, default=1)
    first_baby: Mapped[bool | None] = mapped_column(Boolean)
    staff_ref: Mapped[str | None] = mapped_column(String(40), index=True)  # the centre's own number, if any
    phone: Mapped[str | None] = mapped_column(String(20))  # for the 32-week call, as she gave it
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_on: Mapped[str] = mapped_column(String(10))  # JST date: the figures count by it
    registered_via: Mapped[str] = mapped_column(String(8))  # chat | staff
    ended_on: Mapped[str | None] = mapped_column(String(10))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffNeed(Base):
    """Staff's judgement that a mother meets a need only staff can judge (the rules file's staff_needs:
    産婦健康診査の結果、医師から勧められた方 / 保健師等が特に支援が必要と認めた方): her screening is then eligible
    on that need instead of needs-a-check. Marked and removed from the resident's record, audited."""
    __tablename__ = "staff_needs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id"), index=True)
    need: Mapped[str] = mapped_column(String(32))       # doctor_recommended | staff_recognised
    actor: Mapped[str] = mapped_column(String(64))      # who marked it
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("mother_id", "need", name="uq_staff_needs_mother_need"),)


class LinkCode(Base):
    """A short code staff hand her to link her LINE account to the record they made. Only its hash
    is kept; it expires and works once."""
    __tablename__ = "link_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeAttempt(Base):
    """A wrong link code sent by a user: too many in a while and codes are refused for a time."""
    __tablename__ = "code_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_code_attempts_user_at", "user_id", "at"),)


class Call(Base):
    """The 32-week call to a pregnant woman: her preferred time (or none), the latest outcome.

    preference: morning | afternoon | evening | in_person | not_needed | none (no answer yet)
    status: open | done (spoke, met, declined, not needed) ; outcome: phone | in_person | not_reached | declined."""
    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id"), unique=True)
    due_on: Mapped[str] = mapped_column(String(10))  # the first day of the call week
    preference: Mapped[str] = mapped_column(String(16), default="none")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    retry_on: Mapped[str | None] = mapped_column(String(10))
    no_family_help: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_calls_status_due", "status", "due_on"),)


class CallOutcome(Base):
    """Each try of a call: what happened, a short note, by whom."""
    __tablename__ = "call_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    retry_on: Mapped[str | None] = mapped_column(String(10))
    staff: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who did what to which record, with the state before and after (JSON): staff actions and
    deletions on request."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(80))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# --- 相談 and the safety net -------------------------------------------------------------------

class ConsultCase(Base):
    """A mother's request to talk with the centre (相談): a topic, how she wants the answer, and a
    thread of messages. status: open → closed (with a category). After she deleted her data the row
    keeps only what the figures count (topic, dates) under an anonymous alias."""
    __tablename__ = "consult_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    topic: Mapped[str] = mapped_column(String(16))        # body | baby | feelings | other
    answer_by: Mapped[str] = mapped_column(String(8))     # line | phone
    time_band: Mapped[str | None] = mapped_column(String(16))  # morning | afternoon | evening (phone)
    phone: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(16))       # menu | text | safety | care
    status: Mapped[str] = mapped_column(String(8), default="open")
    category: Mapped[str | None] = mapped_column(String(32))  # staff's category when closing
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_mother_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # her latest message
    last_staff_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # staff's latest reply
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # she was told when the centre answers
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        Index("ix_consult_cases_status_opened", "status", "opened_at"),
        # one open case per mother
        Index("uq_consult_cases_open", "user_id", unique=True, sqlite_where=text("status = 'open'"),
              postgresql_where=text("status = 'open'")),
    )


class ConsultMessage(Base):
    """One message of a 相談 thread: hers (typed in the chat) or a staff reply (sent by push).
    kind: text | image | video | audio | file | sticker | location (only text keeps a body)."""
    __tablename__ = "consult_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_cases.id"), index=True)
    author: Mapped[str] = mapped_column(String(80))  # "mother" or "staff:<id>"
    kind: Mapped[str] = mapped_column(String(16), default="text")
    body: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a staff reply: when she opened it
    source_event_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class SafetyAlert(Base):
    """A message of hers that hit an urgent category of the city's safety net (her life in danger,
    violence, an emergency): shown first on staff's 今日 until someone marks it handled with a note.
    Erased with her data."""
    __tablename__ = "safety_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(80))  # the category's name for staff
    body: Mapped[str] = mapped_column(Text)         # what she wrote
    matched: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | handled
    handled_by: Mapped[str | None] = mapped_column(String(80))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    source_event_id: Mapped[int | None] = mapped_column(Integer, unique=True)

    __table_args__ = (Index("ix_safety_alerts_status_at", "status", "at"),)


# --- staff --------------------------------------------------------------------------------------

class StaffUser(Base):
    """A staff account. role: admin (everything), staff (daily work), provider (its own bookings only)."""
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    role: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # TOTP (administrators, optional): the secret while enrolling, in use once enabled; the last time
    # step accepted, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class StaffSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its hash."""
    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for the idle timeout


class SignInAttempt(Base):
    """A failed (or still being checked) sign-in from a client address: after several in a while, that
    login waits before it may try again from there (scheduling/accounts/staff.py has the limits)."""
    __tablename__ = "sign_in_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sign_in_attempts_login_at", "login", "at"),
                      Index("ix_sign_in_attempts_address_at", "address", "at"))


class Heartbeat(Base):
    """The last sign of life of a worker or dispatcher loop (`holder` is host:pid), for /healthz."""
    __tablename__ = "heartbeats"
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # worker | dispatcher
    holder: Mapped[str] = mapped_column(String(128), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
