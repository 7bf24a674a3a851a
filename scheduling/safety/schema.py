"""The safety file as data: contacts, the centre's opening hours, categories in priority order."""
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from scheduling.text.codes import looks_like_code
from scheduling.text.textnorm import normalize

from . import matcher

WHEN = ("in_hours", "out_of_hours")


@dataclass(frozen=True)
class Contact:
    key: str
    number: str                          # 0120-279-338, #8000, 189
    names: tuple[tuple[str, str], ...]   # (language, text)
    hours: tuple[tuple[str, str], ...]

    def text(self, part: str, language: str) -> str:
        texts = dict(self.names if part == "name" else self.hours)
        return texts.get(language, texts.get("ja", ""))


@dataclass(frozen=True)
class Hours:
    weekdays: tuple[str, ...]            # mon … sun
    opens: time
    closes: time
    holidays_closed: bool                # closed on Japanese public holidays
    closed_yearly: tuple[tuple[int, int], ...]   # (month, day), e.g. the new-year days
    closed_dates: tuple[date, ...]


@dataclass(frozen=True)
class Category:
    key: str
    label: str                           # for staff, in Japanese
    urgent: bool                         # staff get an urgent item
    offer_consult: bool                  # the chat offers 相談 after the answer
    words: tuple[str, ...]
    patterns: tuple[str, ...]
    excepts: tuple[str, ...]
    answers: tuple[tuple[str, str, str], ...]   # (when, language, text)
    folded_words: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)
    compiled: tuple[tuple[re.Pattern, str], ...] = field(default=(), repr=False, compare=False)
    folded_excepts: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    def hits(self, normalized: str) -> list[matcher.Hit]:
        return matcher.hits(self.folded_words, self.compiled, self.folded_excepts, normalized)

    def answer_text(self, when: str, language: str) -> tuple[str, str]:
        """(text, its language): Japanese when the file has no text in `language`."""
        texts = {(w, lang): t for w, lang, t in self.answers}
        if (when, language) in texts:
            return texts[(when, language)], language
        return texts[(when, "ja")], "ja"


@dataclass(frozen=True)
class Match:
    category: str
    label: str
    urgent: bool
    offer_consult: bool
    matched: str                         # the word or pattern (as written in the file) that fired


@dataclass(frozen=True)
class SafetyNet:
    hours: Hours
    contacts: tuple[Contact, ...]
    categories: tuple[Category, ...]     # in priority order: the first that fires answers

    def check(self, text: str) -> Match | None:
        """The highest-priority category with a hit that no except phrase covers, or None. A typed link
        code (74ADV2AU: one in about 130 holds DV) holds no words and is not read."""
        if looks_like_code(text or ""):
            return None
        normalized = normalize(text or "")
        for category in self.categories:
            fired = next((hit for hit in category.hits(normalized) if hit.covered_by is None), None)
            if fired:
                return Match(category=category.key, label=category.label, urgent=category.urgent,
                             offer_consult=category.offer_consult, matched=fired.matched)
        return None

    def in_hours(self, now: datetime) -> bool:
        """Open at `now`, read in JST (a naive datetime is taken as JST)."""
        h = self.hours
        return matcher.is_open(h.weekdays, h.opens, h.closes, h.closed_yearly, h.closed_dates,
                               h.holidays_closed, now)

    def answer(self, match: Match, language: str, now: datetime) -> str:
        category = self.category(match.category)
        text, language = category.answer_text("in_hours" if self.in_hours(now) else "out_of_hours", language)
        return matcher.fill(text, {c.key: c for c in self.contacts}, language).strip()

    def category(self, key: str) -> Category:
        for category in self.categories:
            if category.key == key:
                return category
        raise KeyError(f"no safety category {key!r}（見守りの区分がありません）")
