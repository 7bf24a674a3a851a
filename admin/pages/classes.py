"""教室: the sessions with places taken and waiting lists; a session added, changed, or cancelled with a
push to everyone booked or waiting; the participant list to print (A4); attendance; the waiting list.
Staff and administrators only. The work is scheduling/classes/class_admin.py's."""
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, as_date, as_int, db, missing, now, page, posted, signed_in, url
from scheduling.classes import class_admin
from scheduling.classes.class_admin import ClassAdminError
from scheduling.dates.calendar import jst_today
from scheduling.store.statuses import ClassBookingStatus

router = APIRouter()
STAFF = ("admin", "staff")
PROBLEMS = {"unknown_class": "教室を選んでください。",
            "past": "日にちは明日以降を選んでください。",
            "times": "時刻は「10:00」の形で、終わりを始まりより後にしてください。",
            "capacity": "定員は1人から500人までの数で入力してください。",
            "place": "場所を入力してください。",
            "same_day": "その日にはすでに同じ教室があります。",
            "below_taken": "定員は、すでに予約されている人数（{taken}人）より少なくできません。",
            "gone": "この教室はすでに中止されたか、変更できない状態です。画面を開き直してください。",
            "not_yet": "出欠は教室の当日から記録できます。",
            "reason": "中止の理由を入力してください（ご本人へのお知らせには入りません）。",
            "confirm": "「予約した方全員にお知らせします」に印をつけてから中止してください。",
            "date": "日にちを選んでください。"}
DONE = {"created": "教室を追加しました。", "changed": "変更しました。",
        "attendance": "出欠を記録しました。",
        "cancelled": "教室を中止しました。予約・キャンセル待ちの{told}人にお知らせを送ります。"}


@router.get("/classes")
def sessions(request: Request, me: Me = Depends(signed_in(*STAFF)), past: str = ""):
    today = jst_today(now(request))
    with db(request) as session:
        first = today.replace(year=today.year - 1) if past else today
        rows = class_admin.sessions(session, first=first, last=today if past else None)
        return page(request, "classes.html", me, rows=list(reversed(rows)) if past else rows, past=bool(past),
                    today=today)


@router.get("/classes/new")
def new_form(request: Request, me: Me = Depends(signed_in(*STAFF)), class_key: str = ""):
    return _form(request, me, class_key=class_key)


@router.post("/classes/new")
def create(request: Request, me: Me = Depends(posted(*STAFF)), class_key: str = Form(""), day: str = Form(""),
           start: str = Form(""), end: str = Form(""), place: str = Form(""), capacity: str = Form("")):
    typed = dict(class_key=class_key, day=day, start=start, end=end, place=place, capacity=capacity)
    chosen_day = as_date(day)
    if chosen_day is None:
        return _form(request, me, typed, "date")
    try:
        with db(request) as session:
            row = class_admin.create(session, config=_config(request), class_key=class_key, day=chosen_day,
                                     start=start.strip(), end=end.strip(), place=place,
                                     capacity_persons=_number(capacity), actor=me.actor, now=now(request))
            session_id = row.id
    except ClassAdminError as error:
        return _form(request, me, typed, error.problem, **error.params)
    return RedirectResponse(url(request, f"/classes/{session_id}?done=created"), status_code=303)


@router.get("/classes/{session_id}")
def session_page(request: Request, session_id: int, me: Me = Depends(signed_in(*STAFF)), done: str = "",
                 told: int = 0):
    return _detail(request, me, session_id, notice=DONE.get(done, "").format(told=told) or None)


@router.post("/classes/{session_id}/edit")
def edit(request: Request, session_id: int, me: Me = Depends(posted(*STAFF)), start: str = Form(""),
         end: str = Form(""), place: str = Form(""), capacity: str = Form("")):
    try:
        with db(request) as session:
            class_admin.edit(session, config=_config(request), session_id=session_id, start=start.strip(),
                             end=end.strip(), place=place, capacity_persons=_number(capacity), actor=me.actor,
                             now=now(request))
    except ClassAdminError as error:
        return _detail(request, me, session_id, problem=error.problem, status_code=400, **error.params)
    return RedirectResponse(url(request, f"/classes/{session_id}?done=changed"), status_code=303)


@router.post("/classes/{session_id}/cancel")
def cancel(request: Request, session_id: int, me: Me = Depends(posted(*STAFF)), reason: str = Form(""),
           confirm: str = Form("")):
    reason = reason.strip()[:200]
    if not reason or confirm != "yes":
        return _detail(request, me, session_id, problem="reason" if not reason else "confirm", status_code=400)
    try:
        with db(request) as session:
            pushes = class_admin.cancel(session, config=_config(request), session_id=session_id, reason=reason,
                                        actor=me.actor, now=now(request))
    except ClassAdminError as error:
        return _detail(request, me, session_id, problem=error.problem, status_code=409)
    return RedirectResponse(url(request, f"/classes/{session_id}?done=cancelled&told={pushes}"), status_code=303)


@router.post("/classes/{session_id}/attendance")
def attendance(request: Request, session_id: int, me: Me = Depends(posted(*STAFF)), booking_id: int = Form(0),
               status: str = Form("")):
    try:
        with db(request) as session:
            booking = class_admin.mark_attendance(session, booking_id=booking_id, status=status, actor=me.actor,
                                                  now=now(request)) if _belongs(session, booking_id, session_id) \
                else None
    except ClassAdminError as error:
        return _detail(request, me, session_id, problem=error.problem, status_code=400)
    if booking is None:
        return _detail(request, me, session_id, problem="gone", status_code=400)
    return RedirectResponse(url(request, f"/classes/{session_id}?done=attendance#participants"), status_code=303)


@router.post("/classes/{session_id}/confirm")
def confirm(request: Request, session_id: int, me: Me = Depends(posted(*STAFF)), booking_id: int = Form(0)):
    try:
        with db(request) as session:  # the answer's page opens its own transaction: not inside this one
            belongs = _belongs(session, booking_id, session_id)
            if belongs:
                class_admin.confirm_request(session, booking_id=booking_id, actor=me.actor, now=now(request))
    except ClassAdminError as error:
        return _detail(request, me, session_id, problem=error.problem, status_code=400)
    if not belongs:
        return _detail(request, me, session_id, problem="gone", status_code=400)
    return RedirectResponse(url(request, f"/classes/{session_id}?done=confirmed#participants"), status_code=303)


@router.get("/classes/{session_id}/print")
def print_list(request: Request, session_id: int, me: Me = Depends(signed_in(*STAFF))):
    with db(request) as session:
        found = class_admin.info(session, session_id=session_id)
        if found is None:
            return missing(request, me)
        people = class_admin.participants(session, session_id=session_id)
        return page(request, "class_print.html", me, info=found, row=found.row, people=people,
                    persons=sum(p.booking.party for p in people if p.booking.status != ClassBookingStatus.NO_SHOW),
                    printed=now(request))


# --- inside ------------------------------------------------------------------------------------------

def _config(request: Request):
    return request.app.state.city.booking


def _number(text: str) -> int:
    return as_int(text) or 0


def _belongs(session, booking_id: int, session_id: int) -> bool:
    return any(p.booking.id == booking_id for p in class_admin.participants(session, session_id=session_id))


def _form(request: Request, me: Me, typed: dict | None = None, problem: str | None = None, class_key: str = "",
          **params):
    """The form for one class, with that class's own time, place and capacity filled in."""
    classes = _config(request).classes
    typed = typed or {}
    if not typed and classes:
        chosen = next((c for c in classes if c.key == class_key), classes[0])
        typed = dict(class_key=chosen.key, start=chosen.start, end=chosen.end, place=chosen.place,
                     capacity=str(chosen.capacity), day="")
    title = next((c.title for c in classes if c.key == typed.get("class_key")), "")
    response = page(request, "class_new.html", me, classes=classes, typed=typed, chosen_title=title,
                    problem=PROBLEMS.get(problem or "", "").format(**params) or None)
    response.status_code = 400 if problem else 200
    return response


def _detail(request: Request, me: Me, session_id: int, *, notice: str | None = None, problem: str | None = None,
            status_code: int = 200, **params):
    with db(request) as session:
        found = class_admin.info(session, session_id=session_id)
        if found is None:
            return missing(request, me)
        today = jst_today(now(request))
        response = page(request, "class_session.html", me, info=found, row=found.row,
                        people=class_admin.participants(session, session_id=session_id),
                        waiting=class_admin.waiting_list(session, session_id=session_id),
                        source=_config(request).parent_class(found.row.class_key), notice=notice,
                        problem=PROBLEMS.get(problem or "", "").format(**params) or None,
                        today=today, on_or_after=found.row.day <= today.isoformat(),
                        upcoming=found.row.day > today.isoformat())
        response.status_code = status_code
        return response
