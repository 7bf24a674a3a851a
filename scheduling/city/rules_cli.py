"""Staff commands for the rules file:

    hagukumi rules check FILE [--booking B] validate and summarise the rules, in Japanese (with B: each
                                           provider's own rules where they differ by facility)
    hagukumi rules try FILE CASES.json     evaluate cases and print each decision as JSON; a case with
                                           `expect` is a check: a different decision exits with 1

Also runnable as `python -m scheduling.city.rules_cli rules check FILE`. Case format: docs/rules.md.
Exit codes: 0 fine, 1 the rules or cases have mistakes, 2 wrong usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from scheduling.city.booking_config import load_booking_config
from scheduling.rules.cases import CaseError, check_case, differences
from scheduling.rules.engine import Use, decide
from scheduling.rules.facilities import attach
from scheduling.rules.loader import RulesError, load_rules
from scheduling.rules.questions import next_question
from scheduling.rules.schema import RuleSet, Version
from scheduling.rules.texts import days_words, format_age, render, render_reason
from scheduling.rules.texts import format_date as _format_date

TYPE_JA = {"short_stay": "宿泊型", "day_care": "通所型（日帰り）", "home_visit": "訪問型"}
CLASS_JA = {"welfare": "生活保護", "tax_exempt": "住民税非課税", "taxed": "課税"}
NEED_JA = {"family_help": "家族などから十分な援助が受けられない", "unwell": "心身の不調がある",
           "anxiety": "育児に不安がある"}
MOTHER_JA = {"birth": "出産した母親", "adoptive": "養親", "foster": "里親"}
EXCLUSION_JA = {"infection": "感染症", "hospital": "入院治療が必要", "medical_care": "医療的な処置が必要",
                "siblings": "上の子の同伴", "household_fever": "1週間以内の家族の発熱",
                "household_illness": "同居家族の感染症（回復から1週間未満を含む）"}
STAFF_NEED_JA = {"doctor_recommended": "医師が勧めた方", "staff_recognised": "保健師等が支援が必要と認めた方"}
PER_JA = {"birth": "お子さん（出産）ごと。2人目の出産には新しい上限（年度をまたいでも同じ上限）",
          "fiscal_year": "年度ごと（4月〜3月、利用日の年度）。出産が2回でも合わせて数えます",
          "birth_fiscal_year": "お子さん（出産）ごと、かつ年度ごと"}
COUNT_JA = {"night": "1泊を1回（1泊2日 = 1回）", "day": "1日を1回（1泊2日 = 2日）", "stay": "1回の宿泊を1回"}


def format_date(value, language="ja"):
    """Staff's summary: dates without the weekday."""
    return _format_date(value, language, weekday=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hagukumi", description="産後ケアの利用のきまり（rules file）")
    commands = parser.add_subparsers(dest="command", required=True)
    rules = commands.add_parser("rules", help="check or try a rules file")
    sub = rules.add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="validate and summarise a rules file（確認と要約）")
    check.add_argument("file")
    try_ = sub.add_parser("try", help="evaluate cases and print decisions as JSON（試しに判定）")
    try_.add_argument("file")
    try_.add_argument("cases")
    for command in (check, try_):
        command.add_argument("--booking", metavar="BOOKING.toml",
                             help="the booking file, for rules that differ by facility（施設ごとのきまり）")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        rule_set = load_rules(args.file)
    except RulesError as error:
        print(error.report(args.file), file=sys.stderr)
        return 1
    if args.booking:

        try:
            rule_set = attach(rule_set, load_booking_config(args.booking), name=args.booking)
        except RulesError as error:
            print(error.report(args.booking), file=sys.stderr)
            return 1
    by_facility = sorted({n for v in rule_set.versions for n in v.offered if v.types[n].by_provider})
    if by_facility and not args.booking:   # decided with the city's own rule: say so, never silently
        print(f"{args.file}: {', '.join(by_facility)} のきまりは施設ごとです（by_provider）。--booking で予約の設定を"
              "渡すと施設ごとに判定します。渡さないと市のきまりで判定します（rules that differ by facility: give "
              "--booking）", file=sys.stderr)
    if args.action == "check":
        print(summarise(rule_set))
        return 0
    return _try(rule_set, args.cases)


# --- check -----------------------------------------------------------------------------------------

def summarise(rule_set: RuleSet) -> str:
    lines = [f"{rule_set.city}の産後ケアのきまり（{rule_set.source}）: 誤りはありません。"
             f"版は {len(rule_set.versions)} つです。"]
    for index, version in enumerate(rule_set.versions):
        following = rule_set.versions[index + 1] if index + 1 < len(rule_set.versions) else None
        lines += [""] + _version_lines(version, following)
    return "\n".join(lines)


def _version_lines(v: Version, following: Version | None) -> list[str]:
    if v.effective_until:
        until = f"{format_date(v.effective_until)}まで"
    elif following:
        until = f"{format_date(following.effective_from)}の前日まで"
    else:
        until = "次の版まで"
    e = v.eligibility
    lines = [f"■ {v.label}（{format_date(v.effective_from)}から{until}）"]
    if e.mode == "anyone":
        lines.append("  対象: 産後ケアを必要とする方すべて")
    else:
        joiner = "のいずれか" if e.needs_match == "any" else "のすべて"
        lines.append(f"  対象: 次{joiner}にあてはまる方: " + "／".join(NEED_JA[n] for n in e.needs))
        if e.staff_needs:
            lines.append("  ほかに（本人には聞かず、センターで確認）: " + "／".join(STAFF_NEED_JA[n] for n in e.staff_needs))
    who = [MOTHER_JA[m] for m in e.mothers]
    if e.after_loss:
        who.append(f"死産・流産のあと（{e.after_loss_months}か月以内）")
    lines.append("  対象となる方: " + "、".join(who))
    area = ("どこにお住まいの方でも" if e.non_residents
            else "市内在住の方と里帰り中の方" if e.satogaeri else "市内在住の方のみ")
    lines.append(f"  住所: {area}")
    week = v.application.from_pregnancy_week
    lines.append(f"  申請: 妊娠{week}週から" if week is not None else "  申請: 出産後")
    if v.note:
        lines.append(f"  案内（結果と一緒に）: {v.note}")
    if v.exclusions.items:
        items = [EXCLUSION_JA[i] + ("（医師が認めれば可）" if i in v.exclusions.doctor_clearance else "")
                 + (f"（{'・'.join(TYPE_JA[t] for t in v.exclusions.applies_to[i])}のみ）"
                    if i in v.exclusions.applies_to else "")
                 + (f"（案内: 「{v.exclusions.wording[i]}」）" if i in v.exclusions.wording else "")
                 for i in v.exclusions.items]
        lines.append("  利用できない場合: " + "、".join(items))
    caps = v.caps
    if caps.total is not None:
        multiples = f"、多胎は {caps.total_multiples} 回（日）" if caps.total_multiples else ""
        lines.append(f"  上限: 全体で {caps.total} 回（日）{multiples}")
    else:
        lines.append("  上限: 全体の上限なし")
    lines.append("  上限の数え方: " + PER_JA[caps.per])
    month = v.household.switch_month
    if month:
        lines.append(f"  料金の区分: 住民税の年度で決まり、{month}月から新しい年度に切り替わります"
                     f"（4〜{month - 1}月は前年度の住民税）。"
                     + (f"{month - 1}月までに聞くときは、{month}月からの区分も聞きます" if v.household.ask_next
                        else f"{month}月からの料金は幅でお伝えします"))
    lines.append("  料金の「何回目」: " + ("3つの型を合わせて数えます（宿泊の4回目のあとの通所は5回目）"
                                        if caps.use_number == "total" else "型ごとに数えます（型ごとに1回目から）"))
    for name in v.offered:
        lines += _type_lines(name, v.types[name], week, e)
        for p in v.providers_for(name):
            own = []
            if name in p.age and "age" in v.types[name].by_provider:
                own.append(_window(p.age[name]))
            if name in p.exclusions and "exclusions" in v.types[name].by_provider:
                own.append("利用できない場合: " + ("、".join(EXCLUSION_JA[i] for i in p.exclusions[name]) or "なし"))
            lines.append(f"      {p.name}: " + ("、".join(own) if own else "この型の市のきまりのまま"))
    return lines


def _window(age) -> str:
    """An age window in words that cannot be misread: 生後4か月未満（4か月になる前日まで）."""
    last = format_age(age.max, age.unit).removeprefix("生後")
    window = (f"{format_age(age.min, age.unit)}から" if age.min else "") + \
        f"{format_age(age.max, age.unit)}未満（{last}になる前日まで）"
    return window + ("（利用最終日で判定）" if age.at == "last_day" else "（利用開始日で判定）")


def _type_lines(name: str, t, week: int | None, e=None) -> list[str]:
    """One type's age window, counting, caps and fees, as the summary lists them."""
    lines = []
    age = t.age
    window = _window(age)
    if age.corrected == "ask":
        window += f"、早産児は相談（「{age.ask_text}」と案内）"
    elif age.corrected:
        window += "、早産児は修正月齢"
    lines.append(f"  ・{TYPE_JA[name]}: {window}")
    extra = []
    if name == "short_stay":
        extra.append("数え方: " + COUNT_JA[t.count])
    if t.cap is not None:
        extra.append(f"この型の上限 {t.cap} 回" + (f"（多胎 {t.cap_multiples} 回）" if t.cap_multiples else ""))
    if not t.apply_before_birth and week is not None:
        extra.append("申請は出産後")
    if t.not_on:
        extra.append(f"{days_words(list(t.not_on))}は利用不可")
    if t.first_not_on:
        extra.append(f"{days_words(list(t.first_not_on))}の初回利用は不可")
    if e is not None and e.after_loss:
        if not t.after_loss:
            extra.append("死産・流産のあとの方は対象外")
        elif t.after_loss_months is not None:
            extra.append(f"死産・流産のあとはお産から{t.after_loss_months}か月未満（この型の期間）")
    if t.by_provider:
        extra.append("施設によって異なる: " + "・".join({"age": "月齢", "exclusions": "利用できない場合"}[k]
                                                   for k in t.by_provider) + "（予約の設定の providers.rules）")
    if t.full_price is not None:
        extra.append(f"上限を超えた分は全額自己負担 {t.full_price:,}円")
    if extra:
        lines.append("      " + "、".join(extra))
    if t.fee_text:
        lines.append(f"      料金 「{t.fee_text}」と案内（金額なし）")
    if t.note:
        lines.append(f"      案内: {t.note}")
    for i, tier in enumerate(t.fees):
        upto = t.fees[i + 1].from_use - 1 if i + 1 < len(t.fees) else None
        uses = "" if len(t.fees) == 1 else (f"{tier.from_use}〜{upto}回目 " if upto else f"{tier.from_use}回目から ")
        fees = f"「{tier.text}」と案内（金額なし）" if tier.text else \
            "、".join(f"{CLASS_JA[c]} {tier.fees[c]:,}円" for c in CLASS_JA)
        lines.append(f"      料金 {uses}{fees}")
        if any(tier.extra_per_baby.values()):
            lines.append("      多胎の加算（1人につき） " +
                         "、".join(f"{CLASS_JA[c]} {tier.extra_per_baby.get(c, 0):,}円" for c in CLASS_JA))
    return lines


# --- try -------------------------------------------------------------------------------------------

def _try(rule_set: RuleSet, cases_path: str) -> int:
    try:
        with open(cases_path, encoding="utf-8") as f:
            cases = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        print(f"{cases_path}: cannot read the cases（ケースを読めません）: {error}", file=sys.stderr)
        return 1
    if isinstance(cases, dict):
        cases = [cases]
    output, failed = [], 0
    for index, case in enumerate(cases):
        where = f"{cases_path}: {_name(case, index)}"
        try:
            check_case(rule_set, case, where)
            result = evaluate_case(rule_set, case, index)
        except CaseError as error:
            failed += 1
            output.append({"name": _name(case, index), "error": str(error)})
            print(error, file=sys.stderr)
            continue
        diff = differences(case.get("expect") or {}, result["results"])
        if diff:
            failed += 1
            result["differences"] = diff
            print(f"{where}: 期待と違う判定です（the decision differs）:\n  " + "\n  ".join(diff), file=sys.stderr)
        output.append(result)
    print(json.dumps(output, ensure_ascii=False, indent=2))
    if failed:
        print(f"{failed} / {len(cases)} 件のケースに誤りか違いがあります（cases with mistakes or differences）",
              file=sys.stderr)
    return 1 if failed else 0


def _name(case, index: int) -> str:
    return case.get("name", f"case {index + 1}") if isinstance(case, dict) else f"case {index + 1}"


def evaluate_case(rule_set: RuleSet, case: dict, index: int = 0) -> dict:
    on_date = date.fromisoformat(case["on_date"])
    answers = case.get("answers", {})
    uses = [Use.of(u) for u in case.get("existing_uses", [])]
    nights = int(case.get("nights", 1))
    language = case.get("language", "ja")
    asked_on = date.fromisoformat(case["asked_on"]) if "asked_on" in case else None
    decision = decide(rule_set, answers, on_date=on_date, existing_uses=uses, nights=nights, asked_on=asked_on)
    result = {"name": _name(case, index), **decision.as_json()}
    for type_name, type_result in decision.results.items():
        result["results"][type_name]["reasons"] = [
            {**r.as_json(), "text": render_reason(r, language)} for r in type_result.reasons]
        result["results"][type_name]["status_text"] = render(f"screening.status.{type_result.status}",
                                                             language=language)
    question = next_question(rule_set, answers, on_date, fees=bool(case.get("fees", False)),
                             existing_uses=uses, nights=nights)
    result["next_question"] = question and question.key
    return result


if __name__ == "__main__":
    sys.exit(main())
