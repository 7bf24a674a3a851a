"""相談: the inbox (the one waiting longest first), a case with its thread, a reply (sent to her by push,
read in the chat), closing with a category. Staff and administrators only; every read is audited."""
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, db, given_contacts, missing, now, page, posted, signed_in, staff_names, url
from scheduling.consult import alerts, consults
from scheduling.consult.consults import MAX_REPLY
from scheduling.consult.statuses import CaseStatus
from scheduling.family import mothers
from scheduling.store import audit

router = APIRouter()
STAFF = ("admin", "staff")
PROBLEMS = {"empty": "お返事を入力してください。", "long": f"お返事は{MAX_REPLY:,}文字までで入力してください。",
            "category": "区分を選んでください。", "closed": "この相談はもう終了しています。"}


@router.get("/consults")
def inbox(request: Request, me: Me = Depends(signed_in(*STAFF)), status: str = "open"):
    status = CaseStatus.CLOSED if status == CaseStatus.CLOSED else CaseStatus.OPEN
    with db(request) as session:
        cases = consults.inbox(session, status=status)
        given = given_contacts(request, session, me, {c.user_id for c in cases if not c.user_id.startswith("deleted:")},
                       "相談の一覧")
        return page(request, "consults.html", me, cases=cases, status=status, now=now(request), given=given,
                    waiting={c.id: consults.waiting_since(c) for c in cases})


@router.get("/consults/{case_id}")
def case_page(request: Request, case_id: int, me: Me = Depends(signed_in(*STAFF)), done: str = ""):
    with db(request) as session:
        notice = {"reply": "お返事を送りました。届くと、ご本人に「お返事が届きました」とお知らせします。",
                  "closed": "相談を終了しました。"}.get(done)
        return _detail(request, session, me, case_id, notice=notice)


@router.post("/consults/{case_id}/reply")
def reply(request: Request, case_id: int, me: Me = Depends(posted(*STAFF)), body: str = Form("")):
    text = body.strip()
    with db(request) as session:
        case = consults.get(session, case_id=case_id)
        if case is None:
            return missing(request, me)
        problem = "empty" if not text else "long" if len(text) > MAX_REPLY else "closed" if case.status != CaseStatus.OPEN \
            else None
        if problem:
            return _detail(request, session, me, case_id, problem=problem, typed=body, status_code=400)
        consults.reply(session, case_id=case_id, staff=me.actor, body=text, now=now(request))
    return RedirectResponse(url(request, f"/consults/{case_id}?done=reply"), status_code=303)


@router.post("/consults/{case_id}/close")
def close(request: Request, case_id: int, me: Me = Depends(posted(*STAFF)), category: str = Form("")):
    with db(request) as session:
        case = consults.get(session, case_id=case_id)
        if case is None:
            return missing(request, me)
        problem = "category" if category not in consults.CLOSE_CATEGORIES else "closed" if case.status != CaseStatus.OPEN \
            else None
        if problem:
            return _detail(request, session, me, case_id, problem=problem, status_code=400)
        consults.close(session, case_id=case_id, staff=me.actor, category=category, now=now(request))
    return RedirectResponse(url(request, f"/consults/{case_id}?done=closed"), status_code=303)


def _detail(request: Request, session, me: Me, case_id: int, *, notice: str | None = None,
            problem: str | None = None, typed: str = "", status_code: int = 200):
    case = consults.get(session, case_id=case_id)
    if case is None:
        return missing(request, me)
    audit.record(session, actor=me.actor, action="consult_viewed", subject=f"consult:{case.id}", now=now(request))
    anonymous = case.user_id.startswith("deleted:")
    record = None if anonymous else mothers.current(session, user_id=case.user_id)
    given = {} if anonymous else given_contacts(request, session, me, {case.user_id}, "相談").get(case.user_id, {})
    response = page(request, "consult.html", me, case=case, thread=consults.thread(session, case_id=case.id),
                    given=given,
                    record=record, anonymous=anonymous, names=staff_names(session), notice=notice,
                    problem=PROBLEMS.get(problem or ""), typed=typed, max_reply=MAX_REPLY,
                    categories=consults.CLOSE_CATEGORIES, waiting=consults.waiting_since(case), now=now(request),
                    alerts=[] if anonymous else alerts.of_user(session, user_id=case.user_id))
    response.status_code = status_code
    return response

