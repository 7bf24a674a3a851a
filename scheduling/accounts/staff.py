"""Staff accounts, signing in, sessions, a second factor (TOTP) for administrators.

Passwords are hashed with argon2id (memory-hard), need MIN_PASSWORD characters and may not be a common
password (common_passwords.txt). Failed sign-ins are counted per login *and client address*:
- MAX_FAILURES wrong passwords for a login from one address within LOCK lock that login from that address
  only, so nobody can lock a colleague out from elsewhere;
- ADDRESS_CAP failures from one address (any logins) lock that address (guessing many logins);
- LOGIN_CAP failures for one login from all addresses lock the login everywhere (a guess spread over many
  addresses); an administrator can unlock it.
The count and the check are made under a lock (one at a time), and a sign-in in progress is counted as a
failure until its password proves right, so parallel requests cannot check more passwords than the limit.
The password hash is checked outside that lock, against a dummy hash when the login does not exist, so an
unknown login costs the same as a wrong password.

A session is a random token in the browser's cookie; only its hash is stored, with the CSRF token of its
forms. It ends `lifetime` after sign-in, or `idle` after its last page.
"""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from scheduling.store import audit
from scheduling.store.db import transaction
from scheduling.store.models import SignInAttempt, StaffSession, StaffUser
from scheduling.store.sql import affected, existing

ROLES = ("admin", "staff", "provider")
MAX_FAILURES = 5
ADDRESS_CAP = 20
LOGIN_CAP = 50
LOCK = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=10)
IDLE = timedelta(minutes=30)
SEEN_EVERY = timedelta(minutes=1)  # how often a session's last_seen_at is written
MIN_PASSWORD = 12
SIGN_IN_LOCK = 72_617_002  # PostgreSQL advisory lock: one count-and-check at a time
TOTP_ISSUER = "はぐくみ 管理画面"
SERVICE_HASHER = PasswordHasher()  # argon2id, 64 MiB, 3 passes (the library's defaults)
_hasher = SERVICE_HASHER  # the tests swap in a cheap one (tests/conftest.py)


class StaffError(ValueError):
    """`problem`: short, common, taken, role, provider, current."""

    def __init__(self, problem: str, message: str = ""):
        super().__init__(message or problem)
        self.problem = problem


@dataclass(frozen=True)
class SignIn:
    """ok (with the session's token), or why not: wrong, locked (minutes to wait)."""
    status: str
    token: str | None = None
    staff: StaffUser | None = None
    minutes: int = 0


def password_problem(password: str, *, login: str = "") -> str | None:
    """"short", "common" (a common password, or one with only digits or symbols around one, or only
    digits and symbols, or the login in it, or too few different characters), or None when it will do."""
    if len(password) < MIN_PASSWORD:
        return "short"
    lowered = password.lower()
    trimmed = lowered.strip("0123456789!@#$%^&*()-_=+.,?~ ")
    if (not trimmed or lowered in _common() or trimmed in _common() or len(set(lowered)) < 5
            or (len(login) >= 3 and login.lower() in lowered)):
        return "common"
    return None


@cache
def _common() -> frozenset[str]:
    lines = (Path(__file__).resolve().parent / "common_passwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def create(session: Session, *, login: str, display_name: str, password: str, role: str, actor: str,
           now: datetime, provider_id: int | None = None) -> StaffUser:
    if role not in ROLES:
        raise StaffError("role", f"role must be one of {', '.join(ROLES)}")
    if role == "provider" and provider_id is None:
        raise StaffError("provider", "a provider account needs its provider")
    _check_password(password, login)
    if session.scalars(select(StaffUser).where(StaffUser.login == login)).first():
        raise StaffError("taken", f"the login {login!r} is taken")
    user = StaffUser(login=login, display_name=display_name, password_hash=_hasher.hash(password), role=role,
                     provider_id=provider_id if role == "provider" else None, active=True, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="staff_created", subject=f"staff:{user.id}", now=now,
                 after={"login": login, "role": role, "provider_id": user.provider_id})
    return user


def set_active(session: Session, *, staff_id: int, active: bool, actor: str, now: datetime) -> None:
    user = existing(session, StaffUser, staff_id)
    before = {"active": user.active}
    user.active = active
    if not active:
        session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    audit.record(session, actor=actor, action="staff_active" if active else "staff_disabled",
                 subject=f"staff:{staff_id}", now=now, before=before, after={"active": active})


def set_password(session: Session, *, staff_id: int, password: str, actor: str, now: datetime) -> None:
    """An administrator sets someone's password: every session of theirs ends."""
    user = existing(session, StaffUser, staff_id)
    _check_password(password, user.login)
    user.password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    audit.record(session, actor=actor, action="password_set", subject=f"staff:{staff_id}", now=now)


def change_own_password(session: Session, *, staff_id: int, current: str, password: str, keep_token: str | None,
                        now: datetime) -> None:
    """One's own password, given the current one: one's other sessions end, this one stays."""
    user = existing(session, StaffUser, staff_id)
    if not _verify(user.password_hash, current):
        raise StaffError("current")
    _check_password(password, user.login)
    user.password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id,
                                               StaffSession.token_hash != _hash(keep_token or "")))
    audit.record(session, actor=f"staff:{staff_id}", action="password_changed", subject=f"staff:{staff_id}", now=now)


def all_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.login)))


def sign_in(sessions: sessionmaker[Session], *, login: str, password: str, address: str, now: datetime,
            code: str = "", lifetime: timedelta = SESSION_LIFETIME) -> SignIn:
    """Three short transactions: count and reserve an attempt (under the lock), check the hash (no
    transaction held), then either start the session or leave the attempt counted as a failure."""
    login, address = login[:64], address[:64]
    with transaction(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SIGN_IN_LOCK})
        wait = _locked_for(session, login=login, address=address, now=now)
        if wait:
            return SignIn("locked", minutes=wait)
        user = session.scalars(select(StaffUser).where(StaffUser.login == login, StaffUser.active.is_(True))).first()
        session.add(SignInAttempt(login=login, address=address, at=now))
        user_id, password_hash = (user.id, user.password_hash) if user else (None, None)
    right = _verify(password_hash or _dummy_hash(), password) and user_id is not None
    with transaction(sessions) as session:
        user = session.get(StaffUser, user_id) if user_id else None
        if right and user is not None and user.active and (not user.totp_enabled or _take_code(user, code, now)):
            session.execute(delete(SignInAttempt).where(SignInAttempt.login == login, SignInAttempt.address == address))
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            token = secrets.token_urlsafe(32)
            session.add(StaffSession(token_hash=_hash(token), staff_id=user.id, csrf_token=secrets.token_urlsafe(32),
                                     expires_at=now + lifetime, last_seen_at=now, created_at=now))
            audit.record(session, actor=f"staff:{user.id}", action="signed_in", subject=f"staff:{user.id}", now=now)
            return SignIn("ok", token, user)
        reason = ("登録のないログインID" if user is None else
                  "確認コードの誤り" if right else "パスワードの誤り")
        if _locked_for(session, login=login, address=address, now=now):
            reason += "（この接続元からはしばらくロック）"
        audit.record(session, actor=f"client:{address}", action="sign_in_failed",
                     subject=f"staff:{user.id}" if user else "staff:?", now=now, after={"理由": reason})
        return SignIn("wrong")


def _locked_for(session: Session, *, login: str, address: str, now: datetime) -> int:
    """Minutes to wait before `login` may try from `address`, or 0."""
    since = now - LOCK
    for cap, where in ((MAX_FAILURES, and_(SignInAttempt.login == login, SignInAttempt.address == address)),
                       (ADDRESS_CAP, SignInAttempt.address == address),
                       (LOGIN_CAP, SignInAttempt.login == login)):
        count, first = session.execute(select(func.count(), func.min(SignInAttempt.at))
                                       .where(where, SignInAttempt.at > since)).one()
        if count >= cap:
            return max(1, int((first + LOCK - now).total_seconds() // 60) + 1)
    return 0


def locked_logins(session: Session, *, now: datetime) -> set[str]:
    """Logins locked from some address, or everywhere, now (for the staff page)."""
    counts: dict[str, list[int]] = {}
    for login, count in session.execute(select(SignInAttempt.login, func.count()).where(SignInAttempt.at > now - LOCK)
                                        .group_by(SignInAttempt.login, SignInAttempt.address)):
        counts.setdefault(login, []).append(count)
    return {login for login, c in counts.items() if max(c) >= MAX_FAILURES or sum(c) >= LOGIN_CAP}


def unlock(session: Session, *, staff_id: int, actor: str, now: datetime) -> None:
    """An administrator forgets the failed sign-ins of an account, from every address."""
    user = existing(session, StaffUser, staff_id)
    removed = affected(session, delete(SignInAttempt).where(SignInAttempt.login == user.login))
    audit.record(session, actor=actor, action="sign_in_unlocked", subject=f"staff:{staff_id}", now=now,
                 before={"失敗の回数": removed})


def session_of(session: Session, *, token: str | None, now: datetime,
               idle: timedelta = IDLE) -> tuple[StaffUser, StaffSession] | None:
    if not token:
        return None
    found = session.execute(select(StaffUser, StaffSession).join(StaffSession, StaffSession.staff_id == StaffUser.id)
                            .where(StaffSession.token_hash == _hash(token), StaffSession.expires_at > now,
                                   or_(StaffSession.last_seen_at.is_(None), StaffSession.last_seen_at > now - idle),
                                   StaffUser.active.is_(True))).first()
    if found is None:
        return None
    user, staff_session = found
    if staff_session.last_seen_at is None or now - staff_session.last_seen_at >= SEEN_EVERY:
        staff_session.last_seen_at = now
    return user, staff_session


def sign_out(session: Session, *, token: str | None) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _hash(token)))


# --- TOTP (RFC 6238) for administrators --------------------------------------------------------------

def start_totp(session: Session, *, staff_id: int) -> tuple[str, str]:
    """A new secret, not yet in use (shown once: the secret and the otpauth URI to type into an app)."""
    user = existing(session, StaffUser, staff_id)
    if user.role != "admin" or user.totp_enabled:
        raise StaffError("totp")
    user.totp_secret = pyotp.random_base32()
    return user.totp_secret, pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.login, issuer_name=TOTP_ISSUER)


def confirm_totp(session: Session, *, staff_id: int, code: str, now: datetime) -> None:
    """The first code from the app proves the secret was saved: from now on sign-in asks for a code."""
    user = existing(session, StaffUser, staff_id)
    if user.totp_enabled or not user.totp_secret or not _take_code(user, code, now):
        raise StaffError("code")
    user.totp_enabled = True
    audit.record(session, actor=f"staff:{staff_id}", action="totp_enabled", subject=f"staff:{staff_id}", now=now)


def disable_totp(session: Session, *, staff_id: int, actor: str, now: datetime) -> None:
    """Another administrator turns a lost second factor off; that account's sessions end."""
    if actor == f"staff:{staff_id}":
        raise StaffError("self")
    user = existing(session, StaffUser, staff_id)
    user.totp_enabled, user.totp_secret, user.totp_last_step = False, None, None
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    audit.record(session, actor=actor, action="totp_disabled", subject=f"staff:{staff_id}", now=now)


def _take_code(user: StaffUser, code: str, now: datetime) -> bool:
    """The code of the current 30-second step or its neighbours, never one already used."""
    code = code.strip().replace(" ", "")
    if not user.totp_secret or len(code) != 6 or not code.isdigit():
        return False
    totp, step = pyotp.TOTP(user.totp_secret), int(now.timestamp()) // 30
    for candidate in (step - 1, step, step + 1):
        if candidate > (user.totp_last_step or -1) and hmac.compare_digest(totp.at(candidate * 30), code):
            user.totp_last_step = candidate
            return True
    return False


def _check_password(password: str, login: str) -> None:
    problem = password_problem(password, login=login)
    if problem:
        raise StaffError(problem, f"the password needs at least {MIN_PASSWORD} characters" if problem == "short"
                         else "the password is too common or too easy to guess (or holds the login)")


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
