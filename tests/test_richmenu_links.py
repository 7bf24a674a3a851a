"""A mother's rich menu follows her stage: registration, the birth, a pregnancy ended, a linked record and
her data deleted write a `richmenu` row that the dispatcher turns into LINE's link (or unlink) call,
retried like a push (scheduling/messaging/reminders.py switch_menu, bot/dispatcher.py, bot/line_client.py)."""
import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot import line_client
from bot.dispatcher import Dispatcher
from bot.line_client import LineClient
from bot.richmenu import IPA_GOTHIC, RichMenus
from bot.standin.server import create_standin_app
from scheduling.city.booking_config import load_booking_config
from scheduling.city.pregnancy_config import load_pregnancy_config
from scheduling.city.richmenu_config import load_richmenu_config
from scheduling.dates.calendar import JST
from scheduling.family import link_codes, mothers
from scheduling.messaging import reminders
from scheduling.records import erasure
from scheduling.store.db import transaction
from scheduling.store.models import LineUser, Mother, Reminder
from tests.helpers import serving

pytestmark = pytest.mark.skipif(not IPA_GOTHIC.is_file(),
                                reason="no IPA Gothic (apt-get install fonts-ipafont-gothic; scripts/test does as root)")
TOKEN = "richmenu-links-token"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
BOOKING = load_booking_config(CONFIG_DIR / "booking.toml")
PREGNANCY = load_pregnancy_config(CONFIG_DIR / "pregnancy.toml")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=JST)   # not in quiet hours
HER = "U" + "5" * 32


@pytest.fixture
def standin(monkeypatch):
    monkeypatch.setattr(line_client, "BACKOFF", (0.01, 0.02, 0.03))
    app = create_standin_app(channel_secret="s", access_token=TOKEN, webhook_url="http://127.0.0.1:9/none")
    with serving(app) as url:
        yield app.state.richmenus, url


def apply_menus(url: str) -> None:
    menus = RichMenus(base_url=url, access_token=TOKEN)
    try:
        menus.apply(load_richmenu_config(CONFIG_DIR / "richmenu.toml"))
    finally:
        menus.close()


def dispatch(sessions, url: str, at: datetime = NOW) -> int:
    async def go():
        line = LineClient(base_url=url, access_token=TOKEN)
        dispatcher = Dispatcher(sessions=sessions, line=line, config=BOOKING, clock=lambda: at)
        try:
            return await dispatcher.dispatch_due()
        finally:
            await dispatcher.stop()
            await line.close()
    return asyncio.run(go())


def switches(sessions, user_id: str = HER) -> list[tuple[str, str]]:
    """(stage, status) of her switch rows, oldest first."""
    with transaction(sessions) as session:
        rows = session.scalars(select(Reminder).where(Reminder.user_id == user_id, Reminder.kind == "richmenu")
                               .order_by(Reminder.id))
        return [(reminders.menu_stage_of(row), row.status) for row in rows]


def register(sessions, *, now: datetime = NOW) -> int:
    with transaction(sessions) as session:
        return mothers.register_pregnancy(session, config=PREGNANCY, user_id=HER, due_date=date(2027, 5, 1), babies=1,
                                          first_baby=True, now=now).id


def test_each_stage_change_writes_one_switch_and_only_the_latest_counts(sessions):
    mother_id = register(sessions)
    assert switches(sessions) == [("pregnant", "pending")]
    with transaction(sessions) as session:
        mothers.register_birth(session, config=PREGNANCY, user_id=HER, birth_date=date(2027, 4, 28), babies=1,
                               now=NOW + timedelta(minutes=1))
    assert switches(sessions) == [("pregnant", "cancelled"), ("after_birth", "pending")]
    with transaction(sessions) as session:
        mothers.end_pregnancy(session, mother=session.get(Mother, mother_id), actor="mother",
                              now=NOW + timedelta(minutes=2))
    assert switches(sessions)[-1] == ("not_registered", "pending")
    assert [status for _, status in switches(sessions)].count("pending") == 1


def test_a_record_made_by_staff_switches_nothing_until_she_links_it(sessions):
    with transaction(sessions) as session:
        mother = mothers.register_pregnancy(session, config=PREGNANCY, user_id=None, due_date=date(2027, 5, 1),
                                            babies=1, first_baby=None, now=NOW, via="staff")
        code = link_codes.issue(session, config=PREGNANCY, mother_id=mother.id, staff="staff:1", now=NOW)
    with transaction(sessions) as session:
        assert session.scalars(select(Reminder).where(Reminder.kind == "richmenu")).all() == []
        link_codes.redeem(session, config=PREGNANCY, user_id=HER, text=code, now=NOW)
    assert switches(sessions) == [("pregnant", "pending")]


def test_the_dispatcher_links_her_stage_menu_and_forgets_the_row(sessions, standin):
    menus, url = standin
    apply_menus(url)
    register(sessions)
    assert dispatch(sessions, url) == 1
    assert menus.links[HER] == menus.aliases["hagukumi-pregnant"]
    assert switches(sessions) == []   # made: nothing of it kept
    with transaction(sessions) as session:
        mothers.register_birth(session, config=PREGNANCY, user_id=HER, birth_date=date(2027, 4, 28), babies=1, now=NOW)
    dispatch(sessions, url)
    assert menus.links[HER] == menus.aliases["hagukumi-after_birth"]
    assert menus.shown_to(HER)["areas"][0]["action"]["data"] == "menu:care"


def test_not_registered_unlinks_her_so_she_sees_the_default(sessions, standin):
    menus, url = standin
    apply_menus(url)
    mother_id = register(sessions)
    dispatch(sessions, url)
    with transaction(sessions) as session:
        mothers.end_pregnancy(session, mother=session.get(Mother, mother_id), actor="mother", now=NOW)
    dispatch(sessions, url)
    assert HER not in menus.links
    assert menus.shown_to(HER)["richMenuId"] == menus.default == menus.aliases["hagukumi-not_registered"]


def test_data_deleted_in_the_chat_switches_her_back(sessions, standin):
    """The worker writes the switch with the deletion (bot/worker.py DeleteMyData); here the same call."""
    menus, url = standin
    apply_menus(url)
    register(sessions)
    dispatch(sessions, url)
    with transaction(sessions) as session:
        erasure.delete_user_data(session, config=BOOKING, user_id=HER, now=NOW)
        reminders.switch_menu(session, user_id=HER, stage="not_registered", now=NOW)
    dispatch(sessions, url)
    assert HER not in menus.links
    with transaction(sessions) as session:
        assert session.scalars(select(Reminder).where(Reminder.user_id == HER)).all() == []


def test_without_menus_on_line_the_switch_is_skipped_not_failed(sessions, standin):
    _, url = standin
    register(sessions)
    dispatch(sessions, url)
    with transaction(sessions) as session:
        [row] = session.scalars(select(Reminder).where(Reminder.kind == "richmenu")).all()
        assert row.status == "skipped" and "hagukumi richmenu apply" in row.last_error


def test_line_down_retries_the_switch_later(sessions, standin):
    menus, url = standin
    apply_menus(url)
    register(sessions)
    httpx.post(f"{url}/_standin/faults", json={"endpoint": "richmenu", "status": 500, "count": 1}).raise_for_status()
    dispatch(sessions, url)
    with transaction(sessions) as session:
        [row] = session.scalars(select(Reminder).where(Reminder.kind == "richmenu")).all()
        assert row.status == "pending" and row.due_at > NOW and "500" in row.last_error
        due = row.due_at
    assert HER not in menus.links
    dispatch(sessions, url, at=due)
    assert menus.links[HER] == menus.aliases["hagukumi-pregnant"]
    assert switches(sessions) == []


def test_a_switch_is_made_even_while_she_blocks_the_account(sessions, standin):
    menus, url = standin
    apply_menus(url)
    with transaction(sessions) as session:
        session.add(LineUser(user_id=HER, language="ja", following=False, created_at=NOW))
    register(sessions)
    dispatch(sessions, url)
    assert menus.links[HER] == menus.aliases["hagukumi-pregnant"]


# --- end to end: the real bot, the stand-in and the terminal chat ----------------------------------------

@pytest.fixture
def live_bot(database_url, tmp_path):
    from bot import local
    from tests.city_files import test_city
    from tests.conftest import make_settings
    city = test_city(tmp_path, quiet_hours=False)
    settings = make_settings(database_url, HAGUKUMI_CITY_CONFIG=str(city))
    with local.running(settings) as servers:
        menus = RichMenus(base_url=servers.standin_url, access_token=settings.channel_access_token)
        try:
            menus.apply(load_richmenu_config(city.parent / "richmenu.toml"))
        finally:
            menus.close()
        yield servers


def test_registering_in_the_chat_relinks_her_menu_and_the_chat_shows_and_taps_it(live_bot):
    from bot.standin.chat import run_chat
    from tests.helpers import get, wait_for
    user = "U" + "6" * 32
    out: list[str] = []
    script = ["/follow", "/richmenu", "? [1] 妊娠・出産の登録", "? [5] 使い方", "5", "? 使い方のご案内",
              "/richmenu 1", "? 同意して進む"]
    assert run_chat(live_bot.standin_url, user, lines=script, out=out.append) == 0, "\n".join(out)
    assert "rich menu 「メニュー」:" in out

    from tests.helpers import Phone, StandIn
    phone = Phone(StandIn(live_bot.standin_url), user)
    phone.tap_action({"type": "postback", "data": "menu:register"})   # as the menu's area [1] did above
    phone.tap("同意して進む")
    phone.tap("妊娠中です")
    phone.tap("日付を選ぶ", date=(datetime.now(JST).date() + timedelta(weeks=20)).isoformat())
    phone.tap("1人")
    phone.tap("はい")
    phone.tap("登録する")
    assert "登録しました" in phone.texts()

    def shown():
        return get(f"{live_bot.standin_url}/_standin/richmenu/{user}").json()["richmenu"]
    assert wait_for(lambda: shown()["name"].startswith("hagukumi-pregnant-")), shown()["name"]
    out.clear()
    assert run_chat(live_bot.standin_url, user, lines=["/richmenu", "? [2] 予約の確認"], out=out.append) == 0, \
        "\n".join(out)


def test_the_chat_says_when_there_is_no_rich_menu(standin):
    from bot.standin.chat import run_chat
    _, url = standin
    out: list[str] = []
    assert run_chat(url, HER, lines=["/richmenu"], out=out.append) == 1
    assert "(no rich menu (run hagukumi richmenu apply against this stand-in))" in out


def test_at_night_the_switch_is_made_and_pushes_still_wait(sessions, standin):
    menus, url = standin
    apply_menus(url)
    night = datetime(2026, 12, 1, 23, 0, tzinfo=JST)   # the city's quiet hours: 21:00 to 08:00
    with transaction(sessions) as session:
        reminders.add(session, user_id=HER, kind="care_offer", facts={},
                      due_at=night - timedelta(minutes=5), now=night - timedelta(minutes=5))
    register(sessions, now=night - timedelta(minutes=1))
    dispatch(sessions, url, at=night)
    assert menus.links[HER] == menus.aliases["hagukumi-pregnant"]
    with transaction(sessions) as session:
        [push] = session.scalars(select(Reminder).where(Reminder.kind == "care_offer")).all()
        assert (push.status, push.attempts) == ("pending", 0)


def test_data_deleted_by_staff_on_her_request_switches_her_back(sessions, standin):
    from scheduling.records import residents
    menus, url = standin
    apply_menus(url)
    mother_id = register(sessions)
    dispatch(sessions, url)
    with transaction(sessions) as session:
        residents.delete_on_request(session, config=BOOKING, mother_id=mother_id, actor="staff:1", now=NOW)
    assert switches(sessions) == [("not_registered", "pending")]
    dispatch(sessions, url)
    assert HER not in menus.links and switches(sessions) == []
