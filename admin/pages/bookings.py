"""産後ケアの予約: the list with filters, one booking with its history, and what staff do with it —
confirm, decline with a reason, attended / no-show, cancelled by phone with a reason. A provider's
account sees only its own bookings and may only mark them attended or no-show; anything else is 404.

Every action goes through scheduling/care/care_bookings.py and is written to the audit trail."""
import unicodedata
from datetime import date
from typing import TypedDict

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, as_date, as_int, db, missing, now, page, posted, signed_in, staff_names, url
from scheduling.applications import service as applications
from scheduling.care import booking_facts, booking_lists, care_bookings, history
from scheduling.dates.calendar import jst_today
from scheduling.family import mothers
from scheduling.messaging import reminders
from scheduling.records import residents
from scheduling.store import audit
from scheduling.store.models import CareBooking, Provider
from scheduling.store.statuses import CareBookingStatus

router = APIRouter()
EVERYONE = ("admin", "staff", "provider")
STATUSES = tuple(CareBookingStatus)
DONE = {"confirmed": "予約を確定しました。ご本人にお知らせが届きます。",
        "declined": "お断りしました。理由を添えてご本人にお知らせが届きます。",
        "attended": "利用済みにしました。", "no_show": "ご連絡のないお休みにしました。",
        "cancelled": "キャンセルにしました（ご本人へのお知らせはありません。お電話で伝えてください）。"}
PROBLEMS = {"reason": "理由を入力してください。ご本人へのお知らせに添えられます。",
            "cancel_reason": "キャンセルの理由を入力してください（例：お電話でキャンセルのご連絡）。",
            "gone": "この予約はすでに状態が変わっています。画面を開き直してご確認ください。",
            "not_yet": "利用日より前は、利用済み・ご連絡のないお休みにできません。",
            "long": "理由は200文字までで入力してください。"}
MAX_REASON = 200
PUSH_NAMES = {"care_confirmed": "確定のお知らせ", "care_declined": "お断りのお知らせ", "care_day_before": "前日のお知らせ"}


class Filters(TypedDict):
    """The list's filters as the page shows them back: empty text or None for "any"."""
    type: str
    provider: str
    status: str
    first: date | None
    last: date | None


@router.get("/bookings")
def bookings(request: Request, me: Me = Depends(signed_in(*EVERYONE)), type: str = "", provider: str = "",
             status: str = "", first: str = "", last: str = "", number: str = ""):
    own = me.provider_id if me.role == "provider" else None
    wanted = unicodedata.normalize("NFKC", number).strip().lstrip("#").removeprefix("受付番号").strip()
    if wanted.isdigit() and len(wanted) <= 9:   # the 受付番号 she quotes: straight to it, if this account may see it
        with db(request) as session:
            if _visible(session, me, int(wanted)) is not None:
                return RedirectResponse(url(request, f"/bookings/{int(wanted)}"), status_code=303)
    filters = Filters(type=type if type in ("short_stay", "day_care", "home_visit") else "",
                      provider=provider if as_int(provider) else "", status=status if status in STATUSES else "",
                      first=as_date(first), last=as_date(last))
    with db(request) as session:
        rows = booking_lists.search(session, only_provider=own, provider_id=as_int(filters["provider"]),
                                    care_type=filters["type"] or None, status=filters["status"] or None,
                                    first=filters["first"], last=filters["last"])
        choices = [] if own else booking_lists.providers(session)
        states = applications.states_of(session, user_ids={row.booking.user_id for row in rows})
        return page(request, "bookings.html", me, rows=rows, filters=filters, providers=choices, states=states,
                    statuses=STATUSES, limit_reached=len(rows) >= 500, number=number.strip()[:20],
                    number_missing=bool(number.strip()))


@router.get("/bookings/{booking_id}")
def booking(request: Request, booking_id: int, me: Me = Depends(signed_in(*EVERYONE)), done: str = ""):
    with db(request) as session:
        return _detail(request, session, me, booking_id, notice=DONE.get(done))


@router.post("/bookings/{booking_id}/confirm")
def confirm(request: Request, booking_id: int, me: Me = Depends(posted("admin", "staff"))):
    with db(request) as session:
        found = _visible(session, me, booking_id)
        if found is None:
            return missing(request, me)
        before = found.status
        outcome = care_bookings.confirm(session, config=_config(request), booking_id=booking_id, actor=me.actor,
                                        now=now(request))
        if not outcome.ok:
            return _detail(request, session, me, booking_id, problem="gone", status_code=409)
        _audit(session, me, request, found, "care_confirmed", before)
    return _done(request, booking_id, CareBookingStatus.CONFIRMED)


@router.post("/bookings/{booking_id}/decline")
def decline(request: Request, booking_id: int, me: Me = Depends(posted("admin", "staff")), reason: str = Form("")):
    reason = reason.strip()
    with db(request) as session:
        found = _visible(session, me, booking_id)
        if found is None:
            return missing(request, me)
        if not reason or len(reason) > MAX_REASON:
            return _detail(request, session, me, booking_id, problem="reason" if not reason else "long",
                           status_code=400, typed=reason)
        before = found.status
        outcome = care_bookings.decline(session, config=_config(request), booking_id=booking_id, reason=reason,
                                        actor=me.actor, now=now(request))
        if not outcome.ok:
            return _detail(request, session, me, booking_id, problem="gone", status_code=409)
        _audit(session, me, request, found, "care_declined", before, reason=reason)
    return _done(request, booking_id, CareBookingStatus.DECLINED)


@router.post("/bookings/{booking_id}/close")
def close(request: Request, booking_id: int, me: Me = Depends(posted(*EVERYONE)), status: str = Form("")):
    with db(request) as session:
        found = _visible(session, me, booking_id)
        if found is None:
            return missing(request, me)
        if date.fromisoformat(found.start_date) > jst_today(now(request)):
            return _detail(request, session, me, booking_id, problem="not_yet", status_code=400)
        before = found.status
        outcome = care_bookings.close(session, booking_id=booking_id, status=status, actor=me.actor, now=now(request))
        if not outcome.ok:
            return _detail(request, session, me, booking_id, problem="gone", status_code=409)
        _audit(session, me, request, found, f"care_{status}", before)
    return _done(request, booking_id, status)


@router.post("/bookings/{booking_id}/cancel")
def cancel(request: Request, booking_id: int, me: Me = Depends(posted("admin", "staff")), reason: str = Form("")):
    reason = reason.strip()
    with db(request) as session:
        found = _visible(session, me, booking_id)
        if found is None:
            return missing(request, me)
        if not reason or len(reason) > MAX_REASON:
            return _detail(request, session, me, booking_id, problem="cancel_reason" if not reason else "long",
                           status_code=400, typed_cancel=reason)
        before = found.status
        outcome = care_bookings.cancel(session, config=_config(request), booking_id=booking_id, now=now(request),
                                       actor=me.actor, reason=reason)
        if not outcome.ok:
            return _detail(request, session, me, booking_id, problem="gone", status_code=409)
        _audit(session, me, request, found, "care_cancelled", before, reason=reason)
    return _done(request, booking_id, CareBookingStatus.CANCELLED)


# --- inside ------------------------------------------------------------------------------------------

def _config(request: Request):
    return request.app.state.city.booking


def _visible(session, me: Me, booking_id: int) -> CareBooking | None:
    """The booking, if this account may see it: a provider only its own."""
    found = care_bookings.get(session, booking_id=booking_id)
    if found is None or (me.role == "provider" and found.provider_id != me.provider_id):
        return None
    return found


def _detail(request: Request, session, me: Me, booking_id: int, *, notice: str | None = None,
            problem: str | None = None, status_code: int = 200, typed: str = "", typed_cancel: str = ""):
    found = _visible(session, me, booking_id)
    if found is None:
        return missing(request, me)
    session.refresh(found)
    provider = session.get(Provider, found.provider_id)
    today = jst_today(now(request))
    mother = facts = None
    applicant = booking_facts.applicant(session, booking=found, cipher=request.app.state.cipher)
    if applicant is not None:   # a read of her name and phone: on the audit trail
        audit.record(session, actor=me.actor, action="application_read", subject=f"application:{applicant.row.id}",
                     now=now(request), after={"via": "予約の画面", "booking": found.id})
    shown = applications.for_provider(applicant) if applicant is not None and me.role == "provider" else None
    if me.role != "provider":
        facts = booking_facts.for_staff(session, booking=found, rules=request.app.state.city.rules,
                                        config=_config(request))
        if not found.user_id.startswith("deleted:"):
            mother = mothers.latest(session, user_id=found.user_id)
    policy = _config(request).policy
    waiting = [] if me.role == "provider" else reminders.waiting_for_care(
        session, care_booking_id=found.id, now=now(request),
        policy=policy if getattr(request.app.state, "quiet_hours", True) else None)
    response = page(request, "booking.html", me, booking=found, provider=provider, waiting=waiting,
                    push_names=PUSH_NAMES, quiet_until=_clock(policy.quiet_until),
                    changes=history.of_booking(session, kind="care", booking_id=found.id),
                    names=staff_names(session), mother=mother, facts=facts, notice=notice,
                    applicant=applicant if me.role != "provider" else None, shown=shown,
                    application_number=applications.approval_number(applicant.row) if applicant else None,
                    answers=residents.answers_in_words(facts.answers, request.app.state.city.name)
                    if facts else [],
                    problem=PROBLEMS.get(problem or ""), typed=typed, typed_cancel=typed_cancel,
                    can_close=date.fromisoformat(found.start_date) <= today, max_reason=MAX_REASON)
    response.status_code = status_code
    return response


def _clock(text: str) -> str:
    """"08:00" as staff say it: 8:00."""
    hours, minutes = text.split(":")
    return f"{int(hours)}:{minutes}"


def _audit(session, me: Me, request: Request, booking: CareBooking, action: str, before: str, **more) -> None:
    audit.record(session, actor=me.actor, action=action, subject=f"care_booking:{booking.id}", now=now(request),
                 before={"status": before}, after={"status": booking.status, **more})


def _done(request: Request, booking_id: int, what: str) -> RedirectResponse:
    return RedirectResponse(url(request, f"/bookings/{booking_id}?done={what}"), status_code=303)
