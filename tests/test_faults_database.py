"""Fault tests: a database that stops answering, and one that is not there at start."""
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot import app as bot_app
from bot import local
from scheduling.store.models import InboundEvent
from tests.conftest import DATA_KEY, SECRET, TOKEN, make_settings
from tests.fault_helpers import FreezableProxy
from tests.helpers import StandIn, post_signed, sign, user_event, wait_for

pytestmark = pytest.mark.faults
TEXT = {"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": "こんにちは"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_hung_database_gives_503_at_once_and_the_webhook_500_not_a_hang(database_url, engine):
    url = make_url(database_url)
    proxy = FreezableProxy(url.host, url.port)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with local.running(make_settings(proxied)) as live:
            assert wait_for(lambda: httpx.get(f"{live.bot_url}/healthz").status_code == 200, timeout=10)
            proxy.freeze()
            started = time.monotonic()
            health = httpx.get(f"{live.bot_url}/healthz", timeout=10)
            health_seconds = time.monotonic() - started
            assert health.status_code == 503 and health_seconds < 2.0   # PROBE_WAIT, not a hang
            assert httpx.get(f"{live.bot_url}/healthz", timeout=10).status_code == 503  # again, still at once
            event = user_event("U" + "a" * 32, "message", message=TEXT)
            started = time.monotonic()
            body = json.dumps({"destination": "U1", "events": [event]}).encode()
            refused = httpx.post(f"{live.bot_url}/callback", content=body, timeout=30,
                                 headers={"X-Line-Signature": sign(SECRET, body)})
            webhook_seconds = time.monotonic() - started
            assert refused.status_code == 500 and webhook_seconds < bot_app.STORE_TIMEOUT + 1.5
            proxy.thaw()
            assert post_signed(f"{live.bot_url}/callback", SECRET, [event]).status_code == 200  # LINE's redelivery
            standin = StandIn(live.standin_url)
            assert wait_for(lambda: [r for r in standin.requests() if r["endpoint"] == "push"], timeout=15)
            assert wait_for(lambda: httpx.get(f"{live.bot_url}/healthz").status_code == 200, timeout=10)
            wait_for(lambda: False, timeout=1.0)
            assert len([r for r in standin.requests() if r["endpoint"] == "push" and r["status"] == 200]) == 1
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(InboundEvent)) == 1
        print(f"\nhung database: /healthz 503 in {health_seconds:.2f} s, webhook 500 in {webhook_seconds:.2f} s")
    finally:
        proxy.close()


def test_a_closed_database_port_at_start_gives_one_clear_line(tmp_path):
    env = dict(os.environ, LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN, HAGUKUMI_DATA_KEYS=DATA_KEY,
               DATABASE_URL=f"postgresql://postgres@127.0.0.1:{local.free_port()}/nothing")
    for command in (["serve", "--port", str(local.free_port())], ["worker"]):
        done = subprocess.run([sys.executable, "-m", "bot.cli", *command], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=30)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1, done.stderr
        assert lines[0].startswith("Hagukumi cannot start: the database does not answer")


@pytest.mark.slow(12)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_restart_between_two_taps_loses_nothing_and_answers_once(database_url, engine):
    """Every pooled connection dies at once (PostgreSQL restarted) while the bot is busy: a connection
    used moments before is not pinged, so its next transaction fails; the pool reconnects and the work
    is done again, and each tap is still answered exactly once."""
    url = make_url(database_url)
    proxy = FreezableProxy(url.host, url.port)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    users = [f"U{n:032x}" for n in range(1, 5)]
    menu = {"type": "message", "message": {"type": "text", "text": "メニュー"}}
    try:
        with local.running(make_settings(proxied)) as live:
            standin = StandIn(live.standin_url)
            for user in users:
                standin.send(user, {"type": "follow", "follow": {"isUnblocked": False}})
            assert wait_for(lambda: all(len(standin.messages(u)) == 2 for u in users), timeout=15)
            probe = "U" + "9" * 32
            standin.send(probe, menu)
            per_menu = len(standin.wait_messages(probe, 1))
            proxy.cut()
            proxy.restore()  # back at once: only the open connections are gone
            for user in users:
                for _ in range(2):
                    while standin.send(user, menu)["status"] != 200:  # LINE sends it again after a 500
                        time.sleep(0.2)
            expected = 2 + 2 * per_menu
            assert wait_for(lambda: all(len(standin.messages(u)) >= expected for u in users), timeout=20)
            wait_for(lambda: False, timeout=1.0)
            for user in users:
                texts = [m["message"].get("text", "") for m in standin.messages(user)]
                assert len(texts) == expected and not any("申し訳ありません" in t for t in texts)
        with engine.connect() as conn:
            statuses = conn.scalars(select(InboundEvent.status)).all()
        assert len(statuses) == 1 + len(users) * 3 and set(statuses) == {"done"}
    finally:
        proxy.close()
