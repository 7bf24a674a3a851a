"""産後ケア booking, as a conversation:

    予約する on a result card ("book|TYPE")          日にちを変える in 予約の確認 (start_change)
      ─▶ (no screening yet?) a kind word, then the screening
      ─▶ provider: each provider of the type, どこでも    (skipped when there is one, and when changing)
      ─▶ date: the next days with room that the rules allow, 10 a page, ほかの日 for the next page
      ─▶ short stay: 1泊2日, 2泊3日 …  /  home visit: the time  /  day care: nothing more
      ─▶ summary: type, provider, date, nights or time, fee, uses left, the cancellation policy
           予約する ─▶ stored as a request: the centre confirms it and she gets a message
    at every step: 1つ戻る (where there is a step before), やめる. A tap on an old button, or typed
    text, re-asks the current step with a hint. A state left for 12 hours is over.

Taps travel as postbacks "bk|…" and are never echoed into the chat. The 予約する button carries the
draft's token, from which the desk derives the request key: a double tap or a redelivered event is
one booking, and the second tap is told that the request is already received.
"""
import hashlib
from datetime import date, datetime, timedelta

from dialogs import screening
from dialogs.core import Choice, Context, Input, Line, Outcome, Postback, Resume, Say
from scheduling.care.problems import CareProblem
from scheduling.chat.desk import CareView, Quote
from scheduling.dates.calendar import JST
from scheduling.rules import Fee
from scheduling.rules.schema import TYPES

PREFIX = "bk|"
START = "book|"
SESSION = timedelta(hours=12)
PAGE = 10   # days per message: with ほかの日, 1つ戻る and やめる, LINE's 13 quick replies
ANYWHERE = "*"
NEXT_STEP = {"short_stay": "nights", "home_visit": "time", "day_care": "confirm"}


def is_for_me(event: Input) -> bool:
    return isinstance(event, Postback) and event.data.startswith((PREFIX, START))


def start(care_type: str, ctx: Context, menu: Say) -> Outcome:
    """予約する on a result card."""
    desk = ctx.bookings
    if care_type not in TYPES or not desk.providers(care_type):
        return Outcome(None, (Say("booking.no_provider", ctx.centre), menu))
    if desk.answers() is None:
        first = screening.start(None, ctx)
        return Outcome(first.state, (Say("booking.need_screening"), *first.says))
    days = desk.care_days(care_type)
    if days.problem in (CareProblem.ONE_OPEN, CareProblem.NOT_ELIGIBLE, CareProblem.FULL):
        return _cannot(days.problem, days.reasons, ctx, menu)
    providers = desk.providers(care_type)
    state = {"dialog": "booking", "type": care_type, "provider": None, "fixed": len(providers) == 1,
             "step": "provider", "page": 0, "date": None, "nights": 0, "slot": "", "token": None,
             "change": None, "old_date": None}
    if state["fixed"]:
        state.update(provider=providers[0].key, step="date")
    return _ask(state, ctx, first=Say(f"booking.start.{care_type}"))


def start_change(booking, ctx: Context, menu: Say) -> Outcome:
    """日にちを変える on one of her care bookings (a scheduling.chat.desk.CareView): the same date steps,
    with the same provider; the old booking stays until the new one is secured."""
    if ctx.now >= booking.deadline:
        return Outcome(None, (_past_deadline(booking.provider), menu))
    state = {"dialog": "booking", "type": booking.care_type, "provider": booking.provider.key, "fixed": True,
             "step": "date", "page": 0, "date": None, "nights": 0, "slot": "", "token": None,
             "change": booking.id, "old_date": booking.start.isoformat()}
    return _ask(state, ctx, first=Say("booking.change_intro", {"date": booking.start}))


def handle(state: dict | None, event: Input, ctx: Context, menu: Say) -> Outcome:
    if isinstance(event, Postback) and event.data.startswith(START):
        return start(event.data.removeprefix(START), ctx, menu)
    if isinstance(event, Postback) and event.data.startswith(PREFIX + "go|"):
        token = event.data.removeprefix(PREFIX + "go|")
        if not (state and state.get("dialog") == "booking" and state.get("token") == token):
            done = ctx.bookings.care_request(token)
            if done is not None:  # a second tap, after the first made the booking
                return Outcome(state, (Say("booking.already"), menu))
    if state is None or state.get("dialog") != "booking" or ctx.expired(state, SESSION):
        return Outcome(None, (Say("reply.expired"), menu))
    match event:
        case Postback(data=data):
            return _postback(state, data.removeprefix(PREFIX).split("|"), ctx, menu)
        case Resume():
            return _ask(state, ctx)
    return _ask(state, ctx, hint="booking.hint_tap")


def _postback(state: dict, parts: list[str], ctx: Context, menu: Say) -> Outcome:
    command, value = parts[0], "|".join(parts[1:])
    step = state["step"]
    if command == "cancel":
        return Outcome(None, (Say("booking.cancelled"), menu))
    if command == "back" and _can_go_back(state):
        return _back(state, ctx)
    if command == "p" and step == "provider" and (
            value == ANYWHERE or value in {p.key for p in ctx.bookings.providers(state["type"])}):
        return _ask(dict(state, provider=value, step="date", page=0), ctx)
    if command == "more" and step == "date" and value.isdigit():
        return _ask(dict(state, page=int(value)), ctx)
    if command == "d" and step == "date":
        day = _parse_day(value)
        if day is None:
            return _ask(state, ctx, hint="booking.hint_stale")
        if day not in _days(state, ctx).days:
            return _ask(state, ctx, hint="booking.day_unavailable")
        return _ask(dict(state, date=value, step=NEXT_STEP[state["type"]], nights=0, slot=""), ctx)
    if command == "n" and step == "nights" and value.isdigit():
        if int(value) not in ctx.bookings.nights(_provider(state), _date(state), replacing=state["change"]):
            return _ask(state, ctx, hint="booking.nights_gone")
        return _ask(dict(state, nights=int(value), step="confirm"), ctx)
    if command == "t" and step == "time":
        if value not in ctx.bookings.visit_times(_provider(state), _date(state)):
            return _ask(state, ctx, hint="booking.time_gone")
        return _ask(dict(state, slot=value, step="confirm"), ctx)
    if command == "go" and step == "confirm" and value == state["token"]:
        return _book(state, ctx, menu)
    return _ask(state, ctx, hint="booking.hint_stale")


def _can_go_back(state: dict) -> bool:
    return state["step"] != "provider" and not (state["step"] == "date" and state["page"] == 0 and state["fixed"])


def _back(state: dict, ctx: Context) -> Outcome:
    step = state["step"]
    if step == "confirm":
        before = NEXT_STEP[state["type"]]
        return _ask(dict(state, step="date" if before == "confirm" else before, token=None), ctx)
    if step in ("nights", "time"):
        return _ask(dict(state, step="date"), ctx)
    if state["page"] > 0:
        return _ask(dict(state, page=state["page"] - 1), ctx)
    return _ask(dict(state, step="provider", provider=None), ctx)


# --- asking -----------------------------------------------------------------------------------------

def _ask(state: dict, ctx: Context, *, hint: str | None = None, first: Say | None = None) -> Outcome:
    state = dict(state, updated=ctx.now.isoformat())
    says = [s for s in (first, Say(hint) if hint else None) if s]
    step = state["step"]
    if step == "provider":
        question = _ask_provider(state, ctx)
    elif step == "date":
        days = _days(state, ctx)
        if days.problem in (CareProblem.ONE_OPEN, CareProblem.NOT_ELIGIBLE):
            return _cannot(days.problem, days.reasons, ctx, None, says)
        state = dict(state, page=min(state["page"], max((len(days.days) - 1) // PAGE, 0)))
        question = _ask_date(state, days.days, ctx)
    elif step == "nights":
        options = ctx.bookings.nights(_provider(state), _date(state), replacing=state["change"])
        if not options:
            return _ask(dict(state, step="date"), ctx, hint="booking.nights_gone", first=first)
        question = Say("booking.ask_nights", choices=(
            *(Choice("booking.nights_label", f"{PREFIX}n|{n}", {"nights": n, "days": n + 1}) for n in options),
            *_back_and_cancel(state)))
    elif step == "time":
        times = ctx.bookings.visit_times(_provider(state), _date(state))
        if not times:
            return _ask(dict(state, step="date"), ctx, hint="booking.time_gone", first=first)
        question = Say("booking.ask_time", choices=(
            *(Choice("booking.time_label", f"{PREFIX}t|{t}", {"time": t}) for t in times),
            *_back_and_cancel(state)))
    else:
        state = dict(state, token=_token(state, ctx))
        question = _summary(state, ctx)
    return Outcome(state, (*says, question))


def _ask_provider(state: dict, ctx: Context) -> Say:
    choices = [Choice("booking.provider_label", f"{PREFIX}p|{p.key}", {"name": p.name[:20]})
               for p in ctx.bookings.providers(state["type"])][:11]
    return Say("booking.ask_provider", choices=(*choices, Choice("booking.anywhere", f"{PREFIX}p|{ANYWHERE}"),
                                                Choice("booking.cancel", PREFIX + "cancel")))


def _ask_date(state: dict, days: tuple[date, ...], ctx: Context) -> Say:
    if not days:   # with this provider: another may have room, unless there is no other to choose
        return Say("booking.no_room_at_all" if state["fixed"] else "booking.no_room", ctx.centre,
                   choices=_back_and_cancel(state))
    pages, page = (len(days) + PAGE - 1) // PAGE, state["page"]
    shown = days[page * PAGE:(page + 1) * PAGE]
    choices = [Choice("booking.day_label", f"{PREFIX}d|{d.isoformat()}", {"date": d}) for d in shown]
    if page + 1 < pages:
        choices.append(Choice("booking.more_days", f"{PREFIX}more|{page + 1}"))
    return Say("booking.ask_date", choices=(*choices, *_back_and_cancel(state)))


def _back_and_cancel(state: dict) -> tuple[Choice, ...]:
    back = (Choice("booking.back", PREFIX + "back"),) if _can_go_back(state) else ()
    return (*back, Choice("booking.cancel", PREFIX + "cancel"))


def _summary(state: dict, ctx: Context) -> Say:
    care_type, day = state["type"], _date(state)
    quote = ctx.bookings.quote(care_type, _provider(state), day, state["nights"], replacing=state["change"])
    provider, deadline = quote.provider, quote.deadline
    lines = [Line(f"booking.type.{care_type}")]
    lines.append(Line("booking.summary.provider", {"name": provider.name}) if provider
                 else Line("booking.summary.anywhere"))
    if state["change"]:
        lines.append(Line("booking.summary.old_date", {"date": state["old_date"]}))
    lines += when_lines(care_type, day, state["nights"], state["slot"], provider)
    lines += _fee(quote)
    lines += policy_lines(provider, deadline, ctx.now) if provider and deadline else [Line("booking.policy.anywhere")]
    lines.append(Line("booking.summary.request_note"))
    lines.append(Line("booking.ask_confirm_change" if state["change"] else "booking.ask_confirm"))
    go = Choice("booking.go_change" if state["change"] else "booking.go", f"{PREFIX}go|{state['token']}")
    return Say("booking.summary.title", lines=tuple(lines), choices=(go, *_back_and_cancel(state)))


def when_lines(care_type: str, day: date, nights: int, slot: str, provider) -> list[Line]:
    """The date, and the nights, the visit's time or the day's hours."""
    lines = [Line("booking.summary.date", {"date": day})]
    if care_type == "short_stay":
        lines.append(Line("booking.summary.nights", {"nights": nights, "days": nights + 1}))
        if provider and provider.check_in:
            lines.append(Line("booking.summary.check_in", {"time": provider.check_in}))
        if provider and provider.check_out:
            lines.append(Line("booking.summary.check_out", {"date": day + timedelta(days=max(nights, 1)),
                                                            "time": provider.check_out}))
    elif care_type == "home_visit":
        lines.append(Line("booking.summary.time", {"time": slot}))
    elif provider and provider.day_hours:
        lines.append(Line("booking.summary.hours", {"hours": provider.day_hours}))
    return lines


def _fee(quote, *, units: bool = True) -> list[Line]:
    """The fee: per use, and for several units (nights) the total; when the units fall in different
    tiers (the 6th use dearer than the 5th), each part and the real sum."""
    lines = []
    fee, total = quote.fee, quote.total
    if fee is not None and (fee.text or (total is not None and total.text)):   # no amount: never 無料
        lines.append(Line("screening.fee.text", {"text": fee.text or total.text}))
    elif fee is not None:
        if fee.high == 0 and (total is None or total.high == 0):
            lines.append(Line("booking.summary.fee_free"))
        elif len(set(quote.fees)) > 1:
            lines.append(Line("booking.summary.fee_total", {"amount": _yen(total), "units": quote.units,
                                                            "count": quote.unit}))
            lines += [Line("booking.summary.fee_part" if first < last else "booking.summary.fee_part_one",
                           {"first": first, "last": last, "amount": _yen(part), "per": quote.unit})
                      for first, last, part in _tiers(quote)]
        else:
            if fee.low == fee.high:
                lines.append(Line("booking.summary.fee_exact", {"amount": f"{fee.low:,}", "per": quote.unit}))
            else:
                lines.append(Line("booking.summary.fee_range", {"low": f"{fee.low:,}", "high": f"{fee.high:,}",
                                                                "per": quote.unit}))
            if total is not None and quote.units > 1:
                lines.append(Line("booking.summary.fee_total", {"amount": _yen(total), "units": quote.units,
                                                                "count": quote.unit}))
    if units and quote.remaining is not None:
        lines.append(Line("booking.summary.units", {"units": quote.units,
                                                    "left": max(quote.remaining - quote.units, 0)}))
    return lines


def _yen(fee) -> str:
    return f"{fee.low:,}" if fee.low == fee.high else f"{fee.low:,}〜{fee.high:,}"


def _tiers(quote) -> list[tuple[int, int, Fee]]:
    """Runs of units with the same fee: (first use number, last use number, the fee of one)."""
    runs: list[tuple[int, int, Fee]] = []
    for n, fee in enumerate(quote.fees, start=quote.first_use):
        if runs and runs[-1][2] == fee:
            runs[-1] = (runs[-1][0], n, fee)
        else:
            runs.append((n, n, fee))
    return runs


def policy_lines(provider, deadline: datetime, now: datetime) -> list[Line]:
    """Free cancellation until the deadline (or: it has passed already); after it, the provider's policy."""
    deadline = deadline.astimezone(JST)
    late = Line(f"booking.policy.late.{provider.late_fee}", {"provider": provider.name})
    if deadline <= now:
        return [Line("booking.policy.past"), late]
    return [Line("booking.policy.free_until", {"date": deadline.date(), "time": f"{deadline:%H:%M}"}), late]


# --- booking ----------------------------------------------------------------------------------------

def _book(state: dict, ctx: Context, menu: Say) -> Outcome:
    quote = ctx.bookings.quote(state["type"], _provider(state), _date(state), state["nights"], replacing=state["change"])
    result = ctx.bookings.request_care(care_type=state["type"], provider_key=_provider(state), day=_date(state),
                                   nights=state["nights"], slot=state["slot"], token=state["token"],
                                   replacing=state["change"])
    if result.ok and result.repeated:
        return Outcome(None, (Say("booking.already"), menu))
    if result.ok and result.care:
        return _booked(result.care, quote, state, ctx, menu)
    problem = result.problem
    if problem in (CareProblem.FULL, CareProblem.TOO_SOON, CareProblem.TOO_FAR, CareProblem.CLOSED):
        hint = "booking.day_gone" if problem == CareProblem.FULL else "booking.day_unavailable"
        return _ask(dict(state, step="date", token=None), ctx, hint=hint)
    if problem == CareProblem.NIGHTS:
        return _ask(dict(state, step="nights", token=None), ctx, hint="booking.nights_gone")
    if problem == CareProblem.PAST_DEADLINE:
        return Outcome(None, (_past_deadline(ctx.bookings.provider(state["provider"])), menu))
    if problem == CareProblem.GONE:
        return Outcome(None, (Say("booking.change_gone"), menu))
    if problem == CareProblem.NO_SCREENING:
        first = screening.start(None, ctx)
        return Outcome(first.state, (Say("booking.need_screening"), *first.says))
    return _cannot(problem, result.reasons, ctx, menu)


def _booked(care: CareView, quote: Quote, state: dict, ctx: Context, menu: Say) -> Outcome:
    lines = [Line(f"booking.type.{care.care_type}"), Line("booking.summary.provider", {"name": care.provider.name}),
             *when_lines(care.care_type, care.start, care.nights, care.slot, care.provider),
             *_fee(quote, units=False), *policy_lines(care.provider, care.deadline, ctx.now),
             Line("booking.done_next")]
    return Outcome(None, (Say("booking.changed" if state["change"] else "booking.done", lines=tuple(lines)), menu))


def _cannot(problem: str | None, reasons, ctx: Context, menu: Say | None, says=()) -> Outcome:
    """She cannot book this type now: say why, kindly, and what she can do."""
    centre = ctx.centre
    if problem == CareProblem.ONE_OPEN:
        answer = Say("booking.one_open", choices=(Choice("menu.bookings", "menu:bookings"),
                                                  Choice("care.menu", "menu:show")))
        return Outcome(None, (*says, answer))
    if problem == CareProblem.FULL:
        return Outcome(None, (*says, Say("booking.no_room_at_all", centre), *((menu,) if menu else ())))
    lines = tuple(Line(reason.key, dict(reason.params)) for reason in reasons)
    answer = Say("booking.not_eligible", lines=(*lines, Line("booking.call_centre", centre)),
                 choices=(Choice("care.menu", "menu:show"),))
    return Outcome(None, (*says, answer))


def _past_deadline(provider) -> Say:
    return Say("booking.past_deadline", {"provider": provider.name, "phone": provider.phone})


# --- the state ----------------------------------------------------------------------------------------

def _days(state: dict, ctx: Context):
    return ctx.bookings.care_days(state["type"], _provider(state), replacing=state["change"])


def _provider(state: dict) -> str | None:
    return None if state["provider"] in (None, ANYWHERE) else state["provider"]


def _date(state: dict) -> date:
    return date.fromisoformat(state["date"])


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _token(state: dict, ctx: Context) -> str:
    """The draft's token: the same draft at the same moment, the same token."""
    draft = "|".join(str(state[k]) for k in ("type", "provider", "date", "nights", "slot", "change"))
    return hashlib.sha256(f"{ctx.now.isoformat()}|{draft}".encode()).hexdigest()[:16]


