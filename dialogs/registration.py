"""妊娠・出産の登録, as a conversation:

    start ─▶ (a pregnancy ended lately?) a gentle word first ─▶ 登録に進む
          ─▶ (registered?) what is registered ─▶ 出産しました / 予定日が変わった / お知らせを止める / やめる
          ─▶ (not yet) consent: what is kept, why, how to delete, the city's privacy page
               ─▶ 同意して進む ─▶ 妊娠中です ─▶ due date (picker) ─▶ babies ─▶ first baby? ─▶ 登録する
                              ─▶ 出産しました ─▶ birth date ─▶ babies ─▶ early? (─▶ due date) ─▶ 登録する
                              ─▶ 登録コード ─▶ she types the code staff gave her
    お知らせを止める ─▶ one gentle question: 出産しました / 妊娠が終わりました ─▶ every pregnancy push stops
    call|pref|CHOICE|ID (the 32-week call notice's buttons, or 32週のお電話 in her registration) ─▶ her answer
        goes onto the call list; for a time band, the number to call (asked once, read back for a tap)

Dates come from LINE's date picker as postback params and are never echoed. A typed text where a
button is expected re-asks with a hint; a code is the only thing she types.
"""
from datetime import date, timedelta

from dialogs.core import Choice, Context, DateChoice, Follow, Input, Media, Outcome, Postback, Resume, Say, Text
from scheduling.family.statuses import MotherStatus
from scheduling.text.phones import parse_phone

PREFIX = "reg|"
CALL_PREFIX = "call|pref|"
SESSION = timedelta(hours=24)
CALL_CHOICES = ("morning", "afternoon", "evening", "in_person", "not_needed")
PHONE_BANDS = ("morning", "afternoon", "evening")
BACKABLE = ("kind", "due_date", "birth_date", "babies", "first_baby", "early", "early_due_date", "confirm", "code",
            "stop", "new_due_date")  # the steps with 1つ戻る (when there is a step before)


def is_for_me(event: Input) -> bool:
    return isinstance(event, Postback) and event.data.startswith((PREFIX, CALL_PREFIX))


def start(ctx: Context, menu: Say) -> Outcome:
    """She tapped 妊娠・出産の登録 (or typed 登録)."""
    current = ctx.registrations.registration()
    if current is None:
        first = "gentle" if ctx.registrations.recently_ended() else "consent"
        return _ask({"dialog": "registration", "step": first}, ctx)
    if current.status == MotherStatus.PREGNANT:
        return _ask({"dialog": "registration", "step": "pregnant_menu"}, ctx, current=current)
    return _ask({"dialog": "registration", "step": "mother_menu"}, ctx, current=current)


def handle(state: dict | None, event: Input, ctx: Context, menu: Say) -> Outcome:
    if isinstance(event, Postback) and event.data.startswith(CALL_PREFIX):
        return _answer_call(event.data.removeprefix(CALL_PREFIX), ctx, menu)
    if state is None or state.get("dialog") != "registration" or ctx.expired(state, SESSION):
        return Outcome(None, (Say("reply.expired"), menu))
    match event:
        case Postback(data=data, params=params):
            return _postback(state, data.removeprefix(PREFIX), params, ctx, menu)
        case Text(text=text) if state["step"] == "code":
            return _code(state, text, ctx, menu)
        case Text(text=text) if state["step"] == "call_phone":
            phone = parse_phone(text)
            if phone is None:
                return _ask(state, ctx, hint="phone.not_read")
            return _ask(dict(state, step="call_phone_confirm", phone=phone), ctx)
        case Resume():
            return _ask(state, ctx)
        case Text() | Media() | Follow():
            return _ask(state, ctx, hint="reg.hint_tap")
    return _ask(state, ctx, hint="reg.hint_tap")


def redeem_typed_code(text: str, ctx: Context, menu: Say) -> Outcome:
    """A code typed outside the dialog (she was told to send it in the chat)."""
    return _code({"dialog": "registration", "step": "code"}, text, ctx, menu)


# --- steps -----------------------------------------------------------------------------------------

def _postback(state: dict, command: str, params: dict, ctx: Context, menu: Say) -> Outcome:
    step = state["step"]
    if command == "cancel":
        return Outcome(None, (Say("reg.cancelled"), menu))
    if command == "cancel_phone":
        return Outcome(None, (Say("call.phone_skipped", ctx.centre), menu))
    moves = {
        ("gentle", "go_on"): "consent", ("consent", "agree"): "kind",
        ("kind", "pregnant"): "due_date", ("kind", "born"): "birth_date", ("kind", "code"): "code",
        ("pregnant_menu", "born"): "birth_date", ("pregnant_menu", "due"): "new_due_date",
        ("pregnant_menu", "stop"): "stop", ("stop", "born"): "birth_date",
        ("mother_menu", "pregnant"): "consent", ("call_phone_confirm", "phone_again"): "call_phone",
        ("pregnant_menu", "call"): "call",
    }
    if (step, command) in moves:
        return _ask(_forward(state, moves[(step, command)]), ctx)
    if command == "back":
        return _back(state, ctx)
    if (step, command) == ("call_phone_confirm", "phone_yes") and state.get("phone"):
        ctx.consults.save_call_phone(state["mother"], state["phone"])
        return Outcome(None, (Say("call.phone_saved", {"phone": state["phone"]}), menu))
    if (step, command) == ("stop", "ended"):
        ctx.registrations.end_pregnancy()
        return Outcome(None, (Say("reg.ended", ctx.centre), menu))
    answer = command.split("|")
    if answer[0] != "a" or len(answer) < 2 or answer[1] != step:
        return _ask(state, ctx, hint="reg.hint_stale")
    value = answer[2] if len(answer) > 2 else params.get("date")
    return _take(state, step, value, ctx, menu)


def _take(state: dict, step: str, value: str | None, ctx: Context, menu: Say) -> Outcome:
    answers = dict(state.get("answers", {}))
    if step in ("due_date", "birth_date", "early_due_date", "new_due_date"):
        day = _date(value)
        low, high = _date_range(step, ctx)
        if day is None or not low <= day <= high:
            return _ask(state, ctx, hint="reg.hint_date")
        answers[step] = day.isoformat()
    elif step == "babies" and value in ("1", "2", "3"):
        answers["babies"] = int(value)
    elif step in ("first_baby", "early") and value in ("yes", "no"):
        answers[step] = value == "yes"
    elif step == "confirm" and value == "yes":
        return _register(state, ctx, menu)
    else:
        return _ask(state, ctx, hint="reg.hint_tap")
    state = dict(state, answers=answers)
    if step == "new_due_date":
        ctx.registrations.change_due_date(date.fromisoformat(answers["new_due_date"]))
        return Outcome(None, (Say("reg.due_changed", {"date": answers["new_due_date"]}), menu))
    following = {"due_date": "babies", "birth_date": "babies", "first_baby": "confirm", "early_due_date": "confirm"}
    if step == "babies":
        following_step = "first_baby" if "due_date" in answers and "birth_date" not in answers else "early"
    elif step == "early":
        following_step = "early_due_date" if answers["early"] else "confirm"
    else:
        following_step = following[step]
    return _ask(_forward(state, following_step), ctx)


def _forward(state: dict, step: str) -> dict:
    """The next step, remembering the one she was at for 1つ戻る."""
    return dict(state, step=step, trail=[*state.get("trail", []), state["step"]])


def _back(state: dict, ctx: Context) -> Outcome:
    """1つ戻る: the step before, its answer forgotten (as in the screening)."""
    if not state.get("trail") or state["step"] not in BACKABLE:
        return _ask(state, ctx, hint="reg.hint_stale")
    *trail, previous = state["trail"]
    answers = {k: v for k, v in state.get("answers", {}).items() if k != previous}
    return _ask(dict(state, step=previous, trail=trail, answers=answers), ctx)


def _register(state: dict, ctx: Context, menu: Say) -> Outcome:
    answers = state.get("answers", {})
    if "birth_date" in answers:
        due = answers.get("early_due_date")
        ctx.registrations.register_birth(birth_date=date.fromisoformat(answers["birth_date"]), babies=answers["babies"],
                                  due_date=date.fromisoformat(due) if due else None)
        return Outcome(None, (Say("reg.done_birth"), menu))
    ctx.registrations.register_pregnancy(due_date=date.fromisoformat(answers["due_date"]), babies=answers["babies"],
                                  first_baby=answers.get("first_baby"))
    return Outcome(None, (Say("reg.done_pregnant", {"call_week": ctx.registrations.call_week}), menu))


def _code(state: dict, text: str, ctx: Context, menu: Say) -> Outcome:
    result = ctx.registrations.redeem(text)
    if result.status == "linked":
        return Outcome(None, (Say("reg.code_linked"), menu))
    if result.status == "locked":
        return Outcome(None, (Say("reg.code_locked", {"minutes": result.minutes, **ctx.centre}), menu))
    return Outcome(dict(state, step="code", updated=ctx.now.isoformat()),
                   (Say(f"reg.code_{result.status}", ctx.centre, (Choice("reg.cancel", PREFIX + "cancel"),)),))


def _answer_call(data: str, ctx: Context, menu: Say) -> Outcome:
    choice, _, mother_id = data.partition("|")
    if choice not in CALL_CHOICES or not mother_id.isdigit() or not ctx.registrations.answer_call(int(mother_id), choice):
        return Outcome(None, (Say("call.closed", ctx.centre), menu))
    thanks = Say(f"call.thanks.{choice}", ctx.centre)
    if choice in PHONE_BANDS and ctx.consult is not None and ctx.consult.call_needs_phone(int(mother_id)):
        state = {"dialog": "registration", "step": "call_phone", "mother": int(mother_id), "updated": ctx.now.isoformat()}
        return Outcome(state, (thanks, *_ask(state, ctx).says))
    return Outcome(None, (thanks, menu))


# --- questions -------------------------------------------------------------------------------------

def _ask(state: dict, ctx: Context, *, hint: str | None = None, current=None) -> Outcome:
    state = dict(state, updated=ctx.now.isoformat())
    step = state["step"]
    end = _back_and_cancel(state)
    says = [Say(hint)] if hint else []
    if step == "gentle":  # after a pregnancy ended: no word of pregnancy until she chooses to go on
        says.append(Say("reg.gentle", ctx.centre, (Choice("reg.go_on", PREFIX + "go_on"), *end)))
    elif step == "consent":
        says.append(Say("reg.consent", {"privacy_url": ctx.city.privacy_url},
                        (Choice("reg.agree", PREFIX + "agree"), *end)))
    elif step == "kind":
        says.append(Say("reg.kind", choices=(Choice("reg.kind_pregnant", PREFIX + "pregnant"),
                                             Choice("reg.kind_born", PREFIX + "born"),
                                             Choice("reg.kind_code", PREFIX + "code"), *end)))
    elif step == "pregnant_menu":
        current = current or ctx.registrations.registration()
        call = (Choice("reg.call", PREFIX + "call"),) if ctx.consult is not None and ctx.consult.open_call() else ()
        says.append(Say("reg.current_pregnant", {"date": current.due_date.isoformat(), "babies": current.babies},
                        (Choice("reg.born", PREFIX + "born"), Choice("reg.due", PREFIX + "due"), *call,
                         Choice("reg.stop", PREFIX + "stop"), *end)))
    elif step == "call":  # the 32-week notice's question, asked again from her registration
        mother_id = ctx.consults.open_call() if ctx.consult is not None else None
        if mother_id is None:
            says.append(Say("call.closed", ctx.centre, end))
        else:
            says.append(Say("call.ask_again", choices=tuple(
                Choice(f"call.pref.{c}", f"{CALL_PREFIX}{c}|{mother_id}") for c in CALL_CHOICES) + end))
    elif step == "call_phone":
        says.append(Say("phone.ask_call", choices=(Choice("call.phone_skip", PREFIX + "cancel_phone"),)))
    elif step == "call_phone_confirm":
        says.append(Say("phone.confirm", {"phone": state["phone"]}, (
            Choice("phone.yes", PREFIX + "phone_yes"), Choice("phone.again", PREFIX + "phone_again"),
            Choice("call.phone_skip", PREFIX + "cancel_phone"))))
    elif step == "mother_menu":
        current = current or ctx.registrations.registration()
        says.append(Say("reg.current_mother", {"date": current.birth_date.isoformat(), "babies": current.babies},
                        (Choice("reg.new_pregnancy", PREFIX + "pregnant"), *end)))
    elif step == "stop":
        says.append(Say("reg.stop_question", choices=(Choice("reg.stop_born", PREFIX + "born"),
                                                      Choice("reg.stop_ended", PREFIX + "ended"), *end)))
    elif step == "code":
        says.append(Say("reg.code_ask", choices=end))
    elif step in ("due_date", "birth_date", "early_due_date", "new_due_date"):
        low, high = _date_range(step, ctx)
        initial = min(max(ctx.today, low), high)
        says.append(Say(f"reg.ask_{step}", choices=(
            DateChoice("reg.pick_date", f"{PREFIX}a|{step}", initial=initial.isoformat(), min=low.isoformat(),
                       max=high.isoformat()), *end)))
    elif step == "babies":
        says.append(Say("reg.ask_babies", choices=tuple(Choice(f"reg.babies_{n}", f"{PREFIX}a|babies|{n}")
                                                        for n in (1, 2, 3)) + end))
    elif step in ("first_baby", "early"):
        says.append(Say(f"reg.ask_{step}", choices=(Choice("reg.yes", f"{PREFIX}a|{step}|yes"),
                                                    Choice("reg.no", f"{PREFIX}a|{step}|no"), *end)))
    elif step == "confirm":
        says.append(_summary(state, end))
    return Outcome(state, tuple(says))


def _back_and_cancel(state: dict) -> tuple[Choice, ...]:
    """やめる, and before it 1つ戻る where there is a step to go back to (as in the screening)."""
    back = (Choice("reg.back", PREFIX + "back"),) if state.get("trail") and state["step"] in BACKABLE else ()
    return (*back, Choice("reg.cancel", PREFIX + "cancel"))


def _summary(state: dict, end: tuple[Choice, ...]) -> Say:
    answers = state.get("answers", {})
    choices = (Choice("reg.register", f"{PREFIX}a|confirm|yes"), *end)
    if "birth_date" in answers:
        return Say("reg.summary_birth", {"date": answers["birth_date"], "babies": answers["babies"]}, choices)
    return Say("reg.summary_pregnant", {"date": answers["due_date"], "babies": answers["babies"]}, choices)


def _date_range(step: str, ctx: Context) -> tuple[date, date]:
    if step in ("due_date", "new_due_date"):
        return ctx.today - timedelta(days=14), ctx.today + timedelta(days=300)
    if step == "early_due_date":
        return ctx.today - timedelta(days=365), ctx.today + timedelta(days=150)
    return ctx.today - timedelta(days=365), ctx.today


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


