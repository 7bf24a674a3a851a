"""The rule engine: answers + rules + the date of the care -> a decision per care type. Pure, no I/O.

Each rule is a check that passes, fails, needs a staff check, or lacks an answer (naming the question
keys it needs). Per type: any failure -> "not_eligible"; else a missing answer or a staff check ->
"needs_check"; else "eligible". `missing` lists the question keys that would still change the result
(status, remaining uses), so next_question() (questions.py) can ask only those.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from .periods import SAME_CHILD, add_period, day_tags, fiscal_year, pregnancy_week_start
from .schema import CLASSES, RuleSet, TypeRules, Version

PASS, FAIL, CHECK, MISSING = "pass", "fail", "check", "missing"


class Eligibility(StrEnum):
    """A care type's result for her (see above)."""
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    NEEDS_CHECK = "needs_check"


ELIGIBLE, NOT_ELIGIBLE, NEEDS_CHECK = Eligibility.ELIGIBLE, Eligibility.NOT_ELIGIBLE, Eligibility.NEEDS_CHECK

# A live birth is at week 22 at the earliest, so a due date is at most 18 weeks after the birth: beyond that,
# no correction can help and the preterm question is not asked.
MAX_CORRECTION = timedelta(weeks=18)


@dataclass(frozen=True)
class Reason:
    """Why: a text key (in texts_ja.toml / texts_en.toml) and its parameters (JSON-able)."""
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"key": self.key, "params": self.params}


def _reason(name: str, **params) -> Reason:
    return Reason(f"screening.reason.{name}", params)


@dataclass(frozen=True)
class Fee:
    """Yen per use; low == high when the household class is known, else the range over classes.
    `text`: the city gives no amount (「施設により異なります」): low and high are then None, never 0."""
    low: int | None
    high: int | None
    household: str | None = None
    text: str = ""

    def as_json(self) -> dict:
        return {"min": self.low, "max": self.high, "household": self.household} | \
            ({"text": self.text} if self.text else {})


@dataclass(frozen=True)
class Use:
    """One of her existing uses or bookings of this birth (cancellations and no-shows excluded)."""
    type: str
    start: date
    nights: int = 0          # short stays: nights (1泊2日 = 1)
    child: date | None = None   # the birth it was for: its date (or due date, end of pregnancy); None: unknown

    @classmethod
    def of(cls, value) -> Use:
        if isinstance(value, Use):
            return value
        start, child = value["start"], value.get("child")
        return cls(type=value["type"], start=date.fromisoformat(start) if isinstance(start, str) else start,
                   nights=int(value.get("nights", 0)),
                   child=date.fromisoformat(child) if isinstance(child, str) else child)


_CHILD_DATE_KEYS: dict[str | None, str] = {"pregnant": "due_date", "after_loss": "loss_date"}


def child_date(answers: Mapping[str, Any]) -> date | None:
    """The date that names her child in the answers: the birth, the due date, or the end of the pregnancy."""
    return _date(answers, _CHILD_DATE_KEYS.get(answers.get("relationship"), "birth_date"))


def counted(version: Version, answers: Mapping[str, Any], uses: list[Use], on_date: date) -> list[Use]:
    """The uses that count together against the caps and the fee tiers, by `caps.per`: those of this birth
    (a use whose child is unknown counts), those in the 年度 of the care, or both."""
    per, child = version.caps.per, child_date(answers)
    if per in ("birth", "birth_fiscal_year") and child is not None:
        uses = [u for u in uses if u.child is None or abs(u.child - child) <= SAME_CHILD]
    if per in ("fiscal_year", "birth_fiscal_year"):
        uses = [u for u in uses if fiscal_year(u.start) == fiscal_year(on_date)]
    return uses


@dataclass(frozen=True)
class TypeResult:
    type: str
    status: Eligibility
    reasons: tuple[Reason, ...]
    remaining: int | None          # units left for this type (None: no cap)
    fee_per_use: Fee | None
    missing: tuple[str, ...] = ()  # question keys that would still change this result
    use_number: int = 1            # the number (for the fee tiers) of her next use of this type
    providers: tuple[str, ...] | None = None   # rules that differ by facility: the providers she can use
    fee_next: Fee | None = None    # the fee per use from the 住民税 switch on, when a care then may differ
    fee_total: Fee | None = None   # what this care (a stay of `nights`) costs in all, each unit in its tier
    fee_unit: str = "use"          # what one fee is for: "night" (1泊), "day" (1日) or "use" (1回)

    def as_json(self) -> dict:
        return {"status": self.status.value, "reasons": [r.as_json() for r in self.reasons],
                "remaining": self.remaining, "fee_per_use": self.fee_per_use and self.fee_per_use.as_json(),
                "missing": list(self.missing)} | ({} if self.providers is None else {"providers": list(self.providers)}) \
            | ({} if self.fee_next is None else {"fee_after_switch": self.fee_next.as_json()}) \
            | ({} if self.fee_per_use is None else {"fee_unit": self.fee_unit}) \
            | ({} if self.fee_total is None else {"fee_total": self.fee_total.as_json()})


@dataclass(frozen=True)
class Decision:
    on_date: date
    version: Version | None
    results: dict[str, TypeResult]
    remaining_total: int | None
    reasons: tuple[Reason, ...] = ()   # about the whole decision (e.g. no rules in force)

    @property
    def certain(self) -> bool:
        return all(not r.missing for r in self.results.values())

    def as_json(self) -> dict:
        version = self.version
        return {"on_date": self.on_date.isoformat(),
                "version": version and {"label": version.label,
                                        "effective_from": version.effective_from.isoformat()},
                "results": {t: r.as_json() for t, r in self.results.items()},
                "remaining_total": self.remaining_total,
                "reasons": [r.as_json() for r in self.reasons]}


@dataclass
class _Check:
    outcome: str
    reasons: list[Reason] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # keys still needed (with any outcome but FAIL)


def decide(rule_set: RuleSet, answers: Mapping[str, Any], *, on_date: date,
           existing_uses: Iterable = (), nights: int = 1, day_known: bool = True,
           provider: str | None = None, asked_on: date | None = None) -> Decision:
    """Decide each offered type for the care starting on `on_date` (a short stay of `nights` nights),
    under the rules in force on that date. `existing_uses`: her uses and bookings for this birth.
    day_known=False (the screening: she has not chosen a day yet): the days a type cannot start on are
    told, not held against `on_date`. A type whose rules differ by facility is decided at each of its
    providers (only at `provider` when given): eligible where any of them takes her, naming those.
    asked_on: the day she answered (default: on_date), for the household class where it follows the
    住民税 year (household.switch_month): her class then, or after the switch."""
    version = rule_set.in_force(on_date)
    if version is None:
        return Decision(on_date, None, {}, None, (_reason("no_rules", date=on_date.isoformat()),))
    uses = counted(version, answers, [Use.of(u) for u in existing_uses], on_date)
    babies = _babies(answers)
    multiples = (babies or 1) >= 2
    total_cap = _cap(version.caps.total, version.caps.total_multiples, multiples)
    used_total = sum(_units(version, u.type, u.nights) for u in uses)
    remaining_total = None if total_cap is None else max(total_cap - used_total, 0)
    common = [_relationship(version, answers), _residence(version, answers), _needs(version, answers)]

    def one(rules: TypeRules, items: tuple[str, ...] | None) -> TypeResult:
        name = rules.name
        checks = common + [_exclusions(version, answers, name, items),
                           _timing(version, rules, answers, on_date, nights),
                           _caps(version, rules, answers, uses, nights), _days(rules, uses, on_date, day_known)]
        used_type = sum(_units(version, u.type, u.nights) for u in uses if u.type == name)
        type_cap = _cap(rules.cap, rules.cap_multiples, multiples)
        remaining = _min(None if type_cap is None else max(type_cap - used_type, 0), remaining_total)
        use_number = (used_total if version.caps.use_number == "total" else used_type) + 1
        household = household_for(version, answers, on_date, asked_on or on_date)
        fee = fee_for(rules, use_number, household, babies or 1)
        total = total_fee(rules, use_number, units(version, name, nights), household, babies or 1)
        found = replace(_combine(name, checks, remaining, fee, use_number), fee_total=total,
                        fee_unit=fee_unit(version, name))
        if before_switch(version, on_date) and fee is not None:
            after = fee_for(rules, use_number, answers.get("household_next"), babies or 1)
            found = replace(found, fee_next=after) if after != fee else found
        return found

    results = {}
    for name in version.offered:
        rules = version.types[name]
        places = [p for p in version.providers_for(name) if provider in (None, p.key)]
        results[name] = _by_provider(name, [(p, one(*p.for_type(rules))) for p in places]) if places \
            else one(rules, None)
    return Decision(on_date, version, results, remaining_total)


def _by_provider(name: str, per: list) -> TypeResult:
    """A type whose rules differ by facility, from its result at each provider: eligible where any takes
    her (naming those), else a check where any may, else not eligible. Its questions are those any
    provider's result still needs, so that the providers she can use are known."""
    eligible = [(p, r) for p, r in per if r.status == ELIGIBLE]
    checked = [(p, r) for p, r in per if r.status == NEEDS_CHECK]
    chosen = eligible or checked or per
    status = ELIGIBLE if eligible else NEEDS_CHECK if checked else NOT_ELIGIBLE
    names = "、".join(p.name for p, _ in chosen)
    head = _reason("by_provider", providers=names) if status != NOT_ELIGIBLE else _reason("by_provider_none")
    reasons = _unique([head] + [reason for _, r in chosen for reason in r.reasons
                                if reason.key != "screening.reason.missing"])
    if any(r.status == NEEDS_CHECK and r.missing for _, r in chosen) and status == NEEDS_CHECK:
        reasons += (_reason("missing"),)
    missing = tuple(dict.fromkeys(k for _, r in per if r.status != NOT_ELIGIBLE for k in r.missing))
    # remaining uses and fees do not differ by provider: those of any one of them
    return replace(per[0][1], status=status, reasons=reasons, missing=missing,
                   providers=tuple(p.key for p, _ in eligible))


def _combine(name: str, checks: list[_Check], remaining, fee, use_number: int = 1) -> TypeResult:
    failed = [c for c in checks if c.outcome == FAIL]
    if failed:
        reasons = [r for c in failed for r in c.reasons]
        return TypeResult(name, NOT_ELIGIBLE, tuple(reasons), remaining, fee, use_number=use_number)
    missing = tuple(dict.fromkeys(k for c in checks for k in c.missing))
    reasons = [r for c in checks for r in c.reasons]
    if any(c.outcome == MISSING for c in checks):
        status = NEEDS_CHECK
        reasons.append(_reason("missing"))
    else:
        status = NEEDS_CHECK if any(c.outcome == CHECK for c in checks) else ELIGIBLE
    return TypeResult(name, status, tuple(reasons), remaining, fee, missing, use_number)


def _unique(reasons: list[Reason]) -> tuple[Reason, ...]:
    seen, kept = set(), []
    for reason in reasons:
        mark = (reason.key, repr(sorted(reason.params.items())))
        if mark not in seen:
            seen.add(mark)
            kept.append(reason)
    return tuple(kept)


# --- the checks --------------------------------------------------------------------------------------

def _relationship(version: Version, answers) -> _Check:
    value = answers.get("relationship")
    rules = version.eligibility
    if value is None:
        return _Check(MISSING, missing=["relationship"])
    if value == "pregnant":
        return _Check(PASS)
    if value == "after_loss":
        return _Check(PASS) if rules.after_loss else _Check(FAIL, [_reason("after_loss_not_covered")])
    if value in ("birth", "adoptive", "foster"):
        if value in rules.mothers:
            return _Check(PASS)
        return _Check(FAIL, [_reason(f"mother_not_covered.{value}")])
    return _Check(CHECK, [_reason("relationship_other")])


def _residence(version: Version, answers) -> _Check:
    rules = version.eligibility
    if rules.non_residents:
        return _Check(PASS)
    value = answers.get("residence")
    if value is None:
        return _Check(MISSING, missing=["residence"])
    if value == "resident":
        return _Check(PASS)
    if value == "satogaeri":
        return _Check(PASS) if rules.satogaeri else _Check(FAIL, [_reason("satogaeri_not_covered")])
    if value == "moving_in":
        return _Check(CHECK, [_reason("moving_in")])
    return _Check(FAIL, [_reason("non_resident")])


def _needs(version: Version, answers) -> _Check:
    rules = version.eligibility
    if rules.mode == "anyone":
        return _Check(PASS)
    marked = [need for need in rules.staff_needs if answers.get(f"staff_need:{need}") == "yes"]
    if marked:   # staff have judged it on her record: nothing to ask, nothing to check
        return _Check(PASS, [_reason(f"staff_marked.{need}") for need in marked])
    if not rules.needs:   # only needs staff judge (the loader wants one or the other): nothing to ask her
        return _staff_needs(rules)
    values = {need: answers.get(f"need:{need}") for need in rules.needs}
    unanswered = [f"need:{n}" for n, v in values.items() if v is None]
    if rules.needs_match == "any":
        if "yes" in values.values():
            return _Check(PASS)
        if unanswered:
            return _Check(MISSING, missing=unanswered)
        if "unsure" in values.values():
            return _Check(CHECK, [_reason("needs_unsure")])
        return _staff_needs(rules) if rules.staff_needs else _Check(FAIL, [_reason("needs_none")])
    if "no" in values.values():
        return _staff_needs(rules) if rules.staff_needs else _Check(FAIL, [_reason("needs_not_all")])
    if unanswered:
        return _Check(MISSING, missing=unanswered)
    if "unsure" in values.values():
        return _Check(CHECK, [_reason("needs_unsure")])
    return _Check(PASS)


def _staff_needs(rules) -> _Check:
    """Needs only staff can judge (a doctor's recommendation…): she is not refused for her own "no"s."""
    return _Check(CHECK, [_reason(f"staff_need.{need}") for need in rules.staff_needs])


def exclusion_order(version: Version, type_name: str | None = None, items: tuple[str, ...] | None = None) -> list[str]:
    """The exclusions in the order they are asked: those a doctor cannot clear first (they stop at once).
    With `type_name`: only those that apply to that type (`items`: a provider's own for it)."""
    if items is None:
        items = version.exclusions.for_type(type_name) if type_name else version.exclusions.items
    return [i for i in items if i not in version.exclusions.doctor_clearance] + \
           [i for i in items if i in version.exclusions.doctor_clearance]


def _exclusions(version: Version, answers, type_name: str, own: tuple[str, ...] | None = None) -> _Check:
    items = exclusion_order(version, type_name, own)
    if not items:
        return _Check(PASS)
    if answers.get("relationship") == "pregnant":
        return _Check(PASS, [_reason("health_checked_later")])
    overall = answers.get("exclusions")
    if overall == "none":
        return _Check(PASS)
    if overall == "unsure":
        return _Check(CHECK, [_reason("exclusions_unsure")])
    values = {item: answers.get(f"exclusion:{item}") for item in items}
    if overall is None and any(v is None for v in values.values()):
        return _Check(MISSING, missing=["exclusions"])
    failed, checks, missing, cleared = [], [], [], []
    for item, value in values.items():
        if value is None:
            missing.append(f"exclusion:{item}")
        elif value == "unsure":
            checks.append(_reason(f"exclusion_unsure.{item}"))
        elif value == "yes":
            if item not in version.exclusions.doctor_clearance:
                failed += _excluded(version, item, answers.get("relationship") == "after_loss")
                continue
            clearance = answers.get("doctor_clearance")
            if clearance is None:
                missing.append("doctor_clearance")
            elif clearance == "yes":
                cleared.append(_reason("doctor_cleared", item=item))
            elif clearance == "not_yet":
                checks.append(_reason("doctor_not_yet"))
            else:
                failed += _excluded(version, item, answers.get("relationship") == "after_loss")
    if failed:
        return _Check(FAIL, failed)
    if missing:
        return _Check(MISSING, cleared + checks, list(dict.fromkeys(missing)))
    if checks:
        return _Check(CHECK, cleared + checks)
    # "some" apply, but every item was answered no (one that applies only to other types counts as an answer)
    if not cleared and not any(answers.get(f"exclusion:{i}") in ("yes", "unsure") for i in version.exclusions.items):
        return _Check(CHECK, [_reason("exclusions_unclear")])
    return _Check(PASS, cleared)


def _excluded(version: Version, item: str, after_loss: bool = False) -> list[Reason]:
    """Why she is refused for this item; 「主治医が認めた場合は利用できます」 only where the file lets a doctor
    clear it."""
    wording = version.exclusions.wording.get(item)
    if wording:
        found = _reason("exclusion_city", text=wording)
    else:
        found = _reason(f"exclusion_mother.{item}" if after_loss and item == "infection" else f"exclusion.{item}")
    return [found] + ([_reason("doctor_can_clear")] if item in version.exclusions.doctor_clearance else [])


def _date(answers, key: str) -> date | None:
    value = answers.get(key)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _age_params(rules: TypeRules) -> dict:
    return {"type": rules.name, "min": rules.age.min, "max": rules.age.max, "unit": rules.age.unit}


def _timing(version: Version, rules: TypeRules, answers, on_date: date, nights: int) -> _Check:
    """When: the application window (pregnant), the window after a loss, or the infant's age."""
    relationship = answers.get("relationship")
    if relationship is None:
        return _Check(MISSING, missing=["relationship"])
    last_day = on_date + timedelta(days=max(nights, 1)) if rules.name == "short_stay" else on_date
    day = last_day if rules.age.at == "last_day" else on_date
    if relationship == "pregnant":
        due = _date(answers, "due_date")
        if due is None:
            return _Check(MISSING, missing=["due_date"])
        week = version.application.from_pregnancy_week
        if week is None or not rules.apply_before_birth:
            return _Check(FAIL, [_reason("apply_after_birth", type=rules.name)])
        opens = pregnancy_week_start(due, week)
        if on_date < opens:
            return _Check(FAIL, [_reason("apply_from", week=week, date=opens.isoformat())])
        return _Check(PASS, [_reason(f"use_after_birth_{rules.age.unit}", **_age_params(rules))])
    if relationship == "after_loss":
        return _after_loss(version, rules, answers, on_date, day)
    born = _date(answers, "birth_date")
    if born is None:
        return _Check(MISSING, missing=["birth_date"])
    if born > on_date:
        return _Check(CHECK, [_reason("date_in_future")])
    age, params = rules.age, _age_params(rules)
    starts = add_period(born, age.min, age.unit)
    if day < starts:
        return _Check(FAIL, [_reason(f"age_under_{age.unit}", date=starts.isoformat(), **params)])
    limit = add_period(born, age.max, age.unit)
    if day < limit:
        return _Check(PASS)
    over = _over(rules, on_date, day, limit, _reason(f"age_over_{age.unit}", **params))
    if not age.corrected or day >= add_period(born + MAX_CORRECTION, age.max, age.unit):
        return _Check(FAIL, [over])
    preterm = answers.get("preterm")
    if preterm is None:
        return _Check(MISSING, missing=["preterm"])
    if preterm != "yes":
        return _Check(FAIL, [over])
    if age.corrected == "ask":   # the city decides case by case: her answer is a check, in the city's words
        return _Check(CHECK, [_reason("city_text", text=age.ask_text)])
    due = _date(answers, "due_date")
    if due is None:
        return _Check(MISSING, missing=["due_date"])
    corrected = add_period(due, age.max, age.unit) if due > born else limit
    if day < corrected:
        return _Check(PASS, [_reason("corrected_age", **params)])
    return _Check(FAIL, [_over(rules, on_date, day, corrected, _reason(f"age_over_corrected_{age.unit}", **params))])


def _over(rules: TypeRules, start: date, day: date, limit: date, reason: Reason) -> Reason:
    """Past the age window. A stay judged on its last day that starts inside the window names that day
    and the longest stay that fits (「2泊3日までならご利用いただけます」)."""
    if day == start or start >= limit:
        return reason
    nights = (limit - start).days - 1          # the last day (start + nights) must be before the limit
    params = {**reason.params, "date": day.isoformat()}
    if nights < 1:
        return _reason("stay_last_day", **params)
    return _reason("stay_too_long", nights=nights, days=nights + 1, **params)


def _after_loss(version: Version, rules: TypeRules, answers, on_date: date, day: date) -> _Check:
    """After a stillbirth or miscarriage: this type's own window (or the version's) from the end of the pregnancy."""
    ended = _date(answers, "loss_date")
    if ended is None:
        return _Check(MISSING, missing=["loss_date"])
    if ended > on_date:
        return _Check(CHECK, [_reason("date_in_future")])
    if not rules.after_loss:
        return _Check(FAIL, [_reason("after_loss_type", type=rules.name)])
    months = rules.after_loss_months or version.eligibility.after_loss_months
    if day < add_period(ended, months, "months"):
        return _Check(PASS)
    return _Check(FAIL, [_reason("after_loss_over", months=months)])


def _days(rules: TypeRules, uses: list[Use], on_date: date, day_known: bool) -> _Check:
    """The days this type cannot start on, and those her first use of it cannot start on."""
    first = not any(u.type == rules.name for u in uses)
    if not day_known:
        told = ([_reason("days.not_on", days=list(rules.not_on))] if rules.not_on else []) + \
            ([_reason("days.first_not_on", days=list(rules.first_not_on))] if first and rules.first_not_on else [])
        return _Check(PASS, told)
    tags = day_tags(on_date)
    if tags & set(rules.not_on):
        return _Check(FAIL, [_reason("days.closed", date=on_date.isoformat(), days=list(rules.not_on))])
    if first and tags & set(rules.first_not_on):
        return _Check(FAIL, [_reason("days.first_closed", date=on_date.isoformat(), days=list(rules.first_not_on))])
    return _Check(PASS)


def _babies(answers) -> int | None:
    if answers.get("relationship") == "after_loss":   # no baby to count, and never a question about one
        return 1
    value = answers.get("babies")
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() and int(value) >= 1 else None


def _cap(single: int | None, multiples: int | None, is_multiple: bool) -> int | None:
    return multiples if is_multiple and multiples is not None else single


def _min(*values):
    present = [v for v in values if v is not None]
    return min(present) if present else None


def units(version: Version, type_name: str, nights: int) -> int:
    """How much one use counts against the caps: 1, or for short stays by the city's rule."""
    if type_name != "short_stay":
        return 1
    count = version.types["short_stay"].count if "short_stay" in version.types else "night"
    nights = max(nights, 1)
    return {"night": nights, "day": nights + 1, "stay": 1}[count]


_units = units


def fee_unit(version: Version, type_name: str) -> str:
    """What one fee (one unit of the caps) is for: a night (1泊), a day (1日) or a use (1回)."""
    if type_name != "short_stay" or "short_stay" not in version.types:
        return "use"
    return {"night": "night", "day": "day"}.get(version.types["short_stay"].count, "use")


def multiples_matter(version: Version) -> bool:
    caps = version.caps
    if caps.total_multiples is not None and caps.total_multiples != caps.total:
        return True
    return any(t.cap_multiples is not None and t.cap_multiples != t.cap for t in version.types.values())


def _caps(version: Version, rules: TypeRules, answers, uses: list[Use], nights: int) -> _Check:
    needed = units(version, rules.name, nights)
    babies = _babies(answers)
    missing = ["babies"] if babies is None and multiples_matter(version) else []
    remaining = _remaining(version, rules, uses, (babies or 1) >= 2)
    if remaining is None or remaining >= needed:
        return _Check(PASS, missing=missing)
    if missing:
        twins = _remaining(version, rules, uses, True)
        if twins is None or twins >= needed:
            return _Check(MISSING, missing=missing)   # twins would still have uses left
    if rules.full_price is not None:   # 上限を超えた利用は全額自己負担: still possible, at the full price
        unit = {"night": "night", "day": "day"}.get(rules.count, "use") if rules.name == "short_stay" else "use"
        return _Check(CHECK, [_reason(f"beyond_cap.{unit}", remaining=max(remaining, 0), needed=needed,
                                      price=f"{rules.full_price:,}")])
    if remaining <= 0:
        return _Check(FAIL, [_reason("cap_reached")])
    return _Check(FAIL, [_reason("cap_short", remaining=remaining, needed=needed)])


def _remaining(version: Version, rules: TypeRules, uses: list[Use], multiples: bool) -> int | None:
    total_cap = _cap(version.caps.total, version.caps.total_multiples, multiples)
    type_cap = _cap(rules.cap, rules.cap_multiples, multiples)
    used_total = sum(units(version, u.type, u.nights) for u in uses)
    used_type = sum(units(version, u.type, u.nights) for u in uses if u.type == rules.name)
    return _min(None if total_cap is None else total_cap - used_total,
                None if type_cap is None else type_cap - used_type)


# --- the household class, which may follow the 住民税 year --------------------------------------------------

def tax_year(version: Version, day: date) -> int:
    """The 住民税 year that decides the household class on `day`: the 年度's own from household.switch_month
    on; from April to the month before the switch, the previous 年度's."""
    year, month = fiscal_year(day), version.household.switch_month
    return year - 1 if month is not None and 4 <= day.month < month else year


def before_switch(version: Version, day: date) -> bool:
    """Is `day` in April up to the month before the switch (a care then is priced by the previous tax year)?"""
    month = version.household.switch_month
    return month is not None and 4 <= day.month < month


def household_for(version: Version, answers: Mapping[str, Any], on_date: date, asked_on: date) -> str | None:
    """Her household class for a care on `on_date`: `household` is her class in the tax year in force on the
    day she answered, `household_next` the one after the switch; a later tax year is unknown (a range)."""
    if version.household.switch_month is None:
        return answers.get("household")
    then, now = tax_year(version, on_date), tax_year(version, asked_on)
    if then <= now:
        return answers.get("household")
    return answers.get("household_next") if then == now + 1 else None


# --- fees ------------------------------------------------------------------------------------------

def fee_for(rules: TypeRules, use_number: int, household: str | None, babies: int = 1) -> Fee | None:
    """The fee of use number `use_number` (1-based) of this type; a range when the class is unknown."""
    return total_fee(rules, use_number, 1, household, babies)


def total_fee(rules: TypeRules, first_use: int, count: int, household: str | None, babies: int = 1) -> Fee | None:
    """What `count` units from use number `first_use` cost together: each unit in its own tier (the 5th
    use may cost more or less than the 4th); a range over the classes when hers is unknown."""
    if rules.fee_text:
        return Fee(None, None, household, rules.fee_text)
    if not rules.fees:
        return None
    amounts = dict.fromkeys(CLASSES, 0)
    for use_number in range(first_use, first_use + max(count, 1)):
        tier = [t for t in rules.fees if t.from_use <= use_number][-1]
        if tier.text:   # no amount for this use: the whole sum is unknown, never a partial one
            return Fee(None, None, household, tier.text)
        for c in CLASSES:
            amounts[c] += tier.fees[c] + tier.extra_per_baby.get(c, 0) * max(babies - 1, 0)
    if household in CLASSES:
        return Fee(amounts[household], amounts[household], household)
    return Fee(min(amounts.values()), max(amounts.values()), None)


def fee_varies(rules: TypeRules, *, by: str) -> bool:
    """Does the fee depend on the household class ("household") or on the number of babies ("babies")?"""
    for tier in rules.fees:
        if by == "household" and (len(set(tier.fees.values())) > 1 or len(set(tier.extra_per_baby.values())) > 1):
            return True
        if by == "babies" and any(tier.extra_per_baby.values()):
            return True
    return False
