"""What every staff page shares: templates with 和暦 filters, the signed-in staff member, role checks,
CSRF on every form, one transaction per request.

    @router.get("/bookings")
    def bookings(request: Request, me: Me = Depends(signed_in("admin", "staff", "provider"))): ...

    @router.post("/bookings/{id}/confirm")
    def confirm(request: Request, me: Me = Depends(posted("admin", "staff")), ...): ...

`signed_in` redirects to the sign-in page without a session and answers 403 to a role that may not;
`posted` also checks the form's CSRF token. Pages call scheduling's services only.
"""
import hmac
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from scheduling import japanese_dates
from scheduling.db import transaction
from scheduling.models import StaffUser
from scheduling import staff as staff_service

COOKIE = "hagukumi_staff"
ROLE_NAMES = {"admin": "管理者", "staff": "職員", "provider": "委託先"}
TYPE_NAMES = {"short_stay": "宿泊型", "day_care": "通所型", "home_visit": "訪問型"}
STATUS_NAMES = {"requested": "確認待ち", "confirmed": "確定", "declined": "お断り", "cancelled": "キャンセル",
                "attended": "利用済み", "no_show": "無断欠席", "booked": "予約済み", "waiting": "キャンセル待ち",
                "offered": "空きのご案内中", "expired": "案内期限切れ"}

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
templates.env.filters["wareki"] = japanese_dates.wareki
templates.env.filters["wareki_wd"] = lambda value: japanese_dates.wareki(value, weekday=True)
templates.env.filters["wareki_time"] = japanese_dates.wareki_time
templates.env.globals.update(ROLE_NAMES=ROLE_NAMES, TYPE_NAMES=TYPE_NAMES, STATUS_NAMES=STATUS_NAMES,
                             fiscal_label=japanese_dates.fiscal_label)


class SignInRequired(Exception):
    """No valid session: the app answers with a redirect to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but this role may not do this."""


@dataclass(frozen=True)
class Me:
    id: int
    login: str
    name: str
    role: str
    provider_id: int | None
    csrf: str

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"


def now(request: Request):
    return request.app.state.clock()


@contextmanager
def db(request: Request):
    """The request's transaction: services below never commit."""
    with transaction(request.app.state.sessions) as session:
        yield session


def _me(request: Request) -> Me:
    with db(request) as session:
        found = staff_service.session_of(session, token=request.cookies.get(COOKIE), now=now(request))
        if found is None:
            raise SignInRequired()
        user, staff_session = found
        return _as_me(user, staff_session.csrf_token)


def _as_me(user: StaffUser, csrf: str) -> Me:
    return Me(user.id, user.login, user.display_name, user.role, user.provider_id, csrf)


def signed_in(*roles: str):
    """A dependency: the signed-in staff member, if their role is one of `roles`."""
    def dependency(request: Request) -> Me:
        me = _me(request)
        if roles and me.role not in roles:
            raise Forbidden()
        return me
    return dependency


def posted(*roles: str):
    """A dependency for forms: signed in with one of `roles`, and the form's CSRF token matches."""
    async def dependency(request: Request) -> Me:
        me = _me(request)
        form = await request.form()
        if not hmac.compare_digest(str(form.get("csrf", "")), me.csrf):
            raise Forbidden()
        if roles and me.role not in roles:
            raise Forbidden()
        return me
    return dependency


def url(request: Request, path: str) -> str:
    """An address inside the admin app, wherever it is mounted."""
    return request.scope.get("root_path", "") + path


def page(request: Request, template: str, me: Me | None, **context):
    return templates.TemplateResponse(request, template, {"me": me, "url": lambda p: url(request, p),
                                                          **context})
