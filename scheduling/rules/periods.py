"""Exact date arithmetic for ages and periods (see docs/rules.md, "Ages and periods").

- add_months(d, n): the same day of the month n calendar months later; when that month has no such day
  (31 January + 1 month), the first day of the following month (1 March). This matches the Japanese
  reading of 「生後1か月」 for a baby born on the 31st: still under one month through the last day of February.
- "under n months" on day D  ⇔  D < add_months(birth, n);  "at least n months"  ⇔  D >= add_months(birth, n).
- "under n days" on day D    ⇔  (D - birth).days < n      (the day of birth is day 0).
- Pregnancy week w+0 = due date - (40 - w) * 7 days (week 40+0 is the due date).
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import cache

import holidays


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if day.day <= calendar.monthrange(year, month)[1]:
        return date(year, month, day.day)
    return date(year + month // 12, month % 12 + 1, 1)


def add_period(day: date, amount: int, unit: str) -> date:
    """The first day on which an age counted from `day` reaches `amount` months or days."""
    return add_months(day, amount) if unit == "months" else day + timedelta(days=amount)


def pregnancy_week_start(due_date: date, week: int) -> date:
    return due_date - timedelta(days=(40 - week) * 7)


def pregnancy_week(due_date: date, on_date: date) -> tuple[int, int]:
    """(weeks, days) of pregnancy on `on_date`, e.g. (28, 3) for 28週3日."""
    days = 280 - (due_date - on_date).days
    return days // 7, days % 7


def fiscal_year(day: date) -> int:
    """The 年度 of a day: April to March, named by the year it starts in (2025-05-01 → 2025)."""
    return day.year if day.month >= 4 else day.year - 1


# A use belongs to this birth when its child's date (a birth, a due date, the end of a pregnancy) is this
# near hers: a due date is at most 18 weeks from the birth, and two births of one mother are further apart.
SAME_CHILD = timedelta(weeks=20)


WEEKDAY_TAGS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def _japan(year: int):
    return holidays.country_holidays("JP", years=year)


def day_tags(day: date) -> set[str]:
    """The day's weekday ("sat") and, on a Japanese public holiday (振替休日 included), "holiday"."""
    return {WEEKDAY_TAGS[day.weekday()]} | ({"holiday"} if day in _japan(day.year) else set())
