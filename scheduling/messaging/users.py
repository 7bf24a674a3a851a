"""LINE users: following or not (no push goes to a user who blocked the account), language."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

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
