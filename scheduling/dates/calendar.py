"""Days and times in Japan: opening days with Japanese public holidays, class dates, quiet hours.

Every date in the service is a JST date; every stored moment is an aware datetime.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays

if TYPE_CHECKING:   # the city's booking file is read above this folder; only its shapes are named here
    from scheduling.city.booking_config import ParentClass, Policy, Provider

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def jst_today(now: datetime) -> date:
    return now.astimezone(JST).date()


def at(day: date, clock: str) -> datetime:
    """The aware moment of `clock` ("17:00") on `day` in Japan."""
    return datetime.combine(day, parse_time(clock), tzinfo=JST)


@cache
def _japan(year: int) -> dict:
    return holidays.country_holidays("JP", years=year, language="ja")


def holiday_name(day: date) -> str | None:
    """The public holiday's name (振替休日 included), or None."""
    return _japan(day.year).get(day)


def provider_open(provider: Provider, day: date) -> bool:
    """Can a care start with this provider on `day`?"""
    if day in provider.closed:
        return False
    if day in provider.extra_open:
        return True
    if holiday_name(day) and not provider.open_on_holidays:
        return False
    return WEEKDAYS[day.weekday()] in provider.open_days


def class_dates(parent_class: ParentClass, first: date, last: date) -> list[date]:
    """The class's session dates between `first` and `last` (inclusive)."""
    days = {d for d in parent_class.dates if first <= d <= last}
    schedule = parent_class.schedule
    if schedule:
        weekday = WEEKDAYS.index(schedule.weekday)
        for year in range(first.year, last.year + 1):
            for month in schedule.months:
                start = date(year, month, 1)
                day = start + timedelta(days=(weekday - start.weekday()) % 7 + 7 * (schedule.nth - 1))
                if day.month == month and first <= day <= last:
                    days.add(day)
    return sorted(days)


def in_quiet_hours(moment: datetime, policy: Policy) -> bool:
    clock = moment.astimezone(JST).time()
    start, end = parse_time(policy.quiet_from), parse_time(policy.quiet_until)
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def after_quiet_hours(moment: datetime, policy: Policy) -> datetime:
    """`moment`, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(moment, policy):
        return moment
    local = moment.astimezone(JST)
    end = at(local.date(), policy.quiet_until)
    return end if end > local else end + timedelta(days=1)
