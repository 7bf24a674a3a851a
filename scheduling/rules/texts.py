"""The screening texts (texts_ja.toml, texts_en.toml) as flat dicts, and reason rendering."""
from __future__ import annotations

import calendar
import tomllib
from datetime import date, datetime
from pathlib import Path

from .engine import Reason

_HERE = Path(__file__).resolve().parent


def flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    """Nested TOML tables as dotted keys: {'a': {'b': 'x'}} -> {'a.b': 'x'}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _load(language: str) -> dict[str, str]:
    with (_HERE / f"texts_{language}.toml").open("rb") as f:
        return flatten(tomllib.load(f))


QUESTION_TEXTS_JA: dict[str, str] = _load("ja")
QUESTION_TEXTS_EN: dict[str, str] = _load("en")
TEXTS = {"ja": QUESTION_TEXTS_JA, "en": QUESTION_TEXTS_EN}


WEEKDAYS_JA = "月火水木金土日"


def format_date(value: date | str, language: str = "ja", *, weekday: bool = True) -> str:
    """The one style of dates in the chat, buttons too: 2026年12月2日(水), Wed 2 December 2026
    (a month's short name where the whole would pass LINE's 20 characters of a button)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    if language == "ja":
        return f"{day.year}年{day.month}月{day.day}日" + (f"({WEEKDAYS_JA[day.weekday()]})" if weekday else "")
    text = (f"{day:%a} " if weekday else "") + f"{day.day} {day:%B} {day.year}"
    return text if len(text) <= 20 else text.replace(f"{day:%B}", f"{day:%b}")


def format_moment(value: str, language: str = "ja") -> str:
    """A local date and time given as "2026-12-01T15:00": the date's style, then the time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return f"{format_date(moment.date(), language)} {moment:%H:%M}"


def format_age(count: int, unit: str, language: str = "ja") -> str:
    """An infant's age as people say it: 生後4か月, but 1歳 (not 生後12か月) and 1歳6か月."""
    if unit != "months":
        return f"生後{count}日" if language == "ja" else f"{count} days"
    years, months = divmod(int(count), 12)
    if language == "ja":
        if not years:
            return f"生後{months}か月"
        return f"{years}歳" + (f"{months}か月" if months else "")
    parts = ([f"{years} year" + ("s" if years > 1 else "")] if years else []) + \
        ([f"{months} month" + ("s" if months != 1 else "")] if months or not years else [])
    return " ".join(parts)


DAY_WORDS = {"ja": dict(zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"),
                             ("月曜", "火曜", "水曜", "木曜", "金曜", "土曜", "日曜", "祝日"), strict=True)),
             "en": dict(zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"),
                            ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays",
                             "public holidays"), strict=True))}


PER_WORDS = {"ja": {"night": "1泊", "day": "1日", "use": "1回"},
             "en": {"night": "per night", "day": "per day", "use": "per use"}}
COUNT_WORDS = {"ja": {"night": "泊", "day": "日", "use": "回"}, "en": {"night": "nights", "day": "days", "use": "uses"}}


def days_words(days: list[str], language: str = "ja") -> str:
    """["sat", "sun", "holiday"] as 土曜・日曜・祝日 (or Saturdays, Sundays, public holidays)."""
    words = DAY_WORDS.get(language, DAY_WORDS["ja"])
    return ("・" if language == "ja" else ", ").join(words[d] for d in days)


def with_words(params: dict, language: str) -> dict:
    """Parameters as the texts show them: a date in the language's style, an age window's ends
    (min, max with unit) also as words (min_age, max_age)."""
    values = dict(params)
    for name in [k for k in values if k == "date" or k.endswith("_date")]:
        values[name] = format_date(values[name], language)
    if isinstance(values.get("until"), str):
        values["until"] = format_moment(values["until"], language)
    if isinstance(values.get("days"), list):
        values["days"] = days_words(values["days"], language)
    if values.get("per") in PER_WORDS["ja"]:          # what one fee is for: 1泊 / 1日 / 1回
        values["per"] = PER_WORDS.get(language, PER_WORDS["ja"])[values["per"]]
    if values.get("count") in COUNT_WORDS["ja"]:      # 3泊分 / 3日分 / 3回分
        values["count"] = COUNT_WORDS.get(language, COUNT_WORDS["ja"])[values["count"]]
    for name in ("month", "before"):   # a month of the year: 7 (for 7月) in Japanese, July in English
        if language == "en" and isinstance(values.get(name), int) and 1 <= values[name] <= 12:
            values[name] = calendar.month_name[values[name]]
    if values.get("unit") in ("months", "days"):
        for end in ("min", "max"):
            if isinstance(values.get(end), int):
                values[f"{end}_age"] = format_age(values[end], values["unit"], language)
    return values


def render(key: str, params: dict | None = None, language: str = "ja") -> str:
    texts = TEXTS.get(language, QUESTION_TEXTS_JA)
    template = texts.get(key) or QUESTION_TEXTS_JA[key]
    return template.format_map(_Keep(with_words(params or {}, language)))


def render_reason(reason: Reason, language: str = "ja") -> str:
    return render(reason.key, reason.params, language)


class _Keep(dict):
    """Leaves unknown {placeholders} (e.g. {city}, filled in by the dialog) as they are."""

    def __missing__(self, key):
        return "{" + key + "}"
