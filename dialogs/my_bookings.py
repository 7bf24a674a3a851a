"""Her bookings (予約の確認), as a conversation:

    予約の確認 (menu) ─▶ her upcoming care and class bookings, a card each, with the state in words
                        (受付中（センターの確認待ち）, 確定, キャンセル待ち（n番目）…), and a button per
                        care type to book (dialogs/booking.py)
        キャンセルする ─▶ the policy first (free until …, after that a fee may apply) ─▶ キャンセルする / やめない
                         past the deadline: whom to call instead (the provider; the centre for classes)
        日にちを変える (care) ─▶ the booking dialog's date steps (dialogs/booking.py, start_change);
                                the old booking stays until the new one is secured
        参加する / 辞退する (a class place offered to her) ─▶ dialogs/classes.py
    A tap on an old button, or typed text, shows the list again with a hint.
"""
from datetime import timedelta

from dialogs import booking
from dialogs.core import Card, Cards, Choice, Context, Input, Line, Outcome, Postback, Resume, Say
from scheduling.dates.calendar import JST
from scheduling.rules.schema import TYPES
from scheduling.store.statuses import ClassBookingStatus

PREFIX = "my|"
MENU_DATA = "menu:bookings"
SESSION = timedelta(hours=12)
MAX_CARDS = 10


def is_for_me(event: Input) -> bool:
    return isinstance(event, Postback) and (event.data == MENU_DATA or event.data.startswith(PREFIX))


def start(ctx: Context, menu: Say, *, hint: str | None = None) -> Outcome:
    views = ctx.bookings.upcoming()
    says = (Say(hint),) if hint else ()
    more = (*_book_choices(ctx), Choice("care.menu", "menu:show"))
    if not views:
        return Outcome(None, (*says, Say("my.none", choices=more)))
    state = {"dialog": "my", "step": "list", "kind": None, "id": None, "updated": ctx.now.isoformat()}
    cards = tuple(_care_card(v) if hasattr(v, "care_type") else _class_card(v) for v in views[:MAX_CARDS])
    return Outcome(state, (*says, Say("my.intro"), Cards(Line("my.list_alt"), cards, choices=more)))


def _book_choices(ctx: Context) -> tuple[Choice, ...]:
    """A new care booking from here: each type with a provider (the booking dialog asks for a
    screening first when she has none)."""
    return tuple(Choice(f"my.book.{t}", f"book|{t}") for t in TYPES if ctx.bookings.providers(t))


def handle(state: dict | None, event: Input, ctx: Context, menu: Say) -> Outcome:
    if isinstance(event, Postback) and event.data == MENU_DATA:
        return start(ctx, menu)
    if isinstance(event, Postback):
        command, _, rest = event.data.removeprefix(PREFIX).partition("|")
        if command == "c":
            return _ask_cancel(rest, ctx, menu)
        if command == "d" and rest.isdigit():
            return _change(int(rest), ctx, menu)
        if command == "keep":
            return start(ctx, menu, hint="my.kept")
        if command == "cc" and state and state.get("dialog") == "my" and not ctx.expired(state, SESSION) \
                and rest == f"{state['kind']}|{state['id']}":
            return _cancel(state["kind"], state["id"], ctx, menu)
        return start(ctx, menu, hint="my.hint_stale")
    if state is None or state.get("dialog") != "my" or ctx.expired(state, SESSION):
        return Outcome(None, (Say("reply.expired"), menu))
    hint = () if isinstance(event, Resume) else (Say("my.hint_tap"),)
    if state["step"] == "cancel":   # typing (even キャンセル) is no answer to "cancel it?": ask again
        asked = _ask_cancel(f"{state['kind']}|{state['id']}", ctx, menu)
        return Outcome(asked.state, (*hint, *asked.says))
    return start(ctx, menu, hint=None if isinstance(event, Resume) else "my.hint_tap")


# --- the cards ------------------------------------------------------------------------------------

def _care_card(view) -> Card:
    lines = (Line(f"my.status.care.{view.status}"), Line("my.number", {"number": view.id}),
             Line("booking.summary.provider", {"name": view.provider.name}),
             *booking.when_lines(view.care_type, view.start, view.nights, view.slot, view.provider))
    return Card(Line(f"screening.type.{view.care_type}"), lines,
                (Choice("my.change", f"{PREFIX}d|{view.id}"), Choice("my.cancel", f"{PREFIX}c|care|{view.id}")))


def _class_card(view) -> Card:
    status = Line(f"my.status.class.{view.status}", _status_params(view))
    lines = (status, Line("classes.card.date", {"date": view.day}),
             Line("classes.card.time", {"start": view.start, "end": view.end}),
             Line("classes.card.place", {"place": view.place}), Line(f"classes.party.{view.party}"))
    buttons: tuple[Choice, ...]
    if view.status == ClassBookingStatus.OFFERED:
        buttons = (Choice("classes.accept", f"cls|accept|{view.id}"),
                   Choice("classes.decline_offer", f"cls|decline|{view.id}"))
    elif view.status == ClassBookingStatus.WAITING:
        buttons = (Choice("my.leave_waiting", f"{PREFIX}c|cls|{view.id}"),)
    else:
        buttons = (Choice("my.cancel", f"{PREFIX}c|cls|{view.id}"),)
    return Card(Line("classes.card.title", {"title": view.title}), lines, buttons)


def _status_params(view) -> dict:
    if view.status == ClassBookingStatus.WAITING:
        return {"position": view.position or 1}
    if view.status == ClassBookingStatus.OFFERED and view.hold_until:
        until = view.hold_until.astimezone(JST)
        return {"date": until.date(), "time": f"{until:%H:%M}"}
    return {}


# --- cancelling and changing -------------------------------------------------------------------------

def _ask_cancel(rest: str, ctx: Context, menu: Say) -> Outcome:
    kind, _, raw = rest.partition("|")
    view = _view(kind, raw, ctx)
    if view is None:
        return start(ctx, menu, hint="my.gone")
    state = {"dialog": "my", "step": "cancel", "kind": kind, "id": view.id, "updated": ctx.now.isoformat()}
    confirm = (Choice("my.cancel_yes", f"{PREFIX}cc|{kind}|{view.id}"), Choice("my.keep", PREFIX + "keep"))
    if kind == "care":
        if ctx.now >= view.deadline:
            return Outcome(None, (_care_past_deadline(view), menu))
        lines = (Line(f"screening.type.{view.care_type}"),
                 Line("booking.summary.provider", {"name": view.provider.name}),
                 *booking.when_lines(view.care_type, view.start, view.nights, view.slot, view.provider),
                 *booking.policy_lines(view.provider, view.deadline, ctx.now))
        return Outcome(state, (Say("my.ask_cancel", lines=lines, choices=confirm),))
    lines = (Line("classes.card.title", {"title": view.title}), Line("classes.card.date", {"date": view.day}),
             Line(f"classes.party.{view.party}"))
    if view.status in (ClassBookingStatus.WAITING, ClassBookingStatus.OFFERED):
        return Outcome(state, (Say("my.ask_leave_waiting", lines=lines, choices=confirm),))
    if ctx.now >= view.deadline:
        return Outcome(None, (_class_past_deadline(ctx), menu))
    free_until = Line("my.class_free_until", {"date": view.deadline.astimezone(JST).date(),
                                              "time": f"{view.deadline.astimezone(JST):%H:%M}"})
    return Outcome(state, (Say("my.ask_cancel", lines=(*lines, free_until), choices=confirm),))


def _cancel(kind: str, booking_id: int, ctx: Context, menu: Say) -> Outcome:
    desk = ctx.bookings
    view = _view(kind, str(booking_id), ctx)
    result = desk.cancel_care(booking_id) if kind == "care" else desk.cancel_class(booking_id)
    if result.ok:
        return Outcome(None, (Say("my.cancelled"), menu))
    if result.problem == "past_deadline" and view is not None:
        return Outcome(None, (_care_past_deadline(view) if kind == "care" else _class_past_deadline(ctx), menu))
    return start(ctx, menu, hint="my.gone")


def _change(booking_id: int, ctx: Context, menu: Say) -> Outcome:
    view = ctx.bookings.care_booking(booking_id)
    if view is None:
        return start(ctx, menu, hint="my.gone")
    return booking.start_change(view, ctx, menu)


def _view(kind: str, raw: str, ctx: Context):
    if not raw.isdigit() or kind not in ("care", "cls"):
        return None
    return ctx.bookings.care_booking(int(raw)) if kind == "care" else ctx.bookings.class_booking(int(raw))


def _care_past_deadline(view) -> Say:
    deadline = view.deadline.astimezone(JST)
    return Say("my.care_past_deadline", {"date": deadline.date(), "time": f"{deadline:%H:%M}",
                                         "provider": view.provider.name, "phone": view.provider.phone})


def _class_past_deadline(ctx: Context) -> Say:
    return Say("my.class_past_deadline", ctx.centre)

