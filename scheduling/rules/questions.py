"""next_question: the single next screening question, asking only what the rules in force need.

Order (a key is skipped when no offered type's result depends on it):
  relationship → residence → birth_date | due_date | loss_date → preterm → due_date (corrected age)
  → need:* (in the city's order) → exclusions → exclusion:* (those a doctor cannot clear first)
  → doctor_clearance → babies → household → household_next (only with fees=True; the second only before
  the 住民税 switch, household.switch_month)
It returns None as soon as every offered type's result (status and remaining uses; the fee too when
fees=True) is certain.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from .engine import NOT_ELIGIBLE, before_switch, decide, exclusion_order, fee_varies
from .schema import EXCLUSIONS, NEEDS, RuleSet, Version

YES, NO, UNSURE = ("yes", "screening.option.yes"), ("no", "screening.option.no"), \
    ("unsure", "screening.option.unsure")


@dataclass(frozen=True)
class Question:
    key: str                                  # stable answer key
    kind: str                                 # "choice" | "date"
    text_key: str                             # message-catalog key of the question text
    options: tuple[tuple[Any, str], ...] = ()  # (value, label_key) for choice questions
    details: tuple[str, ...] = ()              # text keys to list under the question (e.g. the exclusions)
    sensitive: bool = False                   # answer by postback only, never echoed into the chat
    min_date: date | None = None              # for the date picker
    max_date: date | None = None
    params: dict = field(default_factory=dict)   # for the question text (the city's own words)
    wording: dict = field(default_factory=dict)  # detail key -> the city's words that replace it


def _choice(key: str, options, *, sensitive=False, details=()) -> Question:
    return Question(key, "choice", f"screening.question.{_name(key)}", tuple(options), tuple(details), sensitive)


def _name(key: str) -> str:
    return key.replace(":", ".")


# Exclusions whose standard words name 「お母さんかお子さん」: after a loss they speak of her alone.
MOTHER_ONLY = ("infection", "hospital", "medical_care")


def question_for(key: str, version: Version, on_date: date, types: Iterable[str] | None = None, *,
                 after_loss: bool = False) -> Question:
    """The Question for `key` under `version` (every key next_question may return); `types`: the types
    still open, whose exclusions are listed under the exclusions question (default: all).
    after_loss: she has lost her baby: no word about a baby in the exclusions."""
    if after_loss and key in ("exclusions",) + tuple(f"exclusion:{i}" for i in MOTHER_ONLY):
        question = question_for(key, version, on_date, types)
        if key == "exclusions":
            return replace(question, details=tuple(
                d.replace("exclusion.", "exclusion_mother.")
                if d.rsplit(".", 1)[1] in MOTHER_ONLY and d not in question.wording else d for d in question.details))
        if question.text_key.startswith("screening.question.exclusion."):
            return replace(question, text_key=question.text_key.replace("exclusion.", "exclusion_mother."))
        return question
    if key == "relationship":
        return _choice(key, [(v, f"screening.option.relationship.{v}") for v in
                             ("birth", "pregnant", "adoptive", "foster", "after_loss", "other")], sensitive=True)
    if key == "residence":
        return _choice(key, [(v, f"screening.option.residence.{v}") for v in
                             ("resident", "satogaeri", "moving_in", "other")])
    if key in ("birth_date", "loss_date"):
        return Question(key, "date", f"screening.question.{key}", sensitive=key == "loss_date",
                        min_date=on_date - timedelta(days=800), max_date=on_date)
    if key == "due_date":
        return Question(key, "date", "screening.question.due_date", sensitive=True,
                        min_date=on_date - timedelta(days=800), max_date=on_date + timedelta(days=300))
    if key == "preterm":
        return _choice(key, [YES, NO], sensitive=True)
    if key.startswith("need:"):
        return _choice(key, [YES, NO, UNSURE], sensitive=True)
    if key == "exclusions":
        wording = {f"screening.detail.exclusion.{i}": text for i, text in version.exclusions.wording.items()}
        return replace(_choice(key, [("none", "screening.option.exclusions.none"),
                             ("some", "screening.option.exclusions.some"),
                             ("unsure", "screening.option.unsure")], sensitive=True,
                       details=[f"screening.detail.exclusion.{i}" for i in exclusion_order(version)
                                if types is None or any(i in version.exclusions_for(t) for t in types)]),
                       wording=wording)
    if key.startswith("exclusion:"):
        question = _choice(key, [YES, NO, UNSURE], sensitive=True)
        city_text = version.exclusions.wording.get(key.removeprefix("exclusion:"))
        return replace(question, text_key="screening.question.exclusion_city", params={"text": city_text}) \
            if city_text else question
    if key == "doctor_clearance":
        return _choice(key, [YES, ("no", "screening.option.doctor_clearance.no"),
                             ("not_yet", "screening.option.doctor_clearance.not_yet")], sensitive=True)
    if key == "babies":
        return _choice(key, [(n, f"screening.option.babies.{n}") for n in (1, 2, 3)])
    if key in ("household", "household_next"):
        question = _choice(key, [(v, f"screening.option.household.{v}") for v in
                                 ("welfare", "tax_exempt", "taxed", "unknown")], sensitive=True)
        month = version.household.switch_month
        if month is None or not before_switch(version, on_date):
            return question
        if key == "household":   # before the switch: her class now, then the one from the switch on
            return replace(question, text_key="screening.question.household_before", params={"before": month - 1})
        return replace(question, params={"month": month})
    raise KeyError(key)


def question_order(version: Version) -> list[str]:
    return (["relationship", "residence", "birth_date", "due_date", "loss_date", "preterm"]
            + [f"need:{n}" for n in version.eligibility.needs] + ["exclusions"]
            + [f"exclusion:{i}" for i in exclusion_order(version)]
            + ["doctor_clearance", "babies", "household", "household_next"])


ALL_KEYS = (["relationship", "residence", "birth_date", "due_date", "loss_date", "preterm"]
            + [f"need:{n}" for n in NEEDS] + ["exclusions"] + [f"exclusion:{i}" for i in EXCLUSIONS]
            + ["doctor_clearance", "babies", "household", "household_next"])


# next_question's answers remembered: the chat asks it twice a tap (to check the answer, then for the next
# question), and every mother on the same path of answers gets the same question on the same day. An entry
# is about 1.2 KB; her birth date makes most paths her own, so the memo is kept small (cleared when full).
MEMO_KEEP = 2_000
_memo: dict[tuple, tuple[RuleSet, Question | None]] = {}


def next_question(rules_set: RuleSet, answers: Mapping[str, Any], on_date: date, *, fees: bool = False,
                  existing_uses: Iterable = (), nights: int = 1, day_known: bool = True) -> Question | None:
    """The next question to ask, or None when every offered type's result is certain.
    fees=True: she wants a fee estimate, so the household class (and the number of babies, when the fee
    depends on it) are asked too; "unknown" is a valid answer (the fee is then a min–max range)."""
    uses = tuple(existing_uses)
    key = (id(rules_set), tuple(sorted(answers.items())), on_date, fees, uses, nights, day_known)
    try:
        remembered = _memo.get(key)
    except TypeError:  # an answer that cannot be a key (none the chat gives): not remembered
        return _next_question(rules_set, answers, on_date, fees, uses, nights, day_known)
    if remembered is not None and remembered[0] is rules_set:  # the entry holds its rule set: no id reused
        return remembered[1]
    question = _next_question(rules_set, answers, on_date, fees, uses, nights, day_known)
    if len(_memo) >= MEMO_KEEP:
        _memo.clear()
    _memo[key] = (rules_set, question)
    return question


def _next_question(rules_set: RuleSet, answers: Mapping[str, Any], on_date: date, fees: bool,
                   existing_uses: tuple, nights: int, day_known: bool) -> Question | None:
    decision = decide(rules_set, answers, on_date=on_date, existing_uses=existing_uses, nights=nights,
                      day_known=day_known)
    version = decision.version
    if version is None:
        return None
    missing = {key for result in decision.results.values() for key in result.missing}
    if fees:
        open_types = [version.types[t] for t, r in decision.results.items() if r.status != NOT_ELIGIBLE]
        by_class = any(fee_varies(t, by="household") for t in open_types)
        if "household" not in answers and by_class:
            missing.add("household")
        if "household_next" not in answers and by_class and version.household.ask_next and \
                before_switch(version, on_date):   # her class after the 住民税 switch too
            missing.add("household_next")
        if "babies" not in answers and answers.get("relationship") != "after_loss" and \
                any(fee_varies(t, by="babies") for t in open_types):
            missing.add("babies")
    for key in question_order(version):
        if key in missing:
            asking_types = [t for t, r in decision.results.items() if key in r.missing]
            return question_for(key, version, on_date, asking_types,
                                after_loss=answers.get("relationship") == "after_loss")
    return None
