"""Webhook benchmark, run by hand: the bot against a bare signature-checking endpoint.

    .venv/bin/python bench/webhook_bench.py [--seconds 10] [--database-url URL] [--redis-url URL]

Starts, on 127.0.0.1 only: the LINE stand-in (1 uvicorn worker), the bot (`uvicorn bot.app:app --workers 2`,
LINE_API_BASE_URL pointing at the stand-in, a fresh SQLite file unless --database-url) and
bench/bare_app.py (2 workers). This process is the load generator (asyncio + aiohttp, kept-alive
connections). Each request is one signed text-message event from one of --users user ids, with a fresh
webhookEventId and a reply token issued by the stand-in before the timed phase.

For each server: phase A, closed loop at --concurrency for --seconds (acknowledged requests/s, p50, p99);
phase B, open loop at --rate requests/s for --seconds (latency from the scheduled send time). Then it
waits (at most --drain-timeout s) until every event the bot acknowledged has been answered, reads the
peak RSS (VmHWM) of each bot worker, prints a table and the aims, and stops everything. Exit status 0:
it is a report, not a test.

--wrk: the wrk-style comparison instead (floor and bot alternated, --wrk-rounds rounds); with
--acknowledge-only the bot runs without its worker process (`serve --worker-processes 0`, as webhook
machines would beside worker machines), so the figure is acknowledging alone, and the run ends by
checking that every acknowledged event is stored.
"""
import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import machine  # noqa: E402

from bot.standin.server import new_event_id, new_message_id, sign  # noqa: E402

os.environ.setdefault("HAGUKUMI_DATA_KEYS", Fernet.generate_key().decode())  # the bot needs one; a run's data is thrown away

SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
DESTINATION = "U" + hashlib.md5(SECRET.encode()).hexdigest()
TEXTS = ("こんにちは", "メニュー", "産後ケアについて教えてください", "教室はいつですか", "予約したいです",
         "ありがとう", "help", "よろしくお願いします")
CLK_TCK = os.sysconf("SC_CLK_TCK")
AIM_RATIO, AIM_P99_MS, AIM_RSS_MB = 0.5, 50.0, 150.0
# Both servers run through bot.serve, which turns TCP_NODELAY on (uvicorn issue #3149: with --workers > 1
# uvicorn leaves it off and each keep-alive response waits ~40 ms); --uvicorn-default shows that delay.


# --- processes ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path, health_url: str):
        self.name, self.health_url = name, health_url
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (kept open for the child process)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log:\n{self.log()}")
            try:
                if httpx.get(self.health_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {self.health_url} in {timeout:.0f} s; log:\n{self.log()}")

    def workers(self) -> list[int]:
        """uvicorn's worker processes and the bot's worker process (children of the supervisor),
        or the process itself."""
        kids = [pid for pid in children(self.proc.pid)
                if b"spawn_main" in cmdline(pid) or b"bot.cli\x00worker" in cmdline(pid)]
        return kids or [self.proc.pid]

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the process group (the server and its workers), then SIGKILL if needed."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group, if any
        self.proc.wait()
        self._log.close()


def children(ppid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
                found.append(int(entry))
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        except OSError:
            pass
    return total


class CpuMeter:
    """CPU seconds used by each part while a phase runs (the machine has os.cpu_count() cores)."""

    def __init__(self, parts: dict[str, list[int]]):
        self.parts = parts

    def snapshot(self) -> dict[str, float]:
        snap = {name: cpu_seconds(pids) for name, pids in self.parts.items()}
        times = os.times()
        snap["loadgen"] = times.user + times.system
        snap["_wall"] = time.monotonic()
        return snap

    @staticmethod
    def share(before: dict, after: dict) -> str:
        wall = after["_wall"] - before["_wall"]
        return "  ".join(f"{k} {100 * (after[k] - before[k]) / wall:.0f}%" for k in after if k != "_wall")


# --- load ---------------------------------------------------------------------------------------------

class Events:
    """Signed one-event webhook bodies, users in turn, each with a reply token from the stand-in."""

    def __init__(self, users: list[str]):
        self.users = users
        self.tokens: list[tuple[str, str]] = []
        self.next = 0
        self.without_token = 0
        self.acked_tokens: set[str] = set()
        self.acked = 0

    def issue(self, standin_url: str, total: int) -> None:
        per_user = max(1, -(-total // len(self.users)))
        with httpx.Client(base_url=standin_url, timeout=30) as client:
            pools = []
            for user in self.users:
                response = client.post("/_standin/reply_tokens", json={"user_id": user, "count": per_user})
                response.raise_for_status()
                pools.append([(user, t) for t in response.json()["tokens"]])
        self.tokens = [pool[i] for i in range(per_user) for pool in pools]  # users in turn
        self.next = 0

    def make(self) -> tuple[bytes, str, str | None]:
        if self.next < len(self.tokens):
            user, token = self.tokens[self.next]
        else:  # ran out: the bot will find the token refused and push instead
            user, token = self.users[self.next % len(self.users)], None
            self.without_token += 1
        self.next += 1
        text_ = TEXTS[self.next % len(TEXTS)]
        event = {
            "type": "message",
            "message": {"type": "text", "id": new_message_id(), "quoteToken": uuid.uuid4().hex, "text": text_},
            "webhookEventId": new_event_id(),
            "deliveryContext": {"isRedelivery": False},
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user},
            "replyToken": token or uuid.uuid4().hex,
            "mode": "active",
        }
        body = json.dumps({"destination": DESTINATION, "events": [event]}, ensure_ascii=False,
                          separators=(",", ":")).encode()
        return body, sign(SECRET, body), token

    def acknowledged(self, token: str | None) -> None:
        self.acked += 1
        if token:
            self.acked_tokens.add(token)


class Tally:
    def __init__(self):
        self.latencies: list[float] = []
        self.errors: Counter = Counter()

    def result(self, elapsed: float) -> dict:
        lat = sorted(self.latencies)
        return {"ok": len(lat), "rps": len(lat) / elapsed, "p50": pct(lat, 50), "p99": pct(lat, 99),
                "max": lat[-1] * 1000 if lat else float("nan"), "errors": dict(self.errors),
                "elapsed": elapsed}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))  # nearest rank
    return values[k] * 1000


async def post(session: aiohttp.ClientSession, url: str, events: Events, tally: Tally, start: float | None):
    body, signature, token = events.make()
    start = time.perf_counter() if start is None else start
    try:
        async with session.post(url, data=body, headers={
                "Content-Type": "application/json; charset=utf-8", "X-Line-Signature": signature,
                "User-Agent": "LineBotWebhook/2.0"}) as response:
            await response.read()
            status = response.status
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is a figure here
        tally.errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
        return
    if status == 200:
        tally.latencies.append(time.perf_counter() - start)
        events.acknowledged(token)
    else:
        tally.errors[f"HTTP {status}"] += 1


def session_for(connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
                                 timeout=aiohttp.ClientTimeout(total=30))


async def closed_loop(url: str, events: Events, seconds: float, concurrency: int) -> dict:
    tally = Tally()
    async with session_for(concurrency) as session:
        t0 = time.perf_counter()
        deadline = t0 + seconds

        async def client():
            while time.perf_counter() < deadline:
                await post(session, url, events, tally, None)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        return tally.result(time.perf_counter() - t0)


async def open_loop(url: str, events: Events, seconds: float, rate: float, grace: float = 15.0) -> dict:
    """Send on schedule whatever the answers; latency counts from the scheduled time."""
    tally = Tally()
    lag: list[float] = []
    async with session_for(512) as session:
        n = int(seconds * rate)
        t0 = time.perf_counter() + 0.05
        tasks = []
        for i in range(n):
            at = t0 + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag.append(time.perf_counter() - at)
            tasks.append(asyncio.create_task(post(session, url, events, tally, at)))
        sent_in = time.perf_counter() - t0
        done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            tally.errors[f"no answer {grace:.0f} s after the last send"] += len(pending)
        result = tally.result(seconds)
        result["rps"] = n / sent_in  # the offered rate actually achieved
        result["gen_lag_p99"] = pct(sorted(lag), 99)
        return result


async def warm_up(url: str, events: Events, count: int = 200) -> None:
    tally = Tally()
    async with session_for(16) as session:
        for _i in range(0, count, 16):
            await asyncio.gather(*(post(session, url, events, tally, None) for _ in range(16)))


# --- the wrk-style comparison (--wrk) ------------------------------------------------------------------

WRK_SCRIPT = ROOT / "bench" / "wrk_events.lua"


def write_events(path: Path, events: Events, count: int) -> Path:
    """`count` distinct signed one-event bodies, one a line: signature TAB body (bench/wrk_events.lua)."""
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(count):
            body, signature, _token = events.make()
            out.write(f"{signature}\t{body.decode()}\n")
    return path


def run_wrk(url: str, events_file: Path, args) -> dict:
    """One wrk run: requests/s, p50/p99/max ms, errors, and how many events were sent a second time."""
    argv = ["wrk", f"-t{args.wrk_threads}", f"-c{args.concurrency}", f"-d{args.seconds:g}s", "--latency",
            "-s", str(WRK_SCRIPT), url, "--", str(events_file), str(args.wrk_threads)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.seconds + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    fields = line.split()[1:]
    found = {fields[i]: float(fields[i + 1]) for i in range(0, len(fields), 2)}
    return {"ok": int(found["requests"]), "rps": found["requests"] / found["seconds"], "p50": found["p50_ms"],
            "p99": found["p99_ms"], "max": found["max_ms"],
            "errors": {"wrk errors": int(found["errors"])} if found["errors"] else {},
            "repeated": int(found["repeated"]), "elapsed": found["seconds"]}


async def own_generator(url: str, lines: list[tuple[bytes, str]], seconds: float, connections: int) -> dict:
    """Without wrk: closed loop over the same pre-signed bodies, `connections` in flight (one Python process,
    so a fast server may be measured against the generator's limit: the CPU line shows it)."""
    tally, position = Tally(), [0]
    async with session_for(connections) as session:
        t0 = time.perf_counter()
        deadline = t0 + seconds

        async def client():
            while time.perf_counter() < deadline:
                body, signature = lines[position[0] % len(lines)]
                position[0] += 1
                start = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers={
                            "Content-Type": "application/json; charset=utf-8", "X-Line-Signature": signature}) as r:
                        await r.read()
                        status = r.status
                except Exception as exc:  # noqa: BLE001
                    tally.errors[f"{type(exc).__name__}"] += 1
                    continue
                if status == 200:
                    tally.latencies.append(time.perf_counter() - start)
                else:
                    tally.errors[f"HTTP {status}"] += 1

        await asyncio.gather(*(client() for _ in range(connections)))
        result = tally.result(time.perf_counter() - t0)
        result["repeated"] = max(0, position[0] - len(lines))
        return result


def wrk_comparison(args, urls: dict, meter: "CpuMeter", users: list[str], tmp: Path,
                   db: "BotDb") -> list[tuple[str, dict, str]]:
    """Floor and bot alternated --wrk-rounds times, each run on events of its own (--wrk-events distinct)."""
    have_wrk = shutil.which("wrk") is not None
    print(f"  wrk-style: {'wrk' if have_wrk else 'wrk not installed: own generator (one Python process)'}, "
          f"{args.wrk_threads} threads, {args.concurrency} connections, {args.wrk_events} distinct pre-signed "
          f"events per run, {args.seconds:g} s per run", flush=True)
    runs = []
    for round_no in range(1, args.wrk_rounds + 1):
        for name in ("bare", "bot"):
            if name == "bare" and round_no > 1 and not args.acknowledge_only:  # not while the bot still answers
                ok, counts, waited = db.wait_settled(args.drain_timeout)
                print(f"  (bot backlog {'answered' if ok else 'NOT answered'} after {waited:.0f} s: {counts['inbound']})",
                      flush=True)
            events = Events(users)
            if name == "bot":
                events.issue(urls["standin"], args.wrk_events)
            path = write_events(tmp / f"events-{name}-{round_no}.txt", events, args.wrk_events)
            url = urls[name] + "/callback"
            before = meter.snapshot()
            if have_wrk:
                result = run_wrk(url, path, args)
            else:
                lines = [(line.split("\t", 1)[1].rstrip("\n").encode(), line.split("\t", 1)[0])
                         for line in path.read_text(encoding="utf-8").splitlines()]
                result = asyncio.run(own_generator(url, lines, args.seconds, args.concurrency))
            after = meter.snapshot()
            cpu = CpuMeter.share(before, after)
            # CPU of the acknowledging processes only (the bot's worker process answers beside them)
            cpu += f"  => {1000 * (after[name] - before[name]) / max(result['ok'], 1):.3f} ms CPU per {name} ack"
            runs.append((f"{name} {round_no}", result, cpu))
            print(f"  {name} {round_no}: {result['ok']} acknowledged, {result['rps']:.0f}/s, p50 {result['p50']:.1f} ms, "
                  f"p99 {result['p99']:.1f} ms, errors {fmt_errors(result['errors'])}, events sent twice "
                  f"{result['repeated']}  [cpu {cpu}]", flush=True)
            time.sleep(2.0)  # let the bot's webhook finish what was in flight
    return runs


def print_wrk(runs: list[tuple[str, dict, str]], args) -> float:
    print(f"  {'run':<10} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'sent twice':>11}   errors")
    for label, r, _cpu in runs:
        print(f"  {label:<10} {r['rps']:>9.0f} {r['p50']:>9.1f} {r['p99']:>9.1f} {r['max']:>9.1f} {r['repeated']:>11}"
              f"   {fmt_errors(r['errors'])}")
    print("  CPU during each run (100% = one core):")
    for label, _r, cpu in runs:
        print(f"    {label}: {cpu}")
    ratios = []
    for round_no in range(1, args.wrk_rounds + 1):
        bare = next(r for label, r, _ in runs if label == f"bare {round_no}")
        bot = next(r for label, r, _ in runs if label == f"bot {round_no}")
        ratios.append(bot["rps"] / bare["rps"])
    ratio = sum(r["rps"] for label, r, _ in runs if label.startswith("bot")) / \
        sum(r["rps"] for label, r, _ in runs if label.startswith("bare"))
    print(f"  bot/bare req/s per round: {', '.join(f'{x:.2f}' for x in ratios)}; over all rounds {ratio:.2f}   "
          f"aim >= {AIM_RATIO}: {yes(ratio >= AIM_RATIO)}")
    return ratio


# --- the bot's progress -------------------------------------------------------------------------------

class BotDb:
    """Read-only counts from the bot's database."""

    def __init__(self, url: str):
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.engine = create_engine(parsed, connect_args={"timeout": 30} if parsed.get_backend_name() == "sqlite" else {})

    def counts(self) -> dict:
        with self.engine.connect() as conn:
            inbound = dict(conn.execute(text("SELECT status, count(*) FROM inbound_events GROUP BY status")).all())
            outgoing = dict(conn.execute(text(
                "SELECT status || coalesce(':' || sent_via, ''), count(*) FROM outgoing_messages GROUP BY 1")).all())
            conn.rollback()
        return {"inbound": inbound, "outgoing": outgoing}

    @staticmethod
    def settled(counts: dict) -> bool:
        return not counts["inbound"].get("pending") and not counts["outgoing"].get("pending")

    def wait_settled(self, timeout: float) -> tuple[bool, dict, float]:
        t0 = time.monotonic()
        while True:
            try:
                counts = self.counts()
            except Exception as exc:  # noqa: BLE001
                counts = {"inbound": {}, "outgoing": {}, "error": f"{type(exc).__name__}: {exc}"}
            if self.settled(counts) and "error" not in counts:
                return True, counts, time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                return False, counts, time.monotonic() - t0
            time.sleep(0.5)


def answered(standin_url: str, events: Events) -> dict:
    """What the stand-in accepted: replies using the bench's tokens, pushes (one per retry key)."""
    log = httpx.get(f"{standin_url}/_standin/requests", timeout=60).json()
    replies = {r["body"]["replyToken"] for r in log
               if r["endpoint"] == "reply" and r["status"] == 200 and isinstance(r["body"], dict)}
    pushes = {r["retry_key"] for r in log if r["endpoint"] == "push" and r["status"] == 200}
    statuses = Counter(f"{r['endpoint']} {r['status']}" for r in log)
    return {"replies": len(replies & events.acked_tokens), "pushes": len(pushes),
            "calls": dict(sorted(statuses.items()))}


# --- report -------------------------------------------------------------------------------------------

def fmt_errors(errors: dict) -> str:
    return "0" if not errors else "; ".join(f"{n}× {e}" for e, n in errors.items())


def row(label: str, r: dict) -> str:
    return (f"  {label:<24} {r['rps']:>9.0f} {r['p50']:>9.1f} {r['p99']:>9.1f} {r['max']:>9.1f}"
            f"   {fmt_errors(r['errors'])}")


def yes(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed phase (default 10)")
    parser.add_argument("--concurrency", type=int, default=32, help="phase A clients in flight (default 32)")
    parser.add_argument("--rate", type=float, default=300.0, help="phase B requests/s (default 300)")
    parser.add_argument("--users", type=int, default=200, help="distinct user ids (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server (default 2)")
    parser.add_argument("--database-url", help="the bot's DATABASE_URL (default: a fresh SQLite file)")
    parser.add_argument("--redis-url", help="the bot's REDIS_URL (default: unset)")
    parser.add_argument("--drain-timeout", type=float, default=120.0,
                        help="longest wait for the bot to answer everything at the end (default 120 s)")
    parser.add_argument("--uvicorn-default", action="store_true",
                        help="start plain uvicorn, which leaves TCP_NODELAY off with --workers > 1")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite file)")
    parser.add_argument("--acknowledge-only", action="store_true",
                        help="the bot without its worker process (serve --worker-processes 0): it stores and "
                             "acknowledges; the wrk-style run then checks every acknowledged event was stored")
    parser.add_argument("--wrk", action="store_true",
                        help="the wrk-style comparison instead of phases A and B: floor and bot alternated, "
                             "pre-signed distinct events (wrk when installed, else this process)")
    parser.add_argument("--wrk-events", type=int, default=20_000, help="distinct events per --wrk run (20,000)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--wrk-rounds", type=int, default=2, help="floor-then-bot rounds (default 2)")
    args = parser.parse_args()
    if args.acknowledge_only and not args.wrk:
        parser.error("--acknowledge-only is a mode of the --wrk run")

    tmp = Path(tempfile.mkdtemp(prefix="hagukumi-bench-"))
    ports = {name: free_port() for name in ("standin", "bot", "bare")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    database_url = args.database_url or f"sqlite:///{tmp / 'hagukumi.sqlite3'}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "LINE_API_BASE_URL", "HAGUKUMI_CITY_CONFIG")}
    env.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN, PYTHONUNBUFFERED="1")
    bot_env = dict(env, LINE_API_BASE_URL=urls["standin"], DATABASE_URL=database_url,
                   HAGUKUMI_DATA_DIR=str(tmp / "data"))
    if args.redis_url:
        bot_env["REDIS_URL"] = args.redis_url
    py = sys.executable
    uvicorn_cmd = [py, "-m", "uvicorn"] if args.uvicorn_default else [py, "-m", "bot.serve"]
    uvicorn_args = ["--host", "127.0.0.1", "--workers", str(args.workers), "--no-access-log",
                    "--log-level", "warning"]
    # tokens are issued up to one phase before their event; give them LINE's minute after that
    token_ttl = 60 + 2 * args.seconds + 30
    users = ["U" + hashlib.md5(f"bench-user-{i}".encode()).hexdigest() for i in range(args.users)]
    servers: list[Server] = []
    started = time.monotonic()
    print(f"Hagukumi webhook benchmark: {os.cpu_count()} cores, {args.workers} workers per server, "
          f"{args.seconds:g} s phases, {args.users} users, TCP_NODELAY "
          f"{'as uvicorn leaves it (off with --workers > 1)' if args.uvicorn_default else 'on (bot.serve)'}",
          flush=True)
    print(f"  bot database: {database_url}{'  redis: ' + args.redis_url if args.redis_url else ''}; "
          f"{machine.describe()}", flush=True)
    try:
        standin = Server("standin", [py, "-m", "bot.standin.server", "--port", str(ports["standin"]),
                                     "--webhook-url", urls["bot"] + "/callback", "--channel-secret", SECRET,
                                     "--access-token", TOKEN, "--reply-token-ttl", str(token_ttl)],
                         env, tmp, urls["standin"] + "/_standin/messages")
        servers.append(standin)
        bot_cmd = ([*uvicorn_cmd, "bot.app:app", "--port", str(ports["bot"]), *uvicorn_args] if args.uvicorn_default
                   else [py, "-m", "bot.cli", "serve", "--port", str(ports["bot"]), "--workers", str(args.workers),
                         "--worker-processes", "0" if args.acknowledge_only else "1"])
        bot = Server("bot", bot_cmd,
                     bot_env, tmp, urls["bot"] + "/healthz")
        servers.append(bot)
        bare = Server("bare", [*uvicorn_cmd, "--app-dir", "bench", "bare_app:app",
                               "--port", str(ports["bare"]), *uvicorn_args], env, tmp, urls["bare"] + "/healthz")
        servers.append(bare)
        for server in servers:
            server.wait_ready()
        time.sleep(1.0)  # let every worker finish starting (only one answered /healthz)
        bot_pids, bare_pids = bot.workers(), bare.workers()
        answering = [pid for pid in bot_pids if b"bot.cli\x00worker" in cmdline(pid)]
        meter = CpuMeter({"standin": [standin.proc.pid], "bot": [pid for pid in bot_pids if pid not in answering],
                          "bot worker": answering, "bare": bare_pids})
        print(f"  ready in {time.monotonic() - started:.1f} s; bot workers {bot_pids}, bare workers {bare_pids}",
              flush=True)

        if args.wrk:
            db = BotDb(database_url)
            runs = wrk_comparison(args, urls, meter, users, tmp, db)
            if args.acknowledge_only:  # nothing answers: every acknowledged event must be stored, once
                counts = db.counts()   # each run ended with 2 s for what was in flight
                acked = sum(r["ok"] - r["repeated"] for label, r, _ in runs if label.startswith("bot"))
                stored = sum(counts["inbound"].values())   # one row per event id: a repeat is not stored twice
                ok = stored >= acked
                print(f"  distinct events acknowledged {acked}, stored {stored}: "
                      f"{'none lost' if ok else 'SOME LOST'}", flush=True)
            else:
                ok, counts, waited = db.wait_settled(args.drain_timeout)
            rss = {pid: (status_kb(pid, "VmHWM"), status_kb(pid, "VmRSS")) for pid in bot_pids}
            bot_log = bot.log()
            print()
            print("=" * 96)
            print_wrk(runs, args)
            if args.acknowledge_only:
                print(f"  bot events stored (no worker process answers them): inbound_events {counts['inbound']}")
            else:
                print(f"  bot backlog {'answered' if ok else 'NOT yet answered'} {waited:.0f} s after the last run: "
                      f"inbound_events {counts['inbound']}, outgoing_messages {counts['outgoing']}")
            for pid, (hwm, _now_kb) in rss.items():
                print(f"  bot process {pid}: peak RSS (VmHWM) {(hwm or 0) / 1024:.1f} MB")
            load = os.getloadavg()
            print(f"  load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; total time "
                  f"{time.monotonic() - started:.0f} s")
            problems = [line for line in bot_log.splitlines() if line.strip()]
            for line in problems[:10]:
                print("    " + line[:200])
            print("=" * 96)
            return 0
        results, cpu = {}, {}
        bare_events = Events(users)  # the bare app ignores reply tokens: none needed
        bot_events = Events(users)

        def phase(key, coro):
            before = meter.snapshot()
            results[key] = asyncio.run(coro)
            cpu[key] = CpuMeter.share(before, meter.snapshot())
            r = results[key]
            print(f"  {key}: {r['ok']} acknowledged, {r['rps']:.0f}/s, p50 {r['p50']:.1f} ms, "
                  f"p99 {r['p99']:.1f} ms, errors {fmt_errors(r['errors'])}  [cpu {cpu[key]}]", flush=True)

        bare_url, bot_url = urls["bare"] + "/callback", urls["bot"] + "/callback"
        asyncio.run(warm_up(bare_url, bare_events))
        phase("bare A", closed_loop(bare_url, bare_events, args.seconds, args.concurrency))
        phase("bare B", open_loop(bare_url, bare_events, args.seconds, args.rate))

        bot_events.issue(urls["standin"], 256)  # warm_up sends 208
        asyncio.run(warm_up(bot_url, bot_events))
        db = BotDb(database_url)
        db.wait_settled(15)
        bot_events.issue(urls["standin"], int(results["bare A"]["rps"] * args.seconds * 1.1) + 1000)
        phase("bot A", closed_loop(bot_url, bot_events, args.seconds, args.concurrency))
        # B measures 300/s from a settled start: on a slow machine A's backlog took longer than 20 s, and B
        # then measured its catch-up
        ok, counts, waited = db.wait_settled(args.drain_timeout)
        print(f"  bot backlog after A: {'answered' if ok else 'NOT yet answered'} after {waited:.1f} s "
              f"{counts}", flush=True)
        bot_events.issue(urls["standin"], int(args.rate * args.seconds) + 1000)
        phase("bot B", open_loop(bot_url, bot_events, args.seconds, args.rate))
        ok, counts, waited = db.wait_settled(args.drain_timeout)
        done = answered(urls["standin"], bot_events)
        rss = {pid: (status_kb(pid, "VmHWM"), status_kb(pid, "VmRSS")) for pid in bot_pids}
        bare_rss = {pid: status_kb(pid, "VmHWM") for pid in bare_pids}
        bot_log = bot.log()
    finally:
        for server in reversed(servers):
            server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- the table
    acked = bot_events.acked
    got = done["replies"] + done["pushes"]
    ratio_a = results["bot A"]["rps"] / results["bare A"]["rps"]
    peak_mb = max(h for h, _ in rss.values() if h) / 1024
    print()
    print("=" * 96)
    print(f"  {'':<24} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}   errors")
    print(row(f"bare A (closed, c={args.concurrency})", results["bare A"]))
    print(row(f"bot  A (closed, c={args.concurrency})", results["bot A"]))
    print(row(f"bare B (open, {args.rate:g}/s)", results["bare B"]))
    print(row(f"bot  B (open, {args.rate:g}/s)", results["bot B"]))
    print("  (B: req/s is the rate offered; latency from the scheduled send time; generator lag p99 "
          f"bare {results['bare B']['gen_lag_p99']:.1f} ms, bot {results['bot B']['gen_lag_p99']:.1f} ms)")
    print("  CPU during each phase (100% = one core):")
    for key in ("bare A", "bare B", "bot A", "bot B"):
        print(f"    {key}: {cpu[key]}")
    print(f"  bot events acknowledged (incl. 200 warm-up): {acked}; answered (stand-in accepted): {got} "
          f"= {done['replies']} replies + {done['pushes']} pushes; waited {waited:.1f} s after the last "
          f"phase{'' if ok else ' (gave up)'}")
    print(f"  stand-in API calls: {done['calls']}")
    print(f"  bot database: inbound_events {counts['inbound']}, outgoing_messages {counts['outgoing']}"
          + (f", {counts['error']}" if "error" in counts else ""))
    if bot_events.without_token:
        print(f"  events sent without a valid reply token (pool ran out): {bot_events.without_token}")
    for pid, (hwm, now_kb) in rss.items():
        print(f"  bot worker {pid}: peak RSS (VmHWM) {hwm / 1024:.1f} MB, RSS now {now_kb / 1024:.1f} MB")
    print("  bare worker peak RSS: " + ", ".join(f"{(k or 0) / 1024:.1f} MB" for k in bare_rss.values()))
    print("-" * 96)
    print(f"  bot/bare req/s (phase A): {ratio_a:.2f}   aim >= {AIM_RATIO}: {yes(ratio_a >= AIM_RATIO)}")
    p99_b = results["bot B"]["p99"]
    clean_b = not results["bot B"]["errors"]
    print(f"  bot p99 at {args.rate:g}/s: {p99_b:.1f} ms   aim < {AIM_P99_MS:g} ms with no errors: "
          f"{yes(p99_b < AIM_P99_MS and clean_b)}")
    print(f"  answered/acknowledged: {got}/{acked}   aim all: {yes(got >= acked and acked > 0)}")
    print(f"  peak worker RSS: {peak_mb:.1f} MB   aim <= {AIM_RSS_MB:g} MB: {yes(peak_mb <= AIM_RSS_MB)}")
    print(f"  total time {time.monotonic() - started:.0f} s")
    problems = [line for line in bot_log.splitlines() if line.strip()]
    if problems:
        print(f"  bot log ({len(problems)} lines at WARNING or above; first 15):")
        for line in problems[:15]:
            print("    " + line[:200])
    print("=" * 96)
    return 0


if __name__ == "__main__":
    sys.exit(main())
