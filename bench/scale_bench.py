"""Scale-out, run by hand: answering throughput with 1, 2, 3 worker processes on one PostgreSQL database.

    .venv/bin/python bench/scale_bench.py [--events 3000] [--users 300] [--processes 1 2 3]

For each count of worker processes: a fresh PostgreSQL database (TEST_POSTGRES_URL's server; dropped
after), the LINE stand-in (one process), and that many `hagukumi worker` processes (each: the worker and its
dispatcher, as `hagukumi serve` runs one). Once all are connected, --events text events from --users users
(each user's in turn, a reply token from the stand-in each) are written to the inbox in one transaction, as
the webhook stores them (with its NOTIFY), and the clock runs until every event is answered. It prints
events answered per second, CPU per event in the workers, and whether each user's answers were written in the order of her
events (the answer rows' source events, per user, in the order the rows were made). Exit status 0.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import machine  # noqa: E402
import reminders_bench as rb  # noqa: E402

from scheduling.messaging import inbox, wakeup  # noqa: E402
from scheduling.store.db import make_engine, transaction, upgrade_schema  # noqa: E402
from scheduling.store.models import utcnow  # noqa: E402

os.environ.setdefault("HAGUKUMI_DATA_KEYS", Fernet.generate_key().decode())  # the bot needs one; a run's data is thrown away

SECRET, TOKEN = "bench-channel-secret", "bench-access-token"
TEXTS = ("こんにちは", "メニュー", "ありがとう", "使い方", "よろしくお願いします")


def run_once(processes: int, args) -> dict:
    admin, database, url = rb.new_database("scale")
    work = Path(tempfile.mkdtemp(prefix="hagukumi-scale-bench-"))
    engine = make_engine(url)
    running: list[rb.Process] = []
    try:
        upgrade_schema(engine)
        city = rb.quiet_hours_off(work)
        port = rb.free_port()
        standin_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
               "LINE_API_BASE_URL": standin_url, "HAGUKUMI_CITY_CONFIG": str(city)}
        env.pop("REDIS_URL", None)
        standin = rb.Process("standin", [sys.executable, "-m", "bot.standin.server", "--port", str(port),
                                         "--channel-secret", SECRET, "--access-token", TOKEN,
                                         "--reply-token-ttl", "600"], env, work)
        running.append(standin)
        names = [f"worker-{n + 1}" for n in range(processes)]
        workers = [rb.Process(name, [sys.executable, "-m", "bot.cli", "worker"],
                              {**env, "DATABASE_URL": f"{url}?application_name={name}"}, work) for name in names]
        running += workers
        rb.wait_for_standin(standin_url)
        rb.wait_until_connected(admin, database, names, timeout=120)
        time.sleep(2.0)  # every worker past its start (schema, classes)
        users = [f"U{uuid.uuid4().hex}" for _ in range(args.users)]
        per_user = -(-args.events // args.users)
        tokens = {u: httpx.post(f"{standin_url}/_standin/reply_tokens", json={"user_id": u, "count": per_user},
                                timeout=30).json()["tokens"] for u in users}
        now = utcnow()
        rows = []
        for n in range(args.events):
            user, k = users[n % args.users], n // args.users
            raw = {"type": "message", "message": {"type": "text", "id": str(n), "text": TEXTS[n % len(TEXTS)]},
                   "webhookEventId": uuid.uuid4().hex.upper()[:26], "timestamp": int(time.time() * 1000) + n,
                   "source": {"type": "user", "userId": user}, "replyToken": tokens[user][k], "mode": "active",
                   "deliveryContext": {"isRedelivery": False}}
            rows.append(dict(webhook_event_id=raw["webhookEventId"], user_id=user, event_type="message",
                             occurred_at=now + timedelta(milliseconds=k),
                             is_redelivery=False, body=json.dumps(raw, ensure_ascii=False)))
        pids = [w.proc.pid for w in workers]
        cpu_before, busy_before = rb.cpu_seconds(pids), rb.machine_busy_seconds()
        load = os.getloadavg()[0]
        t0 = time.monotonic()
        with transaction(sessions_of(engine)) as session:
            inbox.add(session, events=rows, now=utcnow())   # received now, as the webhook's would be
            wakeup.notify(session.connection(), Counter(row["user_id"] for row in rows))  # as the webhook does
        deadline = t0 + args.timeout
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.execute(text(
                    "SELECT (SELECT count(*) FROM inbound_events WHERE status = 'pending') + "
                    "(SELECT count(*) FROM outgoing_messages WHERE status = 'pending')")).scalar()
            if not left:
                break
            time.sleep(0.2)
        wall = time.monotonic() - t0
        cpu = rb.cpu_seconds(pids) - cpu_before
        busy = rb.machine_busy_seconds() - busy_before
        with engine.connect() as conn:
            answers = conn.execute(text(
                "SELECT o.user_id, o.source_event_id FROM outgoing_messages o ORDER BY o.id")).all()
            done = conn.execute(text("SELECT count(*) FROM inbound_events WHERE status = 'done'")).scalar()
        last: dict[str, int] = {}
        out_of_order = 0
        for user_id, event_id in answers:
            if event_id is not None and last.get(user_id, 0) > event_id:
                out_of_order += 1
            last[user_id] = max(last.get(user_id, 0), event_id or 0)
        return {"processes": processes, "done": done, "wall": wall, "rate": done / wall,
                "cpu_ms": 1000 * cpu / max(done, 1), "machine": 100 * busy / wall, "out_of_order": out_of_order,
                "answers": len(answers), "load": load}
    finally:
        for process in reversed(running):
            process.stop()
        engine.dispose()
        rb.drop_database(admin, database)
        shutil.rmtree(work, ignore_errors=True)


def sessions_of(engine):
    from scheduling.store.db import make_sessionmaker
    return make_sessionmaker(engine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    print(f"scale-out: {args.events} text events from {args.users} users, worker processes {args.processes}, "
          f"{os.cpu_count()} cores; {machine.describe()}", flush=True)
    results = []
    for processes in args.processes:
        result = run_once(processes, args)
        results.append(result)
        print(f"  {processes} worker process(es): {result['done']} answered in {result['wall']:.1f} s = "
              f"{result['rate']:.0f} events/s; {result['cpu_ms']:.1f} ms CPU per event in the workers; machine busy "
              f"{result['machine']:.0f}% of one core; answers out of her order {result['out_of_order']}; "
              f"load average at start {result['load']:.1f}", flush=True)
    base = results[0]["rate"]
    print("  throughput against one process: " + ", ".join(f"{r['processes']}: {r['rate'] / base:.2f}x" for r in results))
    print(f"  per-user order kept in every run: {'MET' if all(r['out_of_order'] == 0 for r in results) else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
