"""Staff confirm and decline over HTTP at /admin on the running bot; the dispatcher (inline with the
worker) pushes to her through the local LINE stand-in. On SQLite and PostgreSQL.

The city's files are copied with quiet hours moved away from now, so the pushes go out whatever the
time of day the test runs."""
import re
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot import local
from scheduling.accounts import staff
from scheduling.care import care_bookings
from scheduling.care.care_bookings import Request
from scheduling.city.city_file import load_city
from scheduling.dates.calendar import jst_today, provider_open
from scheduling.store.db import transaction
from scheduling.store.models import utcnow
from tests.city_files import test_city
from tests.conftest import make_settings
from tests.helpers import Phone, StandIn

CONFIG = Path(__file__).resolve().parents[1] / "config"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def city_file(tmp_path) -> Path:
    return test_city(tmp_path, quiet_hours=False)


@pytest.fixture
def live(database_url, city_file):
    settings = make_settings(database_url, HAGUKUMI_ADMIN_SECURE_COOKIES="0", HAGUKUMI_CITY_CONFIG=str(city_file))
    with local.running(settings) as servers:
        yield servers


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def request_day_care(servers, city: dict, user_id: str) -> int:
    """A day-care request at さくら on its next open day after the lead time, made by the services."""
    config = city.booking
    now = utcnow()
    day = jst_today(now) + timedelta(days=config.policy.lead_days.get("day_care", 0) + 1)
    while not provider_open(config.provider("sakura"), day):
        day += timedelta(days=1)
    born = (jst_today(now) - timedelta(days=30)).isoformat()
    answers = {"relationship": "birth", "residence": "resident", "birth_date": born, "exclusions": "none",
               "babies": 1, "preterm": "no", "need:family_help": "yes"}
    with transaction(servers.app.state.sessions) as session:
        outcome = care_bookings.request(session, config=config, rules=city.rules, answers=answers,
                                        request=Request(user_id, "day_care", day, uuid.uuid4().hex, "sakura"),
                                        now=now)
        assert outcome.ok, outcome
        return outcome.booking.id


def signed_in(servers) -> httpx.Client:
    with transaction(servers.app.state.sessions) as session:
        staff.create(session, login="hanako", display_name="保健師 花子", password=PASSWORD, role="staff",
                     actor="test", now=utcnow())
    client = httpx.Client(base_url=f"{servers.bot_url}/admin", follow_redirects=False)
    form = client.get("/login")
    response = client.post("/login", data={"login": "hanako", "password": PASSWORD, "csrf": csrf_of(form.text)})
    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    return client


def test_confirming_and_declining_reach_her_through_the_dispatcher_and_line(live, city_file):
    city = load_city(city_file)
    standin = StandIn(live.standin_url)
    confirmed_mother, declined_mother = Phone(standin, "U" + uuid.uuid4().hex), Phone(standin, "U" + uuid.uuid4().hex)
    for phone in (confirmed_mother, declined_mother):
        phone.follow()   # she has added the account: the bot knows her and her language
    first = request_day_care(live, city, confirmed_mother.user_id)
    second = request_day_care(live, city, declined_mother.user_id)

    client = signed_in(live)
    try:
        assert "確認待ちの予約（2件" in client.get("/").text
        page = client.get(f"/bookings/{first}")
        response = client.post(f"/bookings/{first}/confirm", data={"csrf": csrf_of(page.text)})
        assert response.status_code == 303, response.text
        response = client.post(f"/bookings/{second}/decline",
                               data={"csrf": csrf_of(page.text), "reason": "その日は受け入れの準備ができないため"})
        assert response.status_code == 303, response.text
        assert "お断り" in client.get(f"/bookings/{second}").text
    finally:
        client.close()

    [pushed] = standin.wait_messages(confirmed_mother.user_id, 1, after=confirmed_mother.seen, timeout=15)
    assert pushed["message"]["text"].startswith("ご予約が確定しました。")
    assert "さくら産婦人科医院" in pushed["message"]["text"]
    [pushed] = standin.wait_messages(declined_mother.user_id, 1, after=declined_mother.seen, timeout=15)
    assert "お受けできませんでした" in pushed["message"]["text"]
    assert "その日は受け入れの準備ができないため" in pushed["message"]["text"]
    pushes = [r for r in standin.requests() if r.get("endpoint") == "push"]
    assert len(pushes) == 2 and all(r.get("retry_key") for r in pushes)
