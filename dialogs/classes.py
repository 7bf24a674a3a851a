"""Parent classes (パパママ教室, 0歳児の親子教室), as a conversation:

    パパママ教室 (menu) ─▶ only what the classes need and her screening does not tell:
                            妊娠中 / 出産後 ─▶ the due date, or the baby's birthday (LINE's date picker)
                            ─▶ 初めてのお子さんですか？ (only when a class is for first babies)
                       ─▶ the sessions open for booking that fit her: a card each (date, time, place,
                          places left) ─▶ ひとりで / パートナーと2人で
                       ─▶ summary ─▶ 予約する: booked at once (a request when the city confirms first)
                       full, or too few places for two ─▶ キャンセル待ちに登録 ─▶ her place in line
    A freed place is offered to her by push (the dispatcher), held for a while:
        参加する "cls|accept|ID" ─▶ booked (or: the hold has ended, and what she can do)
        辞退する "cls|decline|ID" ─▶ the place goes to the next in line
    1つ戻る and やめる at each step; a tap on an old button, or typed text, re-asks with a hint.

Her answers here (stage, dates, first baby) stay in the dialog's state only and are never echoed.
"""
import hashlib
from datetime import date, timedelta

from dialogs.core import Card, Cards, Choice, Context, DateChoice, Input, Line, Outcome, Postback, Resume, Say
from scheduling.chat.desk import Mother
from scheduling.classes.problems import ClassProblem
from scheduling.store.statuses import ClassBookingStatus

PREFIX = "cls|"
MENU_DATA = "menu:class"
SESSION = timedelta(hours=12)
MAX_CARDS = 10
ANSWER_OF = {"stage": "stage", "due": "due", "born": "born", "first": "first", "list": "session", "party": "party"}


def is_for_me(event: Input) -> bool:
    return isinstance(event, Postback) and (event.data == MENU_DATA or event.data.startswith(PREFIX))


def start(ctx: Context, menu: Say) -> Outcome:
    state: dict = {"dialog": "classes", "step": None, "stage": None, "due": None, "born": None, "first": None,
             "session": None, "party": 0, "token": None, "history": [], "updated": ctx.now.isoformat()}
    return _next(state, ctx, menu, first=Say("classes.intro"))


def handle(state: dict | None, event: Input, ctx: Context, menu: Say) -> Outcome:
    if isinstance(event, Postback) and event.data == MENU_DATA:
        return start(ctx, menu)
    if isinstance(event, Postback) and event.data.startswith((PREFIX + "accept|", PREFIX + "decline|")):
        return _offer(event.data.removeprefix(PREFIX), ctx, menu)
    if isinstance(event, Postback) and event.data.startswith((PREFIX + "go|", PREFIX + "wait|")):
        token = event.data.split("|", 2)[2]
        if not (state and state.get("dialog") == "classes" and state.get("token") == token) \
                and ctx.bookings.class_request(token) is not None:  # a second tap, after the first was done
            return Outcome(state, (Say("classes.already"), menu))
    if state is None or state.get("dialog") != "classes" or ctx.expired(state, SESSION):
        return Outcome(None, (Say("reply.expired"), menu))
    match event:
        case Postback(data=data, params=params):
            return _postback(state, data.removeprefix(PREFIX).split("|"), params, ctx, menu)
        case Resume():
            return _next(state, ctx, menu)
    return _next(state, ctx, menu, hint="classes.hint_tap")


def _postback(state: dict, parts: list[str], params: dict, ctx: Context, menu: Say) -> Outcome:
    command, value = parts[0], "|".join(parts[1:])
    step = state["step"]
    if command == "cancel":
        return Outcome(None, (Say("classes.cancelled"), menu))
    if command == "back" and state["history"]:
        *history, last = state["history"]
        field = ANSWER_OF[last]
        cleared = dict(state, history=history, token=None, **{field: 0 if field == "party" else None})
        if last == "list":
            cleared["party"] = 0
        return _next(cleared, ctx, menu)
    answer: str | bool | int | None = None
    if command == "stage" and step == "stage" and value in ("pregnant", "born"):
        answer = value
    elif command in ("due", "born") and step == command:
        answer = _picked(params.get("date"), *_picker_range(command, ctx))
        if answer is None:
            return _next(state, ctx, menu, hint="classes.hint_date")
    elif command == "first" and step == "first" and value in ("yes", "no"):
        answer = value == "yes"
    elif command == "s" and step == "list" and value.isdigit() or command == "p" and step == "party" and value in ("1", "2"):
        answer = int(value)
    elif command in ("go", "wait") and step == {"go": "confirm", "wait": "wait"}[command] and value == state["token"]:
        return _book(state, command == "wait", ctx, menu)
    if answer is None:
        return _next(state, ctx, menu, hint="classes.hint_stale")
    return _next(dict(state, history=[*state["history"], step], **{ANSWER_OF[step]: answer}), ctx, menu)


# --- what to ask next ---------------------------------------------------------------------------

def _next(state: dict, ctx: Context, menu: Say, *, hint: str | None = None, first: Say | None = None) -> Outcome:
    """The next step, from what is known: her stage and dates, the sessions that fit, her choices."""
    desk = ctx.bookings
    known = desk.known()
    mother = _mother(state, known)
    sessions = desk.class_sessions(mother)
    says = [s for s in (first, Say(hint) if hint else None) if s]
    if not sessions:
        return Outcome(None, (*says, Say("classes.none_open", ctx.centre), menu))
    needs = {fact for s in sessions for fact in s.unknown}
    stage = state["stage"] or known.stage
    if needs & {"due_date", "birth_date"} and stage is None:
        return _ask(state, "stage", says, ctx)
    if stage == "pregnant" and "due_date" in needs and mother.due_date is None:
        return _ask(state, "due", says, ctx)
    if stage == "born" and "birth_date" in needs and mother.birth_date is None:
        return _ask(state, "born", says, ctx)
    if state["first"] is None and any(s.unknown == ("first_baby",) for s in sessions):
        return _ask(state, "first", says, ctx)
    fitting = [s for s in sessions if s.fits][:MAX_CARDS]
    if not fitting:
        return Outcome(None, (*says, Say("classes.none_fit", ctx.centre), menu))
    chosen = next((s for s in fitting if s.id == state["session"]), None)
    if chosen is None:
        if state["session"] is not None:   # it closed or no longer fits: choose again
            state = dict(state, session=None, party=0, history=[h for h in state["history"] if h != "list"])
            says.append(Say("classes.session_gone"))
        state = dict(state, step="list", updated=ctx.now.isoformat())
        return Outcome(state, (*says, Say("classes.ask_session"),
                               Cards(Line("classes.list_alt"), tuple(_card(s) for s in fitting),
                                     choices=_back_and_cancel(state))))
    if not state["party"]:
        return _ask(state, "party", says, ctx)
    step = "confirm" if chosen.free >= state["party"] else "wait"
    state = dict(state, step=step, token=_token(state, ctx), updated=ctx.now.isoformat())
    return Outcome(state, (*says, _summary(state, chosen) if step == "confirm" else _wait_offer(state, chosen)))


def _ask(state: dict, step: str, says: list, ctx: Context) -> Outcome:
    state = dict(state, step=step, updated=ctx.now.isoformat())
    more = _back_and_cancel(state)
    if step == "stage":
        question = Say("classes.ask_stage", choices=(Choice("classes.stage.pregnant", PREFIX + "stage|pregnant"),
                                                     Choice("classes.stage.born", PREFIX + "stage|born"), *more))
    elif step in ("due", "born"):
        low, high = _picker_range(step, ctx)
        picker = DateChoice("classes.pick_date", PREFIX + step, initial=ctx.today.isoformat(),
                            min=low.isoformat(), max=high.isoformat())
        question = Say(f"classes.ask_{step}", choices=(picker, *more))
    elif step == "first":
        question = Say("classes.ask_first", choices=(Choice("classes.first.yes", PREFIX + "first|yes"),
                                                     Choice("classes.first.no", PREFIX + "first|no"), *more))
    else:
        question = Say("classes.ask_party", choices=(Choice("classes.alone", PREFIX + "p|1"),
                                                     Choice("classes.couple", PREFIX + "p|2"), *more))
    return Outcome(state, (*says, question))


def _back_and_cancel(state: dict) -> tuple[Choice, ...]:
    back = (Choice("classes.back", PREFIX + "back"),) if state["history"] else ()
    return (*back, Choice("classes.cancel", PREFIX + "cancel"))


def _card(session) -> Card:
    lines = [*_session_lines(session)[1:],
             Line("classes.card.free", {"free": session.free}) if session.free else Line("classes.card.full")]
    if session.requires_confirmation:
        lines.append(Line("classes.card.confirmation"))
    if session.mine:  # hers already: her bookings, not a second booking
        lines.append(Line("classes.card.waiting" if session.mine == ClassBookingStatus.WAITING else "classes.card.mine"))
        return Card(Line("classes.card.title", {"title": session.title}), tuple(lines),
                    (Choice("menu.bookings", "menu:bookings"),))
    return Card(Line("classes.card.title", {"title": session.title}), tuple(lines),
                (Choice("classes.choose", f"{PREFIX}s|{session.id}"),))


def _session_lines(session, party: int = 0) -> list[Line]:
    lines = [Line("classes.card.title", {"title": session.title}), Line("classes.card.date", {"date": session.day}),
             Line("classes.card.time", {"start": session.start, "end": session.end}),
             Line("classes.card.place", {"place": session.place})]
    if party:
        lines.append(Line(f"classes.party.{party}"))
    return lines


def _summary(state: dict, session) -> Say:
    lines = _session_lines(session, state["party"])
    if session.requires_confirmation:
        lines.append(Line("classes.card.confirmation"))
    lines.append(Line("classes.ask_confirm"))
    return Say("classes.summary", lines=tuple(lines),
               choices=(Choice("classes.go", f"{PREFIX}go|{state['token']}"), *_back_and_cancel(state)))


def _wait_offer(state: dict, session) -> Say:
    key = "classes.full" if session.free == 0 else "classes.too_few"
    return Say(key, {"free": session.free}, lines=tuple(_session_lines(session, state["party"])),
               choices=(Choice("classes.join_wait", f"{PREFIX}wait|{state['token']}"), *_back_and_cancel(state)))


# --- booking and offers ------------------------------------------------------------------------------

def _book(state: dict, waiting: bool, ctx: Context, menu: Say) -> Outcome:
    desk, mother = ctx.bookings, _mother(state, ctx.bookings.known())
    if waiting:
        result = desk.join_waitlist(session_id=state["session"], party=state["party"], token=state["token"])
    else:
        result = desk.book_class(session_id=state["session"], party=state["party"], token=state["token"],
                                 mother=mother)
    if result.ok:
        if result.repeated:
            return Outcome(None, (Say("classes.already"), menu))
        return Outcome(None, (_booked(result.cls, ctx), menu))
    if result.problem == ClassProblem.FULL:
        return _next(dict(state, token=None), ctx, menu, hint="classes.filled_meanwhile")
    if result.problem == ClassProblem.ALREADY:
        return Outcome(None, (Say("classes.already_booked", choices=(Choice("menu.bookings", "menu:bookings"),
                                                                      Choice("care.menu", "menu:show"))),))
    return _next(dict(state, session=None, party=0, token=None), ctx, menu)  # closed, not open, not for her


def _booked(booking, ctx: Context) -> Say:
    lines = tuple(_session_lines(booking, booking.party))  # a ClassView reads like a session
    if booking.status == ClassBookingStatus.WAITING:
        hold = ctx.bookings.offer_hold_minutes
        after = (Line("classes.waiting_next_hours", {"hours": hold // 60}) if hold % 60 == 0
                 else Line("classes.waiting_next_minutes", {"minutes": hold}))
        return Say("classes.waiting", {"position": booking.position or 1}, lines=(*lines, after))
    if booking.status == ClassBookingStatus.OFFERED:
        return Say("classes.offered_now", lines=lines)
    return Say("classes.requested" if booking.status == ClassBookingStatus.REQUESTED else "classes.booked",
               lines=(*lines, Line("classes.booked_next")))


def _offer(command: str, ctx: Context, menu: Say) -> Outcome:
    """参加する / 辞退する on the push that offers her a freed place."""
    action, _, value = command.partition("|")
    if not value.isdigit():
        return Outcome(None, (Say("classes.offer_gone"), menu))
    desk = ctx.bookings
    result = desk.accept_offer(int(value)) if action == "accept" else desk.decline_offer(int(value))
    if result.ok and action == "decline":
        return Outcome(None, (Say("classes.declined"), menu))
    if result.ok:
        return Outcome(None, (Say("classes.accepted_already") if result.repeated else _booked(result.cls, ctx), menu))
    if result.problem == ClassProblem.EXPIRED:
        return Outcome(None, (Say("classes.offer_expired", choices=(Choice("menu.class", MENU_DATA),
                                                                   Choice("care.menu", "menu:show"))),))
    return Outcome(None, (Say("classes.offer_gone"), menu))


# --- the state ------------------------------------------------------------------------------------------

def _mother(state: dict, known) -> Mother:
    """What the classes may know of her: her answers here first, then her registration or screening."""
    stage = state["stage"] or known.stage
    first = state["first"] if state["first"] is not None else known.first_baby
    if stage == "pregnant":
        due = _day(state["due"]) or (known.due_date if known.stage == "pregnant" else None)
        return Mother(due_date=due, first_baby=first)
    if stage == "born":
        born = _day(state["born"]) or (known.birth_date if known.stage == "born" else None)
        return Mother(due_date=known.due_date if known.stage == "born" else None, birth_date=born, first_baby=first)
    return Mother(first_baby=first)


def _picker_range(step: str, ctx: Context) -> tuple[date, date]:
    today = ctx.today
    return (today, today + timedelta(days=300)) if step == "due" else (today - timedelta(days=800), today)


def _picked(raw: str | None, low: date, high: date) -> str | None:
    day = _day(raw)
    return day.isoformat() if day and low <= day <= high else None


def _day(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _token(state: dict, ctx: Context) -> str:
    draft = f"{ctx.now.isoformat()}|{state['session']}|{state['party']}"
    return hashlib.sha256(draft.encode()).hexdigest()[:16]


