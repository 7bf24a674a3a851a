"""The pure parts of the safety net: where a category's words and patterns hit a normalised text, which
hits an `except` phrase covers, whether the centre is open, and filling contacts into an answer."""
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from scheduling.dates.calendar import JST, holiday_name

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)(?:\.(name|number|hours))?\}")


@dataclass(frozen=True)
class Hit:
    matched: str                # the word or pattern as written in the file
    start: int                  # its place in the normalised text
    end: int
    covered_by: str | None      # the except phrase (as written) that covers it, or None: it fires


def hits(words, patterns, excepts, text: str) -> list[Hit]:
    """Every place a word ((folded, written) pairs) or pattern ((compiled, written) pairs) occurs in the
    normalised `text`; a hit lying inside an occurrence of an except phrase is covered by it."""
    found = []
    for folded, written in words:
        start = text.find(folded)
        while start >= 0:
            found.append((written, start, start + len(folded)))
            start = text.find(folded, start + 1)
    for compiled, written in patterns:
        found.extend((written, m.start(), m.end()) for m in compiled.finditer(text) if m.end() > m.start())
    spans = []
    for folded, written in excepts:
        start = text.find(folded)
        while start >= 0:
            spans.append((start, start + len(folded), written))
            start = text.find(folded, start + 1)
    return [Hit(written, start, end,
                next((e for s, t, e in spans if s <= start and end <= t), None))
            for written, start, end in sorted(found, key=lambda f: (f[1], -f[2]))]


def is_open(weekdays, opens: time, closes: time, closed_yearly, closed_dates, holidays_closed: bool,
            now: datetime) -> bool:
    """Open at `now` (read in JST): a listed weekday, between opens and closes, not a closed day."""
    moment = now.astimezone(JST) if now.tzinfo else now.replace(tzinfo=JST)
    day: date = moment.date()
    if day in closed_dates or (day.month, day.day) in closed_yearly:
        return False
    if holidays_closed and holiday_name(day):
        return False
    return WEEKDAYS[day.weekday()] in weekdays and opens <= moment.time() < closes


def fill(text: str, contacts: dict, language: str) -> str:
    """Replace {key} by the contact's 'name number（hours）' and {key.name|number|hours} by that part."""
    def one(match):
        contact = contacts[match.group(1)]
        part = match.group(2)
        if part == "number":
            return contact.number
        if part:
            return contact.text(part, language)
        hours = contact.text("hours", language)
        name = f"{contact.text('name', language)} {contact.number}"
        if not hours:
            return name
        return f"{name}（{hours}）" if language == "ja" else f"{name} ({hours})"
    return PLACEHOLDER.sub(one, text)
