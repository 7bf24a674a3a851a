"""The one way out to LINE: reply first, push when no reply token is usable (see `send` for when a
failed reply may be pushed).

Every push carries X-Line-Retry-Key (the row's own key, so a resend after a crash is recognised);
429, 5xx and timeouts are retried with backoff under the same key; 409 means LINE already has it;
any other 4xx is logged with LINE's error body and recorded as failed, never retried.
"""
import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration
from linebot.v3.messaging.async_rest import RESTResponse
from linebot.v3.messaging.exceptions import ApiException
from yarl import URL

from scheduling.city.richmenu_config import alias_of

log = logging.getLogger("hagukumi.line")
TIMEOUT = 10
BACKOFF = (0.2, 0.8, 2.0)  # in-process retries; later ones are rescheduled rows
MAX_MESSAGES = 5  # LINE's limit per reply or push (the SDK's request models check the same)
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Result:
    status: Literal["sent", "failed", "retry", "skipped"]  # skipped: a rich menu switch with no menus on LINE
    via: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds LINE asked us to wait (Retry-After), for a retry


def _retry_after(error: Exception | None) -> float | None:
    value = (getattr(error, "headers", None) or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


def request_problem(to_key: str, to: str, messages) -> str | None:
    """Why a reply or push body would be refused, as the SDK's request model would say it, or None.
    Each message was checked with the SDK's own model when it was built (bot/render.py), so only the
    request's own shape is checked here, not every message again."""
    if not isinstance(to, str) or not to:
        return f"{to_key} must be a non-empty string"
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return f"messages must be a list of 1 to {MAX_MESSAGES} messages"
    if not all(isinstance(message, dict) and isinstance(message.get("type"), str) for message in messages):
        return "every message must be an object with a type"
    return None


def _error_text(error: Exception | None) -> str:
    if isinstance(error, ApiException):
        return f"HTTP {error.status}: {error.body!r}"
    return f"{type(error).__name__}: {error}"


class LineClient:
    def __init__(self, *, base_url: str, access_token: str):
        configuration = Configuration(host=base_url, access_token=access_token)
        # The SDK's aiohttp session trusts the environment, so every request looked up a proxy and a
        # .netrc in two thread-pool round trips (a third of a push's CPU). The proxy is looked up once
        # here instead (HTTPS_PROXY, NO_PROXY); a .netrc entry could only clash with the Bearer token.
        try:
            proxy, proxy_auth = get_env_proxy_for_url(URL(base_url))
        except LookupError:
            proxy, proxy_auth = None, None
        if proxy is not None:
            configuration.proxy = str(proxy)
            if proxy_auth is not None:
                configuration.proxy_headers = {"Proxy-Authorization": proxy_auth.encode()}
        self._api_client = AsyncApiClient(configuration)
        self._session = self._api_client.rest_client.pool_manager
        if hasattr(self._session, "_trust_env"):
            self._session._trust_env = False
        self.api = AsyncMessagingApi(self._api_client)
        self._host = configuration.host
        self._headers = {**self._api_client.default_headers, **JSON_HEADERS}  # its User-Agent and Bearer token
        self._proxy = {"proxy": configuration.proxy, "proxy_headers": configuration.proxy_headers}
        self._timeout = aiohttp.ClientTimeout(total=TIMEOUT)

    async def close(self) -> None:
        await self._api_client.close()

    async def _post(self, path: str, body: dict, headers: dict | None = None) -> None:
        """POST a JSON body on the SDK's own connection pool, with its headers (User-Agent, Bearer token)
        and its errors (ApiException, the body as text), as `AsyncApiClient.call_api` would, without its
        per-request work (the headers and body walked and copied, the response decoded for no model):
        most of a push's CPU in the dispatcher. The messages were checked with the SDK's models when they
        were rendered."""
        async with self._session.post(self._host + path, data=json.dumps(body, ensure_ascii=False).encode(),
                                      headers={**self._headers, **headers} if headers else self._headers,
                                      timeout=self._timeout, **self._proxy) as response:
            data = await response.read()
            if not 200 <= response.status <= 299:
                error = ApiException(http_resp=RESTResponse(response, data))
                error.body = data.decode("utf-8")
                raise error

    async def send(self, *, user_id: str, messages: list[dict], retry_key: str,
                   reply_token: str | None, reply_deadline: datetime | None, now: datetime,
                   replied_before: bool = False) -> Result:
        """A reply while the token is fresh, else a push. A reply has no retry key, so a reply that
        failed in a way that does not prove it was not delivered (5xx, a timeout) is tried again with
        the same token: if LINE had delivered it, the token is used up and LINE says "Invalid reply
        token", which here means delivered. Only a reply proven undelivered (the token refused on our
        first use, or 429) falls back to a push. `replied_before`: an earlier sender of this row may
        have replied (it died before recording the outcome)."""
        if reply_token and reply_deadline and now < reply_deadline:
            problem = request_problem("replyToken", reply_token, messages)
            if problem:
                log.error("a reply to %s is not a valid LINE request: %s", user_id, problem)
                return Result("failed", error=problem)
            request = {"replyToken": reply_token, "messages": messages}
            time_left, started = (reply_deadline - now).total_seconds(), time.monotonic()
            maybe_delivered = replied_before
            for pause in (0.0, *BACKOFF):
                if time.monotonic() - started + pause >= time_left:
                    break
                await asyncio.sleep(pause)
                try:
                    await self._post("/v2/bot/message/reply", request)
                    return Result("sent", "reply")
                except (TimeoutError, ApiException, aiohttp.ClientError) as error:
                    status = getattr(error, "status", None)
                    if status == 400 and "reply token" in str(getattr(error, "body", "")):
                        if maybe_delivered:  # used up by our own earlier try: she has it
                            log.info("reply to %s was delivered before (its token is used up)", user_id)
                            return Result("sent", "reply")
                        break  # expired or never valid: nothing was delivered
                    if status == 429:
                        break  # refused, so not delivered
                    if not _retryable(status):
                        log.error("LINE refused a reply to %s: %s", user_id, _error_text(error))
                        return Result("failed", error=_error_text(error))
                    maybe_delivered = True
                    log.info("reply to %s not confirmed (%s); trying the token again", user_id, _error_text(error))
            if maybe_delivered:  # LINE kept failing until the token's deadline: a rare duplicate beats silence
                log.warning("reply to %s unconfirmed until its token expired; pushing (may arrive twice)", user_id)
            else:
                log.info("reply to %s not possible; pushing instead", user_id)
        return await self.push(user_id=user_id, messages=messages, retry_key=retry_key)

    async def push(self, *, user_id: str, messages: list[dict], retry_key: str) -> Result:
        problem = request_problem("to", user_id, messages)
        if problem:  # the SDK's request model would refuse it: LINE would too
            log.error("a push to %s is not a valid LINE request: %s", user_id, problem)
            return Result("failed", error=problem)
        request, headers = {"to": user_id, "messages": messages}, {"X-Line-Retry-Key": retry_key} if retry_key else None
        error: Exception | None = None
        for pause in (0.0, *BACKOFF):
            await asyncio.sleep(pause)
            try:
                await self._post("/v2/bot/message/push", request, headers)
                return Result("sent", "push")
            except ApiException as exc:
                error = exc
                if exc.status == 409:  # LINE already accepted this retry key
                    return Result("sent", "push")
                if not _retryable(exc.status):
                    log.error("LINE refused a push to %s: %s", user_id, _error_text(exc))
                    return Result("failed", error=_error_text(exc))
                if (_retry_after(exc) or 0) > BACKOFF[-1]:
                    break  # LINE asks for a longer wait than ours: the row is tried again then
            except (TimeoutError, aiohttp.ClientError) as exc:
                error = exc
        log.warning("push to %s not delivered yet: %s", user_id, _error_text(error))
        return Result("retry", error=_error_text(error), retry_after=_retry_after(error))

    async def switch_menu(self, *, user_id: str, stage: str) -> Result:
        """Her rich menu becomes her stage's, found by its alias (`hagukumi richmenu apply` sets them);
        not_registered unlinks hers, so she sees the default. Linking twice is harmless, so a retry needs
        no key. No alias: the city has not applied rich menus, and the row is skipped, not failed."""
        try:
            if stage == "not_registered":
                await self.api.unlink_rich_menu_id_from_user(user_id, _request_timeout=TIMEOUT)
                return Result("sent", "richmenu")
            try:
                alias = await self.api.get_rich_menu_alias(alias_of(stage), _request_timeout=TIMEOUT)
            except ApiException as exc:
                if exc.status == 404:
                    return Result("skipped", error=f"LINE has no rich menu alias {alias_of(stage)}: "
                                                   "run hagukumi richmenu apply")
                raise
            await self.api.link_rich_menu_id_to_user(user_id, alias.rich_menu_id, _request_timeout=TIMEOUT)
            return Result("sent", "richmenu")
        except ApiException as exc:
            if not _retryable(exc.status):
                log.error("LINE refused to switch the rich menu of %s: %s", user_id, _error_text(exc))
                return Result("failed", error=_error_text(exc))
            return Result("retry", error=_error_text(exc), retry_after=_retry_after(exc))
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Result("retry", error=_error_text(exc))

    async def profile_language(self, user_id: str) -> str | None:
        try:
            profile = await self.api.get_profile(user_id, _request_timeout=TIMEOUT)
            return profile.language
        except (TimeoutError, ApiException, aiohttp.ClientError) as error:
            log.info("no profile for %s: %s", user_id, _error_text(error))
            return None
