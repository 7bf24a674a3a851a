"""Booking benchmark, run by hand: many concurrent booking attempts on PostgreSQL at the last places.

    .venv/bin/python bench/booking_bench.py [--attempts 1000] [--processes 2] [--threads 8] [--only class|care]

Creates a fresh PostgreSQL database (dropped at the end), then runs two races:

- class: --attempts mothers (one place each) at one class session with 20 places;
- care:  --attempts mothers asking for short stays of 1 to 4 nights, from five start days in a row, at one
  provider with 3 beds (so stays overlap and compete for nights).

Each attempt is its own transaction through scheduling.store.db.transaction and classes.book (or
care_bookings.request), from --processes processes of --threads threads, each thread with its own
connection (opened before the clock starts); all processes start together. It prints the bookings
made (class: must be 20; care: no night over 3 beds, and the counters agree with the bookings),
attempts per second (all attempts over the wall time from start to the last answer) and the latency of
one attempt (p50, p99, max). Exit status 0: it is a report, not a test.
"""
import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scheduling.care import capacity, care_bookings, providers  # noqa: E402
from scheduling.city.booking_config import parse_booking_config  # noqa: E402
from scheduling.classes import classes  # noqa: E402
from scheduling.dates.calendar import JST  # noqa: E402
from scheduling.rules import load_rules  # noqa: E402
from scheduling.store.db import make_engine, make_sessionmaker, transaction, upgrade_schema  # noqa: E402
from scheduling.store.models import CareBooking, ClassBooking, ClassSession  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 6, 20, 9, 0, tzinfo=JST)
PLACES, BEDS = 20, 3
FIRST_NIGHT = date(2026, 6, 29)
CONFIG = parse_booking_config(f'''
[policy]

[[providers]]
id = "kaede"
name = "かえでクリニック"
phone = "0123-45-4444"
types = ["short_stay"]
beds = {BEDS}
open_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
holidays = "open"

[[classes]]
id = "papamama"
title = "パパママ教室"
place = "児童館"
capacity = {PLACES}
opens_days_before = 60
pregnancy_weeks = {{ min = 16, max = 37 }}
dates = [2026-07-11]
''')
RULES = load_rules(ROOT / "config" / "rules" / "hagukumi.toml")
ANSWERS = {"relationship": "birth", "residence": "resident", "birth_date": "2026-04-15", "exclusions": "none",
           "babies": 1, "preterm": "no"}


def attempt(kind: str, session, n: int, session_id: int):
    if kind == "class":
        return classes.book(session, config=CONFIG, session_id=session_id, user_id=f"U{n}", party=1,
                            request_key=f"class-{n}", now=NOW)
    request = care_bookings.Request(f"U{n}", "short_stay", FIRST_NIGHT + timedelta(days=n % 5), f"care-{n}",
                                    "kaede", 1 + n % 4)
    return care_bookings.request(session, config=CONFIG, rules=RULES, request=request, answers=ANSWERS, now=NOW)


def run_process(url: str, kind: str, numbers: list[int], threads: int, session_id: int, start, out) -> None:
    """One process: `threads` threads, each with its own connection, share `numbers` (one attempt each)."""
    engine = create_engine(make_engine(url).url, pool_size=threads, max_overflow=0)
    sessions = make_sessionmaker(engine)
    ready = threading.Barrier(threads + 1)
    shares = [numbers[i::threads] for i in range(threads)]
    latencies, problems, errors = [], Counter(), []

    def work(share):
        with engine.connect() as conn:                 # a connection in the pool before the clock starts
            conn.execute(text("SELECT 1"))
        ready.wait()
        ready.wait()
        for n in share:
            began = time.monotonic()
            try:
                with transaction(sessions) as session:
                    outcome = attempt(kind, session, n, session_id)
                problems["booked" if outcome.ok else outcome.problem] += 1
            except Exception as error:  # noqa: BLE001
                errors.append(repr(error)[:200])
            latencies.append(time.monotonic() - began)
    pool = [threading.Thread(target=work, args=(share,)) for share in shares]
    for thread in pool:
        thread.start()
    ready.wait()             # every thread connected
    start.wait()             # every process ready
    began = time.monotonic()
    ready.wait()
    for thread in pool:
        thread.join()
    out.put((began, time.monotonic(), latencies, dict(problems), errors))
    engine.dispose()


def race(url: str, kind: str, attempts: int, processes: int, threads: int, session_id: int) -> dict:
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(processes), context.Queue()
    numbers = list(range(attempts))
    workers = [context.Process(target=run_process, args=(url, kind, numbers[p::processes], threads, session_id,
                                                         start, out)) for p in range(processes)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    latencies = sorted(x for r in results for x in r[2])
    problems = sum((Counter(r[3]) for r in results), Counter())
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    return {"wall": wall, "latencies": latencies, "problems": problems, "errors": [e for r in results for e in r[4]]}


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def report(kind: str, figures: dict, attempts: int, checks: list[tuple[str, bool]]) -> None:
    lat = figures["latencies"]
    print(f"\n{kind}: {attempts} attempts in {figures['wall']:.2f} s")
    print(f"  outcomes          {dict(figures['problems'])}")
    print(f"  attempts/s        {attempts / figures['wall']:.0f}")
    print(f"  latency ms        p50 {percentile(lat, 0.5) * 1000:.1f}   p99 {percentile(lat, 0.99) * 1000:.1f}"
          f"   max {lat[-1] * 1000:.1f}   mean {statistics.mean(lat) * 1000:.1f}")
    if figures["errors"]:
        print(f"  errors            {len(figures['errors'])}: {figures['errors'][:3]}")
    for label, ok in checks:
        print(f"  {label:<56} {'OK' if ok else 'WRONG'}")


def class_checks(sessions, session_id: int, figures: dict) -> list[tuple[str, bool]]:
    with transaction(sessions) as session:
        rows = session.scalars(select(ClassBooking).where(ClassBooking.session_id == session_id)).all()
        day = session.get(ClassSession, session_id).day
        used = capacity.used(session, resource=classes.resource(session_id), first=day, last=day)[(day, "")][0]
    return [(f"bookings made = {len(rows)} (must be {PLACES})", len(rows) == PLACES),
            (f"answered booked = {figures['problems']['booked']}", figures["problems"]["booked"] == PLACES),
            (f"places counted = {used}", used == PLACES)]


def care_checks(sessions, figures: dict) -> list[tuple[str, bool]]:
    with transaction(sessions) as session:
        rows = session.scalars(select(CareBooking)).all()
        resource = providers.resource("short_stay", providers.ids(session)["kaede"])
        counters = capacity.used(session, resource=resource, first="2026-06-01", last="2026-07-31")
    guests = Counter((date.fromisoformat(b.start_date) + timedelta(days=n)).isoformat()
                     for b in rows for n in range(b.nights))
    counted = {day: n for (day, _), (n, _) in counters.items() if n}
    return [(f"bookings made = {len(rows)} (answered booked = {figures['problems']['booked']})",
             len(rows) == figures["problems"]["booked"]),
            (f"most mothers in a night = {max(guests.values())} (beds {BEDS})", max(guests.values()) <= BEDS),
            ("counters agree with the bookings, night by night", counted == dict(guests))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--only", choices=("class", "care"))
    args = parser.parse_args()
    name = f"hagukumi_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    print(f"database {name}; {args.processes} processes x {args.threads} threads "
          f"({args.processes * args.threads} connections); {os.cpu_count()} cores")
    try:
        engine = make_engine(url)
        upgrade_schema(engine)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            providers.sync(session, config=CONFIG)
            classes.sync(session, config=CONFIG, today=NOW.date())
            session_id = session.scalars(select(ClassSession.id)).one()
        for kind in ("class", "care"):
            if args.only in (None, kind):
                figures = race(url, kind, args.attempts, args.processes, args.threads, session_id)
                checks = class_checks(sessions, session_id, figures) if kind == "class" else care_checks(sessions,
                                                                                                         figures)
                report(kind, figures, args.attempts, checks)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
