"""The status of a parent class's session: a StrEnum, each member equal to the string stored."""
from enum import StrEnum


class SessionStatus(StrEnum):
    """scheduled, or cancelled by staff (the places it held are freed, everyone booked is told)."""
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
