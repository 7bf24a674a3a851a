"""Dates as staff write them: 和暦 (令和), 年度 (April to March), weekdays in Japanese."""
from datetime import date, datetime

from scheduling.dates.calendar import JST

ERAS = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和"))
WEEKDAYS = "月火水木金土日"


def era_year(day: date) -> tuple[str, int]:
    for start, name in ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    return "", day.year


def _year_text(name: str, year: int) -> str:
    return f"{name}{'元' if year == 1 else year}年"


def wareki(value: date | datetime | str | None, *, weekday: bool = False) -> str:
    """令和8年11月26日 (or 令和8年11月26日(木))."""
    if value is None or value == "":
        return ""
    day = _as_date(value)
    name, year = era_year(day)
    text = f"{_year_text(name, year)}{day.month}月{day.day}日"
    return f"{text}({WEEKDAYS[day.weekday()]})" if weekday else text


def wareki_time(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(JST)
    return f"{wareki(local.date())} {local:%H:%M}"


def fiscal_year(day: date) -> int:
    """The 年度 a date belongs to, by its starting calendar year (2026 for 2026-04-01 … 2027-03-31)."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_label(year: int) -> str:
    """令和8年度 for 2026; a year in which the era changed takes the new era's name (2019: 令和元年度)."""
    name, _ = era_year(date(year + 1, 3, 31))
    start = next(s for s, n in ERAS if n == name)
    return f"{_year_text(name, max(year - start.year + 1, 1))}度"


def fiscal_bounds(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(JST).date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value
