"""Dialog turns under load, run by hand: from the webhook to the answer's arrival at LINE, on PostgreSQL.

    .venv/bin/python bench/turn_latency.py [--rate 200] [--seconds 10] [--worker-processes 2] [--workers 2]

Creates a fresh PostgreSQL database (TEST_POSTGRES_URL's server; dropped at the end), starts the LINE stand-in
(one process) and the bot as in production: `hagukumi serve --workers W --worker-processes M` (W webhook
processes, M worker processes, each with its dispatcher). --users mothers write in turn, so each has one
turn every users/rate seconds: a text (a greeting, a question, 「メニュー」) or a tap on 「産後ケア」 or
「パパママ教室」 in the menu, each a signed webhook with a reply token the stand-in issued.

After a warm-up, turns are sent open loop at --rate per second for --seconds, on a fixed schedule. A turn's
time runs from its scheduled send until the stand-in received the reply that used its token (the stand-in
stamps each arrival), so a bot that falls behind shows it. It prints p50/p95/p99/max, turns without an answer
or answered twice, CPU per process kind and per turn, peak RSS, and the aim: p95 <= 100 ms at 200 turns/s with
two worker processes (issue 16) MET / NOT MET. Exit status 0: it is a report, not a test.
"""
import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import machine  # noqa: E402
import reminders_bench as rb  # noqa: E402
import webhook_bench as wb  # noqa: E402

from bot.standin.server import new_event_id, new_message_id, sign  # noqa: E402

os.environ.setdefault("HAGUKUMI_DATA_KEYS", Fernet.generate_key().decode())  # the bot needs one; a run's data is thrown away

SECRET, TOKEN = "bench-channel-secret", "bench-access-token"
DESTINATION = "U" + hashlib.md5(SECRET.encode()).hexdigest()
TURNS = ({"type": "message", "message": {"type": "text", "text": "こんにちは"}},
         {"type": "postback", "postback": {"data": "menu:care"}},
         {"type": "message", "message": {"type": "text", "text": "メニュー"}},
         {"type": "postback", "postback": {"data": "menu:class"}},
         {"type": "message", "message": {"type": "text", "text": "教室はいつですか"}})
AIM_RATE, AIM_P95_MS = 200.0, 100.0


def body_for(user: str, token: str, n: int) -> bytes:
    event = json.loads(json.dumps(TURNS[n % len(TURNS)]))
    if event["type"] == "message":
        event["message"].update(id=new_message_id(), quoteToken=uuid.uuid4().hex)  # LINE sends both
    event.update({"webhookEventId": new_event_id(), "deliveryContext": {"isRedelivery": False},
                  "timestamp": int(time.time() * 1000), "source": {"type": "user", "userId": user},
                  "replyToken": token, "mode": "active"})
    return json.dumps({"destination": DESTINATION, "events": [event]}, ensure_ascii=False,
                      separators=(",", ":")).encode()


def issue_tokens(standin_url: str, users: list[str], total: int) -> list[tuple[str, str]]:
    """(user, reply token) for `total` turns, the users in turn."""
    per_user = -(-total // len(users))
    with httpx.Client(base_url=standin_url, timeout=60) as client:
        pools = [[(user, token) for token in client.post("/_standin/reply_tokens", json={
            "user_id": user, "count": per_user}).json()["tokens"]] for user in users]
    return [pool[i] for i in range(per_user) for pool in pools][:total]


async def send_on_schedule(url: str, turns: list[tuple[str, str]], rate: float, first: int) -> dict:
    """Each turn posted at its moment whatever the answers; returns token -> scheduled time.time()."""
    scheduled: dict[str, float] = {}
    failed: Counter = Counter()
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def post(user: str, token: str, n: int) -> None:
            body = body_for(user, token, n)
            try:
                async with session.post(url, data=body, headers={"Content-Type": "application/json",
                                                                 "X-Line-Signature": sign(SECRET, body)}) as response:
                    await response.read()
                    if response.status != 200:
                        failed[f"HTTP {response.status}"] += 1
            except Exception as error:  # noqa: BLE001 - every failure is a figure here
                failed[type(error).__name__] += 1
        t0 = time.time() + 0.05
        tasks = []
        for i, (user, token) in enumerate(turns):
            at = t0 + i / rate
            await asyncio.sleep(max(0.0, at - time.time()))
            scheduled[token] = at
            tasks.append(asyncio.create_task(post(user, token, first + i)))
        await asyncio.gather(*tasks)
    return {"scheduled": scheduled, "failed": dict(failed)}


def answers_by_token(standin_url: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for message in httpx.get(f"{standin_url}/_standin/messages", timeout=120).json()["messages"]:
        if message.get("reply_token"):
            found.setdefault(message["reply_token"], []).append(message)
    return found


def main() -> int:  # noqa: C901 (a report, step by step)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=AIM_RATE, help="turns per second (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2, help="webhook processes (default 2)")
    parser.add_argument("--worker-processes", type=int, default=2, help="answering processes (default 2)")
    parser.add_argument("--warm-up", type=int, default=300, help="turns sent (at 50/s) before the timed run")
    parser.add_argument("--timeout", type=float, default=300.0, help="wait at most this long for the answers")
    args = parser.parse_args()

    admin, database, url = rb.new_database("turn")
    work = Path(tempfile.mkdtemp(prefix="hagukumi-turn-bench-"))
    servers: list[wb.Server] = []
    load_before = os.getloadavg()
    try:
        city = rb.quiet_hours_off(work)
        ports = {"standin": rb.free_port(), "bot": rb.free_port()}
        standin_url, bot_url = (f"http://127.0.0.1:{ports[n]}" for n in ("standin", "bot"))
        env = {**os.environ, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
        env.pop("REDIS_URL", None)
        standin = wb.Server("standin", [sys.executable, "-m", "bot.standin.server", "--port", str(ports["standin"]),
                                        "--channel-secret", SECRET, "--access-token", TOKEN,
                                        "--reply-token-ttl", "600"], env, work, standin_url + "/_standin/undelivered")
        servers.append(standin)
        bot = wb.Server("bot", [sys.executable, "-m", "bot.cli", "serve", "--port", str(ports["bot"]),
                                "--workers", str(args.workers), "--worker-processes", str(args.worker_processes)],
                        {**env, "DATABASE_URL": url, "LINE_API_BASE_URL": standin_url, "HAGUKUMI_CITY_CONFIG": str(city)},
                        work, bot_url + "/healthz")
        servers.append(bot)
        for server in servers:
            server.wait_ready(180)
        time.sleep(2.0)   # every worker process past its start
        users = [f"U{uuid.uuid4().hex}" for _ in range(args.users)]
        timed = int(args.rate * args.seconds)
        turns = issue_tokens(standin_url, users, args.warm_up + timed)
        warm, timed_turns = turns[:args.warm_up], turns[args.warm_up:]
        asyncio.run(send_on_schedule(bot_url + "/callback", warm, 50.0, 0))
        deadline = time.time() + 60
        while time.time() < deadline and len(answers_by_token(standin_url)) < len(warm):
            time.sleep(0.5)
        kinds = {"webhook": [p for p in bot.workers() if b"spawn_main" in wb.cmdline(p)],
                 "worker": [p for p in bot.workers() if b"bot.cli\x00worker" in wb.cmdline(p)],
                 "stand-in": [standin.proc.pid], "postgres (all)": rb.postgres_pids()}
        speed = machine.describe()
        cpu_before = {kind: rb.cpu_seconds(pids) for kind, pids in kinds.items()}
        print(f"turns: {timed} at {args.rate:g}/s from {args.users} mothers; {args.workers} webhook and "
              f"{args.worker_processes} worker processes on PostgreSQL; {speed}", flush=True)
        sent = asyncio.run(send_on_schedule(bot_url + "/callback", timed_turns, args.rate, len(warm)))
        scheduled = sent["scheduled"]
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            got = answers_by_token(standin_url)
            if all(token in got for token in scheduled):
                break
            time.sleep(0.5)
        settled = time.time()
        span = settled - min(scheduled.values())
        cpu = {kind: rb.cpu_seconds(pids) - cpu_before[kind] for kind, pids in kinds.items()}
        rss = {pid: (wb.status_kb(pid, "VmHWM") or 0) / 1024 for pids in (kinds["webhook"], kinds["worker"])
               for pid in pids}
        requests = Counter(m["request"] for messages in got.values() for m in messages)
        problems = [line for line in bot.log().splitlines() if "WARNING" in line or "ERROR" in line]
    finally:
        for server in reversed(servers):
            server.stop()
        rb.drop_database(admin, database)
        shutil.rmtree(work, ignore_errors=True)

    latencies = sorted(min(m["at"] for m in got[token]) - at for token, at in scheduled.items() if token in got)
    order = {token: len(warm) + i for i, (_, token) in enumerate(timed_turns)}
    by_kind: dict[str, list[float]] = {}
    for token, at in scheduled.items():
        if token in got:
            turn = TURNS[order[token] % len(TURNS)]
            kind = turn.get("message", {}).get("text") or turn.get("postback", {}).get("data")
            by_kind.setdefault(kind, []).append(min(m["at"] for m in got[token]) - at)
    unanswered = sum(1 for token in scheduled if token not in got)
    twice = sum(1 for token in scheduled if len({m["request"] for m in got.get(token, [])}) > 1)
    p95 = wb.pct(latencies, 95)
    print("=" * 100)
    print(f"  {len(scheduled)} turns sent at {args.rate:g}/s; webhook failures {sent['failed'] or 'none'}")
    print(f"  webhook to the answer's arrival: p50 {wb.pct(latencies, 50):.0f} ms, p95 {p95:.0f} ms, "
          f"p99 {wb.pct(latencies, 99):.0f} ms, max {wb.pct(latencies, 100):.0f} ms")
    print("  by turn: " + "; ".join(f"{kind} p50 {wb.pct(sorted(v), 50):.0f} / p95 {wb.pct(sorted(v), 95):.0f} ms"
                                   for kind, v in by_kind.items()))
    print(f"  turns without an answer {unanswered}; answered in more than one request {twice} "
          f"(requests in all {len(requests)})")
    print(f"  CPU over {span:.1f} s from the first send until the last answer (100% = one core of {os.cpu_count()}): "
          + "  ".join(f"{kind} {100 * seconds / span:.0f}%" for kind, seconds in cpu.items()))
    print(f"  CPU per turn: worker processes {1000 * cpu['worker'] / max(len(latencies), 1):.1f} ms, "
          f"webhook processes {1000 * cpu['webhook'] / max(len(latencies), 1):.1f} ms")
    print("  peak RSS per bot process: " + ", ".join(f"{mb:.0f} MB" for mb in rss.values()))
    met = p95 <= AIM_P95_MS and not unanswered and not twice
    print(f"  aim (issue 16): p95 <= {AIM_P95_MS:g} ms at {AIM_RATE:g} turns/s, two worker processes, PostgreSQL: "
          f"{'MET' if met and args.rate >= AIM_RATE else 'NOT MET'}")
    if problems:
        print(f"  bot log ({len(problems)} lines at WARNING or above; first 8):")
        for line in problems[:8]:
            print("    " + line[:200])
    load = os.getloadavg()
    print(f"  load average before {load_before[0]:.1f}, after {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("=" * 100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
