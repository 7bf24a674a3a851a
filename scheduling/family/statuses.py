"""The statuses of a mother's record: a StrEnum, each member equal to the string stored."""
from enum import StrEnum


class MotherStatus(StrEnum):
    """pregnant → mother (birth registered), or ended (the pregnancy ended); replaced when staff merged a
    second registration of one pregnancy into the centre's."""
    PREGNANT = "pregnant"
    MOTHER = "mother"
    ENDED = "ended"
    REPLACED = "replaced"
