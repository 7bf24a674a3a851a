"""Taps from 「産後ケア」 to a result for a typical eligible mother, and the time of one dialog turn
through the webhook with the local LINE stand-in as LINE (from the signed webhook leaving the
stand-in to the bot's answer arriving there). Run by hand:

    .venv/bin/python bench/screening_turns.py [--mothers 50] [--database-url URL]
"""
import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot import local  # noqa: E402
from bot.settings import Settings  # noqa: E402

PATH = ["産後ケア", "出産したお母さん", "住んでいる", ("日付を選ぶ", 30), "どれもあてはまらない", "1人"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mothers", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="hagukumi-turns-")
    env = {"LINE_CHANNEL_SECRET": local.DEMO_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": local.DEMO_TOKEN,
           "HAGUKUMI_DATA_DIR": data}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    turns, taps_to_result = [], []
    with local.running(Settings.from_env(env)) as servers, httpx.Client(base_url=servers.standin_url) as client:
        seq = 0

        def turn(user: str, event: dict) -> list[dict]:
            nonlocal seq
            started = time.perf_counter()
            assert client.post("/_standin/send", json={"user_id": user, "event": event}).json()["status"] == 200
            while True:
                got = client.get("/_standin/messages", params={"user_id": user, "after": seq}).json()["messages"]
                if got and got[-1]["message"].get("quickReply") is not None:
                    break
                time.sleep(0.001)
            turns.append(time.perf_counter() - started)
            seq = got[-1]["seq"]
            return [m["message"] for m in got]

        def action(messages: list[dict], label: str) -> dict:
            for message in messages:
                for item in (message.get("quickReply") or {}).get("items", []):
                    if item["action"]["label"] == label:
                        return item["action"]
            raise SystemExit(f"no button {label!r}")

        for n in range(args.mothers):
            user = f"U{n:032x}"
            messages = turn(user, {"type": "follow"})
            taps = 0
            for step in PATH:
                label, days = step if isinstance(step, tuple) else (step, None)
                tapped = action(messages, label)
                postback = {"data": tapped["data"]}
                if days is not None:
                    postback["params"] = {"date": (date.today() - timedelta(days=days)).isoformat()}
                messages = turn(user, {"type": "postback", "postback": postback})
                taps += 1
                if any(m["type"] == "flex" for m in messages):
                    break
            taps_to_result.append(taps)
    turns_ms = sorted(t * 1000 for t in turns)
    p95 = turns_ms[int(len(turns_ms) * 0.95) - 1]
    print(f"mothers: {args.mothers}, dialog turns measured: {len(turns_ms)}")
    print(f"taps from 産後ケア to a result: {max(taps_to_result)} (aim: 6 or fewer, no typing)")
    print(f"one turn through the webhook and the stand-in: p50 {statistics.median(turns_ms):.1f} ms, "
          f"p95 {p95:.1f} ms, max {turns_ms[-1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
