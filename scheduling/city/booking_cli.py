"""Staff commands for the booking and pregnancy files:

    hagukumi booking check FILE     validate it and summarise providers, classes and policy, in Japanese
    hagukumi pregnancy check FILE   validate the pregnancy file and list its timed pushes

Exit codes: 0 fine, 1 the file has mistakes, 2 wrong usage.
"""
import argparse
import sys
from datetime import date, timedelta

from scheduling.city.booking_config import BookingConfig, load_booking_config
from scheduling.city.pregnancy_config import PregnancyConfig, load_pregnancy_config
from scheduling.city.rules_cli import TYPE_JA
from scheduling.dates.calendar import class_dates
from scheduling.rules import RulesError

WEEKDAY_JA = {"mon": "月", "tue": "火", "wed": "水", "thu": "木", "fri": "金", "sat": "土", "sun": "日"}
LATE_FEE_JA = {"none": "かかりません", "half": "利用料の半額", "full": "利用料の全額"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hagukumi", description="委託先・教室・予約のきまり（booking file）")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("booking", "pregnancy"):
        sub = commands.add_parser(name, help=f"check a {name} file").add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="validate and summarise（確認と要約）").add_argument("file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        if args.command == "booking":
            print(summarise(load_booking_config(args.file), date.today()))
        else:
            print(summarise_pregnancy(load_pregnancy_config(args.file)))
    except RulesError as error:
        print(error.report(args.file), file=sys.stderr)
        return 1
    return 0


def summarise(config: BookingConfig, today: date) -> str:
    policy = config.policy
    lines = ["予約のきまり:",
             f"  予約できるのは {policy.book_ahead_days} 日先まで。"
             + "、".join(f"{TYPE_JA[t]}は{d}日前まで" for t, d in policy.lead_days.items() if d),
             f"  前日のお知らせ {policy.reminder_time}。プッシュを送らない時間 {policy.quiet_from}〜{policy.quiet_until}",
             f"  キャンセル待ちの取り置き {policy.offer_hold_minutes} 分"
             + ("。承認1回につき予約1件" if policy.one_open_booking else ""),
             "委託先:"]
    for p in config.providers:
        room = [f"宿泊 {p.beds} 床" if p.beds else "", f"通所 {p.day_places} 人/日" if p.day_places else "",
                f"訪問 {'・'.join(p.visit_times)}" if p.visit_times else ""]
        days = "".join(WEEKDAY_JA[d] for d in p.open_days)
        lines.append(f"  {p.name}（{p.key}）: {'・'.join(TYPE_JA[t] for t in p.types)}; "
                     f"{' '.join(r for r in room if r)}; {days}"
                     + ("・祝日も" if p.open_on_holidays else "（祝日休み）")
                     + f"; キャンセルは{p.cancel.days_before}日前の{p.cancel.time}まで無料、"
                       f"以降は{LATE_FEE_JA[p.cancel.late_fee]}")
    lines.append("教室:")
    for c in config.classes:
        upcoming = class_dates(c, today, today + timedelta(days=365))
        lines.append(f"  {c.title}（{c.key}）: {c.place} {c.start}〜{c.end}、定員 {c.capacity} 人、"
                     f"{c.opens_days_before} 日前から予約; 今後1年の日程 {len(upcoming)} 回"
                     + (f"（次回 {upcoming[0].isoformat()}）" if upcoming else ""))
    return "\n".join(lines)


def summarise_pregnancy(config: PregnancyConfig) -> str:
    audience = {"everyone": "全員", "first_baby": "初めてのお子さんの方", "multiples": "ふたご以上の方"}
    lines = [f"同意画面の版 {config.consent_version}。登録コードは {config.code_valid_days} 日有効、"
             f"{config.code_max_failures} 回まちがえると {config.code_lock_minutes} 分受け付けません。",
             f"32週の電話: 妊娠{config.call_push_week}週0日の{config.push_time}にお知らせ、"
             f"妊娠{config.call_week}週にお電話。",
             "時期のお知らせ:"]
    for push in config.timed_pushes:
        when = (f"妊娠{push.pregnancy_week}週0日" if push.pregnancy_week is not None
                else f"出産から{push.days_after_birth}日目")
        lines.append(f"  {push.key}: {when} {config.push_time}、{audience[push.to]}へ（文言 {push.message}）")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
