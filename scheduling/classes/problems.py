"""Why a place in a parent class could not be booked, taken or given up: a StrEnum, each member equal to
the code the chat's dialogs compare."""
from enum import StrEnum


class ClassProblem(StrEnum):
    CLOSED = "closed"                # the session is cancelled, past, or no longer in the city's file
    NOT_OPEN = "not_open"            # booking opens later
    NOT_FOR_HER = "not_for_her"      # the class's conditions leave her out
    FULL = "full"
    ALREADY = "already"              # she has a place (or is waiting) in this session
    GONE = "gone"                    # the booking is no longer there to change
    PAST_DEADLINE = "past_deadline"  # too late to cancel in the chat
    EXPIRED = "expired"              # the offered place was not held for her any longer
