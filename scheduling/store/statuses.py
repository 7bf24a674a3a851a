"""The statuses of bookings, which folders below the bookings' own compare too (a reminder is sent only
while its booking is on): StrEnums, each member equal to the string stored."""
from enum import StrEnum


class CareBookingStatus(StrEnum):
    """A 産後ケア booking's: requested → confirmed → attended | no_show; or declined, cancelled."""
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class ClassBookingStatus(StrEnum):
    """A place in a class session: booked, requested (the city confirms), waiting, offered (a freed place
    held for her until `hold_until`); then cancelled, declined, expired, attended or no_show."""
    BOOKED = "booked"
    REQUESTED = "requested"
    WAITING = "waiting"
    OFFERED = "offered"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    EXPIRED = "expired"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
