"""What every answer of the panel gets, whatever page made it (so new pages get it for free):

- security headers: a strict Content-Security-Policy (scripts and styles only from the panel's own files,
  no inline script or style attribute, no framing), nosniff, same-origin referrers, and `no-store` on
  everything but the static files (pages and downloads hold personal data);
- bad input refused before any page sees it: a NUL in the path, the query or a form (400), a form
  body larger than MAX_BODY (413);
- ids out of range: a number bigger than the database's integer in a path (404) or in a query or form
  field that a page reads as a number (400).
"""
from typing import get_args

from fastapi import HTTPException, Request

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]
MAX_BODY = 1_000_000
MAX_ID = 2**31 - 1  # the database's INTEGER
BAD_INPUT = ("<!doctype html><html lang=ja><meta charset=utf-8><title>400</title>"
             "<p>入力に使えない文字が含まれていたため、受け付けられませんでした。画面を開き直して、もう一度お試しください。")
TOO_LARGE = ("<!doctype html><html lang=ja><meta charset=utf-8><title>413</title>"
             "<p>送られた内容が大きすぎるため、受け付けられませんでした。")


class Guard:
    """ASGI middleware around the admin app."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"][len(scope.get("root_path", "")):] if scope["path"].startswith(
            scope.get("root_path", "")) else scope["path"]
        static = path.startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                           or static]
                headers += HEADERS + ([] if static else [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")])
                message = {**message, "headers": headers}
            await send(message)

        if b"\x00" in scope.get("raw_path", b"") or b"%00" in scope.get("raw_path", b"") or "\x00" in scope["path"] \
                or b"\x00" in scope.get("query_string", b"") or b"%00" in scope.get("query_string", b""):
            return await _answer(send_with_headers, 400, BAD_INPUT)
        if scope["method"] in ("POST", "PUT", "PATCH"):
            body, more = b"", True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_BODY:
                    return await _answer(send_with_headers, 413, TOO_LARGE)
            if b"\x00" in body or b"%00" in body:
                return await _answer(send_with_headers, 400, BAD_INPUT)
            receive = _replay(body, receive)
        await self.app(scope, receive, send_with_headers)


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replayed


async def _answer(send, status: int, html: str):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": html.encode()})


async def ids_in_range(request: Request) -> None:
    """An app-wide dependency: a number the page reads as an int must fit the database's INTEGER."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    form = await request.form() if request.method == "POST" else {}
    for where, name in _int_params(route.dependant):
        values = {"path": request.path_params, "query": request.query_params, "form": form}[where]
        digits = str(values.get(name, "")).strip().lstrip("+-")
        if digits.isascii() and digits.isdigit() and (len(digits) > 10 or int(digits) > MAX_ID):
            raise HTTPException(404 if where == "path" else 400)


def _int_params(dependant) -> set[tuple[str, str]]:
    found = set()
    for where, params in (("path", dependant.path_params), ("query", dependant.query_params),
                          ("form", dependant.body_params)):
        for field in params:
            annotation = field.field_info.annotation
            if annotation is int or int in get_args(annotation):
                found.add((where, field.alias))
    for sub in dependant.dependencies:
        found |= _int_params(sub)
    return found
