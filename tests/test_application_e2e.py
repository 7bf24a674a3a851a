"""利用申請 end to end through the stand-in: she screens in the chat, opens the form from the chat's button
(the LIFF URL, logged in by the stand-in as LINE does), sends it; staff approve it in the panel and she gets
the push; she books; the provider's account sees her name and phone for that booking and nothing for
another provider's; 「データの削除」 removes the application."""
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot import local
from scheduling.applications.models import Application
from scheduling.store.models import CareBooking
from tests.admin_helpers import PASSWORD, add_staff, csrf_of
from tests.application_helpers import valid_form
from tests.city_files import test_city
from tests.conftest import make_settings
from tests.helpers import Phone, StandIn, actions, wait_for
from tests.test_booking_e2e import BOOKING, screened, tap_data, today

MOTHER = "U" + "e" * 32


@pytest.fixture
def live(database_url, tmp_path):
    city = test_city(tmp_path, booking=BOOKING.format(class_day=today() + timedelta(days=10)), quiet_hours=False)
    settings = make_settings(database_url, HAGUKUMI_CITY_CONFIG=str(city), HAGUKUMI_ADMIN_SECURE_COOKIES="0")
    with local.running(settings) as servers:
        yield servers


def opened_form(live, uri: str) -> str:
    """What her LINE app does with the button: open the LIFF URL; the stand-in logs her in and sends her to
    the form with an ID token. Returns the token (the stand-in SDK's liff.getIDToken())."""
    assert uri == f"{live.standin_url}/liff/{live.liff_id}"
    answer = httpx.get(uri, params={"user_id": MOTHER}, follow_redirects=False)
    assert answer.status_code == 302
    target, _, fragment = answer.headers["location"].partition("#")
    assert target == f"{live.bot_url}/liff/apply"
    assert httpx.get(target).status_code == 200
    return re.fullmatch(r"standin_id_token=(.+)", fragment).group(1)


def staff_client(live, sessions, login: str, role: str = "staff", provider: str | None = None) -> httpx.Client:
    add_staff(sessions, login, role, provider_key=provider)
    client = httpx.Client(base_url=f"{live.bot_url}/admin", follow_redirects=False)
    csrf = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"login": login, "password": PASSWORD, "csrf": csrf}).status_code == 303
    return client


def test_screen_apply_approve_book_and_the_provider_sees_her_name(live):
    sessions = live.app.state.sessions
    phone = Phone(StandIn(live.standin_url), MOTHER)
    result = screened(phone)
    phone.tap("利用申請")
    [button] = [a for m in phone.last for a in actions(m) if a.get("type") == "uri"]
    assert button["label"] == "申請の画面を開く"
    token = opened_form(live, button["uri"])

    api = httpx.Client(base_url=f"{live.bot_url}/liff/api", headers={"Authorization": f"Bearer {token}"})
    draft = api.get("/application").json()
    born = (today() - timedelta(weeks=5)).isoformat()
    assert draft["values"]["baby_birth_date"] == born and "baby_birth_date" in draft["prefilled"]   # the chat's answer
    sent = api.post("/application/submit", headers={"X-Draft-Token": draft["draft_token"]},
                    json={"values": valid_form(baby_birth_date=born)})
    assert sent.status_code == 200 and sent.json()["state"] == "submitted"

    staff = staff_client(live, sessions, "hanako")
    [application_id] = [int(n) for n in re.findall(r'/applications/(\d+)"', staff.get("/applications").text)]
    page = staff.get(f"/applications/{application_id}").text
    assert "山田 花子" in page and "チャットでの回答" in page
    assert staff.post(f"/applications/{application_id}/approve", data={"csrf": csrf_of(page)}).status_code == 303
    pushed = wait_for(lambda: [m for m in phone.standin.messages(MOTHER, phone.seen)
                               if "承認されました" in m["message"].get("text", "")], timeout=15)
    assert pushed and "承認番号：" in pushed[0]["message"]["text"] and "年度第1号" in pushed[0]["message"]["text"]
    phone.seen = pushed[-1]["seq"]

    phone.last = result
    phone.tap_action(next(a for m in result for a in actions(m) if a["data"] == "book|day_care"))
    phone.tap("さくら産婦人科医院")
    tap_data(phone, "bk|d|")
    phone.tap("予約する")
    assert "お申し込みを受け付けました" in phone.texts()
    with sessions() as session:
        [booking] = session.scalars(select(CareBooking).where(CareBooking.user_id == MOTHER)).all()
    assert "山田 花子" in staff.get(f"/bookings/{booking.id}").text

    clinic = staff_client(live, sessions, "clinic", "provider", "clinic")
    seen = clinic.get(f"/bookings/{booking.id}").text
    assert "山田 花子" in seen and "090-1234-5678" in seen and "課税" not in seen
    other = staff_client(live, sessions, "hinata", "provider", "strict")
    refused = other.get(f"/bookings/{booking.id}")
    assert refused.status_code == 404 and "山田" not in refused.text

    phone.tap_action({"type": "postback", "data": "menu:delete"})
    phone.tap("削除に進む")
    phone.tap("削除する")
    assert wait_for(lambda: _erased(sessions), timeout=10)
    assert "山田" not in staff.get("/applications").text
    assert api.get("/application").json()["state"] == "draft"   # opened again: a new, empty draft
    assert api.get("/application").json()["values"] == {}


def _erased(sessions) -> bool:
    with sessions() as session:
        rows = session.scalars(select(Application)).all()
        return all(row.sealed is None and row.user_id.startswith("deleted:") for row in rows)
