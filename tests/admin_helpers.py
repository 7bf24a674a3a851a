"""Helpers for admin tests: an admin app on the test database, staff accounts, signing in."""
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from admin.app import create_admin_app
from scheduling.accounts import staff
from scheduling.care import providers
from scheduling.city.city_file import load_city
from scheduling.classes import classes
from scheduling.dates.calendar import jst_today
from scheduling.store.db import transaction
from scheduling.store.models import Provider, utcnow
from tests.application_helpers import CIPHER

CITY = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
PASSWORD = "correct-horse-battery"


def admin_app(sessions, clock=utcnow):
    with transaction(sessions) as session:
        providers.sync(session, config=CITY.booking)
        classes.sync(session, config=CITY.booking, today=jst_today(clock()))
    return create_admin_app(sessions=sessions, city=CITY, secure_cookies=False, clock=clock, cipher=CIPHER)


def add_staff(sessions, login: str, role: str, provider_key: str | None = None) -> int:
    with transaction(sessions) as session:
        provider_id = session.scalar(select(Provider.id).where(Provider.key == provider_key)) if provider_key else None
        return staff.create(session, login=login, display_name=login, password=PASSWORD, role=role,
                            provider_id=provider_id, actor="test", now=utcnow()).id


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in_client(app, login: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    form = client.get("/login")
    response = client.post("/login", data={"login": login, "password": password, "csrf": csrf_of(form.text)})
    assert response.status_code == 303, response.text
    return client


def page_csrf(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)
