"""LINE users: following or not (no push goes to a user who blocked the account), language."""
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from scheduling.store import raw
from scheduling.store.models import LineUser
from scheduling.store.sql import insert_ignoring_duplicates


def get(session: Session, *, user_id: str) -> LineUser | None:
    return session.get(LineUser, user_id)


def ensure(session: Session, *, user_id: str, now: datetime, language: str | None = None) -> LineUser:
    user = session.get(LineUser, user_id)
    if user is None:
        user = LineUser(user_id=user_id, language=language, following=True, created_at=now)
        session.add(user)
        session.flush()
    elif language and not user.language:
        user.language = language
    return user


_USERS = LineUser.__table__
_LANGUAGE = raw.Sql("SELECT language FROM line_users WHERE user_id = :user")
_SET_LANGUAGE = update(_USERS).where(_USERS.c.user_id == bindparam("user")).values(language=bindparam("lang"))


def ensure_language(session: Session, *, user_id: str, now: datetime, language: str | None = None) -> str | None:
    """As `ensure`, for the worker's hot path: her stored language (None if unknown)."""
    rows = raw.execute(session, _LANGUAGE, {"user": user_id}).fetchall()
    if not rows:
        insert_ignoring_duplicates(session, _USERS, [dict(user_id=user_id, language=language, following=True,
                                                          created_at=now)], "user_id")
        return language
    if language and not rows[0][0]:
        session.connection().execute(_SET_LANGUAGE, {"user": user_id, "lang": language})
        return language
    return rows[0][0]


def hold(session: Session, *, user_id: str, now: datetime) -> None:
    """Lock her row until the transaction ends (making it if she has none), so that work on her that
    must see her other rows runs one at a time across processes."""
    insert_ignoring_duplicates(session, LineUser.__table__, [dict(user_id=user_id, following=True, created_at=now)],
                               "user_id")
    session.execute(select(LineUser.user_id).where(LineUser.user_id == user_id).with_for_update())


def set_following(session: Session, *, user_id: str, following: bool, now: datetime) -> None:
    user = ensure(session, user_id=user_id, now=now)
    user.following = following
    user.blocked_at = None if following else now
