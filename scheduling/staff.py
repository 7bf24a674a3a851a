"""Staff accounts, signing in, sessions.

Passwords are hashed with argon2id (memory-hard). After MAX_FAILURES wrong passwords for a login within
LOCK, that login is refused until the window has passed, even with the right password. A session is a
random token in the browser's cookie; only its hash is stored, with the CSRF token of its forms.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scheduling import audit
from scheduling.models import SignInAttempt, StaffSession, StaffUser

ROLES = ("admin", "staff", "provider")
MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=10)
MIN_PASSWORD = 10
_hasher = PasswordHasher()


class StaffError(ValueError):
    pass


@dataclass(frozen=True)
class SignIn:
    """ok (with the session's token), or why not: wrong, locked (minutes to wait)."""
    status: str
    token: str | None = None
    staff: StaffUser | None = None
    minutes: int = 0


def create(session: Session, *, login: str, display_name: str, password: str, role: str, actor: str,
           now: datetime, provider_id: int | None = None) -> StaffUser:
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if role == "provider" and provider_id is None:
        raise StaffError("a provider account needs its provider")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.scalars(select(StaffUser).where(StaffUser.login == login)).first():
        raise StaffError(f"the login {login!r} is taken")
    user = StaffUser(login=login, display_name=display_name, password_hash=_hasher.hash(password), role=role,
                     provider_id=provider_id if role == "provider" else None, active=True, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="staff_created", subject=f"staff:{user.id}", now=now,
                 after={"login": login, "role": role, "provider_id": user.provider_id})
    return user


def set_active(session: Session, *, staff_id: int, active: bool, actor: str, now: datetime) -> None:
    user = session.get(StaffUser, staff_id)
    before = {"active": user.active}
    user.active = active
    if not active:
        session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    audit.record(session, actor=actor, action="staff_active" if active else "staff_disabled",
                 subject=f"staff:{staff_id}", now=now, before=before, after={"active": active})


def set_password(session: Session, *, staff_id: int, password: str, actor: str, now: datetime) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_PASSWORD} characters")
    session.get(StaffUser, staff_id).password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    audit.record(session, actor=actor, action="password_set", subject=f"staff:{staff_id}", now=now)


def all_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.login)))


def sign_in(session: Session, *, login: str, password: str, now: datetime) -> SignIn:
    window = now - LOCK
    failures = session.scalar(select(func.count()).select_from(SignInAttempt)
                              .where(SignInAttempt.login == login, SignInAttempt.at > window))
    if failures >= MAX_FAILURES:
        first = session.scalar(select(func.min(SignInAttempt.at)).where(SignInAttempt.login == login,
                                                                        SignInAttempt.at > window))
        return SignIn("locked", minutes=int((first + LOCK - now).total_seconds() // 60) + 1)
    user = session.scalars(select(StaffUser).where(StaffUser.login == login, StaffUser.active.is_(True))).first()
    if user is None or not _verify(user.password_hash, password):
        session.add(SignInAttempt(login=login[:64], at=now))
        return SignIn("wrong")
    session.execute(delete(SignInAttempt).where(SignInAttempt.login == login))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_hash(token), staff_id=user.id, csrf_token=secrets.token_urlsafe(32),
                             expires_at=now + SESSION_LIFETIME, created_at=now))
    audit.record(session, actor=f"staff:{user.id}", action="signed_in", subject=f"staff:{user.id}", now=now)
    return SignIn("ok", token, user)


def session_of(session: Session, *, token: str | None, now: datetime) -> tuple[StaffUser, StaffSession] | None:
    if not token:
        return None
    found = session.execute(select(StaffUser, StaffSession).join(StaffSession, StaffSession.staff_id == StaffUser.id)
                            .where(StaffSession.token_hash == _hash(token), StaffSession.expires_at > now,
                                   StaffUser.active.is_(True))).first()
    return tuple(found) if found else None


def sign_out(session: Session, *, token: str | None) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _hash(token)))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
