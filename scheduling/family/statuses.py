"""The statuses of a mother's record and of her 32-week call: StrEnums, each member equal to the string stored."""
from enum import StrEnum


class MotherStatus(StrEnum):
    """pregnant → mother (birth registered), or ended (the pregnancy ended); replaced when staff merged a
    second registration of one pregnancy into the centre's."""
    PREGNANT = "pregnant"
    MOTHER = "mother"
    ENDED = "ended"
    REPLACED = "replaced"


class CallStatus(StrEnum):
    """The 32-week call's: open until it is done (spoke, met, declined, not needed); cancelled when she
    is taken off the list (the pregnancy ended, her record was replaced or erased)."""
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"
