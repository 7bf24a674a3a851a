"""The statuses of 相談 cases and safety alerts: StrEnums, each member equal to the string stored."""
from enum import StrEnum


class CaseStatus(StrEnum):
    """A 相談 case's: open (a mother has one at most), then closed by staff with a category."""
    OPEN = "open"
    CLOSED = "closed"


class AlertStatus(StrEnum):
    """An alert staff must see (an urgent message, crisis words): open until handled."""
    OPEN = "open"
    HANDLED = "handled"
