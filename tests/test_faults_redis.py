"""Fault test: Redis (the conversation state) down, then back; no event is given up, none answered twice."""
import time

import httpx
import pytest
from sqlalchemy import select

from bot import local
from scheduling.messaging import inbox
from scheduling.store.models import InboundEvent
from tests.conftest import make_settings
from tests.fault_helpers import FreezableProxy
from tests.helpers import StandIn, wait_for

pytestmark = pytest.mark.faults
DOWN_FOR = 12.0  # seconds; long enough for more than the 5 tries after which an event used to be given up


@pytest.mark.slow(14)
def test_redis_down_then_back_drops_nothing(database_url, redis_url):
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    proxy = FreezableProxy(host, int(port))
    proxied = f"redis://127.0.0.1:{proxy.port}/{redis_url.rsplit('/', 1)[1]}"
    users = [f"U{n:032x}" for n in range(1, 6)]
    try:
        with local.running(make_settings(database_url, REDIS_URL=proxied)) as live:
            standin = StandIn(live.standin_url)
            for user in users:
                standin.send(user, {"type": "follow", "follow": {"isUnblocked": False}})
            assert wait_for(lambda: all(len(standin.messages(u)) == 2 for u in users), timeout=15)
            probe = "U" + "9" * 32  # how many messages answer メニュー
            standin.send(probe, {"type": "message", "message": {"type": "text", "text": "メニュー"}})
            menu = len(standin.wait_messages(probe, 1))
            proxy.cut()
            cut_at = time.monotonic()
            for user in users:  # she taps 産後ケア twice while the state store is down
                for _ in range(2):
                    assert standin.send(user, {"type": "message", "message": {"type": "text", "text": "メニュー"}}
                                        )["status"] == 200
            health = httpx.get(f"{live.bot_url}/healthz").json()
            assert health["redis"] is False and health["ok"] is False
            wait_for(lambda: False, timeout=DOWN_FOR - (time.monotonic() - cut_at))
            with live.app.state.sessions() as session:
                waiting = session.scalars(select(InboundEvent).where(InboundEvent.status == "pending")).all()
                assert len(waiting) == 10 and max(e.attempts for e in waiting) <= 1
                assert sum("Redis" in (e.last_error or "") for e in waiting) == 5  # each user's first, in order
            assert httpx.get(f"{live.bot_url}/healthz").json()["oldest_pending_seconds"] >= DOWN_FOR - 2
            proxy.restore()
            restored = time.monotonic()
            expected = 2 + 2 * menu  # the greeting, then two answers to her taps
            assert wait_for(lambda: all(len(standin.messages(u)) >= expected for u in users), timeout=20)
            caught_up = time.monotonic() - restored
            wait_for(lambda: False, timeout=1.0)
            for user in users:
                texts = [m["message"].get("text", "") for m in standin.messages(user)]
                assert len(texts) == expected and not any("申し訳ありません" in t for t in texts)
            with live.app.state.sessions() as session:
                assert {e.status for e in session.scalars(select(InboundEvent))} == {"done"}
        print(f"\nRedis down {DOWN_FOR:.0f} s: 10 events kept pending, all answered once {caught_up:.1f} s after"
              f" it came back (retry every {inbox.WAIT_FOR_STORE.seconds} s)")
    finally:
        proxy.close()
