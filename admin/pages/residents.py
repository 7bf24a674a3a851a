"""利用者: find a record by the centre's registration code or the record number; the record (registration,
screenings with their reasons, bookings, the 32-week call, pushes sent); a record made at the 母子健康手帳
interview with a link code to hand over; deletion on request. Staff and administrators only: these are
要配慮個人情報, and a provider's account never sees them. The work is scheduling/records/residents.py's."""
from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request

from admin.audit_words import STAFF_NEED_NAMES
from admin.web import Me, as_date, db, missing, now, page, posted, signed_in, staff_names
from scheduling import staff_needs
from scheduling.dates.calendar import jst_today
from scheduling.family import link_codes
from scheduling.records import residents
from scheduling.store.models import Mother

router = APIRouter()
STAFF = ("admin", "staff")
PROBLEMS = {"due_date": "出産予定日を選んでください（今日から10か月以内）。",
            "babies": "お子さんの人数を選んでください。",
            "staff_ref": "登録番号は40文字までで入力してください。",
            "confirm": "削除するには、記録番号を入力してください。",
            "gone": "この記録はすでに削除されています。",
            "linked": "この記録はすでにご本人の LINE とつながっているため、新しいコードは出せません。",
            "need": "今の産後ケアのきまりには、その項目がありません。"}


@router.get("/residents")
def search(request: Request, me: Me = Depends(signed_in(*STAFF)), q: str = ""):
    with db(request) as session:
        found = residents.find(session, text=q) if q.strip() else []
        return page(request, "residents.html", me, q=q, found=found)


@router.get("/residents/new")
def new_form(request: Request, me: Me = Depends(signed_in(*STAFF))):
    return _form(request, me)


@router.post("/residents/new")
def create(request: Request, me: Me = Depends(posted(*STAFF)), due_date: str = Form(""), babies: str = Form("1"),
           first_baby: str = Form(""), staff_ref: str = Form("")):
    typed = dict(due_date=due_date, babies=babies, first_baby=first_baby, staff_ref=staff_ref)
    due = as_date(due_date)
    today = jst_today(now(request))
    if due is None or not today.toordinal() <= due.toordinal() <= today.toordinal() + 310:
        return _form(request, me, typed, "due_date")
    if babies not in ("1", "2", "3", "4"):
        return _form(request, me, typed, "babies")
    if len(staff_ref.strip()) > 40:
        return _form(request, me, typed, "staff_ref")
    pregnancy = request.app.state.city.pregnancy
    with db(request) as session:
        mother = residents.register(session, config=pregnancy, due_date=due, babies=int(babies),
                                    first_baby={"yes": True, "no": False}.get(first_baby), staff_ref=staff_ref,
                                    actor=me.actor, now=now(request))
        code = link_codes.issue(session, config=pregnancy, mother_id=mother.id, staff=me.actor, now=now(request))
        return _code_page(request, me, mother, code, pregnancy.code_valid_days, created=True)


@router.get("/residents/{mother_id}")
def record(request: Request, mother_id: int, me: Me = Depends(signed_in(*STAFF))):
    with db(request) as session:
        return _record(request, session, me, mother_id)


@router.post("/residents/{mother_id}/code")
def new_code(request: Request, mother_id: int, me: Me = Depends(posted(*STAFF))):
    pregnancy = request.app.state.city.pregnancy
    with db(request) as session:
        mother = session.get(Mother, mother_id)
        if mother is None or mother.deleted_at is not None:
            return missing(request, me)
        if mother.user_id:   # a new code would let another LINE account take this record
            return _record(request, session, me, mother_id, problem="linked", status_code=409)
        code = link_codes.issue(session, config=pregnancy, mother_id=mother.id, staff=me.actor, now=now(request))
        return _code_page(request, me, mother, code, pregnancy.code_valid_days, created=False)


@router.post("/residents/{mother_id}/ref")
def set_ref(request: Request, mother_id: int, me: Me = Depends(posted(*STAFF)), staff_ref: str = Form("")):
    with db(request) as session:
        if len(staff_ref.strip()) > 40:
            return _record(request, session, me, mother_id, problem="staff_ref", status_code=400)
        if residents.set_staff_ref(session, mother_id=mother_id, staff_ref=staff_ref, actor=me.actor,
                                   now=now(request)) is None:
            return missing(request, me)
        return _record(request, session, me, mother_id)


@router.post("/residents/{mother_id}/needs")
def set_needs(request: Request, mother_id: int, me: Me = Depends(posted(*STAFF)), need: str = Form(""),
              marked: str = Form("")):
    """Mark (or take off) a need only staff can judge: her screening then passes on it (audited)."""
    with db(request) as session:
        mother = session.get(Mother, mother_id)
        if mother is None or mother.deleted_at is not None:
            return missing(request, me)
        if need not in _staff_needs(request):
            return _record(request, session, me, mother_id, problem="need", status_code=400)
        change = staff_needs.mark if marked == "yes" else staff_needs.unmark
        change(session, mother_id=mother_id, need=need, actor=me.actor, now=now(request))
        return _record(request, session, me, mother_id)


def _staff_needs(request: Request) -> tuple[str, ...]:
    """The needs only staff judge, in the rules in force today."""
    version = request.app.state.city.rules.in_force(jst_today(now(request)))
    return version.eligibility.staff_needs if version else ()


@router.get("/residents/{mother_id}/delete")
def delete_form(request: Request, mother_id: int, me: Me = Depends(signed_in(*STAFF))):
    with db(request) as session:
        mother = session.get(Mother, mother_id)
        if mother is None:
            return missing(request, me)
        return page(request, "resident_delete.html", me, m=mother, problem=None)


@router.post("/residents/{mother_id}/delete")
def delete(request: Request, mother_id: int, me: Me = Depends(posted(*STAFF)), confirm: str = Form("")):
    with db(request) as session:
        mother = session.get(Mother, mother_id)
        if mother is None:
            return missing(request, me)
        if mother.deleted_at is not None:
            return _delete_again(request, me, mother, "gone", 409)
        if residents.record_number(confirm) != mother.id:
            return _delete_again(request, me, mother, "confirm", 400)
        user_id = mother.user_id
        counts = residents.delete_on_request(session, config=request.app.state.city.booking,
                                             mother_id=mother.id, actor=me.actor, now=now(request))
        if user_id:
            request.app.state.forget_state(session, user_id)
        return page(request, "resident_deleted.html", me, m=mother, counts=counts)


# --- inside ------------------------------------------------------------------------------------------

def _record(request: Request, session, me: Me, mother_id: int, *, problem: str | None = None,
            status_code: int = 200):
    city = request.app.state.city
    found = residents.record_of(session, mother_id=mother_id, actor=me.actor, now=now(request),
                                city_name=city.name)
    if found is None:
        return missing(request, me)
    marks = {m.need: m for m in staff_needs.of_mother(session, mother_id=mother_id)}
    response = page(request, "resident.html", me, r=found, m=found.mother, names=staff_names(session),
                    week=city.pregnancy.call_week, problem=PROBLEMS.get(problem or ""),
                    needs=[(need, STAFF_NEED_NAMES[need], marks.get(need)) for need in _staff_needs(request)]
                    + [(need, STAFF_NEED_NAMES[need], mark) for need, mark in marks.items()
                       if need not in _staff_needs(request)])
    response.status_code = status_code
    return response


def _form(request: Request, me: Me, typed: dict | None = None, problem: str | None = None):
    response = page(request, "resident_new.html", me, typed=typed or {"babies": "1"}, problem=PROBLEMS.get(problem or ""),
                    today=jst_today(now(request)))
    response.status_code = 400 if problem else 200
    return response


def _code_page(request: Request, me: Me, mother: Mother, code: str, days: int, *, created: bool):
    response = page(request, "resident_code.html", me, m=mother, code=code, days=days, created=created,
                    city=request.app.state.city.contact, until=now(request) + timedelta(days=days))
    response.headers["Cache-Control"] = "no-store"   # the code is shown once; never from the browser's cache
    return response


def _delete_again(request: Request, me: Me, mother: Mother, problem: str, status_code: int):
    response = page(request, "resident_delete.html", me, m=mother, problem=PROBLEMS[problem])
    response.status_code = status_code
    return response
