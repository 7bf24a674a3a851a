"""Link codes: staff make her record at the 母子健康手帳 interview and hand her a short code; sending it
in the chat links her LINE account to that record. Only a hash is stored; a code expires and works
once; too many wrong codes from one account and codes are refused for a while."""
import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from scheduling.city.pregnancy_config import PregnancyConfig
from scheduling.family import mothers
from scheduling.family.statuses import MotherStatus
from scheduling.messaging import reminders
from scheduling.store import audit
from scheduling.store.models import CodeAttempt, LinkCode, Mother
from scheduling.store.sql import affected, existing
from scheduling.text.codes import ALPHABET, LENGTH, normalise

RedeemStatus = Literal["linked", "wrong", "expired", "used", "locked"]


@dataclass(frozen=True)
class Redeemed:
    """linked, or why not: wrong, expired, used, locked (then `minutes` until she may try again)."""
    status: RedeemStatus
    mother: Mother | None = None
    minutes: int = 0


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue(session: Session, *, config: PregnancyConfig, mother_id: int, staff: str, now: datetime) -> str:
    """A new code for the record (earlier unused ones stop working). Shown to staff once: 'ABCD-EF23'."""
    session.execute(update(LinkCode).where(LinkCode.mother_id == mother_id, LinkCode.used_at.is_(None))
                    .values(expires_at=now).execution_options(synchronize_session=False))
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    session.add(LinkCode(mother_id=mother_id, code_hash=_hash(code), created_by=staff, created_at=now,
                         expires_at=now + timedelta(days=config.code_valid_days)))
    audit.record(session, actor=staff, action="link_code_issued", subject=f"mother:{mother_id}", now=now)
    session.flush()
    return f"{code[:4]}-{code[4:]}"


def redeem(session: Session, *, config: PregnancyConfig, user_id: str, text: str, now: datetime) -> Redeemed:
    until = _locked_until(session, config=config, user_id=user_id)
    if until is not None and now < until:
        return Redeemed("locked", minutes=max(1, math.ceil((until - now).total_seconds() / 60)))
    row = session.scalars(select(LinkCode).where(LinkCode.code_hash == _hash(normalise(text)))).first()
    if row is None:
        session.add(CodeAttempt(user_id=user_id, at=now))
        return Redeemed("wrong")
    if row.used_at is not None:
        return Redeemed("used")
    if row.expires_at <= now:
        return Redeemed("expired")
    taken = affected(session, update(LinkCode).where(LinkCode.id == row.id, LinkCode.used_at.is_(None))
                     .values(used_at=now).execution_options(synchronize_session=False))
    if not taken:
        return Redeemed("used")
    mother = existing(session, Mother, row.mother_id)
    own = mothers.current(session, user_id=user_id)
    if (own is not None and own.id != mother.id
            and own.status == MotherStatus.PREGNANT and mother.status == MotherStatus.PREGNANT):
        mothers.replace(session, mother=own, by=mother, now=now)  # the same pregnancy, registered twice
    mother.user_id, mother.consent_version, mother.consent_at, mother.updated_at = (
        user_id, config.consent_version, now, now)
    session.execute(delete(CodeAttempt).where(CodeAttempt.user_id == user_id))
    audit.record(session, actor="mother", action="linked", subject=f"mother:{mother.id}", now=now)
    mothers.plan(session, config=config, mother=mother, now=now)
    reminders.switch_menu(session, user_id=user_id, stage=reminders.menu_stage(mother.status), now=now)
    return Redeemed("linked", mother)


def _locked_until(session: Session, *, config: PregnancyConfig, user_id: str) -> datetime | None:
    """max_failures wrong codes within lock_minutes lock her out for lock_minutes after the last of them."""
    lock = timedelta(minutes=config.code_lock_minutes)
    latest = list(session.scalars(select(CodeAttempt.at).where(CodeAttempt.user_id == user_id)
                                  .order_by(CodeAttempt.at.desc()).limit(config.code_max_failures)))
    if len(latest) == config.code_max_failures and latest[0] - latest[-1] < lock:
        return latest[0] + lock
    return None
