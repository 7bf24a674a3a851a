"""Providers in the database, kept in step with the city's booking file by their key; and which days
and times still have room."""
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.care import capacity
from scheduling.city.booking_config import BookingConfig, Provider
from scheduling.dates.calendar import provider_open
from scheduling.store.models import Provider as ProviderRow
from scheduling.store.sql import insert_ignoring_duplicates


def sync(session: Session, *, config: BookingConfig) -> None:
    """Add providers that are new in the file and update the others; those gone from it are
    deactivated, never deleted (bookings point at them)."""
    rows = [dict(key=p.key, name=p.name, phone=p.phone, types=",".join(p.types), active=True)
            for p in config.providers]
    insert_ignoring_duplicates(session, ProviderRow.__table__, rows, "key")
    keys = {p.key for p in config.providers}
    for row in session.scalars(select(ProviderRow)):
        source = config.provider(row.key)
        if source:
            row.name, row.phone, row.types, row.active = source.name, source.phone, ",".join(source.types), True
        elif row.key not in keys:
            row.active = False
    session.flush()


def ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(ProviderRow.key, ProviderRow.id)).all())


def resource(care_type: str, provider_id: int) -> str:
    return f"{care_type}:{provider_id}"


def places(provider: Provider, care_type: str, start: date, nights: int, slot: str) -> list[tuple[str, str, int]]:
    """The (day, slot, capacity) places a care takes: each night of a stay, the day of day care, the
    visit's time."""
    capacity_ = _capacity(provider, care_type)
    if care_type == "short_stay":
        return [((start + timedelta(days=n)).isoformat(), "", capacity_) for n in range(max(nights, 1))]
    return [(start.isoformat(), slot if care_type == "home_visit" else "", capacity_)]


@dataclass(frozen=True)
class OpenDay:
    day: date
    providers: tuple[str, ...]   # keys of the providers with room that day


def open_days(session: Session, *, config: BookingConfig, care_type: str, provider_key: str | None,
              first: date, last: date) -> list[OpenDay]:
    """Days from `first` to `last` on which a care of this type can start (one night for stays),
    with the providers that still have room."""
    chosen = [p for p in config.providers_for(care_type) if provider_key in (None, p.key)]
    row_ids = ids(session)
    found: dict[date, list[str]] = {}
    for provider in chosen:
        if provider.key not in row_ids:
            continue
        taken = capacity.used(session, resource=resource(care_type, row_ids[provider.key]),
                              first=first.isoformat(), last=last.isoformat())
        day = first
        while day <= last:
            if provider_open(provider, day) and _room(provider, care_type, day, taken):
                found.setdefault(day, []).append(provider.key)
            day += timedelta(days=1)
    return [OpenDay(day, tuple(keys)) for day, keys in sorted(found.items())]


def _room(provider: Provider, care_type: str, day: date, taken: dict) -> bool:
    slots = provider.visit_times if care_type == "home_visit" else ("",)
    return any(_free(taken, day, slot, _capacity(provider, care_type)) for slot in slots)


def _capacity(provider: Provider, care_type: str) -> int:
    """Places of one day (or one visit time) from the file; a counter row, once made, has its own."""
    return {"short_stay": provider.beds, "day_care": provider.day_places, "home_visit": 1}[care_type]


def _free(taken: dict, day: date, slot: str, capacity_: int) -> bool:
    """Is a place left at (day, slot), given the counters read (none yet: the file's capacity)?"""
    used, cap = taken.get((day.isoformat(), slot), (0, capacity_))
    return used < cap


def free_times(session: Session, *, config: BookingConfig, provider_key: str, day: date) -> list[str]:
    """A midwife's visit times still free on `day`."""
    provider = config.provider(provider_key)
    row_id = ids(session).get(provider_key)
    if provider is None or row_id is None or not provider_open(provider, day):
        return []
    taken = capacity.used(session, resource=resource("home_visit", row_id), first=day.isoformat(),
                          last=day.isoformat())
    return [t for t in provider.visit_times if _free(taken, day, t, 1)]


def nights_free(session: Session, *, config: BookingConfig, provider_key: str, start: date, most: int) -> int:
    """How many nights in a row from `start` the provider still has a bed (at most `most`)."""
    provider = config.provider(provider_key)
    row_id = ids(session).get(provider_key)
    if provider is None or row_id is None:
        return 0
    last = start + timedelta(days=most - 1)
    taken = capacity.used(session, resource=resource("short_stay", row_id), first=start.isoformat(),
                          last=last.isoformat())
    count = 0
    while count < most and _free(taken, start + timedelta(days=count), "", provider.beds):
        count += 1
    return count
