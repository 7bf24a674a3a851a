"""Which dialog answers an input: a registry of dialogs, and what every dialog shares.

Every typed text is first checked against the city's safety net: a match is answered at once (never with
just a menu), an urgent one becomes an item for staff, and the dialog she was in stays where it was
(「続ける」 asks its question again). Then:

    a postback a dialog owns (its prefixes, its menu tap)   -> that dialog
    go|resume, go|INTENT (after a safety answer or a switch) -> go on, or switch
    follow, メニュー, other menu taps                         -> the main menu
    typed text inside a dialog:
        a step that takes text (a link code, a phone number) -> the dialog
        a whole-message stop word (やめる, キャンセル)        -> the dialog's own cancel
        text that clearly means something else (相談したい)   -> 「〜に進みますか？」 [はい] [このまま続ける]
        anything else                                       -> the dialog (it asks again with a hint)
    typed text outside a dialog:
        with a 相談 open                                    -> her message joins it (a short command still works)
        a link code                                         -> linking her record
        what she means (dialogs/intents)                    -> that menu item or answer
        anything else                                       -> a gentle word, the menu and the offer of 相談;
                                                               words of her own (OWN_WORDS or more) are also
                                                               put before staff, who read them: the safety
                                                               net cannot know every way of saying danger
"""
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from dialogs import booking, classes, consult, main_menu, my_bookings, privacy, registration, screening
from dialogs.core import Choice, CityText, Context, Follow, Input, Media, Outcome, Postback, Resume, Say, Text
from dialogs.intents import intent_of, means_stop
from scheduling.safety import SafetyNet
from scheduling.text.codes import looks_like_code
from scheduling.text.textnorm import normalize

MENU = main_menu.MENU
GO = "go|"
SHORT_COMMAND = 15  # with a 相談 open, a typed menu word this short is a command, not part of the 相談
OWN_WORDS = 8       # characters (normalised): a message this long that nothing understood goes to staff


@dataclass(frozen=True)
class RaiseAlert:
    """Command: a message that hit an urgent safety category becomes an item on staff's 今日."""
    category: str
    label: str
    text: str
    matched: str


@dataclass(frozen=True)
class NoteForStaff:
    """Command: words of her own that neither the safety net nor the intents understood; a person reads them."""
    text: str


@dataclass(frozen=True)
class Dialog:
    name: str                                   # the state's "dialog"
    owns: tuple[str, ...]                       # postback data it answers (prefixes)
    handle: Callable[..., Outcome]              # (state, event, ctx, menu) -> Outcome
    start: Callable[[dict | None, Context], Outcome] | None = None  # from the menu or what she typed
    cancel: str | None = None                   # the postback of its own やめる
    takes_text: tuple[str, ...] = ()            # steps whose answer is typed
    intent: str | None = None                   # what she types to mean it (dialogs/intents)
    offers_resume: bool = False                 # typing its name inside it starts it (続きから / 最初から)


DIALOGS = (
    Dialog("screening", ("scr|",), screening.handle, lambda state, ctx: screening.start(state, ctx),
           "scr|cancel", intent="care", offers_resume=True),
    Dialog("booking", ("book|", "bk|"), booking.handle, cancel="bk|cancel"),
    Dialog("classes", (classes.MENU_DATA, "cls|"), classes.handle, lambda state, ctx: classes.start(ctx, MENU),
           "cls|cancel", intent="class"),
    Dialog("my", (my_bookings.MENU_DATA, "my|"), my_bookings.handle,
           lambda state, ctx: my_bookings.start(ctx, MENU), intent="bookings"),
    Dialog("registration", ("reg|", "call|pref|", "menu:register"), registration.handle,
           lambda state, ctx: registration.start(ctx, MENU), "reg|cancel", ("code", "call_phone"), "register"),
    Dialog("privacy", ("del|", "menu:delete"), privacy.handle, lambda state, ctx: privacy.start(ctx, MENU),
           "del|cancel", intent="delete"),
    Dialog("consult", (consult.MENU_DATA, "cons|"), consult.handle,
           lambda state, ctx: consult.start(ctx, MENU, source="text"), "cons|cancel", ("phone",), "consult"),
)
BY_NAME = {d.name: d for d in DIALOGS}


def _start_of(name: str) -> Callable[[dict | None, Context], Outcome]:
    start = BY_NAME[name].start
    if start is None:
        raise ValueError(f"the dialog {name!r} has no start")
    return start


MENU_STARTS = {"menu:care": _start_of("screening"), "menu:register": _start_of("registration"),
               "menu:delete": _start_of("privacy")}


def handle(state: dict | None, event: Input, ctx: Context) -> Outcome:
    if isinstance(event, Text) and ctx.safety is not None:
        match = ctx.safety.check(event.text)
        if match is not None:
            return _safety(state, event.text, match, ctx.safety, ctx)
    if isinstance(event, Postback):
        return _postback(state, event, ctx)
    if isinstance(event, Follow):
        return main_menu.handle(None, event, ctx)
    current = _current(state)
    if isinstance(event, Text):
        return _typed_in(current, state or {}, event, ctx) if current else _typed(state, event.text, ctx)
    if current:
        return current.handle(state, event, ctx, MENU)
    if isinstance(event, Media) and ctx.consult is not None:
        added = ctx.consults.add(kind=event.kind, body="")
        if added is not None:
            return consult.media_received(added, ctx)
    return main_menu.handle(state, event, ctx)


# --- postbacks ----------------------------------------------------------------------------------

def _postback(state: dict | None, event: Postback, ctx: Context) -> Outcome:
    data = event.data
    if data == GO + "resume":
        current = _current(state)
        return current.handle(state, Resume(), ctx, MENU) if current else main_menu.handle(None, event, ctx)
    if data.startswith(GO):
        return _do(data.removeprefix(GO), state, ctx)
    if data in MENU_STARTS:
        return MENU_STARTS[data](state, ctx)
    for dialog in DIALOGS:
        if data.startswith(dialog.owns):
            return dialog.handle(state, event, ctx, MENU)
    return main_menu.handle(None, event, ctx)  # other menu taps, and a stale or unknown button


# --- typed text ---------------------------------------------------------------------------------

def _typed_in(current: Dialog, state: dict, event: Text, ctx: Context) -> Outcome:
    if state.get("step") in current.takes_text:
        return current.handle(state, event, ctx, MENU)
    if means_stop(event.text):   # a dialog without a やめる of its own decides (「キャンセル」 to "cancel it?")
        return current.handle(state, Postback(current.cancel) if current.cancel else event, ctx, MENU)
    intent = intent_of(event.text)
    if intent == "menu":
        return main_menu.handle(None, Postback("menu:show"), ctx)
    if intent == current.intent and current.offers_resume and current.start:
        return current.start(state, ctx)
    if intent in ("phone", "help"):
        return Outcome(state, (_answer(intent, ctx), Say("switch.go_on", choices=_go_on())))
    if intent in SWITCHES and intent != current.intent and not (intent == "cancel_booking" and current.name == "my"):
        return Outcome(state, (Say(f"switch.ask.{intent}", choices=(
            Choice("switch.yes", GO + intent), Choice("switch.no", GO + "resume"))),))
    outcome = current.handle(state, event, ctx, MENU)
    if intent is None and len(normalize(event.text)) >= OWN_WORDS:   # her own words: a person reads them too
        return Outcome(outcome.state, outcome.says, (*outcome.commands, NoteForStaff(event.text)))
    return outcome


def _typed(state: dict | None, text: str, ctx: Context) -> Outcome:
    intent = intent_of(text)
    if ctx.consult is not None and ctx.consult.open_case() is not None \
            and not (intent in ACTIONS and len(text.strip()) <= SHORT_COMMAND):
        return consult.received(ctx.consults.add(kind="text", body=text), ctx)
    if looks_like_code(text):
        return registration.redeem_typed_code(text, ctx, MENU)
    if intent in ACTIONS:
        return _do(intent, state, ctx)
    choices = (Choice("consult.start", "cons|start|text"), *main_menu.CHOICES)
    if len(normalize(text)) >= OWN_WORDS:
        return Outcome(None, (Say("reply.not_understood_read", choices=choices),), (NoteForStaff(text),))
    return Outcome(None, (Say("reply.not_understood", choices=choices),))


def _do(intent: str, state: dict | None, ctx: Context) -> Outcome:
    """What she meant, typed or chosen after 「〜に進みますか？」."""
    action = ACTIONS.get(intent)
    return action(state, ctx) if action else main_menu.handle(None, Postback("menu:show"), ctx)


def _answer(intent: str, ctx: Context) -> Say:
    return Say("reply.help" if intent == "help" else "reply.phone", ctx.centre)


def _plain(key: str, state: dict | None, ctx: Context) -> Outcome:
    return Outcome(None, (Say(key, ctx.centre), MENU))


ACTIONS: dict[str, Callable[[dict | None, Context], Outcome]] = {
    **{d.intent: _start_of(d.name) for d in DIALOGS if d.intent and d.start},
    "cancel_booking": _start_of("my"),
    "help": partial(_plain, "reply.help"),
    "phone": partial(_plain, "reply.phone"),
    "greeting": partial(_plain, "reply.greeting"),
    "thanks": partial(_plain, "reply.thanks"),
    "menu": lambda state, ctx: Outcome(None, (MENU,)),
}
SWITCHES = ("care", "class", "bookings", "cancel_booking", "register", "delete", "consult")


# --- the safety net -----------------------------------------------------------------------------

def _safety(state: dict | None, text: str, match, net: SafetyNet, ctx: Context) -> Outcome:
    """The city's answer first; staff hear of an urgent one; the dialog she was in waits for 「続ける」."""
    answer = CityText(tuple((language, net.answer(match, language, ctx.now)) for language in ("ja", "en")))
    commands = (RaiseAlert(match.category, match.label, text, match.matched),) if match.urgent else ()
    current = _current(state)
    if current is None and ctx.consult is not None and ctx.consult.open_case() is not None:
        ctx.consults.add(kind="text", body=text)  # staff read it in her 相談 too
        return Outcome(state, (answer, Say("safety.in_consult", choices=(Choice("care.menu", "menu:show"),))),
                       commands)
    choices = ((Choice("safety.go_on", GO + "resume"),) if current else ()) + (
        (Choice("consult.start", "cons|start|safety"),) if match.offer_consult else ()) + (
        Choice("care.menu", "menu:show"),)
    follow = Say("safety.next_in_dialog" if current else "safety.next", choices=choices)
    return Outcome(state, (answer, follow), commands)


def _go_on() -> tuple[Choice, ...]:
    return (Choice("safety.go_on", GO + "resume"), Choice("care.menu", "menu:show"))


def _current(state: dict | None) -> Dialog | None:
    return BY_NAME.get((state or {}).get("dialog") or "")
