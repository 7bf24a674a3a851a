"""Why a 産後ケア booking, its change or its cancellation could not be made: a StrEnum, each member equal
to the code the chat's dialogs compare."""
from enum import StrEnum


class CareProblem(StrEnum):
    TOO_SOON = "too_soon"            # before the city's lead time
    TOO_FAR = "too_far"              # beyond how far ahead she may book
    NIGHTS = "nights"                # more nights than a stay may have
    ONE_OPEN = "one_open"            # she has a booking on already (the city allows one)
    NOT_ELIGIBLE = "not_eligible"    # the rules say no; their reasons go with it
    CLOSED = "closed"                # no provider that takes her is open that day
    FULL = "full"                    # no room left
    GONE = "gone"                    # the booking is no longer there to change
    PAST_DEADLINE = "past_deadline"  # too late to cancel in the chat
    NO_SCREENING = "no_screening"    # the chat's: she has no screening answers to book from
