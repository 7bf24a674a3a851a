"""The staff admin panel: a FastAPI app of server-rendered pages, mounted at /admin by the bot's app
(or run on its own). Each page module in admin/pages/ has a `router`."""
import importlib
import pkgutil
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from admin import pages
from admin.guard import Guard, ids_in_range
from admin.web import Forbidden, SignInRequired, page, url
from scheduling.city.city_file import City
from scheduling.store.models import utcnow


def create_admin_app(*, sessions: sessionmaker[Session], city: City, secure_cookies: bool = True,
                     clock=utcnow, forget_state=None, cipher=None) -> FastAPI:
    """`forget_state(session, user_id)`: drop a deleted mother's conversation state wherever the bot keeps
    it (Redis, when configured), given by the bot's app that mounts this one. `cipher`: the keys that read
    the contact fields of the 利用申請 (scheduling/applications/crypto.py)."""
    app = FastAPI(title="はぐくみ 管理画面", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(ids_in_range)])
    app.router.redirect_slashes = False  # its redirects would take the Host header
    app.add_middleware(Guard)
    app.state.sessions, app.state.city, app.state.clock = sessions, city, clock
    app.state.secure_cookies = secure_cookies
    app.state.forget_state = forget_state or (lambda session, user_id: None)
    app.state.cipher = cipher
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parent / "static")), name="static")
    for module in pkgutil.iter_modules(pages.__path__):
        app.include_router(importlib.import_module(f"admin.pages.{module.name}").router)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, _exc):
        return RedirectResponse(url(request, "/login"), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc):
        return _plain(request, 403, "この操作はできません。画面を開き直してから、もう一度お試しください。")

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, _exc):
        return _plain(request, 400, "入力の内容を読み取れませんでした。画面を開き直して、もう一度お試しください。")

    @app.exception_handler(HTTPException)
    async def not_found(request: Request, exc: HTTPException):
        if exc.status_code == 404:
            return _plain(request, 404, "お探しのページは見つかりませんでした。")
        if exc.status_code == 405:
            return _plain(request, 405, "この操作はできません。画面を開き直してから、もう一度お試しください。")
        return _plain(request, 400, "入力の内容を読み取れませんでした。画面を開き直して、もう一度お試しください。")

    return app


HEADINGS = {400: "入力を読み取れませんでした", 403: "この操作はできません", 404: "見つかりません",
            405: "この操作はできません"}


def _plain(request: Request, status: int, text: str):
    """An error as a page of the panel: Japanese, its stylesheet, a way back to 今日."""
    response = page(request, "error.html", None, heading=HEADINGS.get(status, "エラー"), text=text)
    response.status_code = status
    return response


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every page and form of the app, however its routers were included."""
    found: list[tuple[str, str]] = []

    def walk(routes, prefix=""):
        for route in routes:
            if isinstance(route, APIRoute):
                found.extend((method, prefix + route.path) for method in route.methods or ())
            elif hasattr(route, "original_router"):  # FastAPI's included router
                walk(route.original_router.routes, prefix + getattr(route.include_context, "prefix", ""))
    walk(app.router.routes)
    return found
