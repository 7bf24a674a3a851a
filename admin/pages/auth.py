"""Sign in and sign out. The sign-in form is protected by a CSRF cookie of its own (no session yet)."""
import hmac
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, admin_setting, db, now, page, posted, session_cookie, session_token, url
from scheduling.accounts import staff

router = APIRouter()
LOGIN_CSRF = "hagukumi_login_csrf"


@router.get("/login")
def login_form(request: Request):
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, csrf=token, problem=None)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, path=url(request, "/login"))
    return response


@router.post("/login")
def login(request: Request, login: str = Form(""), password: str = Form(""), code: str = Form(""),
          csrf: str = Form("")):
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        return _again(request, "expired")
    # The client's address as uvicorn gives it: behind a reverse proxy, uvicorn takes it from
    # X-Forwarded-For when the proxy is in FORWARDED_ALLOW_IPS (README, "The admin panel").
    address = request.client.host if request.client else ""
    result = staff.sign_in(request.app.state.sessions, login=login.strip(), password=password, code=code,
                           address=address, now=now(request), lifetime=admin_setting(request, "session_hours"))
    if result.status != "ok" or result.token is None:
        return _again(request, result.status, result.minutes)
    response = RedirectResponse(url(request, "/"), status_code=303)
    name, path = session_cookie(request)
    response.set_cookie(name, result.token, httponly=True, samesite="lax", secure=request.app.state.secure_cookies,
                        path=path)
    response.delete_cookie(LOGIN_CSRF, path=url(request, "/login"))
    return response


@router.post("/logout")
def logout(request: Request, me: Me = Depends(posted())):
    with db(request) as session:
        staff.sign_out(session, token=session_token(request))
    response = RedirectResponse(url(request, "/login"), status_code=303)
    name, path = session_cookie(request)
    response.delete_cookie(name, path=path, secure=request.app.state.secure_cookies, httponly=True)
    return response


def _again(request: Request, problem: str, minutes: int = 0):
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, csrf=token, problem=problem, minutes=minutes)
    response.status_code = 429 if problem == "locked" else 400
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, path=url(request, "/login"))
    return response
