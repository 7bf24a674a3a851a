"""Sign in and sign out. The sign-in form is protected by a CSRF cookie of its own (no session yet)."""
import hmac
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import COOKIE, Me, db, now, page, posted, url
from scheduling import staff

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
def login(request: Request, login: str = Form(""), password: str = Form(""), csrf: str = Form("")):
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        return _again(request, "expired")
    with db(request) as session:
        result = staff.sign_in(session, login=login.strip(), password=password, now=now(request))
    if result.status != "ok":
        return _again(request, result.status, result.minutes)
    response = RedirectResponse(url(request, "/"), status_code=303)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="lax", secure=request.app.state.secure_cookies,
                        path=url(request, "/") or "/", max_age=int(staff.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF, path=url(request, "/login"))
    return response


@router.post("/logout")
def logout(request: Request, me: Me = Depends(posted())):
    with db(request) as session:
        staff.sign_out(session, token=request.cookies.get(COOKIE))
    response = RedirectResponse(url(request, "/login"), status_code=303)
    response.delete_cookie(COOKIE, path=url(request, "/") or "/")
    return response


def _again(request: Request, problem: str, minutes: int = 0):
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, csrf=token, problem=problem, minutes=minutes)
    response.status_code = 429 if problem == "locked" else 400
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, path=url(request, "/login"))
    return response
