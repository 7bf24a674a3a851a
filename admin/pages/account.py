"""自分のアカウント: changing one's own password (given the current one), and for administrators an
optional second factor (TOTP): a secret shown once, as text and as an otpauth URI to type or paste into
an authenticator app, confirmed by its first code. Turning it off is for another administrator (職員)."""
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, db, now, page, posted, session_token, signed_in, url
from scheduling.accounts import staff
from scheduling.store.models import StaffUser

router = APIRouter()
PROBLEMS = {"current": "いまのパスワードが違います。",
            "again": "新しいパスワードが、確認のために入力したものと違います。",
            "short": f"パスワードは{staff.MIN_PASSWORD}文字以上にしてください。",
            "common": "そのパスワードはよく使われていて推測されやすいため、使えません（ログインIDを含むものも使えません）。"
                      "別のパスワードにしてください。",
            "code": "確認コードが違います。アプリに表示されている6桁の数字を、もう一度入力してください。"}
DONE = {"password": "パスワードを変えました。ほかの端末でのログインは終わりました。",
        "totp": "2段階認証を設定しました。次のログインから確認コードが必要です。"}


@router.get("/account")
def account(request: Request, me: Me = Depends(signed_in()), done: str = ""):
    return _page(request, me, notice=DONE.get(done))


@router.post("/account/password")
def change_password(request: Request, me: Me = Depends(posted()), current: str = Form(""),
                    password: str = Form(""), again: str = Form("")):
    if password != again:
        return _page(request, me, problem="again")
    try:
        with db(request) as session:
            staff.change_own_password(session, staff_id=me.id, current=current, password=password,
                                      keep_token=session_token(request), now=now(request))
    except staff.StaffError as error:
        return _page(request, me, problem=error.problem)
    return RedirectResponse(url(request, "/account?done=password"), status_code=303)


@router.post("/account/totp")
def start_totp(request: Request, me: Me = Depends(posted("admin"))):
    try:
        with db(request) as session:
            secret, uri = staff.start_totp(session, staff_id=me.id)
    except staff.StaffError:
        return _page(request, me)
    return _page(request, me, secret=secret, uri=uri)


@router.post("/account/totp/confirm")
def confirm_totp(request: Request, me: Me = Depends(posted("admin")), code: str = Form("")):
    try:
        with db(request) as session:
            staff.confirm_totp(session, staff_id=me.id, code=code, now=now(request))
    except staff.StaffError:
        return _page(request, me, problem="code", enrolling=True)
    return RedirectResponse(url(request, "/account?done=totp"), status_code=303)


def _page(request: Request, me: Me, *, notice: str | None = None, problem: str | None = None,
          secret: str | None = None, uri: str | None = None, enrolling: bool = False):
    with db(request) as session:
        user = session.get(StaffUser, me.id)
        response = page(request, "account.html", me, notice=notice, problem=PROBLEMS.get(problem or ""),
                        totp_enabled=user.totp_enabled, enrolling=enrolling or bool(secret), secret=secret, uri=uri,
                        min_password=staff.MIN_PASSWORD)
    response.status_code = 400 if problem else 200
    return response
