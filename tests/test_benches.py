"""The benchmarks are reports, not tests; these runs at toy size only show that they still run end to
end against the code as it is (a change once broke every benchmark that starts the bot, unseen for a
session). The figures they print at this size mean nothing."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow(5)
def test_turn_cpu_runs_a_screening_and_a_booking_through():
    out = bench("bench/turn_cpu.py", "--mothers", "1", "--quiet")
    assert re.search(r"^  screening +6 ", out, re.M) and re.search(r"^  booking +4 ", out, re.M)


@pytest.mark.slow(6)
def test_reminders_bench_sends_every_reminder_once(worker_postgres):
    out = bench("bench/reminders_bench.py", "--reminders", "100", "--dispatchers", "1")
    assert "duplicates 0: MET; all sent: MET" in out


@pytest.mark.slow(25)
def test_rush_bench_books_exactly_the_places_and_answers_every_tap(worker_postgres):
    out = bench("bench/rush_bench.py", "--mothers", "60", "--tappers", "12", "--places", "4", "--window", "2",
                timeout=180)
    assert "booked: 4 bookings, 4 places (must be 4): MET" in out
    assert "taps without an answer: 0; mothers answered more often than they tapped: 0" in out


@pytest.mark.slow(15)
def test_webhook_bench_acknowledging_alone_stores_every_acknowledged_event():
    # also `hagukumi serve --worker-processes 0` end to end: webhook processes only, nothing answers
    out = bench("bench/webhook_bench.py", "--wrk", "--acknowledge-only", "--seconds", "1", "--wrk-rounds", "1",
                "--wrk-events", "300", "--users", "20", "--workers", "1")
    assert re.search(r"distinct events acknowledged \d+, stored \d+: none lost", out)
    assert "inbound_events {'pending': 300}" in out
