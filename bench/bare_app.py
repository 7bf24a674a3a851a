"""The yardstick for bench/webhook_bench.py: a FastAPI webhook that only checks the signature.

    LINE_CHANNEL_SECRET=... uvicorn --app-dir bench bare_app:app --workers 2

POST /callback answers 200 when X-Line-Signature matches the body, else 400; nothing is stored or parsed.
GET /healthz answers 200 (so the benchmark knows it is up).
"""
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from linebot.v3 import SignatureValidator


def create_bare_app(channel_secret: str) -> FastAPI:
    validator = SignatureValidator(channel_secret)
    app = FastAPI(title="bare webhook", docs_url=None, redoc_url=None)

    @app.post("/callback")
    async def callback(request: Request):
        body = (await request.body()).decode("utf-8", errors="replace")
        if not validator.validate(body, request.headers.get("X-Line-Signature", "")):
            return JSONResponse({"message": "invalid signature"}, status_code=400)
        return {"status": "ok"}

    @app.get("/healthz")
    async def healthz():
        return {"ok": True}

    return app


def __getattr__(name: str):
    """`bare_app:app` for uvicorn, with the secret from LINE_CHANNEL_SECRET."""
    if name == "app":
        global app
        app = create_bare_app(os.environ["LINE_CHANNEL_SECRET"])
        return app
    raise AttributeError(name)
