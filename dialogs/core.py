"""What a dialog receives and what it answers. Texts are catalog keys, rendered later per language."""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from dialogs.ports import BookingDesk, ConsultDesk, FamilyDesk
from scheduling.city.city_file import Contact
from scheduling.dates.calendar import JST
from scheduling.rules import RuleSet
from scheduling.safety import SafetyNet


# --- inputs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Follow:
    pass


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Postback:
    data: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    """A sticker, image, video, audio, file or location: nothing a dialog reads."""
    kind: str


@dataclass(frozen=True)
class Resume:
    """Go on where she was: the dialog asks its current question again (after a safety answer, or
    after she chose not to switch to something else)."""


Input = Follow | Text | Postback | Media | Resume


@dataclass(frozen=True)
class Context:
    """What a dialog may know besides its state: the time, the city's public facts, the rules in force, the
    city's safety net, and her desks (dialogs/ports.py) in the event's transaction. A dialog test passes only
    what its dialog uses."""
    now: datetime
    city: Contact
    rules: RuleSet | None = None
    desk: BookingDesk | None = None
    family: FamilyDesk | None = None
    consult: ConsultDesk | None = None
    safety: SafetyNet | None = None

    @property
    def bookings(self) -> BookingDesk:
        return _present(self.desk, "desk")

    @property
    def rule_set(self) -> RuleSet:
        return _present(self.rules, "rules")

    @property
    def registrations(self) -> FamilyDesk:
        return _present(self.family, "family")

    @property
    def consults(self) -> ConsultDesk:
        return _present(self.consult, "consult")

    @property
    def today(self) -> date:
        """Today in Japan: every date in the service is a JST date."""
        return self.now.astimezone(JST).date()

    @property
    def centre(self) -> dict:
        """The centre's public facts every dialog may say: the city's name, the phone, the hours."""
        return {"city": self.city.name, "phone": self.city.phone, "hours": self.city.hours}

    def expired(self, state: dict, session: timedelta) -> bool:
        """A dialog's state left longer than its session lasts (state["updated"] is when it last moved)."""
        return self.now - datetime.fromisoformat(state["updated"]) > session

    @property
    def uses(self) -> tuple:
        """Her existing uses of care (for the uses left), asked of the desk only when a dialog needs them."""
        return tuple(self.desk.uses()) if self.desk is not None else ()

    @property
    def marks(self) -> dict:
        """Needs staff have judged on her record, as answers the rules read (never asked of her)."""
        return self.desk.marks() if self.desk is not None and hasattr(self.desk, "marks") else {}


T = TypeVar("T")


class NoDesk(RuntimeError):
    """A dialog needed a desk its Context was built without: a mistake in the code, not in her input."""


def _present(desk: T | None, name: str) -> T:
    if desk is None:
        raise NoDesk(f"this dialog needs Context.{name}")
    return desk


# --- outputs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """A tappable answer. Its data travels as a postback and is not echoed into the chat."""
    label: str  # catalog key
    data: str
    params: dict = field(default_factory=dict)  # for the label, e.g. a provider's name or a date


@dataclass(frozen=True)
class DateChoice:
    """LINE's date picker; the date comes back as Postback(data, params={"date": "YYYY-MM-DD"})."""
    label: str  # catalog key
    data: str
    initial: str | None = None
    min: str | None = None
    max: str | None = None


@dataclass(frozen=True)
class Link:
    """A button that opens a page (a LINE URI action), such as the 利用申請 form in LIFF. Only on cards."""
    label: str  # catalog key
    uri: str


@dataclass(frozen=True)
class Line:
    """One catalog text with its parameters, inside a card."""
    key: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    key: str
    params: dict = field(default_factory=dict)
    choices: tuple[Choice | DateChoice, ...] = ()
    lines: tuple[Line, ...] = ()  # more lines of the same message, e.g. a list under a question


@dataclass(frozen=True)
class Card:
    title: Line
    lines: tuple[Line, ...] = ()
    buttons: tuple[Choice | Link, ...] = ()


@dataclass(frozen=True)
class Cards:
    """A row of cards (a LINE carousel); `alt` is what a notification or an old phone shows."""
    alt: Line
    cards: tuple[Card, ...]
    choices: tuple[Choice | DateChoice, ...] = ()


@dataclass(frozen=True)
class CityText:
    """A text the city wrote in one of its own files (the safety net's answers), per language; the
    Japanese one stands in for a language the city did not write."""
    texts: tuple[tuple[str, str], ...]  # (language, text)
    choices: tuple[Choice | DateChoice, ...] = ()

    def text_for(self, language: str) -> str:
        found = dict(self.texts)
        return found.get(language) or found["ja"]


@dataclass(frozen=True)
class Outcome:
    state: dict | None  # None: the conversation is over, forget the state
    says: tuple[Say | Cards | CityText, ...] = ()
    commands: tuple = ()  # domain commands the worker runs in the event's transaction
