"""空き状況: a month's grid per provider — for each day, places taken of the places there are (beds a
night, day-care places, each visit time), and whether a care may start that day."""
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Request

from admin.web import Me, db, now, page, signed_in
from scheduling.care import booking_lists, capacity, providers
from scheduling.dates.calendar import holiday_name, jst_today, provider_open

router = APIRouter()


@dataclass(frozen=True)
class Place:
    label: str        # "宿泊", "通所", "10:00"
    used: int
    capacity: int
    requested: int = 0  # of `used`, held by requests staff have not confirmed yet


@dataclass(frozen=True)
class Day:
    day: date
    in_month: bool
    open: bool
    holiday: str | None
    places: list[Place]


@router.get("/capacity")
def calendar(request: Request, me: Me = Depends(signed_in("admin", "staff")), provider: str = "", month: str = ""):
    config = request.app.state.city.booking
    today = jst_today(now(request))
    first = _month(month) or today.replace(day=1)
    with db(request) as session:
        rows = [p for p in booking_lists.providers(session) if p.active]
        chosen = next((p for p in rows if str(p.id) == provider), rows[0] if rows else None)
        source = config.provider(chosen.key) if chosen else None
        weeks = _weeks(session, chosen.id, source, first) if chosen and source else []
        return page(request, "capacity.html", me, providers=rows, chosen=chosen, source=source, weeks=weeks,
                    first=first, today=today, previous=_shift(first, -1), following=_shift(first, 1))


def _weeks(session, provider_id: int, source, first: date) -> list[list[Day]]:
    start = first - timedelta(days=first.weekday())   # the Monday on or before the 1st
    last = _shift(first, 1) - timedelta(days=1)
    end = last + timedelta(days=6 - last.weekday())
    taken = {care_type: capacity.used(session, resource=providers.resource(care_type, provider_id),
                                      first=start.isoformat(), last=end.isoformat())
             for care_type in source.types}
    requested = _requested(session, provider_id, source, start, end)
    days, day = [], start
    while day <= end:
        places = []
        for care_type in source.types:
            slots = source.visit_times if care_type == "home_visit" else ("",)
            default = {"short_stay": source.beds, "day_care": source.day_places, "home_visit": 1}[care_type]
            for slot in slots:
                used, cap = taken[care_type].get((day.isoformat(), slot), (0, default))
                places.append(Place(slot or {"short_stay": "宿泊", "day_care": "通所"}[care_type], used, cap,
                                    requested.get((care_type, day.isoformat(), slot), 0)))
        days.append(Day(day, day.month == first.month, provider_open(source, day), holiday_name(day), places))
        day += timedelta(days=1)
    return [days[i:i + 7] for i in range(0, len(days), 7)]


def _requested(session, provider_id: int, source, start: date, end: date) -> dict[tuple[str, str, str], int]:
    """(type, day, slot) -> places held by unconfirmed requests (a stay holds each of its nights)."""
    found: dict[tuple[str, str, str], int] = {}
    for booking in booking_lists.requested_at(session, provider_id=provider_id, first=start - timedelta(days=31),
                                              last=end):
        for day, slot, _ in providers.places(source, booking.care_type, date.fromisoformat(booking.start_date),
                                             booking.nights, booking.slot):
            key = (booking.care_type, day, slot)
            found[key] = found.get(key, 0) + 1
    return found


def _month(text: str) -> date | None:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except (ValueError, OverflowError):
        return None


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
