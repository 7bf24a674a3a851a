"""`rules try` cases, read strictly: an unknown field or answer, a value the question does not take, or a
missing on_date is a mistake named with its case and field (a typo such as "night": 7 must not silently
change a decision). A case may carry `expect`, the results staff expect; a difference is reported."""
from __future__ import annotations

from datetime import date

from .questions import question_for
from .schema import EXCLUSIONS, NEEDS, STAFF_NEEDS, RuleSet

CASE_FIELDS = {"name", "on_date", "asked_on", "answers", "existing_uses", "nights", "fees", "language", "expect"}
USE_FIELDS = {"type", "start", "nights", "child"}
EXPECT_FIELDS = {"status", "remaining", "providers"}
ANSWER_KEYS = ({"relationship", "residence", "birth_date", "due_date", "loss_date", "preterm", "exclusions",
                "doctor_clearance", "babies", "household", "household_next"}
               | {f"need:{n}" for n in NEEDS} | {f"exclusion:{e}" for e in EXCLUSIONS}
               | {f"staff_need:{n}" for n in STAFF_NEEDS})   # staff's marks on her record, never asked


class CaseError(ValueError):
    """What is wrong with a case, in words staff can act on (Japanese, then English)."""


def check_case(rule_set: RuleSet, case, where: str) -> None:
    if not isinstance(case, dict):
        raise CaseError(f"{where}: ケースは {{...}} の形で書いてください（a case is an object）")
    unknown = sorted(set(case) - CASE_FIELDS)
    if unknown:
        raise CaseError(f"{where}: 知らない項目 {', '.join(unknown)} があります（unknown field; known: "
                        f"{', '.join(sorted(CASE_FIELDS))}）")
    if "on_date" not in case:
        raise CaseError(f"{where}: on_date（利用を始める日、YYYY-MM-DD）がありません（on_date is required）")
    on_date = _date(case["on_date"], f"{where}: on_date")
    if "asked_on" in case:
        _date(case["asked_on"], f"{where}: asked_on")
    version = rule_set.in_force(on_date)
    answers = case.get("answers", {})
    if not isinstance(answers, dict):
        raise CaseError(f"{where}: answers は {{\"key\": value}} の形です（answers is an object）")
    for key, value in answers.items():
        if key not in ANSWER_KEYS:
            raise CaseError(f"{where}: answers.{key} は知らない質問です（unknown answer key）")
        if key.startswith("staff_need:"):
            if value not in ("yes", "no"):
                raise CaseError(f"{where}: answers.{key} = {value!r} は \"yes\" か \"no\" です（staff's mark）")
            continue
        if version is None:
            continue
        question = question_for(key, version, on_date)
        if question.kind == "date":
            _date(value, f"{where}: answers.{key}")
        elif value not in [v for v, _ in question.options]:
            choices = ", ".join(repr(v) for v, _ in question.options)
            raise CaseError(f"{where}: answers.{key} = {value!r} は選べる答えではありません（one of {choices}）")
    for n, use in enumerate(case.get("existing_uses", [])):
        here = f"{where}: existing_uses[{n}]"
        if not isinstance(use, dict) or set(use) - USE_FIELDS or not {"type", "start"} <= set(use):
            raise CaseError(f"{here}: type と start（と宿泊は nights、どのお子さんのためかは child）で書いてください"
                            "（fields: type, start, nights, child）")
        _date(use["start"], f"{here}.start")
        if "child" in use:
            _date(use["child"], f"{here}.child")
    if "nights" in case and (not isinstance(case["nights"], int) or case["nights"] < 1):
        raise CaseError(f"{where}: nights は1以上の整数です（a whole number from 1）")
    for type_name, expected in (case.get("expect") or {}).items():
        if not isinstance(expected, (str, dict)) or (isinstance(expected, dict) and set(expected) - EXPECT_FIELDS):
            raise CaseError(f"{where}: expect.{type_name} は \"eligible\" か {{\"status\": …, \"remaining\": …}} です")


def differences(expect: dict, results: dict) -> list[str]:
    """Each expected status or remaining count that the decision does not match, as 'type: field expected → got'."""
    found = []
    for type_name, expected in expect.items():
        got = results.get(type_name)
        wanted = {"status": expected} if isinstance(expected, str) else expected
        for field, value in wanted.items():
            actual = None if got is None else got.get(field)
            if actual != value:
                found.append(f"{type_name}.{field}: 期待 {value!r} → 判定 {actual!r}（expected → got）")
    return found


def _date(value, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CaseError(f"{where} = {value!r} は日付ではありません（YYYY-MM-DD）") from None
