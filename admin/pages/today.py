"""今日: what needs doing — requests waiting for confirmation, today's and tomorrow's bookings, calls
due, pushes that failed."""
from datetime import timedelta

from fastapi import APIRouter, Depends, Request

from admin.web import Me, db, now, page, signed_in
from scheduling import booking_lists, calls, reminders
from scheduling.calendar import jst_today

router = APIRouter()


@router.get("/")
def today(request: Request, me: Me = Depends(signed_in())):
    day = jst_today(now(request))
    own = me.provider_id if me.role == "provider" else None
    with db(request) as session:
        context = dict(
            day=day,
            waiting=booking_lists.waiting(session, provider_id=own),
            soon=booking_lists.on_days(session, first=day, last=day + timedelta(days=1), provider_id=own),
            calls=[] if me.role == "provider" else calls.due(session, until=day),
            failed=[] if me.role == "provider" else reminders.failed(session, limit=50),
        )
        return page(request, "today.html", me, **context)
