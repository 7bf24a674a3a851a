"""Who is filling in the form: the LIFF ID token, verified by LINE (POST /oauth2/v2.1/verify with the LINE
Login channel's id as client_id). The page's own word for who she is is never taken.

LINE answers 200 with the token's claims (iss, sub, aud, exp, iat, nonce, amr, name, picture), or 400 with
{"error": "invalid_request", "error_description": "IdToken expired." | "Invalid IdToken Audience." | ...}.
A verified token is remembered until it expires (at most CACHE_SIZE of them), so a draft saved every few
seconds does not ask LINE every time; aud and exp are checked here too."""
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx

VERIFY_PATH = "/oauth2/v2.1/verify"
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
CACHE_SIZE = 2000
MAX_TOKEN = 4096


@dataclass(frozen=True)
class Verified:
    user_id: str
    expires_at: float


class Refused(Exception):
    """The token is not good: `reason` is expired | audience | invalid."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}"[:300])
        self.reason = reason


class Unavailable(Exception):
    """LINE could not be asked (down, slow, 5xx): nothing can be saved until it answers."""


class TokenVerifier:
    def __init__(self, *, base_url: str, client_id: str | None, clock=time.time,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.base_url, self.client_id, self.clock = base_url.rstrip("/"), client_id, clock
        self._transport = transport
        self._known: OrderedDict[str, Verified] = OrderedDict()

    async def verify(self, id_token: str) -> Verified:
        if not self.client_id:
            raise Unavailable("no LIFF channel is configured (HAGUKUMI_LIFF_ID)")
        if not id_token or len(id_token) > MAX_TOKEN or not id_token.isascii():
            raise Refused("invalid", "no token, or not a token")
        key = hashlib.sha256(id_token.encode()).hexdigest()
        known = self._known.get(key)
        if known is not None and known.expires_at > self.clock():
            return known
        claims = await self._ask_line(id_token)
        if str(claims.get("aud")) != str(self.client_id):
            raise Refused("audience", f"aud {claims.get('aud')!r}")
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= self.clock():
            raise Refused("expired", "exp in the past")
        user_id = claims.get("sub")
        if not isinstance(user_id, str) or not 0 < len(user_id) <= 64:
            raise Refused("invalid", "no sub")
        verified = Verified(user_id, float(expires))
        self._known[key] = verified
        while len(self._known) > CACHE_SIZE:
            self._known.popitem(last=False)
        return verified

    async def _ask_line(self, id_token: str) -> dict:
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT, transport=self._transport) as client:
                answer = await client.post(VERIFY_PATH, data={"id_token": id_token, "client_id": self.client_id})
        except httpx.HTTPError as error:
            raise Unavailable(f"{type(error).__name__}: {error}"[:300]) from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Unavailable(f"LINE answered HTTP {answer.status_code}")
        try:
            body = answer.json()
        except ValueError:
            raise Unavailable(f"LINE answered HTTP {answer.status_code} without JSON") from None
        if answer.status_code != 200:
            said = str(body.get("error_description", "")) if isinstance(body, dict) else ""
            reason = "expired" if "expired" in said.lower() else "audience" if "audience" in said.lower() else "invalid"
            raise Refused(reason, said)
        if not isinstance(body, dict):
            raise Unavailable("LINE's answer is not an object")
        return body
