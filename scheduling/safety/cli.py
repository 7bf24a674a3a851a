"""Staff commands for the safety file:

    hagukumi safety check FILE                 validate it and summarise hours, contacts and categories, in Japanese
    hagukumi safety try FILE "text" [--en]     which category answers, on which word or pattern, and the answer
                                               in the centre's hours and outside them

Exit codes: 0 fine (for try: whatever the text matched), 1 the file has mistakes, 2 wrong usage.
"""
import argparse
import sys
from datetime import date, datetime, time, timedelta

from scheduling.dates.calendar import JST
from scheduling.rules import RulesError
from scheduling.text.textnorm import normalize

from .loader import load_safety
from .matcher import WEEKDAYS
from .schema import SafetyNet

WEEKDAY_JA = dict(zip(WEEKDAYS, "月火水木金土日", strict=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hagukumi safety", description="見守りの言葉（safety file）")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("check", help="validate and summarise（確認と要約）").add_argument("file")
    trial = actions.add_parser("try", help="which category answers a text（文を試す）")
    trial.add_argument("file")
    trial.add_argument("text")
    trial.add_argument("--en", action="store_true", help="show the English answers")
    args_in = sys.argv[1:] if argv is None else argv
    try:
        args = parser.parse_args(args_in[1:] if args_in[:1] == ["safety"] else args_in)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        net = load_safety(args.file)
    except RulesError as error:
        print(error.report(args.file), file=sys.stderr)
        return 1
    if args.action == "check":
        print(summarise(net))
    else:
        print(explain(net, args.text, "en" if args.en else "ja"))
    return 0


def summarise(net: SafetyNet) -> str:
    h = net.hours
    closed = [f"{m}/{d}" for m, d in h.closed_yearly] + [d.isoformat() for d in h.closed_dates]
    lines = ["センターの開所時間:",
             f"  {''.join(WEEKDAY_JA[d] for d in h.weekdays)} {h.opens:%H:%M}〜{h.closes:%H:%M}"
             + ("、祝日は休み" if h.holidays_closed else "、祝日も開所")
             + (f"、休み {' '.join(closed)}" if closed else ""),
             "連絡先:"]
    for c in net.contacts:
        lines.append(f"  {{{c.key}}} {c.text('name', 'ja')} {c.number}"
                     + (f"（{c.text('hours', 'ja')}）" if c.text("hours", "ja") else ""))
    lines.append("区分（上ほど優先）:")
    for n, category in enumerate(net.categories, start=1):
        flags = [f for f, on in (("職員に至急の知らせ", category.urgent), ("相談をすすめる", category.offer_consult)) if on]
        languages = sorted({language for _, language, _ in category.answers})
        lines.append(f"  {n}. {category.label}（{category.key}）: 言葉 {len(category.words)}、"
                     f"パターン {len(category.patterns)}、除外 {len(category.excepts)}; "
                     f"{'・'.join(flags) or '知らせなし'}; 答え {'・'.join(languages)}")
    return "\n".join(lines)


def explain(net: SafetyNet, text: str, language: str) -> str:
    normalized = normalize(text)
    lines = [f"比べる形（normalised）: {normalized or '（空）'}"]
    for category in net.categories:
        for hit in category.hits(normalized):
            lines.append(f"  {category.key}: 「{hit.matched}」"
                         + (f" は除外「{hit.covered_by}」の中なので数えません" if hit.covered_by else " が当たりました"))
    match = net.check(text)
    if match is None:
        lines.append("どの区分にも当たりません（見守りの答えは送りません）。")
        return "\n".join(lines)
    lines.append(f"答える区分: {match.label}（{match.category}）、言葉「{match.matched}」"
                 + ("、職員に至急の知らせ" if match.urgent else "")
                 + ("、答えのあとに相談をすすめます" if match.offer_consult else ""))
    for title, moment in (("開所時間内", _open_moment(net)), ("時間外", _closed_moment(net))):
        lines += ["", f"--- {title}の答え（{moment:%Y-%m-%d %H:%M} の例） ---", net.answer(match, language, moment)]
    return "\n".join(lines)


def _open_moment(net: SafetyNet) -> datetime:
    """The next moment the centre is open (an hour after opening), for showing the in-hours answer."""
    day = datetime.now(JST).date()
    for offset in range(370):
        moment = datetime.combine(day + timedelta(days=offset), net.hours.opens, tzinfo=JST) + timedelta(hours=1)
        if net.in_hours(moment):
            return moment
    return datetime.combine(day, time(10), tzinfo=JST)


def _closed_moment(net: SafetyNet) -> datetime:
    """A moment the centre is closed: today at 23:00, or the next night that is."""
    day: date = datetime.now(JST).date()
    for offset in range(370):
        moment = datetime.combine(day + timedelta(days=offset), time(23), tzinfo=JST)
        if not net.in_hours(moment):
            return moment
    return datetime.combine(day, time(23), tzinfo=JST)
