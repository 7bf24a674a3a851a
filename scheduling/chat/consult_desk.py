"""The 相談 desk: what the chat's 相談 dialog and the router may ask and do for one mother at one moment
(built by the worker per event, inside the event's transaction). Answers are plain dataclasses."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from scheduling.consult import consults
from scheduling.family import calls, mothers
from scheduling.family.statuses import CallStatus, MotherStatus


@dataclass(frozen=True)
class CaseView:
    id: int
    topic: str
    answer_by: str
    time_band: str | None
    phone: str | None


@dataclass(frozen=True)
class Added:
    case: CaseView
    tell: bool  # the first message since opening (or since staff's latest reply): say when the centre answers


@dataclass(frozen=True)
class Reply:
    body: str
    at: datetime


class ConsultDesk:
    def __init__(self, session: Session, user_id: str, *, now: datetime):
        self.session, self.user_id, self.now = session, user_id, now

    def open_case(self) -> CaseView | None:
        row = consults.open_of(self.session, user_id=self.user_id)
        return _view(row) if row else None

    def start(self, *, topic: str, answer_by: str, source: str, time_band: str | None = None,
              phone: str | None = None) -> CaseView:
        opened = consults.open_case(self.session, user_id=self.user_id, topic=topic, answer_by=answer_by,
                                    source=source, time_band=time_band, phone=phone, now=self.now)
        return _view(opened.case)

    def add(self, *, kind: str, body: str, event_id: int | None = None) -> Added | None:
        """Her message joins her open case (None: she has none)."""
        row = consults.open_of(self.session, user_id=self.user_id)
        if row is None:
            return None
        consults.add_message(self.session, case=row, kind=kind, body=body, now=self.now, source_event_id=event_id)
        return Added(_view(row), consults.mark_told(self.session, case=row, now=self.now))

    def unread_replies(self) -> list[Reply]:
        return [Reply(m.body, m.at) for m in consults.unread_replies(self.session, user_id=self.user_id, now=self.now)]

    def known_phone(self) -> str | None:
        """The number she gave last: for the 32-week call or an earlier 相談."""
        row = mothers.current(self.session, user_id=self.user_id)
        if row is not None and row.phone:
            return row.phone
        return next((case.phone for case in consults.of_user(self.session, user_id=self.user_id) if case.phone), None)

    def call_needs_phone(self, mother_id: int) -> bool:
        row = mothers.current(self.session, user_id=self.user_id)
        return row is not None and row.id == mother_id and not row.phone

    def open_call(self) -> int | None:
        """The id of her registration whose 32-week call is still open (to answer the notice from the menu)."""
        row = mothers.current(self.session, user_id=self.user_id)
        if row is None or row.status != MotherStatus.PREGNANT:
            return None
        call = calls.of_mother(self.session, mother_id=row.id)
        return row.id if call is not None and call.status == CallStatus.OPEN else None

    def save_call_phone(self, mother_id: int, phone: str) -> bool:
        row = mothers.current(self.session, user_id=self.user_id)
        if row is None or row.id != mother_id:
            return False
        row.phone, row.updated_at = phone, self.now
        return True


def _view(row) -> CaseView:
    return CaseView(row.id, row.topic, row.answer_by, row.time_band, row.phone)
