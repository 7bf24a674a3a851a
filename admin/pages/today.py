"""今日: what needs doing — urgent items from the chat's safety net first, open 相談, requests waiting for
confirmation, today's and tomorrow's bookings, calls due, pushes that failed or are delayed (resend, or
対応済み), answers LINE has not taken (resend), events waiting too long."""
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, db, missing, now, page, posted, signed_in, url
from scheduling.care import booking_lists
from scheduling.consult import alerts, consults
from scheduling.dates.calendar import jst_today
from scheduling.family import calls, mothers
from scheduling.messaging import inbox, outbox, reminders

router = APIRouter()


@router.get("/")
def today(request: Request, me: Me = Depends(signed_in()), alert_done: str = "", alert_problem: str = "",
          push_done: str = ""):
    day = jst_today(now(request))
    own = me.provider_id if me.role == "provider" else None
    staff = me.role != "provider"
    with db(request) as session:
        urgent = alerts.open_alerts(session) if staff else []
        to_read = alerts.words_to_read(session) if staff else []
        open_cases = consults.inbox(session) if staff else []
        failed = (reminders.failed(session, limit=50) + reminders.delayed(session, now=now(request), limit=50)
                  if staff else [])
        troubled = outbox.troubled(session, now=now(request), limit=50) if staff else []
        whom = ({row.user_id for row in (*urgent, *to_read)} | {row.user_id for row in failed}
                | {row.user_id for row in troubled})   # her record, once per mother
        context = dict(
            urgent=urgent, to_read=to_read,
            records={user_id: mothers.current(session, user_id=user_id) for user_id in whom},
            open_cases=open_cases, case_waiting={c.id: consults.waiting_since(c) for c in open_cases}, now=now(request),
            alert_notice="対応済みにしました。" if alert_done else None,
            alert_problem={"note": "対応のメモを入力してください（500文字まで）。",
                           "done": "この項目はすでに対応済みです。"}.get(alert_problem),
            day=day,
            waiting=booking_lists.waiting(session, provider_id=own),
            soon=booking_lists.on_days(session, first=day, last=day + timedelta(days=1), provider_id=own),
            staying=booking_lists.staying(session, day=day, provider_id=own),
            to_close=booking_lists.to_close(session, day=day, provider_id=own),
            calls=calls.due(session, until=day) if staff else [],
            failed=failed, push_done={"resent": "もう一度送ります。", "resolved": "対応済みにしました。"}.get(push_done),
            troubled=troubled,
            backlog=inbox.backlog(session, now=now(request)) if staff else (0, 0.0),
        )
        return page(request, "today.html", me, **context)


@router.post("/reminders/{reminder_id}/{action}")
def push_action(request: Request, reminder_id: int, action: str, me: Me = Depends(posted("admin", "staff"))):
    """再送する (resend) or 対応済み (resolve) for a push that could not be sent; audited."""
    if action not in ("resend", "resolve"):
        return missing(request, me)
    with db(request) as session:
        done = (reminders.resend if action == "resend" else reminders.resolve)(
            session, reminder_id=reminder_id, actor=me.actor, now=now(request))
        if not done:
            return missing(request, me)
    return RedirectResponse(url(request, f"/?push_done={'resent' if action == 'resend' else 'resolved'}#pushes"),
                            status_code=303)


@router.post("/messages/{message_id}/resend")
def resend(request: Request, message_id: int, me: Me = Depends(posted("admin", "staff"))):
    """Send an answer LINE never took once more (audited)."""
    with db(request) as session:
        if not outbox.resend(session, message_id=message_id, actor=me.actor, now=now(request)):
            return missing(request, me)
    return RedirectResponse(url(request, "/"), status_code=303)
