"""The stand-in's LIFF and LINE Login parts, so the 利用申請 form runs in the local chat and in tests:

    GET  /liff/{liffId}?user_id=U…     what https://liff.line.me/{liffId} does in LINE: opens the LIFF app's
                                       endpoint URL, logged in as that user (the terminal chat adds user_id)
    GET  /_standin/liff/sdk.js         a small LIFF SDK: liff.init, getIDToken, getDecodedIDToken,
                                       isInClient, isLoggedIn, login, closeWindow, getLanguage
    POST /oauth2/v2.1/verify           LINE Login's "Verify ID token" (form: id_token, client_id)
    POST /_standin/liff/apps           test hook: register a LIFF app {liff_id, endpoint_url}
    POST /_standin/liff/id_token       test hook: an ID token {user_id, liff_id | client_id, expires_in}

An ID token is a JWT (HS256 with a secret of the stand-in's own): aud is the LINE Login channel's id, the
part of the LIFF id before its '-', as on LINE. Verify answers as LINE does: 200 with the claims, or 400
{"error": "invalid_request", "error_description": "IdToken expired." | "Invalid IdToken Audience." |
"Invalid IdToken."}. A fault on the endpoint "verify" (POST /_standin/faults) makes it fail or be slow.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel

SDK = Path(__file__).resolve().parent / "static" / "liff-sdk.js"
TOKEN_LIFE = 3600   # seconds, like LINE's ID tokens


class LiffAppIn(BaseModel):
    liff_id: str
    endpoint_url: str


class IdTokenIn(BaseModel):
    user_id: str
    liff_id: str | None = None
    client_id: str | None = None
    expires_in: int = TOKEN_LIFE


def channel_of(liff_id: str) -> str:
    return liff_id.split("-")[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IdTokens:
    def __init__(self):
        self.secret = secrets.token_bytes(32)

    def issue(self, *, user_id: str, client_id: str, display_name: str, expires_in: int = TOKEN_LIFE) -> str:
        now = int(time.time())
        claims = {"iss": "https://access.line.me", "sub": user_id, "aud": client_id, "exp": now + expires_in,
                  "iat": now, "amr": ["linesso"], "name": display_name}
        head = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode()) + "." + \
            _b64(json.dumps(claims, ensure_ascii=False).encode())
        return head + "." + _b64(hmac.new(self.secret, head.encode(), hashlib.sha256).digest())

    def claims(self, token: str) -> dict | None:
        try:
            head, payload, signature = token.split(".")
            expected = _b64(hmac.new(self.secret, f"{head}.{payload}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(signature, expected):
                return None
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, UnicodeDecodeError):
            return None


def add_liff_routes(app: FastAPI, state, liff_apps: dict[str, str] | None = None) -> None:
    """`state`: the stand-in's LineState (profiles, faults, the request log)."""
    apps = dict(liff_apps or {})
    tokens = IdTokens()
    app.state.liff_apps, app.state.id_tokens = apps, tokens

    def name_of(user_id: str) -> str:
        return (state.profile(user_id) or {}).get("displayName") or "テストユーザー"

    @app.get("/liff/{liff_id}")
    def open_liff(liff_id: str, user_id: str = ""):
        if liff_id not in apps:
            return PlainTextResponse(f"no LIFF app {liff_id} (register it: POST /_standin/liff/apps)", 404)
        if not user_id:
            return PlainTextResponse("open it as a user: add ?user_id=U… (the terminal chat prints the whole address)",
                                     400)
        token = tokens.issue(user_id=user_id, client_id=channel_of(liff_id), display_name=name_of(user_id))
        return RedirectResponse(f"{apps[liff_id]}#standin_id_token={token}", status_code=302)

    @app.get("/_standin/liff/sdk.js")
    def sdk():
        return FileResponse(SDK, media_type="text/javascript; charset=utf-8")

    @app.post("/_standin/liff/apps")
    def register(liff_app: LiffAppIn):
        apps[liff_app.liff_id] = liff_app.endpoint_url
        return {"liffId": liff_app.liff_id}

    @app.post("/_standin/liff/id_token")
    def id_token(wanted: IdTokenIn):
        client_id = wanted.client_id or channel_of(wanted.liff_id or next(iter(apps), "0000000000-none"))
        return {"id_token": tokens.issue(user_id=wanted.user_id, client_id=client_id,
                                         display_name=name_of(wanted.user_id), expires_in=wanted.expires_in)}

    @app.post("/oauth2/v2.1/verify")
    async def verify(request: Request):
        form = await request.form()
        fault = state.take_fault("verify")
        if fault and fault["delay"]:
            await asyncio.sleep(fault["delay"])
        if fault and fault["status"]:
            status, body = fault["status"], fault["body"] or {"error": "server_error"}
        else:
            status, body = _verified(tokens, str(form.get("id_token", "")), str(form.get("client_id", "")))
        state.log("verify", status, None, {"client_id": form.get("client_id")})
        return JSONResponse(body, status)


def _verified(tokens: IdTokens, token: str, client_id: str) -> tuple[int, dict]:
    def refuse(description: str) -> tuple[int, dict]:
        return 400, {"error": "invalid_request", "error_description": description}

    if not token:
        return refuse("id_token is required.")
    if not client_id:
        return refuse("client_id is required.")
    claims = tokens.claims(token)
    if claims is None:
        return refuse("Invalid IdToken.")
    if claims["aud"] != client_id:
        return refuse("Invalid IdToken Audience.")
    if claims["exp"] <= time.time():
        return refuse("IdToken expired.")
    return 200, claims
