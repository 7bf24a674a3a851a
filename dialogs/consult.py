"""相談 with a person at the centre, as a conversation:

    相談する (menu, typed 相談, the offer after a safety answer)
      (a case open?) ─▶ it stays open: write on; any reply of staff she has not read is shown
      ─▶ topic: からだのこと / 赤ちゃんのこと / 気持ちのこと / 手続き・その他
      ─▶ how: このLINEで / 電話で
           電話で ─▶ time band: 平日の午前 / 午後 / 夕方
                  ─▶ the number (the one she gave before is offered) ─▶ read back ─▶ はい / 入力しなおす
      ─▶ the case is open: she writes what she wants to say, in as many messages as she likes
         (the router adds them to the case; she is told once when the centre will answer)
    cons|read|ID (the button of a staff reply's push) ─▶ the replies she has not read
    1つ戻る and やめる at each step. The number is the only thing typed in the steps.
"""
from datetime import datetime, timedelta

from dialogs.core import Choice, Context, Input, Line, Media, Outcome, Postback, Say, Text
from scheduling.consult.consults import TIME_BANDS, TOPICS
from scheduling.dates.calendar import JST
from scheduling.text.phones import parse_phone

PREFIX = "cons|"
MENU_DATA = "menu:consult"
SESSION = timedelta(hours=12)
STEPS = ("topic", "how", "band", "phone", "phone_confirm")


def is_for_me(event: Input) -> bool:
    return isinstance(event, Postback) and (event.data == MENU_DATA or event.data.startswith(PREFIX))


def start(ctx: Context, menu: Say, *, source: str = "menu") -> Outcome:
    desk = ctx.consults
    case = desk.open_case()
    if case is not None:
        return Outcome(None, (*_replies(desk.unread_replies()), Say("consult.already_open", choices=_menu_only())))
    state: dict = {"dialog": "consult", "step": "topic", "source": source, "topic": None, "how": None, "band": None,
             "phone": None, "history": [], "updated": ctx.now.isoformat()}
    return _ask(state, ctx, first=Say("consult.intro"))


def handle(state: dict | None, event: Input, ctx: Context, menu: Say) -> Outcome:
    if isinstance(event, Postback) and event.data == MENU_DATA:
        return start(ctx, menu)
    if isinstance(event, Postback) and event.data.startswith(PREFIX + "start|"):
        return start(ctx, menu, source=event.data.removeprefix(PREFIX + "start|") or "menu")
    if isinstance(event, Postback) and event.data.startswith(PREFIX + "read|"):
        return _read(ctx)
    if state is None or state.get("dialog") != "consult" or ctx.expired(state, SESSION):
        return Outcome(None, (Say("reply.expired"), menu))
    match event:
        case Postback(data=data):
            return _postback(state, data.removeprefix(PREFIX), ctx, menu)
        case Text(text=text) if state["step"] == "phone":
            return _typed_phone(state, text, ctx)
        case Text() | Media():
            return _ask(state, ctx, hint="consult.hint_tap")
    return _ask(state, ctx)  # resume: the same question again


def resume(state: dict, ctx: Context) -> Outcome:
    return _ask(state, ctx)


def _postback(state: dict, command: str, ctx: Context, menu: Say) -> Outcome:
    step = state["step"]
    if command == "cancel":
        return Outcome(None, (Say("consult.cancelled"), menu))
    if command == "back" and state["history"]:
        *history, last = state["history"]
        return _ask(dict(state, step=last, history=history), ctx)
    kind, _, value = command.partition("|")
    if step == "topic" and kind == "topic" and value in TOPICS:
        return _ask(_next(state, "how", topic=value), ctx)
    if step == "how" and kind == "how" and value == "line":
        return _open(dict(state, how="line"), ctx)
    if step == "how" and kind == "how" and value == "phone":
        return _ask(_next(state, "band", how="phone"), ctx)
    if step == "band" and kind == "band" and value in TIME_BANDS:
        known = ctx.consults.known_phone()
        if known:
            return _ask(_next(state, "phone_confirm", band=value, phone=known), ctx)
        return _ask(_next(state, "phone", band=value), ctx)
    if step == "phone_confirm" and kind == "phone" and value == "yes" and state["phone"]:
        return _open(state, ctx)
    if step == "phone_confirm" and kind == "phone" and value == "again":
        return _ask(dict(state, step="phone", phone=None), ctx)
    return _ask(state, ctx, hint="consult.hint_stale")


def _typed_phone(state: dict, text: str, ctx: Context) -> Outcome:
    phone = parse_phone(text)
    if phone is None:
        return _ask(state, ctx, hint="phone.not_read")
    return _ask(_next(state, "phone_confirm", phone=phone), ctx)


def _next(state: dict, step: str, **answers) -> dict:
    return dict(state, step=step, history=[*state["history"], state["step"]], **answers)


def _open(state: dict, ctx: Context) -> Outcome:
    phone = state["how"] == "phone"
    ctx.consults.start(topic=state["topic"], answer_by=state["how"], source=state["source"],
                      time_band=state["band"] if phone else None, phone=state["phone"] if phone else None)
    lines = [Line("consult.write_on")]
    if phone:
        lines.insert(0, Line(f"consult.will_call.{state['band']}", {"phone": state["phone"]}))
    lines.append(when_line(ctx))
    return Outcome(None, (Say("consult.opened", lines=tuple(lines), choices=_menu_only()),))


def when_line(ctx: Context) -> Line:
    """When the centre answers, from its opening hours (the city's safety file)."""
    hours = {"hours": ctx.city.hours}
    net = ctx.safety
    if net is None or net.in_hours(ctx.now):
        return Line("consult.when_open", hours)
    opening = next_opening(net, ctx.now)
    if opening is None:
        return Line("consult.when_closed", hours)
    local = opening.astimezone(JST)
    return Line("consult.when_next", {**hours, "date": local.date(), "time": f"{local:%H:%M}"})


def next_opening(net, now: datetime) -> datetime | None:
    """The next moment the centre is open, to the quarter hour, within two weeks."""
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
    for _ in range(14 * 24 * 4):
        if net.in_hours(moment):
            return moment
        moment += timedelta(minutes=15)
    return None


def received(added, ctx: Context) -> Outcome:
    """Her message joined her open case: told once when the centre will answer, then quiet."""
    if not added.tell:
        return Outcome(None, ())
    return Outcome(None, (Say("consult.received", lines=(when_line(ctx),), choices=_menu_only()),))


def media_received(added, ctx: Context) -> Outcome:
    return Outcome(None, (Say("consult.media_noted", lines=(when_line(ctx),) if added.tell else (),
                              choices=_menu_only()),))


def _read(ctx: Context) -> Outcome:
    replies = ctx.consults.unread_replies()
    if not replies:
        return Outcome(None, (Say("consult.no_unread", choices=_menu_only()),))
    open_case = ctx.consults.open_case() is not None
    after = Say("consult.after_reply" if open_case else "consult.after_reply_closed",
                ctx.centre, choices=_menu_only())
    return Outcome(None, (*_replies(replies), after))


def _replies(replies) -> tuple[Say, ...]:
    """The centre's replies, at most three messages (LINE takes five per answer; two follow)."""
    shown = replies[-3:]
    return tuple(Say("consult.reply", {"text": reply.body}) for reply in shown)


def _ask(state: dict, ctx: Context, *, hint: str | None = None, first: Say | None = None) -> Outcome:
    state = dict(state, updated=ctx.now.isoformat())
    step = state["step"]
    more = ((Choice("consult.back", PREFIX + "back"),) if state["history"] else ()) + (
        Choice("consult.cancel", PREFIX + "cancel"),)
    if step == "topic":
        question = Say("consult.ask_topic", choices=(
            *(Choice(f"consult.topic.{t}", f"{PREFIX}topic|{t}") for t in TOPICS), *more))
    elif step == "how":
        question = Say("consult.ask_how", choices=(Choice("consult.how.line", PREFIX + "how|line"),
                                                   Choice("consult.how.phone", PREFIX + "how|phone"), *more))
    elif step == "band":
        question = Say("consult.ask_band", choices=(
            *(Choice(f"consult.band.{b}", f"{PREFIX}band|{b}") for b in TIME_BANDS), *more))
    elif step == "phone":
        question = Say("phone.ask", choices=more)
    else:
        question = Say("phone.confirm", {"phone": state["phone"]}, choices=(
            Choice("phone.yes", PREFIX + "phone|yes"), Choice("phone.again", PREFIX + "phone|again"), *more))
    says = [s for s in (first, Say(hint) if hint else None) if s]
    return Outcome(state, (*says, question))


def _menu_only() -> tuple[Choice, ...]:
    return (Choice("care.menu", "menu:show"),)

