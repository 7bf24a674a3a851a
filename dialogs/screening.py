"""産後ケア screening, as a conversation:

    start ─▶ (an unfinished one?) 続きから / 最初から
          ─▶ question, question, … only what the rules in force need (taps, or LINE's date picker)
          ─▶ result: a card per care type, those she can use first (why, uses left) with 予約する or
             センターに相談; when she can use none, a kind word and 相談する, the centre's phone, the 0歳児 class
    料金の目安 (only when a type she may use has a fee) ─▶ household class (わからない allowed)
          ─▶ the cards again, with the fee per use
    at any question: 1つ戻る, やめる. A tap on an old button, or typed text, re-asks with a hint.

Answers travel as postback data ("scr|a|KEY|VALUE", dates in the picker's params) and are never echoed
into the chat. Which question comes next is the rule engine's business (scheduling.rules).
"""
from dataclasses import dataclass
from datetime import date, timedelta

from dialogs.core import (
    Card,
    Cards,
    Choice,
    Context,
    DateChoice,
    Follow,
    Input,
    Line,
    Media,
    Outcome,
    Postback,
    Resume,
    Say,
    Text,
)
from scheduling.rules import Decision, Version, decide, next_question
from scheduling.rules.engine import Eligibility

PREFIX = "scr|"
SESSION = timedelta(hours=24)
WITH_BABY = ("birth", "adoptive", "foster")
ORDER = {Eligibility.ELIGIBLE: 0, Eligibility.NEEDS_CHECK: 1, Eligibility.NOT_ELIGIBLE: 2}  # the types she can use first


@dataclass(frozen=True)
class SaveScreening:
    """Command: store her answers and the decision against her, with the rules version used."""
    answers: dict
    decision: dict
    rules_version: str
    care_date: str


def is_for_me(event: Input) -> bool:
    return isinstance(event, Postback) and event.data.startswith(PREFIX)


def start(state: dict | None, ctx: Context) -> Outcome:
    """She tapped 産後ケア (or typed it)."""
    if _unfinished(state, ctx):
        return Outcome(state, (Say("care.resume", choices=(
            Choice("care.resume_yes", PREFIX + "resume"), Choice("care.restart", PREFIX + "restart"),
            Choice("care.cancel", PREFIX + "cancel"))),))
    return _ask(_new(ctx), ctx, intro=True)


def handle(state: dict | None, event: Input, ctx: Context, menu: Say) -> Outcome:
    if state is None or state.get("dialog") != "screening" or ctx.expired(state, SESSION):
        if isinstance(event, Postback) and event.data == PREFIX + "staff":
            return _staff(None, ctx, menu)
        return Outcome(None, (Say("reply.expired"), menu))
    match event:
        case Postback(data=data, params=params):
            return _postback(state, data.removeprefix(PREFIX), params, ctx, menu)
        case Resume():
            return _reask(state, ctx, None, menu)
        case Text() | Media() | Follow():
            return _reask(state, ctx, "care.hint_tap", menu)
    return _reask(state, ctx, "care.hint_tap", menu)


def _postback(state: dict, command: str, params: dict, ctx: Context, menu: Say) -> Outcome:
    if command == "cancel":
        return Outcome(None, (Say("care.cancelled"), menu))
    if command == "resume":
        return _ask(state, ctx)
    if command == "restart":
        return _ask(_new(ctx), ctx, intro=True)
    if command == "staff":
        return _staff(state, ctx, menu)
    if command == "fee":
        return _ask(dict(state, fees=True), ctx)
    if command == "back":
        return _back(state, ctx)
    parts = command.split("|")
    if len(parts) in (2, 3) and parts[0] == "a":
        return _answer(state, parts[1], parts[2] if len(parts) == 3 else params.get("date"), ctx, menu)
    return _reask(state, ctx, "care.hint_stale", menu)


def _answer(state: dict, key: str, raw: str | None, ctx: Context, menu: Say) -> Outcome:
    if key != state.get("asking"):
        return _reask(state, ctx, "care.hint_stale", menu)
    question = next_question(ctx.rule_set, {**state["answers"], **ctx.marks}, ctx.today, fees=state["fees"],
                             existing_uses=ctx.uses, day_known=False)
    value = _parse(question, raw)
    if question is None or question.key != key or value is None:
        return _reask(state, ctx, "care.hint_invalid" if question and question.kind == "date" else "care.hint_tap",
                      menu)
    answered = dict(state, answers={**state["answers"], key: value}, history=[*state["history"], key])
    return _ask(answered, ctx)


def _parse(question, raw):
    """The answer as the rule engine wants it, or None when it is not one of the question's answers."""
    if question is None or raw is None:
        return None
    if question.kind == "date":
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return None
        if (question.min_date and day < question.min_date) or (question.max_date and day > question.max_date):
            return None
        return day.isoformat()
    return next((value for value, _ in question.options if str(value) == raw), None)


def _back(state: dict, ctx: Context) -> Outcome:
    if not state["history"]:
        return _ask(state, ctx)
    *history, last = state["history"]
    answers = {k: v for k, v in state["answers"].items() if k != last}
    return _ask(dict(state, answers=answers, history=history, fees=state["fees"] and last != "household"), ctx)


def _ask(state: dict, ctx: Context, *, hint: str | None = None, intro: bool = False) -> Outcome:
    question = next_question(ctx.rule_set, {**state["answers"], **ctx.marks}, ctx.today, fees=state["fees"],
                             existing_uses=ctx.uses, day_known=False)
    if question is None:
        return _result(state, ctx)
    state = dict(state, asking=question.key, updated=ctx.now.isoformat())
    says = [Say(key) for key in (("care.intro",) if intro else ()) + ((hint,) if hint else ())]
    says.append(_question(question, state, ctx))
    return Outcome(state, tuple(says))


def _question(question, state: dict, ctx: Context) -> Say:
    choices: list[Choice | DateChoice]
    if question.kind == "date":
        choices = [DateChoice("care.pick_date", f"{PREFIX}a|{question.key}",
                              initial=min(ctx.today, question.max_date).isoformat() if question.max_date else None,
                              min=question.min_date and question.min_date.isoformat(),
                              max=question.max_date and question.max_date.isoformat())]
    else:
        choices = [Choice(label, f"{PREFIX}a|{question.key}|{value}") for value, label in question.options]
    if state["history"]:
        choices.append(Choice("care.back", PREFIX + "back"))
    choices.append(Choice("care.cancel", PREFIX + "cancel"))
    lines = tuple(Line("screening.detail.city", {"text": question.wording[key]}) if key in question.wording
                  else Line(key) for key in question.details)
    return Say(question.text_key, {"city": ctx.city.name, **question.params}, tuple(choices), lines=lines)


def _reask(state: dict, ctx: Context, hint: str | None, menu: Say) -> Outcome:
    if state.get("asking") is None:  # the result is showing: there is no question to repeat
        return Outcome(state, (*((Say(hint),) if hint else ()), _after_result(state, ctx)))
    return _ask(state, ctx, hint=hint)


def _result(state: dict, ctx: Context) -> Outcome:
    decision = decide(ctx.rule_set, {**state["answers"], **ctx.marks}, on_date=ctx.today, existing_uses=ctx.uses,
                      day_known=False)
    version = decision.version
    offered = sorted(version.offered if version else (), key=lambda name: ORDER[decision.results[name].status])
    cards = _cards(decision, version, offered, state["fees"]) if version else ()
    usable = any(decision.results[name].status != Eligibility.NOT_ELIGIBLE for name in offered)  # or the centre checks
    state = dict(state, asking=None, updated=ctx.now.isoformat(), usable=usable,
                 fee_shown=state["fees"] or not _fee_to_show(decision, offered))
    if version is None or not cards:
        says = (Say("screening.reason.no_rules", {"date": ctx.today.isoformat()}), _after_result(state, ctx))
    else:
        note = (Say("screening.reason.city_text", {"text": version.note}),) if version.note else ()
        says = (Cards(Line("care.result_alt"), cards), *note, _after_result(state, ctx))
    command = SaveScreening(answers=state["answers"], decision=decision.as_json(),
                            rules_version=version.label if version else "", care_date=ctx.today.isoformat())
    return Outcome(state, says, (command,))


def _cards(decision: Decision, version: Version, offered: list[str], fees: bool) -> tuple[Card, ...]:
    return tuple(_card(name, decision.results[name], fees, version.types[name].note, version.caps.per != "birth",
                       version.household.switch_month) for name in offered)


def _card(type_name: str, result, fees: bool, note: str = "", per_year: bool = False,
          switch_month: int | None = None) -> Card:
    lines = [Line(f"screening.status.{result.status}")]
    lines += [Line(reason.key, dict(reason.params)) for reason in result.reasons]
    if result.status == Eligibility.ELIGIBLE and result.remaining is not None:   # caps per 年度: say it is this year's
        lines.append(Line("screening.fee.remaining_year" if per_year else "screening.fee.remaining",
                          {"remaining": result.remaining}))
    fee = result.fee_per_use
    if fees and fee and result.status != Eligibility.NOT_ELIGIBLE:
        if fee.text:   # the city names no amount: never 無料, never a number
            lines.append(Line("screening.fee.text", {"text": fee.text}))
        elif fee.high == 0:
            lines.append(Line("screening.fee.free"))
        elif fee.low == fee.high:
            lines.append(Line("screening.fee.exact", {"amount": f"{fee.low:,}", "per": result.fee_unit}))
        else:
            lines.append(Line("screening.fee.range", {"low": f"{fee.low:,}", "high": f"{fee.high:,}",
                                                      "per": result.fee_unit}))
        after = result.fee_next   # the household class follows the 住民税 year, which switches soon
        if after is not None and not after.text and switch_month:
            lines.append(_fee_after(after, switch_month, result.fee_unit))
    if note and result.status != Eligibility.NOT_ELIGIBLE:
        lines.append(Line("screening.reason.city_text", {"text": note}))
    button = (Choice("care.book", f"book|{type_name}") if result.status == Eligibility.ELIGIBLE
              else Choice("care.staff_button", PREFIX + "staff"))
    return Card(Line(f"screening.type.{type_name}"), tuple(lines), (button,))


def _fee_after(fee, month: int, per: str) -> Line:
    """The fee per use from the 住民税 switch on, when it may differ from today's."""
    if fee.high == 0:
        return Line("screening.fee.after_switch_free", {"month": month})
    if fee.low == fee.high:
        return Line("screening.fee.after_switch_exact", {"month": month, "amount": f"{fee.low:,}", "per": per})
    return Line("screening.fee.after_switch_range", {"month": month, "low": f"{fee.low:,}", "high": f"{fee.high:,}",
                                                     "per": per})


def _fee_to_show(decision, offered) -> bool:
    """Is there a fee the 料金の目安 button would show (a type she may use, with fee rules)?"""
    return any(decision.results[name].status != Eligibility.NOT_ELIGIBLE and decision.results[name].fee_per_use
               for name in offered)


def _after_result(state: dict, ctx: Context) -> Say:
    """What she can do next. When no type is open to her: a kind word and what she can do instead
    (相談, the centre's phone, the 0歳児 class), never a button that leads nowhere."""
    if not state.get("usable", True):
        # the baby class only for a mother with her baby: never to a woman who has lost hers
        with_baby = state["answers"].get("relationship") in WITH_BABY
        return Say("care.none_usable" if with_baby else "care.none_usable_plain",
                   ctx.centre, choices=(
            Choice("consult.start", "cons|start|care"),
            *((Choice("care.baby_class", "menu:class"),) if with_baby else ()),
            Choice("care.restart", PREFIX + "restart"), Choice("care.menu", "menu:show")))
    choices = [] if state.get("fee_shown", state["fees"]) else [Choice("care.fee_button", PREFIX + "fee")]
    choices += [Choice("menu.apply", "menu:apply"), Choice("care.restart", PREFIX + "restart"),
                Choice("care.menu", "menu:show")]
    return Say("care.result_next", choices=tuple(choices))


def _staff(state: dict | None, ctx: Context, menu: Say) -> Outcome:
    staff = Say("care.staff", ctx.centre)
    if state and state.get("asking") is None:
        return Outcome(state, (staff, _after_result(state, ctx)))
    return Outcome(state, (staff, menu))


def _new(ctx: Context) -> dict:
    return {"dialog": "screening", "answers": {}, "history": [], "fees": False, "asking": None,
            "updated": ctx.now.isoformat()}



def _unfinished(state: dict | None, ctx: Context) -> bool:
    return bool(state and state.get("dialog") == "screening" and state.get("asking") and state["history"]
                and not ctx.expired(state, SESSION))
