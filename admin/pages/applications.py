"""利用申請: the applications sent from the LIFF form (submitted ones first), one application beside the
screening's answers, 利用承認 (a number of the 年度 and a period from the city's [application] settings) or
差し戻し with a reason; she is told by a push either way (the dispatcher's retried path). The 利用承認通知書
prints on A4. Staff and administrators only; every read of an application is written to the audit trail.
"""
import json

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import TYPE_NAMES, Me, db, missing, now, page, posted, signed_in, staff_names, url
from scheduling.applications import service as applications
from scheduling.applications.fields import CARE_TYPES
from scheduling.applications.states import ApplicationState
from scheduling.dates.calendar import jst_today
from scheduling.family import screenings
from scheduling.records import residents
from scheduling.store import audit
from scheduling.store.models import Screening

router = APIRouter()
STAFF = ("admin", "staff")
STATE_NAMES = {"draft": "入力中", "submitted": "承認待ち", "approved": "承認済み", "returned": "差し戻し中",
               "withdrawn": "取り下げ（データ削除）"}
HOUSEHOLD_NAMES = {"taxed": "課税世帯", "tax_exempt": "住民税非課税世帯", "welfare": "生活保護世帯", "unknown": "わからない"}
DONE = {"approved": "利用を承認しました。承認番号と期間をご本人にお知らせします。",
        "returned": "差し戻しました。理由を添えてご本人にお知らせします。"}
PROBLEMS = {"reason": "差し戻しの理由を入力してください（200文字まで）。ご本人へのお知らせに添えられます。",
            "gone": "この申請はすでに状態が変わっています。画面を開き直してご確認ください。"}


def read_audit(session, me: Me, request: Request, subject: str, what: str, **more) -> None:
    """Every read of an application (names, phones) is on the audit trail."""
    audit.record(session, actor=me.actor, action="application_read", subject=subject, now=now(request),
                 after={"via": what, **more})


@router.get("/applications")
def listing(request: Request, me: Me = Depends(signed_in(*STAFF))):
    with db(request) as session:
        rows = applications.listing(session, cipher=request.app.state.cipher)
        read_audit(session, me, request, "applications", "一覧", count=len(rows))
        return page(request, "applications.html", me, rows=rows, state_names=STATE_NAMES,
                    waiting=sum(1 for row in rows if row.row.state == ApplicationState.SUBMITTED),
                    number=lambda row: applications.approval_number(row, _config(request)))


@router.get("/applications/{application_id}")
def detail(request: Request, application_id: int, me: Me = Depends(signed_in(*STAFF)), done: str = ""):
    with db(request) as session:
        return _detail(request, session, me, application_id, notice=DONE.get(done))


@router.get("/applications/{application_id}/notice")
def notice(request: Request, application_id: int, me: Me = Depends(signed_in(*STAFF))):
    """利用承認通知書, A4, for the post where a city still mails it."""
    with db(request) as session:
        row = applications.get(session, application_id=application_id)
        if row is None or row.state != ApplicationState.APPROVED:
            return missing(request, me)
        found = applications.view(row, request.app.state.cipher)
        read_audit(session, me, request, f"application:{row.id}", "利用承認通知書")
        return page(request, "application_notice.html", me, a=found, number=applications.approval_number(
                    row, _config(request)), city=request.app.state.city.contact, today=now(request),
                    type_names=_type_names())


@router.post("/applications/{application_id}/approve")
def approve(request: Request, application_id: int, me: Me = Depends(posted(*STAFF))):
    with db(request) as session:
        if applications.get(session, application_id=application_id) is None:
            return missing(request, me)
        if applications.approve(session, application_id=application_id, actor=me.actor, now=now(request),
                                config=_config(request)) is None:
            return _detail(request, session, me, application_id, problem="gone", status_code=409)
    return RedirectResponse(url(request, f"/applications/{application_id}?done=approved"), status_code=303)


@router.post("/applications/{application_id}/return")
def send_back(request: Request, application_id: int, me: Me = Depends(posted(*STAFF)), reason: str = Form("")):
    reason = reason.strip()
    with db(request) as session:
        if applications.get(session, application_id=application_id) is None:
            return missing(request, me)
        if not reason or len(reason) > applications.MAX_REASON:
            return _detail(request, session, me, application_id, problem="reason", status_code=400, typed=reason)
        if applications.send_back(session, application_id=application_id, reason=reason, actor=me.actor,
                                  now=now(request)) is None:
            return _detail(request, session, me, application_id, problem="gone", status_code=409)
    return RedirectResponse(url(request, f"/applications/{application_id}?done=returned"), status_code=303)


def _config(request: Request):
    return request.app.state.city.application


def _type_names() -> dict:
    return {key: TYPE_NAMES[key] for key in CARE_TYPES}


def _detail(request: Request, session, me: Me, application_id: int, *, notice: str | None = None,
            problem: str | None = None, status_code: int = 200, typed: str = ""):
    row = applications.get(session, application_id=application_id)
    if row is None or row.state == ApplicationState.DRAFT:
        return missing(request, me)
    session.refresh(row)
    found = applications.view(row, request.app.state.cipher)
    screening = session.get(Screening, row.screening_id) if row.screening_id else None
    if screening is None and not row.user_id.startswith("deleted:"):
        earlier = screenings.of_user(session, user_id=row.user_id)
        screening = earlier[-1] if earlier else None
    answers = residents.answers_in_words(json.loads(screening.answers), request.app.state.city.name) \
        if screening else []
    read_audit(session, me, request, f"application:{row.id}", "申請の内容")
    response = page(request, "application.html", me, a=found, state_names=STATE_NAMES, households=HOUSEHOLD_NAMES,
                    number=applications.approval_number(row, _config(request)), answers=answers,
                    screening=screening, notice=notice, problem=PROBLEMS.get(problem or ""), typed=typed,
                    max_reason=applications.MAX_REASON, type_names=_type_names(), names=staff_names(session),
                    preview=applications.period(_config(request), on=_today(request),
                                                baby_birth=row.baby_birth_date))
    response.status_code = status_code
    return response


def _today(request: Request):
    return jst_today(now(request))
