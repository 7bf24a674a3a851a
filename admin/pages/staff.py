"""職員: staff accounts (administrators only) — the list, a new account (a provider's account with its
provider), disabling and enabling, a new password, unlocking after failed sign-ins, turning off someone's
lost second factor (TOTP). The work is scheduling/accounts/staff.py's, which writes the
audit trail."""
import re

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, as_int, db, missing, now, page, posted, signed_in, url
from scheduling.accounts import staff
from scheduling.care import booking_lists
from scheduling.store.models import Provider, StaffUser

router = APIRouter()
ADMIN = ("admin",)
LOGIN = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
PROBLEMS = {"login": "ログインIDは半角の英数字と . _ - で、3〜64文字にしてください。",
            "taken": "そのログインIDはすでに使われています。",
            "name": "お名前（表示名）を入力してください。",
            "role": "役割を選んでください。",
            "provider": "委託先のアカウントには、委託先を選んでください。",
            "short": f"パスワードは{staff.MIN_PASSWORD}文字以上にしてください。",
            "common": "そのパスワードはよく使われていて推測されやすいため、使えません（ログインIDを含むものも使えません）。"
                      "別のパスワードにしてください。",
            "self": "自分のアカウントは止められません。",
            "totp_self": "ご自身の2段階認証は、別の管理者に止めてもらってください。"}
DONE = {"created": "アカウントを作りました。", "disabled": "アカウントを止めました（ログイン中の画面も使えなくなります）。",
        "enabled": "アカウントを使えるようにしました。",
        "password": "パスワードを変えました（その方のログイン中の画面は使えなくなります）。",
        "unlocked": "ロックを解きました。すぐにログインできます。",
        "totp_off": "2段階認証を止めました（その方のログイン中の画面は使えなくなります）。"}


@router.get("/staff")
def staff_list(request: Request, me: Me = Depends(signed_in(*ADMIN)), done: str = ""):
    return _page(request, me, notice=DONE.get(done))


@router.post("/staff/new")
def create(request: Request, me: Me = Depends(posted(*ADMIN)), login: str = Form(""), display_name: str = Form(""),
           role: str = Form(""), provider_id: str = Form(""), password: str = Form("")):
    login, display_name = login.strip(), display_name.strip()
    typed = dict(login=login, display_name=display_name, role=role, provider_id=provider_id)
    problem = None
    if not LOGIN.match(login):
        problem = "login"
    elif not display_name:
        problem = "name"
    elif role not in staff.ROLES:
        problem = "role"
    elif role == "provider" and as_int(provider_id) is None:
        problem = "provider"
    else:
        problem = staff.password_problem(password, login=login)
    if problem:
        return _page(request, me, problem=problem, typed=typed)
    try:
        with db(request) as session:
            if role == "provider" and session.get(Provider, int(provider_id)) is None:
                raise _NoProvider()
            staff.create(session, login=login, display_name=display_name[:100], password=password, role=role,
                         provider_id=int(provider_id) if role == "provider" else None, actor=me.actor,
                         now=now(request))
    except _NoProvider:
        return _page(request, me, problem="provider", typed=typed)
    except staff.StaffError as error:
        return _page(request, me, problem=error.problem, typed=typed)
    return RedirectResponse(url(request, "/staff?done=created"), status_code=303)


@router.post("/staff/{staff_id}/active")
def set_active(request: Request, staff_id: int, me: Me = Depends(posted(*ADMIN)), active: str = Form(""),
               confirm: str = Form("")):
    """使えるようにする at once; 止める only after 「本当に止めますか」 (it signs the account out everywhere)."""
    if staff_id == me.id:
        return _page(request, me, problem="self")
    with db(request) as session:
        person = session.get(StaffUser, staff_id)
        if person is None:
            return missing(request, me)
        if active != "1" and confirm != "1":
            return page(request, "staff_stop.html", me, person=person)
        staff.set_active(session, staff_id=staff_id, active=active == "1", actor=me.actor, now=now(request))
    return RedirectResponse(url(request, f"/staff?done={'enabled' if active == '1' else 'disabled'}"),
                            status_code=303)


@router.post("/staff/{staff_id}/password")
def set_password(request: Request, staff_id: int, me: Me = Depends(posted(*ADMIN)), password: str = Form("")):
    try:
        with db(request) as session:
            if session.get(StaffUser, staff_id) is None:
                return missing(request, me)
            staff.set_password(session, staff_id=staff_id, password=password, actor=me.actor, now=now(request))
    except staff.StaffError as error:
        return _page(request, me, problem=error.problem)
    return RedirectResponse(url(request, "/staff?done=password"), status_code=303)


@router.post("/staff/{staff_id}/unlock")
def unlock(request: Request, staff_id: int, me: Me = Depends(posted(*ADMIN))):
    with db(request) as session:
        if session.get(StaffUser, staff_id) is None:
            return missing(request, me)
        staff.unlock(session, staff_id=staff_id, actor=me.actor, now=now(request))
    return RedirectResponse(url(request, "/staff?done=unlocked"), status_code=303)


@router.post("/staff/{staff_id}/totp-off")
def totp_off(request: Request, staff_id: int, me: Me = Depends(posted(*ADMIN))):
    if staff_id == me.id:
        return _page(request, me, problem="totp_self")
    with db(request) as session:
        if session.get(StaffUser, staff_id) is None:
            return missing(request, me)
        staff.disable_totp(session, staff_id=staff_id, actor=me.actor, now=now(request))
    return RedirectResponse(url(request, "/staff?done=totp_off"), status_code=303)


class _NoProvider(Exception):
    pass


def _page(request: Request, me: Me, *, notice: str | None = None, problem: str | None = None,
          typed: dict | None = None):
    with db(request) as session:
        providers = booking_lists.providers(session)
        response = page(request, "staff.html", me, people=staff.all_staff(session), providers=providers,
                        locked=staff.locked_logins(session, now=now(request)),
                        provider_names={p.id: p.name for p in providers}, notice=notice,
                        problem=PROBLEMS.get(problem or ""), typed=typed or {}, min_password=staff.MIN_PASSWORD)
    response.status_code = 400 if problem else 200
    return response
