"""32週の電話: the calls due (her preferred time, the week), one call with its tries, recording a try
(by phone, in person, not reached with a retry date, declined) with a short note and the 'no family
help after birth' mark, and the counts of the fiscal year. Staff and administrators only."""
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, as_date, db, given_contacts, missing, now, page, posted, signed_in, staff_names, url
from scheduling.dates.calendar import jst_today
from scheduling.dates.japanese_dates import fiscal_bounds, fiscal_year
from scheduling.family import call_list, calls
from scheduling.family.statuses import CallStatus
from scheduling.rules.periods import pregnancy_week
from scheduling.store import audit
from scheduling.store.models import Call, Mother

router = APIRouter()
STAFF = ("admin", "staff")
MAX_NOTE = 200
PROBLEMS = {"outcome": "結果を選んでください。",
            "retry": "「つながらなかった」ときは、次にかける日（今日以降）を選んでください。",
            "long": f"メモは{MAX_NOTE}文字までで入力してください。",
            "closed": "この電話はもう一覧にありません（妊娠が終了したか、記録が削除されました）。"}


@router.get("/calls")
def call_list_page(request: Request, me: Me = Depends(signed_in(*STAFF)), preference: str = "",
                   include_done: str = "", until: str = ""):
    today = jst_today(now(request))
    last = as_date(until) or today + timedelta(days=7)
    chosen = preference if preference in (*calls.PREFERENCES, "none") else ""
    year = fiscal_year(today)
    with db(request) as session:
        rows = [row for row in calls.due(session, until=last, preference=chosen or None,
                                         include_done=bool(include_done))
                if row.mother.deleted_at is None]   # deleted on request: nobody to call
        tries = {row.call.id: calls.outcomes(session, call_id=row.call.id) for row in rows}
        counts = call_list.counts(session, first=fiscal_bounds(year)[0], last=fiscal_bounds(year)[1])
        given = given_contacts(request, session, me, {row.mother.user_id for row in rows if row.mother.user_id},
                               "32週の電話の一覧")
        return page(request, "calls.html", me, rows=rows, tries=tries, counts=counts, year=year, today=today,
                    given=given,
                    until=last, preference=chosen, include_done=bool(include_done), week=_week(request),
                    weeks={row.call.id: _weeks_on(row.mother, today) for row in rows})


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: int, me: Me = Depends(signed_in(*STAFF)), done: str = ""):
    with db(request) as session:
        return _detail(request, session, me, call_id, notice="記録しました。" if done else None)


@router.post("/calls/{call_id}/record")
def record(request: Request, call_id: int, me: Me = Depends(posted(*STAFF)), outcome: str = Form(""),
           note: str = Form(""), retry_on: str = Form(""), no_family_help: str = Form("")):
    note = note.strip()
    today = jst_today(now(request))
    retry = as_date(retry_on)
    typed = dict(outcome=outcome, note=note, retry_on=retry_on, no_family_help=bool(no_family_help))
    with db(request) as session:
        call = session.get(Call, call_id)
        if call is None:
            return missing(request, me)
        problem = None
        if outcome not in calls.OUTCOMES:
            problem = "outcome"
        elif outcome == "not_reached" and (retry is None or retry < today):
            problem = "retry"
        elif len(note) > MAX_NOTE:
            problem = "long"
        elif call.status == CallStatus.CANCELLED or session.get(Mother, call.mother_id).deleted_at is not None:
            problem = "closed"
        if problem:
            return _detail(request, session, me, call_id, problem=problem, typed=typed, status_code=400)
        calls.record(session, call_id=call_id, outcome=outcome, staff=me.actor, now=now(request), note=note or None,
                     retry_on=retry if outcome == "not_reached" else None, no_family_help=bool(no_family_help))
    return RedirectResponse(url(request, f"/calls/{call_id}?done=1"), status_code=303)


# --- inside ------------------------------------------------------------------------------------------

def _week(request: Request) -> int:
    return request.app.state.city.pregnancy.call_week


def _weeks_on(mother: Mother, day: date) -> str:
    if not mother.due_date:
        return ""
    weeks, days = pregnancy_week(date.fromisoformat(mother.due_date), day)
    return f"{weeks}週{days}日"


def _detail(request: Request, session, me: Me, call_id: int, *, notice: str | None = None,
            problem: str | None = None, typed: dict | None = None, status_code: int = 200):
    call = session.get(Call, call_id)
    if call is None:
        return missing(request, me)
    mother = session.get(Mother, call.mother_id)
    today = jst_today(now(request))
    audit.record(session, actor=me.actor, action="record_viewed", subject=f"call:{call.id}", now=now(request))
    given = given_contacts(request, session, me, {mother.user_id} if mother.user_id else set(),
                           "32週の電話").get(mother.user_id)
    response = page(request, "call.html", me, call=call, mother=mother, tries=calls.outcomes(session, call_id=call.id),
                    given=given,
                    names=staff_names(session), week=_week(request), weeks_now=_weeks_on(mother, today),
                    notice=notice, problem=PROBLEMS.get(problem or ""), typed=typed or {}, today=today,
                    outcomes=calls.OUTCOMES, max_note=MAX_NOTE)
    response.status_code = status_code
    return response

