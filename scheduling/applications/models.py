"""The 利用申請 row. Everything she typed is kept in `sealed`, encrypted (crypto.py): the contact fields
(names, kana, birth date, postal code, address, phone, email, 母子健康手帳 number, the baby's name and kana)
only there. What the rules, the figures and the provider's view need in plain columns: the baby's birth
date, weight and weeks at birth, the care types, the household class, the state and the decision."""
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from scheduling.applications.states import ApplicationState
from scheduling.store.models import Base, UTCDateTime, utcnow

OPEN_STATES = (ApplicationState.DRAFT, ApplicationState.SUBMITTED, ApplicationState.RETURNED)


class Application(Base):
    """state: draft → submitted → approved, or → returned (with a reason; she corrects it and submits
    again). `draft_token` is the page's per-draft token (CSRF and the idempotent submit). After she
    deleted her data a submitted row keeps only its state and dates (the figures count it) under an alias."""
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    sealed: Mapped[str | None] = mapped_column(Text)   # Fernet token of a JSON object: every field as typed
    baby_birth_date: Mapped[str | None] = mapped_column(String(10))
    birth_weight_g: Mapped[int | None] = mapped_column(Integer)
    weeks_at_birth: Mapped[int | None] = mapped_column(Integer)
    care_types: Mapped[str | None] = mapped_column(String(100))  # comma-separated
    household: Mapped[str | None] = mapped_column(String(16))    # taxed | tax_exempt | welfare | unknown
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    draft_token: Mapped[str] = mapped_column(String(64), unique=True)
    screening_id: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    approval_year: Mapped[int | None] = mapped_column(Integer)   # the 年度 of the 承認番号
    approval_seq: Mapped[int | None] = mapped_column(Integer)    # its number within the 年度
    valid_from: Mapped[str | None] = mapped_column(String(10))
    valid_until: Mapped[str | None] = mapped_column(String(10))
    return_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("approval_year", "approval_seq", name="uq_applications_approval_number"),
        Index("ix_applications_state_submitted", "state", "submitted_at"),
        # one application in the making or waiting per mother
        Index("uq_applications_open", "user_id", unique=True,
              sqlite_where=text("state IN ('draft', 'submitted', 'returned')"),
              postgresql_where=text("state IN ('draft', 'submitted', 'returned')")),
    )
