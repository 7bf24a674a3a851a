"""Pregnancy benchmark, run by hand: register many pregnancies, pick today's due pushes, dispatch them.

    .venv/bin/python bench/pregnancy_bench.py [--mothers 100000] [--checkpoint 10000] [--line-latency 0.05]

In a fresh PostgreSQL database (created and dropped like tests/conftest.py):

1. registers --mothers pregnancies, one transaction each as in the chat (mothers.register_pregnancy: her
   row, the call row, her planned pushes), due dates spread evenly over the coming year, half of them a
   first baby, 1 in 100 twins: registrations/s and rows/s (ANALYZE every 10,000, as autovacuum would);
2. after --checkpoint and after all of them, times picking today's due pushes (reminders.claim_due in a
   transaction rolled back): a pick when nothing is due, the first 50, and all of today's;
3. starts the LINE stand-in (python -m bot.standin.server) and two dispatchers (hagukumi dispatch), each
   its own process, kills one with SIGKILL once a third of today's pushes have arrived, lets the other
   finish after the lease (60 s), and counts deliveries per X-Line-Retry-Key (duplicates must be 0).

The timed pushes come from config/pregnancy.toml with push_time "00:00", so today's are due whatever the
hour. The dispatchers read a copy of config/ whose quiet hours end a minute or so after they start, so
both start pushing at the same moment. Exit status 0: it is a report, not a test.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scheduling.city.pregnancy_config import load_pregnancy_config  # noqa: E402
from scheduling.dates.calendar import JST, at, jst_today  # noqa: E402
from scheduling.family import mothers  # noqa: E402
from scheduling.messaging import reminders  # noqa: E402
from scheduling.store.db import make_engine, make_sessionmaker, transaction, upgrade_schema  # noqa: E402
from scheduling.store.models import Call, Mother, Reminder, utcnow  # noqa: E402

os.environ.setdefault("HAGUKUMI_DATA_KEYS", Fernet.generate_key().decode())  # the bot needs one; a run's data is thrown away

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET, TOKEN = "bench-channel-secret", "bench-access-token"


# --- the city's files, copied with the bench's settings ----------------------------------------------

def city_copy(folder: Path, *, quiet: tuple[str, str] | None = None) -> Path:
    """config/ in `folder`: timed pushes at 00:00 and, if given, other quiet hours. Returns city.toml."""
    if not folder.exists():
        shutil.copytree(ROOT / "config", folder)
    pregnancy = folder / "pregnancy.toml"
    pregnancy.write_text(re.sub(r'push_time = "[0-9:]+"', 'push_time = "00:00"', pregnancy.read_text()))
    if quiet:
        booking = folder / "booking.toml"
        booking.write_text(re.sub(r"quiet_hours = \{[^}]*\}", f'quiet_hours = {{ from = "{quiet[0]}", '
                                  f'until = "{quiet[1]}" }}', booking.read_text()))
    return folder / "city.toml"


# --- 1. registering ------------------------------------------------------------------------------------

def register(engine, sessions, config, *, first: int, last: int, today: date) -> float:
    """Registrations first..last-1, one transaction each, due dates in turn over the coming 365 days
    (so any first n are spread over the year); the seconds it took, ANALYZE excluded."""
    started, analyzing = time.perf_counter(), 0.0
    for n in range(first, last):
        with transaction(sessions) as session:
            mothers.register_pregnancy(session, config=config, user_id=user_of(n), now=utcnow(),
                                       due_date=today + timedelta(days=n % 365),
                                       babies=2 if n % 100 == 0 else 1, first_baby=n % 4 < 2)
        if (n + 1) % 10_000 == 0:
            analyzing += analyze(engine)
            print(f"    {n + 1:>7,} registered ({time.perf_counter() - started - analyzing:.0f} s)", flush=True)
    return time.perf_counter() - started - analyzing


def analyze(engine) -> float:
    """What autovacuum does as tables grow (this bench may run where it is off): fresh statistics,
    so that plans PostgreSQL cached for prepared statements while the tables were small are made again."""
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


def user_of(n: int) -> str:
    return "U" + uuid.uuid5(uuid.NAMESPACE_URL, f"bench-mother-{n}").hex


def rows(sessions) -> dict[str, int]:
    with sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Mother, Call, Reminder)}


# --- 2. picking today's due pushes -----------------------------------------------------------------

def pick_times(sessions, *, now: datetime, today_start: datetime, repeat: int = 7) -> dict[str, tuple[float, int]]:
    """Median ms and rows of: a pick with nothing due, the first 50 due, all due today (in batches of 200)."""
    def timed(moment, limit, until_empty=False):
        times, count = [], 0
        for _ in range(repeat):
            with sessions() as session:
                started = time.perf_counter()
                count = 0
                while True:
                    got = len(reminders.claim_due(session, now=moment, limit=limit))
                    count += got
                    if not until_empty or got < limit:
                        break
                times.append((time.perf_counter() - started) * 1000)
                session.rollback()
        return statistics.median(times), count

    return {"nothing due": timed(today_start - timedelta(seconds=1), 200),
            "first 50 due": timed(now, 50),
            "all due today": timed(now, 200, until_empty=True)}


def pick_plan(engine, sessions, now: datetime) -> str:
    """The index line of PostgreSQL's plan for claim_due's statement."""
    from sqlalchemy import event
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "due_at" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    with sessions() as session:
        reminders.claim_due(session, now=now)
        session.rollback()
    event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as conn:
        plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + captured[0][0], captured[0][1])]
    return next((line.strip().lstrip("-> ").split("  (")[0] for line in plan if "ix_reminders_status_due" in line),
                "ix_reminders_status_due NOT USED:\n" + "\n".join(plan))


# --- 3. dispatching ------------------------------------------------------------------------------------

class Process:
    def __init__(self, name: str, argv: list[str], env: dict, logs: Path):
        self.name, self.log_path = name, logs / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (kept open for the child process)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, signum=signal.SIGKILL) -> None:
        if self.alive():
            os.kill(self.proc.pid, signum)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()

    def tail(self, lines: int = 15) -> str:
        if not self._log.closed:
            self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return None


def pushes_seen(client: httpx.Client) -> list[dict]:
    return [r for r in client.get("/_standin/requests").json() if r["endpoint"] == "push"]


def pending_due(sessions, now: datetime) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Reminder)
                              .where(Reminder.status == "pending", Reminder.due_at <= now))


def dispatch(args, sessions, database_url: str, tmp: Path, due_users: list[str], due: int) -> dict:
    port = free_port()
    standin_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "HAGUKUMI_CITY_CONFIG")}
    env.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN, PYTHONUNBUFFERED="1")
    py = sys.executable
    standin = Process("standin", [py, "-m", "bot.standin.server", "--port", str(port), "--channel-secret", SECRET,
                                  "--access-token", TOKEN], env, tmp)
    started: list[Process] = [standin]
    result = {}
    try:
        client = httpx.Client(base_url=standin_url, timeout=30)
        if not wait_for(lambda: _answers(client), 30):
            raise RuntimeError("the stand-in did not start:\n" + standin.tail())
        for user in due_users:   # followers, so each push arrives as a message
            client.post("/_standin/users", json={"user_id": user, "followed": True}).raise_for_status()
        if args.line_latency:
            client.post("/_standin/faults", json={"endpoint": "push", "delay": args.line_latency,
                                                  "count": 10 * due + 1000}).raise_for_status()
        # quiet hours that end on the next minute at least 25 s away: both dispatchers start together
        now = datetime.now(JST)
        opens = (now + timedelta(seconds=85)).replace(second=0, microsecond=0)
        quiet = ((now - timedelta(minutes=5)).strftime("%H:%M"), opens.strftime("%H:%M"))
        city = city_copy(tmp / "config", quiet=quiet)
        bot_env = dict(env, DATABASE_URL=database_url, LINE_API_BASE_URL=standin_url, HAGUKUMI_CITY_CONFIG=str(city))
        first = Process("dispatcher-1", [py, "-m", "bot.cli", "dispatch"], bot_env, tmp)
        second = Process("dispatcher-2", [py, "-m", "bot.cli", "dispatch"], bot_env, tmp)
        started += [first, second]
        print(f"  two dispatchers started (pids {first.proc.pid}, {second.proc.pid}); quiet hours end at "
              f"{opens:%H:%M:%S} JST", flush=True)
        while datetime.now(JST) < opens:
            if not (first.alive() and second.alive()):
                raise RuntimeError("a dispatcher exited:\n" + first.tail() + "\n" + second.tail())
            time.sleep(0.2)
        first_push = killed_at = None
        while killed_at is None:   # watch the stand-in; kill dispatcher-1 once a third has arrived
            accepted = sum(p["status"] == 200 for p in pushes_seen(client))
            if accepted and first_push is None:
                first_push = time.monotonic()
            if accepted >= max(1, due // 3):
                first.kill(signal.SIGKILL)
                killed_at = time.monotonic()
            elif time.time() - opens.timestamp() > 120:
                raise RuntimeError("a third of the pushes did not arrive in 120 s:\n" + first.tail() + "\n"
                                   + second.tail())
            time.sleep(0.02)
        at_kill = sum(p["status"] == 200 for p in pushes_seen(client))
        time.sleep(3)   # dispatcher-2 records its own pushes in flight: what stays leased was the killed one's
        stranded = _leased(sessions)
        print(f"  SIGKILL dispatcher-1 {killed_at - first_push:.2f} s after the first push: {at_kill:,} accepted; "
              f"3 s later {stranded} rows are still leased by it", flush=True)
        last_new, keys_seen = killed_at, 0
        deadline = killed_at + args.finish_timeout
        while pending_due(sessions, utcnow()) and time.monotonic() < deadline:
            keys = len({p["retry_key"] for p in pushes_seen(client) if p["status"] == 200})
            if keys > keys_seen:
                last_new, keys_seen = time.monotonic(), keys
            time.sleep(0.25)
        finished = time.monotonic()
        left = pending_due(sessions, utcnow())
        if left:
            print(f"  NOT FINISHED after {args.finish_timeout:.0f} s: {left} rows pending", flush=True)
        log = pushes_seen(client)
        accepted = [p for p in log if p["status"] == 200]
        per_key = Counter(p["retry_key"] for p in accepted)
        if len(per_key) > keys_seen:
            last_new = finished
        messages = client.get("/_standin/messages").json()["messages"]
        per_message = Counter((m["user_id"], json.dumps(m["message"], sort_keys=True)) for m in messages)
        with sessions() as session:
            by_status = dict(session.execute(select(Reminder.status, func.count()).where(
                Reminder.due_at <= utcnow()).group_by(Reminder.status)).all())
        result = {
            "due": due, "requests": len(log), "accepted": len(accepted), "keys": len(per_key),
            "duplicates": sum(1 for n in per_key.values() if n > 1),
            "conflicts": sum(p["status"] == 409 for p in log),
            "other": Counter(p["status"] for p in log if p["status"] not in (200, 409)),
            "messages": len(messages), "repeated_messages": sum(1 for n in per_message.values() if n > 1),
            "before_kill": at_kill, "kill_s": killed_at - first_push, "stranded": stranded,
            "all_s": finished - first_push, "last_new_s": last_new - first_push, "rows": by_status,
        }
        second.kill(signal.SIGTERM)
    finally:
        for process in started:
            if process.alive():
                process.kill(signal.SIGTERM)
    return result


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/_standin/messages").status_code == 200
    except httpx.HTTPError:
        return False


def _leased(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Reminder).where(
            Reminder.status == "pending", Reminder.lease_until > utcnow()))


# --- the run -------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mothers", type=int, default=100_000)
    parser.add_argument("--checkpoint", type=int, default=10_000, help="also time the pick after this many")
    parser.add_argument("--line-latency", type=float, default=0.05,
                        help="seconds the stand-in takes per push, like LINE's API (0: none)")
    parser.add_argument("--finish-timeout", type=float, default=240.0)
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hagukumi-pregnancy-bench-"))
    config = load_pregnancy_config(city_copy(tmp / "config").parent / "pregnancy.toml")
    name = f"hagukumi_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(database_url)
    try:
        upgrade_schema(engine)
        sessions = make_sessionmaker(engine)
        now = utcnow()
        today = jst_today(now)
        today_start = at(today, "00:00")
        print(f"Hagukumi pregnancy benchmark: {args.mothers:,} pregnancies due {today} .. "
              f"{today + timedelta(days=364)}, {os.cpu_count()} cores "
              f"(load {os.getloadavg()[0]:.1f}), PostgreSQL database {name}", flush=True)
        with engine.connect() as conn:
            autovacuum = conn.execute(text("SHOW autovacuum")).scalar()
        print(f"  autovacuum is {autovacuum} here; the bench runs ANALYZE after every 10,000 registrations",
              flush=True)
        print(f"  timed pushes: call notice at week {config.call_push_week}, "
              + ", ".join(f"{p.key} ({p.to})" for p in config.timed_pushes) + ", all at 00:00 JST", flush=True)

        figures, picks = [], {}
        done = 0
        for upto in sorted({min(args.checkpoint, args.mothers), args.mothers}):
            seconds = register(engine, sessions, config, first=done, last=upto, today=today)
            before = sum(figures[-1][2].values()) if figures else 0
            counted = rows(sessions)
            figures.append((upto - done, seconds, counted, sum(counted.values()) - before))
            done = upto
            analyze(engine)
            picks[upto] = (pick_times(sessions, now=utcnow(), today_start=today_start),
                           pick_plan(engine, sessions, utcnow()), counted["reminders"])

        print("\n1. Registering (one transaction each: her row, the call row, her planned pushes)")
        print(f"   {'registrations':>13} {'seconds':>8} {'per s':>7} {'rows written':>13} {'rows/s':>8}")
        for count, seconds, _, written in figures:
            print(f"   {count:>13,} {seconds:>8.1f} {count / seconds:>7.0f} {written:>13,} {written / seconds:>8.0f}")
        total_rows = figures[-1][2]
        print(f"   tables now: {', '.join(f'{k} {v:,}' for k, v in total_rows.items())}")

        print("\n2. Picking today's due pushes (reminders.claim_due, median of 7, rolled back)")
        print(f"   {'registered':>10} {'reminder rows':>13}   "
              + "   ".join(f"{k:>22}" for k in picks[args.mothers][0]))
        for upto, (times, _, reminder_rows) in picks.items():
            print(f"   {upto:>10,} {reminder_rows:>13,}   " + "   ".join(
                f"{ms:>8.2f} ms ({count:>5,} rows)" for ms, count in times.values()))
        print(f"   plan at {args.mothers:,}: {picks[args.mothers][1]}")

        due = picks[args.mothers][0]["all due today"][1]
        with sessions() as session:
            due_users = sorted(set(session.scalars(select(Reminder.user_id).where(
                Reminder.status == "pending", Reminder.due_at <= utcnow()))))
        print(f"\n3. Dispatching today's {due:,} pushes to the stand-in (LINE latency "
              f"{args.line_latency * 1000:.0f} ms per push), two dispatchers, one killed", flush=True)
        result = dispatch(args, sessions, database_url, tmp, due_users, due)
        if result:
            rate = result["before_kill"] / result["kill_s"] if result["kill_s"] else 0
            print(f"   pushes accepted before the kill : {result['before_kill']:,} in {result['kill_s']:.2f} s "
                  f"({rate:.0f} pushes/s with two dispatchers)")
            print(f"   rows held by the killed one     : {result['stranded']:,} (claimed again after their 60 s lease)")
            print(f"   every push accepted after       : {result['last_new_s']:.1f} s from the first; no row left "
                  f"pending after {result['all_s']:.1f} s (overall {result['due'] / result['all_s']:.0f} pushes/s, "
                  "the lease wait included)")
            print(f"   push requests                   : {result['requests']:,} = {result['accepted']:,} accepted "
                  f"+ {result['conflicts']:,} answered 409 (already accepted: a resend after the kill)"
                  + (f" + other {dict(result['other'])}" if result["other"] else ""))
            print(f"   distinct retry keys accepted    : {result['keys']:,} of {result['due']:,} due")
            print(f"   DUPLICATES (keys accepted twice): {result['duplicates']}   messages delivered: "
                  f"{result['messages']:,}, the same message to the same user twice: {result['repeated_messages']}")
            print(f"   reminder rows due by now        : {result['rows']}")
    finally:
        engine.dispose()
        if not args.keep_database:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        kept = f"; database kept: {database_url}" if args.keep_database else ""
        print(f"\n  load average now {os.getloadavg()[0]:.1f}; logs: {tmp}{kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
