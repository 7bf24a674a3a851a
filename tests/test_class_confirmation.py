"""A class the city confirms: her request holds a place, staff confirm it in the admin panel, she hears."""
import json
from datetime import datetime, timedelta

from sqlalchemy import select

from scheduling.city.booking_config import parse_booking_config
from scheduling.classes import classes
from scheduling.dates.calendar import JST
from scheduling.store.db import transaction
from scheduling.store.models import ClassBooking, ClassSession, Reminder
from tests.admin_helpers import add_staff, admin_app, page_csrf, signed_in_client

NOW = datetime.now(JST)
DAY = (NOW + timedelta(days=20)).date()
CONFIG = parse_booking_config(f'''
[policy]
[[classes]]
id = "confirmed"
title = "パパママ教室"
place = "児童館"
capacity = 4
requires_confirmation = true
pregnancy_weeks = {{ min = 16, max = 37 }}
dates = [{DAY.isoformat()}]
''')


def test_staff_confirm_a_class_request_and_she_is_told(sessions):
    with transaction(sessions) as session:
        classes.sync(session, config=CONFIG, today=NOW.date())
        row = session.scalars(select(ClassSession).where(ClassSession.class_key == "confirmed")).one()
        outcome = classes.book(session, config=CONFIG, session_id=row.id, user_id="U1", party=2, request_key="k1",
                               now=NOW)
        assert outcome.ok and outcome.booking.status == "requested"
        booking_id, session_id = outcome.booking.id, row.id
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(admin_app(sessions), "hanako")
    page = client.get(f"/classes/{session_id}")
    assert "参加を確定する" in page.text
    response = client.post(f"/classes/{session_id}/confirm",
                           data={"csrf": page_csrf(client, f"/classes/{session_id}"), "booking_id": booking_id})
    assert response.status_code == 303
    again = client.post(f"/classes/{session_id}/confirm",
                        data={"csrf": page_csrf(client, f"/classes/{session_id}"), "booking_id": booking_id})
    assert again.status_code == 400  # already confirmed: a clear answer, nothing changed twice
    with transaction(sessions) as session:
        assert session.get(ClassBooking, booking_id).status == "booked"
        [push] = session.scalars(select(Reminder).where(Reminder.kind == "class_confirmed")).all()
        assert push.user_id == "U1" and json.loads(push.message)["facts"]["title"] == "パパママ教室"
