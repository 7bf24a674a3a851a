"""Places of a resource on a day, enforced by the database.

A booking takes places with one conditional UPDATE (`used = used + n WHERE used + n <= capacity`);
the table's CHECK refuses `used > capacity` whatever the code does. On PostgreSQL a second
transaction racing for the same row waits for the first and re-checks the row as the first left it;
on SQLite writers queue for the one write lock. Several days (the nights of a stay) are taken in date
order, so two stays never wait for each other in a cycle.
"""

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from scheduling.store.models import CapacityCounter
from scheduling.store.sql import affected, insert_ignoring_duplicates, run

_COUNTERS = CapacityCounter.__table__
# every booking takes places: prebuilt, on the session's connection
_TAKE = (update(_COUNTERS)
         .where(_COUNTERS.c.resource == bindparam("r"), _COUNTERS.c.day == bindparam("d"),
                _COUNTERS.c.slot == bindparam("s"), _COUNTERS.c.used + bindparam("n") <= _COUNTERS.c.capacity)
         .values(used=_COUNTERS.c.used + bindparam("n")))


def ensure(session: Session, *, resource: str, day: str, slot: str, capacity: int) -> None:
    """The counter of a place, made with `capacity` if it does not exist yet."""
    insert_ignoring_duplicates(session, CapacityCounter.__table__,
                               [dict(resource=resource, day=day, slot=slot, capacity=capacity, used=0)],
                               key=None)


def take(session: Session, *, resource: str, places: list[tuple[str, str, int]], count: int) -> bool:
    """Take `count` places on each (day, slot, capacity) in `places`, all or none. Call inside a
    savepoint: on False some days may have been taken and the caller must roll them back."""
    for day, slot, capacity in sorted(places):
        ensure(session, resource=resource, day=day, slot=slot, capacity=capacity)
        if not take_ensured(session, resource=resource, day=day, slot=slot, count=count):
            return False
    return True


def take_ensured(session: Session, *, resource: str, day: str, slot: str, count: int) -> bool:
    """As `take`, for one place whose counter exists (`ensure`)."""
    return run(session, _TAKE, {"r": resource, "d": day, "s": slot, "n": count}).rowcount == 1


def give_back(session: Session, *, resource: str, places: list[tuple[str, str]], count: int) -> None:
    for day, slot in sorted(places):
        session.execute(
            update(CapacityCounter)
            .where(CapacityCounter.resource == resource, CapacityCounter.day == day, CapacityCounter.slot == slot)
            .values(used=CapacityCounter.used - count)
            .execution_options(synchronize_session=False))


def used(session: Session, *, resource: str, first: str, last: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(day, slot) -> (used, capacity) for the counters that exist between two ISO dates."""
    rows = session.execute(
        select(CapacityCounter.day, CapacityCounter.slot, CapacityCounter.used, CapacityCounter.capacity)
        .where(CapacityCounter.resource == resource, CapacityCounter.day >= first, CapacityCounter.day <= last))
    return {(day, slot): (taken, capacity) for day, slot, taken, capacity in rows}


def set_capacity(session: Session, *, resource: str, day: str, slot: str, capacity: int) -> bool:
    """Change a place's capacity (staff); refused (False) below what is already taken."""
    ensure(session, resource=resource, day=day, slot=slot, capacity=capacity)
    return affected(session, 
        update(CapacityCounter)
        .where(CapacityCounter.resource == resource, CapacityCounter.day == day, CapacityCounter.slot == slot,
               CapacityCounter.used <= capacity)
        .values(capacity=capacity).execution_options(synchronize_session=False)) == 1
