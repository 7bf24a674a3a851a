"""Fault tests with real processes: `hagukumi serve --workers 2` under load, its worker process (which
runs the dispatcher) killed with SIGKILL mid-load; every acknowledged event is answered exactly once and
every due push delivered exactly once, counted on the LINE stand-in. /healthz tells a stale heartbeat."""
import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot import local
from scheduling.messaging import heartbeats, reminders
from scheduling.store.db import transaction
from scheduling.store.models import Heartbeat, Reminder, utcnow
from tests.city_files import test_city
from tests.conftest import DATA_KEY, SECRET, TOKEN, make_settings
from tests.fault_helpers import standin_running
from tests.helpers import StandIn, post_signed, user_event, wait_for

pytestmark = pytest.mark.faults
EVENTS, PUSHES = 200, 400


def worker_pid(sessions) -> int | None:
    with sessions() as session:
        beat = session.scalars(select(Heartbeat).where(Heartbeat.role == "worker")
                               .order_by(Heartbeat.beat_at.desc())).first()
        return int(beat.holder.rsplit(":", 1)[1]) if beat else None


@pytest.mark.slow(40)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_worker_and_dispatcher_are_restarted_and_nothing_is_lost_or_doubled(database_url, sessions, tmp_path):
    port = local.free_port()
    city = test_city(tmp_path, quiet_hours=False)  # the pushes go out whatever the hour of the run
    users = [f"U{n:032x}" for n in range(EVENTS)]
    with standin_running(SECRET, TOKEN, f"http://127.0.0.1:{port}/callback") as (standin_url, _app):
        standin = StandIn(standin_url)
        env = dict(os.environ, LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN, HAGUKUMI_DATA_KEYS=DATA_KEY,
                   LINE_API_BASE_URL=standin_url, DATABASE_URL=database_url, HAGUKUMI_CITY_CONFIG=str(city))
        env.pop("REDIS_URL", None)
        # its own process group: should serve not stop, the test ends it with its children (who hold stderr)
        serve = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"],
                                 env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
        launched = time.monotonic()
        try:
            # (a busy machine takes a while to start the niced worker process)
            assert wait_for(lambda: worker_pid(sessions), timeout=90), "the worker never beat"
            print(f"\nserve up in {time.monotonic() - launched:.1f} s")
            first_worker = worker_pid(sessions)
            reminded = [f"V{n:032x}" for n in range(PUSHES // 2)]  # two pushes each
            for user in reminded:
                httpx.post(f"{standin_url}/_standin/users", json={"user_id": user})
            standin.fault(endpoint="push", delay=0.1, count=10**6)  # pushes take a while: killed mid-way
            now = utcnow()
            with transaction(sessions) as session:
                due = [reminders.add(session, user_id=reminded[n % len(reminded)], kind="care_offer", due_at=now, now=now,
                                     facts={}).id for n in range(PUSHES)]
            started = time.monotonic()

            def follow(user):
                return standin.send(user, {"type": "follow", "follow": {"isUnblocked": False}})["status"]

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(follow, users[: EVENTS // 2]))
                os.kill(first_worker, signal.SIGKILL)
                killed_at = time.monotonic()
                sent_at_kill = len([r for r in standin.requests() if r["endpoint"] == "push" and r["status"] == 200])
                statuses += list(pool.map(follow, users[EVENTS // 2:]))
            assert statuses == [200] * EVENTS  # every event acknowledged

            def done():
                with sessions() as session:
                    return all(status == "sent" for status in session.scalars(select(Reminder.status)))
            def per_user():
                counts = dict.fromkeys(users + reminded, 0)
                for message in httpx.get(f"{standin_url}/_standin/messages").json()["messages"]:
                    counts[message["user_id"]] += 1
                return counts
            assert wait_for(lambda: all(c >= 2 for c in per_user().values()) and done(), timeout=60)
            recovered = time.monotonic() - killed_at
            wait_for(lambda: False, timeout=2.0)  # time for a wrong second answer to arrive
            assert worker_pid(sessions) != first_worker  # a new worker process took over
            counts = per_user()  # each follow answered by the greeting and the menu; each push user got two
            assert all(c == 2 for c in counts.values()), {u: c for u, c in counts.items() if c != 2}
            accepted = {}
            for request in standin.requests():
                if request["endpoint"] == "push" and request["status"] == 200:
                    accepted[request["retry_key"]] = accepted.get(request["retry_key"], 0) + 1
            assert all(accepted.get(reminders.retry_key(rid)) == 1 for rid in due)
        finally:
            stopping = time.monotonic()
            serve.send_signal(signal.SIGINT)
            try:
                _, errors = serve.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                _, errors = serve.communicate(timeout=30)
        print(f"serve stopped in {time.monotonic() - stopping:.1f} s")
        assert "the worker process" in errors and "starting it again" in errors
    print(f"\nkilled the worker at {killed_at - started:.1f} s ({sent_at_kill} of {PUSHES} pushes accepted by LINE): "
          f"all {EVENTS} events answered once and all pushes delivered once {recovered:.1f} s after the kill")


def test_healthz_reports_a_stale_heartbeat_and_the_oldest_waiting_event(tmp_path):
    settings = make_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}", HAGUKUMI_INLINE_WORKER="0")
    with local.running(settings) as live:
        sessions = live.app.state.sessions
        long_ago = utcnow() - timedelta(minutes=5)
        with transaction(sessions) as session:
            heartbeats.beat(session, role="worker", now=long_ago, who="elsewhere:1")
            heartbeats.beat(session, role="dispatcher", now=utcnow(), who="elsewhere:2")
        assert post_signed(f"{live.bot_url}/callback", SECRET, [user_event("U" + "a" * 32, "follow")]).status_code == 200
        time.sleep(1.1)
        response = httpx.get(f"{live.bot_url}/healthz")
        body = response.json()
        assert response.status_code == 503 and body["ok"] is False
        assert body["worker"]["ok"] is False and body["worker"]["heartbeat_age_seconds"] >= 300
        assert body["dispatcher"]["ok"] is True
        assert body["oldest_pending_seconds"] >= 1.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:   # a zombie has ended; only its parent has not reaped it yet
        return stat.read().split(") ")[1][0] != "Z"


@pytest.mark.slow(6)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_worker_whose_serve_was_killed_stops_instead_of_running_on_alone(database_url, sessions):
    """systemd restarts a killed serve, which starts a worker of its own: the old one must not linger."""
    env = dict(os.environ, LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN, HAGUKUMI_DATA_KEYS=DATA_KEY,
               LINE_API_BASE_URL="http://127.0.0.1:9", DATABASE_URL=database_url)
    env.pop("REDIS_URL", None)
    serve = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(local.free_port()),
                              "--workers", "1"], env=env, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        worker = wait_for(lambda: worker_pid(sessions), timeout=90)
        assert worker, "the worker never beat"
        serve.kill()   # SIGKILL: serve cannot stop its children
        serve.wait(10)
        assert wait_for(lambda: not alive(worker), timeout=15), "the worker ran on without its serve"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)
