"""今日: what needs doing — requests waiting for confirmation, today's and tomorrow's bookings, calls
due, pushes that failed, answers LINE has not taken (failed, or long delayed) with a resend button."""
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, db, missing, now, page, posted, signed_in, url
from scheduling import booking_lists, calls, inbox, outbox, reminders
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
            failed=[] if me.role == "provider" else (reminders.failed(session, limit=50)
                                                      + reminders.delayed(session, now=now(request), limit=50)),
            troubled=[] if me.role == "provider" else outbox.troubled(session, now=now(request), limit=50),
            backlog=(0, 0.0) if me.role == "provider" else inbox.backlog(session, now=now(request)),
        )
        return page(request, "today.html", me, **context)


@router.post("/reminders/{reminder_id}/resend")
def resend_reminder(request: Request, reminder_id: int, me: Me = Depends(posted("admin", "staff"))):
    """Send a push that failed once more (audited)."""
    with db(request) as session:
        if not reminders.resend(session, reminder_id=reminder_id, actor=me.actor, now=now(request)):
            return missing(request, me)
    return RedirectResponse(url(request, "/"), status_code=303)


@router.post("/messages/{message_id}/resend")
def resend(request: Request, message_id: int, me: Me = Depends(posted("admin", "staff"))):
    """Send an answer LINE never took once more (audited)."""
    with db(request) as session:
        if not outbox.resend(session, message_id=message_id, actor=me.actor, now=now(request)):
            return missing(request, me)
    return RedirectResponse(url(request, "/"), status_code=303)
