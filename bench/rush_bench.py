"""The 9:00 class-opening rush, run by hand: a class with 40 places opens, a push goes to every registered
mother, and many of them tap through to 「予約する」 within a minute, on PostgreSQL.

    .venv/bin/python bench/rush_bench.py [--mothers 10000] [--tappers 2000] [--places 40] [--window 60]

Creates a fresh PostgreSQL database (TEST_POSTGRES_URL's server; dropped at the end), starts the LINE
stand-in (one process) and the bot as in production (`hagukumi serve --workers 2`: two webhook processes
and the worker process, which runs the dispatcher), with quiet hours off in a copy of config/. Once the
bot has made the year's class sessions, one 0歳児の親子教室 session is given --places places and the others
are cancelled, so every mother sees that one class. --mothers mothers (birth registered, baby three
months old) are written as the chat would leave them, and one due push each, the city's 「0歳児の親子教室の
ご案内」 with its 「パパママ教室」 button; the dispatcher sends them.

--tappers of them (chosen and timed by --seed) tap that button at a moment spread evenly over --window
seconds from the push's start, then tap through as a mother does (「この回を選ぶ」, 「ひとりで」, and
「予約する」, or 「キャンセル待ちに登録」 once the class is full), reading each answer for 1 to 4 s (seeded)
first. Each tap goes through the stand-in as LINE would send it (signed, to the webhook); its answer is
read back from the stand-in, which stamps when each message arrived.

It prints: the time from the push's start until every tap was answered; p50/p95/p99 from tap to answer
(all taps, and the last tap: 予約する or キャンセル待ち); places booked (must be exactly --places) and the
waiting list against the order of those last taps; taps without an answer or with more than one, pushes
delivered per mother (must be one each); inbound events by status; CPU and peak RSS per process (aim
≤ 150 MB). Exit status 0: it is a report, not a test.
"""
import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import machine  # noqa: E402
import reminders_bench as rb  # noqa: E402
import webhook_bench as wb  # noqa: E402

from dialogs import catalog  # noqa: E402
from scheduling.dates.calendar import jst_today  # noqa: E402
from scheduling.store.db import make_engine  # noqa: E402
from scheduling.store.models import LineUser, Mother, Reminder, utcnow  # noqa: E402

os.environ.setdefault("HAGUKUMI_DATA_KEYS", Fernet.generate_key().decode())  # the bot needs one; a run's data is thrown away

SECRET, TOKEN = "bench-channel-secret", "bench-access-token"
AIM_RSS_MB = 150.0
FINAL = ("予約する", "キャンセル待ちに登録")
PATH = ("この回を選ぶ", "ひとりで", *FINAL)
IN_FLIGHT = 48
GATE: list = [None]
OPENING_TEXT = catalog.text("ja", "timed.birth_2months_class")[:20]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def prepare_class(engine, places: int) -> tuple[int, str]:
    """One 0歳児の親子教室 session open for booking gets `places` places; every other session is cancelled."""
    today = jst_today(utcnow())
    with engine.begin() as conn:
        target = conn.execute(text(
            "SELECT id, day FROM class_sessions WHERE class_key = 'baby' AND day > :soon AND day <= :open "
            "ORDER BY day LIMIT 1"), {"soon": (today + timedelta(days=2)).isoformat(),
                                      "open": (today + timedelta(days=59)).isoformat()}).first()
        if target is None:
            raise SystemExit("no 0歳児の親子教室 session within the next 60 days in config/booking.toml")
        conn.execute(text("UPDATE class_sessions SET capacity = :c WHERE id = :i"), {"c": places, "i": target.id})
        conn.execute(text("UPDATE class_sessions SET status = 'cancelled' WHERE id <> :i"), {"i": target.id})
    return target.id, target.day


def register_mothers(engine, users: list[str]) -> None:
    now, today = utcnow(), jst_today(utcnow())
    born = (today - timedelta(days=90)).isoformat()
    with engine.begin() as conn:
        conn.execute(insert(LineUser), [dict(user_id=u, language="ja", following=True, created_at=now) for u in users])
        conn.execute(insert(Mother), [dict(user_id=u, status="mother", due_date=born, birth_date=born, babies=1,
                                           first_baby=n % 2 == 0, registered_on=today.isoformat(),
                                           registered_via="chat", consent_version="1", consent_at=now,
                                           created_at=now, updated_at=now) for n, u in enumerate(users)])


def write_pushes(engine, users: list[str]) -> float:
    now = utcnow()
    message = json.dumps({"facts": {"message": "timed.birth_2months_class", "button": "class"}})  # as mothers.py
    with engine.begin() as conn:
        conn.execute(insert(Reminder), [dict(user_id=u, kind="timed:birth_2months_class", message=message,
                                             due_at=now, status="pending", attempts=0, created_at=now)
                                        for u in users])
    return time.time()


class Tapper:
    def __init__(self, user: str, start: float, thinks: list[float]):
        self.user, self.start, self.thinks = user, start, thinks
        self.taps: list[tuple[str, float, float | None]] = []  # (label, sent at, answered at)
        self.final_at: float | None = None   # LINE's timestamp of her last tap
        self.outcome = "not finished"


class Arrived:
    """What the stand-in received, by user: one poller reads every new message for all the tappers (a poll
    per tapper made this benchmark's own requests its pace)."""

    def __init__(self):
        self.of: dict[str, list[dict]] = defaultdict(list)
        self._news: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.seq = 0

    async def poll(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for message in (await read_messages(client, None, self.seq))["messages"]:
                self.of[message["user_id"]].append(message)
                self._news[message["user_id"]].set()
                self.seq = message["seq"]
            await asyncio.sleep(0.1)

    async def wait(self, user: str) -> None:
        self._news[user].clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._news[user].wait(), 1.0)


async def tap_through(client: httpx.AsyncClient, arrived: Arrived, tapper: Tapper, t0: float,
                      deadline: float) -> None:
    """Her taps: the push's button, then each next button of PATH she has not tapped yet (予約する, or
    キャンセル待ちに登録 when the class is full by then), until an answer offers none."""
    await asyncio.sleep(max(0.0, t0 + tapper.start - time.time()))
    seq, data, label = 0, "menu:class", "パパママ教室 (the push's button)"
    tapped: set[str] = set()
    step = 0
    while True:
        # a tap on a connection of its own: a reused one closed under it could not be sent again safely
        event = {"type": "postback", "postback": {"data": data}}
        async with GATE[0]:
            sent = time.time()   # once this benchmark lets it go: its own queue is not the bot's latency
            response = await client.post("/_standin/send", headers={"Connection": "close"},
                                         json={"user_id": tapper.user, "event": event})
        if response.json().get("status") != 200:
            tapper.taps.append((label, sent, None))
            tapper.outcome = f"webhook answered {response.json()}"
            return
        tapped.add(label)
        if label in FINAL:   # when LINE (the stand-in) stamped her tap: the order the waiting list must keep
            tapper.final_at = response.json()["event"]["timestamp"] / 1000
        await asyncio.sleep(tapper.thinks[step % len(tapper.thinks)])   # she reads the answer
        step += 1
        while True:   # (the latency is stamped by the stand-in when the answer arrives, not here)
            answers = [m for m in arrived.of[tapper.user] if m["seq"] > seq and m["at"] >= sent
                       and not is_opening_push(m)]
            if answers or time.time() > deadline:
                break
            await arrived.wait(tapper.user)
        if not answers:
            tapper.taps.append((label, sent, None))
            tapper.outcome = "no answer"
            return
        seq = answers[-1]["seq"]
        tapper.taps.append((label, sent, answers[0]["at"]))
        buttons = {}
        for message in answers:
            for action in wb_actions(message["message"]):
                buttons.setdefault(action.get("label"), action)
        nxt = next((name for name in PATH if name in buttons and name not in tapped), None)
        if nxt is None:
            text_ = json.dumps([m["message"] for m in answers], ensure_ascii=False)
            tapper.outcome = ("booked" if "ご予約が確定しました" in text_ else
                              "waiting" if label == "キャンセル待ちに登録" else "other: " + text_[:120])
            return
        data, label = buttons[nxt]["data"], nxt


async def read_messages(client: httpx.AsyncClient, user: str | None, after: int) -> dict:
    params: dict = {"after": after} if user is None else {"user_id": user, "after": after}
    for attempt in range(5):
        try:
            return (await client.get("/_standin/messages", params=params)).json()
        except httpx.TransportError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


def is_opening_push(message: dict) -> bool:
    return message["via"] == "push" and message["message"].get("text", "").startswith(OPENING_TEXT)


def wb_actions(message: dict) -> list[dict]:
    found = [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]
    for bubble in (message.get("contents") or {}).get("contents", []):
        found += [c["action"] for c in (bubble.get("footer") or {}).get("contents", []) if "action" in c]
    return found


async def rush(standin_url: str, tappers: list[Tapper], t0: float, timeout: float) -> None:
    # at most IN_FLIGHT requests to the stand-in at once: httpx's pool assigns queued requests to connections
    # in time that grows with the queue squared, which made this process, not the bot, set the pace
    GATE[0] = asyncio.Semaphore(IN_FLIGHT)
    # idle connections are dropped before the stand-in's keep-alive timeout (5 s) can close one under a request
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=standin_url, timeout=120, limits=limits) as client:
        arrived, stop = Arrived(), asyncio.Event()
        poller = asyncio.create_task(arrived.poll(client, stop))

        async def one(tapper: Tapper) -> None:
            try:
                await tap_through(client, arrived, tapper, t0, t0 + timeout)
            except httpx.HTTPError as error:  # the bench's own connection to the stand-in failed: counted
                tapper.outcome = f"bench's request to the stand-in failed: {type(error).__name__}"
        await asyncio.gather(*(one(tapper) for tapper in tappers))
        stop.set()
        await poller


async def register_at_standin(standin_url: str, users: list[str]) -> None:
    limits = httpx.Limits(max_connections=16, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=standin_url, timeout=60, limits=limits) as client:
        async def one(user: str) -> None:
            for attempt in range(5):   # an upsert: safe to send again
                try:
                    (await client.post("/_standin/users", json={"user_id": user})).raise_for_status()
                    return
                except httpx.TransportError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2)
        for chunk in range(0, len(users), 200):
            await asyncio.gather(*(one(u) for u in users[chunk:chunk + 200]))


def main() -> int:  # noqa: C901 (a report, step by step)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mothers", type=int, default=10_000)
    parser.add_argument("--tappers", type=int, default=2_000)
    parser.add_argument("--places", type=int, default=40)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the first taps come")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--workers", type=int, default=2, help="webhook processes (default 2)")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    admin, database, url = rb.new_database("rush")
    work = Path(tempfile.mkdtemp(prefix="hagukumi-rush-bench-"))
    servers: list = []
    engine = make_engine(url)
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        city = rb.quiet_hours_off(work)
        ports = {"standin": rb.free_port(), "bot": rb.free_port()}
        standin_url, bot_url = (f"http://127.0.0.1:{ports[n]}" for n in ("standin", "bot"))
        env = {**os.environ, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
               "PYTHONUNBUFFERED": "1"}
        env.pop("REDIS_URL", None)
        standin = wb.Server("standin", [sys.executable, "-m", "bot.standin.server", "--port", str(ports["standin"]),
                                        "--webhook-url", bot_url + "/callback", "--channel-secret", SECRET,
                                        "--access-token", TOKEN], env, work, standin_url + "/_standin/undelivered")
        servers.append(standin)
        bot = wb.Server("bot", [sys.executable, "-m", "bot.cli", "serve", "--port", str(ports["bot"]),
                                "--workers", str(args.workers)],
                        {**env, "DATABASE_URL": url, "LINE_API_BASE_URL": standin_url, "HAGUKUMI_CITY_CONFIG": str(city)},
                        work, bot_url + "/healthz")
        servers.append(bot)
        for server in servers:
            server.wait_ready(120)
        time.sleep(1.0)
        session_id, day = prepare_class(engine, args.places)
        users = [f"U{uuid.UUID(int=rng.getrandbits(128)).hex}" for _ in range(args.mothers)]
        register_mothers(engine, users)
        asyncio.run(register_at_standin(standin_url, users))
        chosen = rng.sample(users, args.tappers)
        tappers = [Tapper(u, rng.uniform(0, args.window), [rng.uniform(1.0, 4.0) for _ in range(4)]) for u in chosen]
        bot_pids = bot.workers()
        parts = {"stand-in": [standin.proc.pid], "bot": bot_pids, "postgres (all)": rb.postgres_pids()}
        speed = machine.describe()   # before the CPU is counted: it spends some
        cpu_before = {name: rb.cpu_seconds(pids) for name, pids in parts.items()}
        busy_before, own_before = rb.machine_busy_seconds(), sum(os.times()[:2])
        print(f"rush: class session {session_id} on {day} with {args.places} places; {args.mothers} mothers, "
              f"{args.tappers} tapping within {args.window:g} s; {speed}", flush=True)
        t0 = write_pushes(engine, users)
        asyncio.run(rush(standin_url, tappers, t0, args.timeout))
        # the pushes and the backlog: wait until nothing is pending
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            with engine.connect() as conn:
                pending = conn.execute(text(
                    "SELECT (SELECT count(*) FROM reminders WHERE status = 'pending' "
                    "AND due_at <= (now() AT TIME ZONE 'UTC')) + "
                    "(SELECT count(*) FROM inbound_events WHERE status = 'pending') + "
                    "(SELECT count(*) FROM outgoing_messages WHERE status = 'pending')")).scalar()
            if not pending:
                break
            time.sleep(0.5)
        settled = time.time()
        wall = settled - t0
        cpu = {name: rb.cpu_seconds(pids) - cpu_before[name] for name, pids in parts.items()}
        cpu["this script"] = sum(os.times()[:2]) - own_before
        cpu["anything else"] = max(rb.machine_busy_seconds() - busy_before - sum(cpu.values()), 0.0)
        rss = {pid: (wb.status_kb(pid, "VmHWM") or 0) / 1024 for pid in [*bot_pids, standin.proc.pid]}
        names = {pid: " ".join(wb.cmdline(pid).decode(errors="replace").split("\x00")[2:4]) or str(pid) for pid in rss}
        messages = httpx.get(f"{standin_url}/_standin/messages", timeout=300).json()["messages"]
        with engine.connect() as conn:
            bookings = conn.execute(text(
                "SELECT user_id, status, party, created_at, id FROM class_bookings WHERE session_id = :s "
                "ORDER BY created_at, id"), {"s": session_id}).all()
            inbound = dict(conn.execute(text("SELECT status, count(*) FROM inbound_events GROUP BY status")).all())
            pushes = dict(conn.execute(text(
                "SELECT status || CASE WHEN due_at > (now() AT TIME ZONE 'UTC') THEN ' (due later)' ELSE '' END, "
                "count(*) FROM reminders GROUP BY 1")).all())
            outgoing = dict(conn.execute(text("SELECT status, count(*) FROM outgoing_messages GROUP BY status")).all())
        bot_log = bot.log()
    finally:
        for server in reversed(servers):
            server.stop()
        engine.dispose()
        rb.drop_database(admin, database)
        shutil.rmtree(work, ignore_errors=True)

    # --- figures
    taps = [(label, sent, got) for t in tappers for label, sent, got in t.taps]
    answered = [got - sent for _, sent, got in taps if got is not None]
    finals = [got - sent for label, sent, got in taps if got is not None and label in FINAL]
    last_answer = max((got for _, _, got in taps if got is not None), default=t0)
    requests_per_user = defaultdict(set)
    for message in messages:
        requests_per_user[message["user_id"]].add(message["request"])
    opening = Counter(message["user_id"] for message in messages if is_opening_push(message))
    tap_count = Counter(t.user for t in tappers for _ in t.taps)
    answers_per_user = {t.user: len(requests_per_user[t.user]) for t in tappers}   # her taps' answers + her push
    twice = [u for u in answers_per_user if answers_per_user[u] > tap_count[u] + 1]
    unanswered = sum(1 for _, _, got in taps if got is None)
    booked = [b for b in bookings if b.status == "booked"]
    waiting = [b for b in bookings if b.status == "waiting"]
    final_at = {t.user: t.final_at for t in tappers if t.final_at}   # her last 予約する / キャンセル待ち tap
    order = [final_at.get(b.user_id) for b in waiting if final_at.get(b.user_id)]
    inversions = sum(1 for a, b in zip(order, order[1:], strict=False) if b < a)
    worst = max((a - b for a, b in zip(order, order[1:], strict=False) if b < a), default=0.0)
    outcomes = Counter(t.outcome if len(t.outcome) < 40 else t.outcome[:40] for t in tappers)

    print()
    print("=" * 100)
    print(f"  mothers {args.mothers}, tapping {args.tappers} (seed {args.seed}), class of {args.places} places; "
          f"taps sent {len(taps)}")
    print(f"  time from the push's start until every tap was answered: {last_answer - t0:.1f} s "
          f"(taps over {max(t.start for t in tappers):.0f} s, then 3 more taps each after 1-4 s of reading); "
          f"everything settled (pushes, answers) after {wall:.1f} s")
    print(f"  tap to answer, all taps ({len(answered)}): p50 {pct(answered, 50) * 1000:.0f} ms, "
          f"p95 {pct(answered, 95) * 1000:.0f} ms, p99 {pct(answered, 99) * 1000:.0f} ms, "
          f"max {max(answered, default=0) * 1000:.0f} ms")
    print(f"  tap to answer, the last tap (予約する / キャンセル待ち) ({len(finals)}): p50 {pct(finals, 50) * 1000:.0f} ms, "
          f"p95 {pct(finals, 95) * 1000:.0f} ms, p99 {pct(finals, 99) * 1000:.0f} ms")
    print(f"  outcomes of the tappers: {dict(outcomes)}")
    print(f"  booked: {len(booked)} bookings, {sum(b.party for b in booked)} places (must be {args.places}): "
          f"{'MET' if sum(b.party for b in booked) == args.places else 'NOT MET'}")
    print(f"  waiting list: {len(waiting)}; against the order of their last taps (LINE's timestamps): {inversions} "
          f"neighbours out of order"
          f"{f' (the widest {worst * 1000:.0f} ms apart)' if inversions else ''}: {'NOT MET' if inversions else 'MET'}")
    print(f"  taps without an answer: {unanswered}; mothers answered more often than they tapped: {len(twice)}; "
          f"mothers by opening pushes received: {dict(Counter(opening[u] for u in users))} (must all be 1)")
    print(f"  rows: inbound_events {inbound}, reminders {pushes}, outgoing_messages {outgoing}")
    print(f"  CPU over {wall:.0f} s (100% = one core of {os.cpu_count()}): "
          + "  ".join(f"{k} {100 * v / wall:.0f}%" for k, v in cpu.items()))
    for pid, mb in rss.items():
        print(f"  peak RSS {mb:6.1f} MB  {names[pid]}")
    peak = max(mb for pid, mb in rss.items() if pid in bot_pids)   # the stand-in (LINE) keeps every message
    print(f"  peak RSS per bot process {peak:.1f} MB, aim <= {AIM_RSS_MB:g} MB: "
          f"{'MET' if peak <= AIM_RSS_MB else 'NOT MET'}")
    load = os.getloadavg()
    print(f"  load average before {load_before[0]:.1f}, after {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          f"total time {time.monotonic() - started:.0f} s")
    problems = [line for line in bot_log.splitlines() if "WARNING" in line or "ERROR" in line]
    if problems:
        print(f"  bot log ({len(problems)} lines at WARNING or above; first 8):")
        for line in problems[:8]:
            print("    " + line[:200])
    print("=" * 100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
