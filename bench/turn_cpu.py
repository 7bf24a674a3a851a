"""CPU per answered event, run by hand: the worker alone, a screening and a class booking tapped through.

    .venv/bin/python bench/turn_cpu.py [--mothers 40] [--database-url URL] [--redis-url URL] [--cprofile FILE]

The LINE stand-in runs as a process of its own; this process is the worker (bot.worker.Worker with its
real LineClient and state store, as the worker process builds them). Each mother follows, taps through
the 産後ケア screening (6 taps) and then through booking a parent class (7 taps, 「予約する」 last). Each
tap is written to the inbox as the webhook would (outside the measurement), then the worker handles it:
claim, dialog, answer row, reply to the stand-in, record. The figure is this process's CPU time
(all threads) from the kick until the worker is idle again, per tap (a sent answer's outcome is recorded
with the next tap's claim, as in service, so each tap pays for one); wall time per tap beside it.
Follow events are not counted (the first one of a user also fetches her LINE profile).

--cprofile FILE runs the database work on the event loop's thread (so one profile sees it all) and
writes cProfile stats to FILE (print them with `python -m pstats FILE`, `sort cumtime`, `stats 40`);
its CPU figures are inflated by the profiler and not comparable. Exit status 0: a report, not a test.
"""
import argparse
import asyncio
import concurrent.futures
import cProfile
import gc
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import machine  # noqa: E402

from bot.runtime import build  # noqa: E402
from bot.settings import Settings  # noqa: E402
from scheduling.messaging import inbox  # noqa: E402
from scheduling.store.db import transaction  # noqa: E402
from scheduling.store.models import utcnow  # noqa: E402

os.environ.setdefault("HAGUKUMI_DATA_KEYS", Fernet.generate_key().decode())  # the bot needs one; a run's data is thrown away

SECRET, TOKEN = "bench-channel-secret", "bench-access-token"
AIM_MS = 2.0
SCREENING = ["産後ケア", "出産したお母さん", "住んでいる", ("日付を選ぶ", -30), "どれもあてはまらない", "1人"]
# after the screening she has given birth: the class list comes at once; labels in a tuple: the first found
BOOKING = [{"data": "menu:class"}, "この回を選ぶ", ("1人で", "本人のみ", "ひとりで", "お母さんだけ", "予約する"),
           ("予約する", "キャンセル待ちに登録")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inline(concurrent.futures.Executor):
    """Runs the submitted call at once on the caller's thread (for one cProfile over everything)."""

    def submit(self, fn, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001
            future.set_exception(error)
        return future


def actions(messages: list[dict]) -> list[dict]:
    found = []
    for message in messages:
        found += [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]
        for bubble in (message.get("contents") or {}).get("contents", []):
            found += [c["action"] for c in (bubble.get("footer") or {}).get("contents", []) if "action" in c]
    return found


def pick(messages: list[dict], step) -> dict:
    if isinstance(step, dict):
        return {"type": "postback", "postback": {"data": step["data"]}}
    if isinstance(step, str):
        labels, days = (step,), None
    elif isinstance(step[1], int):
        labels, days = (step[0],), step[1]
    else:
        labels, days = step, None
    for label in labels:
        for action in actions(messages):
            if action.get("label") == label:
                postback = {"data": action["data"]}
                if action["type"] == "datetimepicker":
                    postback["params"] = {"date": (date.today() + timedelta(days=days or 0)).isoformat()}
                return {"type": "postback", "postback": postback}
    raise SystemExit(f"no button {labels!r} in {json.dumps(messages, ensure_ascii=False)[:600]}")


async def run(args, standin_url: str) -> dict:
    env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "LINE_API_BASE_URL": standin_url,
           "HAGUKUMI_DATA_DIR": args.data, "HAGUKUMI_DATA_KEYS": os.environ["HAGUKUMI_DATA_KEYS"]}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    runtime = build(Settings.from_env(env, dotenv=False))
    runtime.prepare_database()
    gc.freeze()  # as the worker process does after start-up (bot/worker_process.py)
    line = runtime.new_line_client()
    worker = runtime.new_worker(line)
    profile = None
    if args.cprofile:
        worker._db.shutdown()
        worker._db = Inline()
        profile = cProfile.Profile()
    client = httpx.AsyncClient(base_url=standin_url, timeout=30)
    figures = {"screening": [], "booking": []}
    seq = {}

    async def turn(user: str, event: dict, kind: str | None) -> list[dict]:
        token = (await client.post("/_standin/reply_tokens", json={"user_id": user, "count": 1})).json()["tokens"][0]
        raw = {**event, "webhookEventId": uuid.uuid4().hex.upper()[:26], "timestamp": int(time.time() * 1000),
               "source": {"type": "user", "userId": user}, "replyToken": token, "mode": "active",
               "deliveryContext": {"isRedelivery": False}}
        now = utcnow()
        with transaction(runtime.sessions) as session:
            inbox.add(session, events=[dict(webhook_event_id=raw["webhookEventId"], user_id=user,
                                            event_type=raw["type"], occurred_at=now, is_redelivery=False,
                                            body=json.dumps(raw, ensure_ascii=False))], now=now)
        if profile:
            profile.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        worker.kick(user)
        await worker.idle(recorded=False)   # recorded with the next claim, as in service
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile:
            profile.disable()
        if kind:
            figures[kind].append((cpu, wall))
        got = (await client.get("/_standin/messages", params={"user_id": user, "after": seq.get(user, 0)})).json()
        if not got["messages"]:
            raise SystemExit(f"no answer to {user}'s {event}")
        seq[user] = got["messages"][-1]["seq"]
        return [m["message"] for m in got["messages"]]

    for n in range(args.mothers):
        user = f"U{uuid.uuid4().hex}"
        messages = await turn(user, {"type": "follow", "follow": {"isUnblocked": False}}, None)
        for step in SCREENING:
            messages = await turn(user, pick(messages, step), "screening")
        for step in BOOKING if args.only != "screening" else ():
            messages = await turn(user, pick(messages, step), "booking")
        if n == 0 and not args.quiet:
            print("  last answer of the first mother:", json.dumps(messages, ensure_ascii=False)[:160], flush=True)
    await client.aclose()
    await worker.stop()
    await line.close()
    runtime.engine.dispose()
    if profile:
        profile.dump_stats(args.cprofile)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mothers", type=int, default=40)
    parser.add_argument("--database-url", help="an empty database of your own (default: a fresh SQLite file)")
    parser.add_argument("--redis-url", help="the state store in Redis (a database of your own)")
    parser.add_argument("--cprofile", metavar="FILE", help="write cProfile stats of all the worker's work")
    parser.add_argument("--only", choices=("screening",), help="only the screening (for a profile of it)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args.data = tempfile.mkdtemp(prefix="hagukumi-turncpu-")
    port = free_port()
    standin_url = f"http://127.0.0.1:{port}"
    standin = subprocess.Popen([sys.executable, "-m", "bot.standin.server", "--port", str(port),
                                "--webhook-url", "http://127.0.0.1:9/callback", "--channel-secret", SECRET,
                                "--access-token", TOKEN], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.get(standin_url + "/_standin/messages", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"turn CPU bench: {args.mothers} mothers, database {args.database_url or 'SQLite (temp file)'}"
              f"{', state in Redis' if args.redis_url else ''}; {machine.describe()}", flush=True)
        figures = asyncio.run(run(args, standin_url))
    finally:
        standin.terminate()
        standin.wait()
        shutil.rmtree(args.data, ignore_errors=True)
    print(f"  {'turn':<10} {'taps':>6} {'CPU ms/tap: mean':>17} {'p50':>7} {'p95':>7} {'wall ms: p50':>13} {'p95':>7}")
    verdicts = []
    for kind, rows in figures.items():
        if not rows:
            continue
        cpu = sorted(c * 1000 for c, _ in rows)
        wall = sorted(w * 1000 for _, w in rows)
        mean = statistics.fmean(cpu)
        p95 = int(len(cpu) * 0.95) - 1
        print(f"  {kind:<10} {len(rows):>6} {mean:>17.2f} {statistics.median(cpu):>7.2f} "
              f"{cpu[p95]:>7.2f} {statistics.median(wall):>13.2f} {wall[p95]:>7.2f}")
        verdicts.append(f"{kind} {mean:.2f} ms: {'MET' if mean <= AIM_MS else 'NOT MET'}")
    print(f"  aim: <= {AIM_MS:g} ms CPU per event ({'; '.join(verdicts)})"
          + ("  [under cProfile: not comparable]" if args.cprofile else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
