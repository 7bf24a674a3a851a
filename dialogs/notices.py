"""What each kind of push says, with its buttons.

The domain writes a notice as a reminder row's kind and facts (ids, dates, names: scheduling/messaging/
reminders.py); the dispatcher asks here for the words when it sends. So the catalog's keys and the postback
protocol live only in dialogs/, and renaming a dialog cannot silently break a push.

    care_confirmed, care_declined, care_day_before   facts of the booking (and where and when to come)
    class_confirmed, class_cancelled, class_day_before, class_offer   the session (an offer: its hold)
    consult_reply     the 相談 case        care_offer     nothing        call_notice    the mother's record
    application_approved, application_returned   the 承認番号 and period, or the reason
    timed:<key>       the city's timed push: its catalog key and button (config/pregnancy.toml)
"""
from collections.abc import Callable, Mapping
from urllib.parse import quote

from dialogs import classes, consult, my_bookings, registration
from dialogs.core import Choice, Line, Say

BOOKINGS = Choice("menu.bookings", my_bookings.MENU_DATA)
CARE = Choice("menu.care", "menu:care")
CLASS = Choice("menu.class", classes.MENU_DATA)
MENU = Choice("care.menu", "menu:show")
TIMED_BUTTONS = {"care": (CARE,), "class": (CLASS,), "menu": (MENU,), "none": ()}


class UnknownNotice(ValueError):
    """A row whose kind no builder knows: the dispatcher marks it failed so that staff see it."""


def says(kind: str, facts: Mapping) -> tuple[Say, ...]:
    if kind.startswith("timed:"):
        return (Say(facts["message"], {}, TIMED_BUTTONS[facts.get("button", "none")]),)
    build = NOTICES.get(kind)
    if build is None:
        raise UnknownNotice(f"no words for a notice of kind {kind!r}")
    return (build(facts),)


def _care(facts: Mapping) -> dict:
    return {key: facts[key] for key in ("date", "type", "provider", "provider_phone")}


def _where_and_when(facts: Mapping) -> tuple[Line, ...]:
    """When to come (check-in, the visit's time, the day's hours), what to bring, and where (the address with
    a map link; a home visit comes to her)."""
    lines = []
    if facts["type"] == "short_stay" and facts.get("check_in"):
        lines.append(Line("booking.summary.check_in", {"time": facts["check_in"]}))
    elif facts["type"] == "home_visit" and facts.get("slot"):
        lines.append(Line("booking.summary.time", {"time": facts["slot"]}))
    elif facts["type"] != "home_visit" and facts.get("day_hours"):
        lines.append(Line("booking.summary.hours", {"hours": facts["day_hours"]}))
    if facts.get("bring"):
        lines.append(Line("push.bring", {"items": facts["bring"]}))
    if facts.get("address") and facts["type"] != "home_visit":
        lines.append(Line("push.address", {"address": facts["address"], "map": map_link(facts["address"])}))
    return tuple(lines)


def map_link(address: str) -> str:
    """A map search for the address that opens in any phone's browser or map app (Google Maps URLs)."""
    return "https://www.google.com/maps/search/?api=1&query=" + quote(address)


def _care_confirmed(facts: Mapping) -> Say:
    lines = (Line("push.booking_number", {"number": facts["booking"]}), *_where_and_when(facts),
             Line("push.care_confirmed_end", {}))
    return Say("push.care_confirmed", _care(facts), (BOOKINGS,), lines)


def _care_declined(facts: Mapping) -> Say:
    return Say("push.care_declined", {**_care(facts), "reason": facts["reason"]}, (CARE,))


def _care_day_before(facts: Mapping) -> Say:
    return Say("push.care_day_before", _care(facts), (BOOKINGS,),
               (*_where_and_when(facts), Line("push.care_day_before_end", {})))


def _session(facts: Mapping) -> dict:
    return {key: facts[key] for key in ("date", "title", "start", "place")}


def _class_offer(facts: Mapping) -> Say:
    entry = facts["class_booking"]
    return Say("push.class_offer", {**_session(facts), "until": facts["until"]},
               (Choice("classes.accept", f"{classes.PREFIX}accept|{entry}"),
                Choice("classes.decline_offer", f"{classes.PREFIX}decline|{entry}")))


def _call_notice(facts: Mapping) -> Say:
    return Say("push.call_notice", {}, tuple(Choice(f"call.pref.{choice}", f"{registration.CALL_PREFIX}{choice}|"
                                                                           f"{facts['mother']}")
                                             for choice in registration.CALL_CHOICES))


NOTICES: dict[str, Callable[[Mapping], Say]] = {
    "care_confirmed": _care_confirmed,
    "care_declined": _care_declined,
    "care_day_before": _care_day_before,
    "care_offer": lambda facts: Say("push.care_offer", {}, (CARE,)),
    "class_confirmed": lambda facts: Say("push.class_confirmed", _session(facts), (BOOKINGS,)),
    "class_day_before": lambda facts: Say("push.class_day_before", _session(facts), (BOOKINGS,)),
    "class_cancelled": lambda facts: Say("push.class_cancelled", {"date": facts["date"], "title": facts["title"]},
                                         (CLASS,)),
    "class_offer": _class_offer,
    "consult_reply": lambda facts: Say("push.consult_reply", {},
                                       (Choice("consult.read", f"{consult.PREFIX}read|{facts['case']}"),)),
    "call_notice": _call_notice,
    "application_approved": lambda facts: Say(
        "push.application_approved", {}, (CARE,),
        (Line("push.application_number", {"number": facts["number"]}),
         Line("push.application_period", {"first_date": facts["first_date"], "last_date": facts["last_date"]}))),
    "application_returned": lambda facts: Say("push.application_returned", {"reason": facts["reason"]},
                                              (Choice("apply.open", "menu:apply"),)),
}
