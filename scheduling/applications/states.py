"""The states of a 利用申請: a StrEnum, each member equal to the string stored."""
from enum import StrEnum


class ApplicationState(StrEnum):
    """draft → submitted → approved, or → returned (she corrects it and submits again); withdrawn when
    she deleted her data before a decision."""
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
