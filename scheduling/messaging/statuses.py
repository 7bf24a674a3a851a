"""The statuses of LINE's traffic in and out: StrEnums, each member equal to the string stored."""
from enum import StrEnum


class DeliveryStatus(StrEnum):
    """An outgoing message's or a timed push's: pending → sent | failed | skipped; a push may also be
    cancelled (what it was about changed) or, once failed, resolved (staff dealt with it another way)."""
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    RESOLVED = "resolved"


class EventStatus(StrEnum):
    """A webhook event's: pending → done, or failed after its tries; rejected when refused on receipt."""
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
