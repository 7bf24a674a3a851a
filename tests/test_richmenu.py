"""`hagukumi richmenu apply` and `show` against the stand-in (bot/richmenu.py), and the rich menu file's
checker (scheduling/city/richmenu_config.py)."""
import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from bot import richmenu
from bot.cli import main
from bot.richmenu import IPA_GOTHIC
from bot.standin.server import create_standin_app
from scheduling.city.richmenu_config import RichMenuConfigError, load_richmenu_config, parse_richmenu_config
from tests.helpers import serving

pytestmark = pytest.mark.skipif(not IPA_GOTHIC.is_file(),
                                reason="no IPA Gothic (apt-get install fonts-ipafont-gothic; scripts/test does as root)")
TOKEN = "test-access-token"
CONFIG = Path(__file__).resolve().parent.parent / "config"


@pytest.fixture(scope="module")
def live():
    app = create_standin_app(channel_secret="s", access_token=TOKEN, webhook_url="http://bot/callback")
    with serving(app) as url:
        yield app, url


@pytest.fixture
def standin(live):
    app, url = live
    app.state.richmenus.reset()
    return app.state.richmenus, url


@pytest.fixture
def city(tmp_path) -> Path:
    """A copy of the example city's files that a test may change."""
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    return folder


def run(capsys, monkeypatch, url: str, city: Path, *args, database_url: str | None = None) -> tuple[int, str, str]:
    """The command as an operator runs it; its database is an empty SQLite file unless one is given."""
    for name, value in (("LINE_CHANNEL_SECRET", "s"), ("LINE_CHANNEL_ACCESS_TOKEN", TOKEN),
                        ("LINE_API_BASE_URL", url), ("HAGUKUMI_CITY_CONFIG", str(city / "city.toml")),
                        ("DATABASE_URL", database_url or f"sqlite:///{city / 'empty.sqlite3'}")):
        monkeypatch.setenv(name, value)
    code = main(["richmenu", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def stage_menus(menus) -> dict[str, dict]:
    """stage -> the menu its alias points at."""
    return {alias.removeprefix("hagukumi-"): menus.menus[menu_id] for alias, menu_id in menus.aliases.items()}


def test_apply_twice_makes_one_set(standin, city, capsys, monkeypatch):
    menus, url = standin
    code, out, err = run(capsys, monkeypatch, url, city, "apply")
    assert code == 0, err
    assert "new not_registered, pregnant, after_birth" in out
    assert len(menus.menus) == 3 and set(stage_menus(menus)) == {"not_registered", "pregnant", "after_birth"}
    assert menus.default == menus.aliases["hagukumi-not_registered"]
    assert all(menu_id in menus.images for menu_id in menus.menus)
    first = dict(menus.menus)

    code, out, _ = run(capsys, monkeypatch, url, city, "apply")
    assert code == 0 and "new none" in out and "deleted none" in out
    assert menus.menus == first


def test_the_layout_follows_the_config_and_the_catalog(standin, city, capsys, monkeypatch):
    menus, url = standin
    run(capsys, monkeypatch, url, city, "apply")
    pregnant = stage_menus(menus)["pregnant"]
    assert [a["action"]["data"] for a in pregnant["areas"]] == [
        "menu:class", "menu:bookings", "menu:register", "menu:consult", "menu:help", "menu:delete"]
    assert pregnant["areas"][0]["action"]["label"] == "パパママ・0歳児教室"
    assert pregnant["chatBarText"] == "メニュー" and pregnant["size"] == {"width": 2500, "height": 1686}
    image = Image.open(io.BytesIO(menus.images[menus.aliases["hagukumi-pregnant"]][1]))
    assert image.size == (2500, 1686)


def test_a_changed_layout_replaces_the_old_menu_and_moves_the_alias(standin, city, capsys, monkeypatch):
    menus, url = standin
    run(capsys, monkeypatch, url, city, "apply")
    old_pregnant = menus.aliases["hagukumi-pregnant"]
    old_default = menus.default
    text = (city / "richmenu.toml").read_text(encoding="utf-8")
    (city / "richmenu.toml").write_text(text.replace(
        'items = ["class", "bookings", "register", "consult", "help", "delete"]',
        'items = ["class", "register", "consult"]'), encoding="utf-8")

    code, out, _ = run(capsys, monkeypatch, url, city, "apply")
    assert code == 0 and "new pregnant" in out
    assert old_pregnant not in menus.menus and len(menus.menus) == 3
    pregnant = stage_menus(menus)["pregnant"]
    assert [a["action"]["data"] for a in pregnant["areas"]] == ["menu:class", "menu:register", "menu:consult"]
    assert pregnant["size"] == {"width": 2500, "height": 843}
    assert menus.default == old_default   # not_registered did not change


def test_a_changed_not_registered_menu_moves_the_default(standin, city, capsys, monkeypatch):
    menus, url = standin
    run(capsys, monkeypatch, url, city, "apply")
    old = menus.default
    text = (city / "richmenu.toml").read_text(encoding="utf-8")
    (city / "richmenu.toml").write_text(text.replace(
        'items = ["register", "care", "class", "consult", "help", "delete"]', 'items = ["register", "help"]'),
        encoding="utf-8")
    run(capsys, monkeypatch, url, city, "apply")
    assert menus.default != old and old not in menus.menus
    assert menus.default == menus.aliases["hagukumi-not_registered"]


def test_an_interrupted_apply_is_finished_by_the_next(standin, city, capsys, monkeypatch):
    menus, url = standin
    config = load_richmenu_config(city / "richmenu.toml")
    drawn = richmenu.build(config, "pregnant")
    menus.create(drawn.request.to_dict())   # created, but the run died before the image and the alias
    run(capsys, monkeypatch, url, city, "apply")
    assert len(menus.menus) == 3 and all(menu_id in menus.images for menu_id in menus.menus)


def test_show_lists_what_line_holds(standin, city, capsys, monkeypatch):
    menus, url = standin
    code, out, _ = run(capsys, monkeypatch, url, city, "show")
    assert code == 0 and out.startswith("0 rich menu(s) on LINE; default: none")
    run(capsys, monkeypatch, url, city, "apply")
    code, out, _ = run(capsys, monkeypatch, url, city, "show")
    assert "3 rich menu(s)" in out and "(alias hagukumi-pregnant)" in out
    assert "(alias hagukumi-not_registered; default)" in out and f"default: {menus.default}" in out
    assert "産後ケア → menu:care" in out


def test_a_city_image_of_the_wrong_size_is_named(standin, city, capsys, monkeypatch):
    menus, url = standin
    Image.new("RGB", (800, 270), "white").save(city / "mine.png")
    text = (city / "richmenu.toml").read_text(encoding="utf-8")
    (city / "richmenu.toml").write_text(text.replace('[stages.pregnant]         # 妊娠中',
                                                     '[stages.pregnant]\nimage = "mine.png"'), encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, url, city, "apply")
    assert code == 1 and "the pregnant image must be a 2500x1686 PNG or JPEG" in err and menus.menus == {}


def test_a_city_image_is_used_as_given(standin, city, capsys, monkeypatch):
    menus, url = standin
    out = io.BytesIO()
    Image.new("RGB", (2500, 1686), "pink").save(out, "JPEG")
    (city / "mine.jpg").write_bytes(out.getvalue())
    text = (city / "richmenu.toml").read_text(encoding="utf-8")
    (city / "richmenu.toml").write_text(text.replace('[stages.pregnant]         # 妊娠中',
                                                     '[stages.pregnant]\nimage = "mine.jpg"'), encoding="utf-8")
    assert run(capsys, monkeypatch, url, city, "apply")[0] == 0
    assert menus.images[menus.aliases["hagukumi-pregnant"]] == ("image/jpeg", out.getvalue())


def test_no_japanese_font_fails_in_one_line(standin, city, capsys, monkeypatch):
    menus, url = standin
    monkeypatch.setattr(richmenu, "IPA_GOTHIC", city / "no-such-font.ttf")
    code, _, err = run(capsys, monkeypatch, url, city, "apply")
    assert code == 1 and err.count("\n") == 1 and "fonts-ipafont-gothic" in err
    assert menus.menus == {}


def test_the_city_font_is_used_before_ipa_gothic(city):
    shutil.copy(richmenu.IPA_GOTHIC, city / "city-font.ttf")
    (city / "richmenu.toml").write_text('font = "city-font.ttf"\n' + (city / "richmenu.toml").read_text(
        encoding="utf-8"), encoding="utf-8")
    config = load_richmenu_config(city / "richmenu.toml")
    assert richmenu.font_file(config) == city / "city-font.ttf"


def test_a_wrong_token_is_one_clear_line(standin, city, capsys, monkeypatch):
    _, url = standin
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "wrong")
    for name, value in (("LINE_CHANNEL_SECRET", "s"), ("LINE_API_BASE_URL", url),
                        ("HAGUKUMI_CITY_CONFIG", str(city / "city.toml")),
                        ("DATABASE_URL", f"sqlite:///{city / 'empty.sqlite3'}")):
        monkeypatch.setenv(name, value)
    assert main(["richmenu", "show"]) == 1
    assert "LINE answered HTTP 401" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ('[stages.not_registered]\nitems = ["care"]\n[stages.pregnant]\nitems = ["care", "nap"]\n'
     '[stages.after_birth]\nitems = ["care"]\n', "richmenu.toml:4: stages.pregnant.items[1]: must be one of"),
    ('[stages.not_registered]\nitems = ["care", "care"]\n[stages.pregnant]\nitems = ["care"]\n'
     '[stages.after_birth]\nitems = ["care"]\n', "richmenu.toml:2: stages.not_registered.items[1]: is listed twice"),
    ('[stages.not_registered]\nitems = ["care"]\n[stages.pregnant]\nitems = ["care"]\n',
     "richmenu.toml:1: stages.after_birth: is required"),
    ('[stages.not_registered]\nitems = ["care"]\n[stages.pregnant]\nitems = ["care"]\n[stages.after_birth]\n'
     'items = ["care", "class", "bookings", "register", "consult", "help", "delete"]\n',
     "richmenu.toml:6: stages.after_birth.items: must list 1 to 6 items"),
    ('colour = "red"\n[stages.not_registered]\nitems = ["care"]\n[stages.pregnant]\nitems = ["care"]\n'
     '[stages.after_birth]\nitems = ["care"]\n', "richmenu.toml:1: colour: unknown setting"),
])
def test_the_checker_names_line_and_field(text, expected):
    with pytest.raises(RichMenuConfigError) as caught:
        parse_richmenu_config(text)
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems


def test_the_example_city_file_is_valid():
    config = load_richmenu_config(CONFIG / "richmenu.toml")
    assert [menu.stage for menu in config.menus] == ["not_registered", "pregnant", "after_birth"]


def test_mistakes_in_the_city_file_stop_apply_with_line_and_field(standin, city, capsys, monkeypatch):
    menus, url = standin
    text = (city / "richmenu.toml").read_text(encoding="utf-8")
    (city / "richmenu.toml").write_text(text.replace('"register", "care"', '"register", "nap"'), encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, url, city, "apply")
    assert code == 1 and "richmenu.toml:11: stages.not_registered.items[1]: must be one of" in err
    assert menus.menus == {}


def test_a_city_without_a_richmenu_table_is_told_so(standin, city, capsys, monkeypatch):
    _, url = standin
    text = (city / "city.toml").read_text(encoding="utf-8")
    (city / "city.toml").write_text(text[:text.index("[richmenu]")], encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, url, city, "apply")
    assert code == 1 and "no [richmenu] table" in err


def test_a_replaced_menu_relinks_its_mothers_through_the_dispatcher(standin, city, capsys, monkeypatch, sessions,
                                                                     database_url):
    """LINE unlinks the users of a deleted menu: apply writes a switch for each mother of the replaced stages."""
    from datetime import date, datetime

    from sqlalchemy import select

    from scheduling.city.pregnancy_config import load_pregnancy_config
    from scheduling.dates.calendar import JST
    from scheduling.family import mothers
    from scheduling.messaging import reminders
    from scheduling.store.db import transaction
    from scheduling.store.models import Reminder
    menus, url = standin
    run(capsys, monkeypatch, url, city, "apply", database_url=database_url)
    pregnancy = load_pregnancy_config(city / "pregnancy.toml")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=JST)
    with transaction(sessions) as session:
        for user in ("U" + "8" * 32, "U" + "9" * 32):
            mothers.register_pregnancy(session, config=pregnancy, user_id=user, due_date=date(2027, 5, 1), babies=1,
                                       first_baby=True, now=now)
        session.execute(Reminder.__table__.update().where(Reminder.kind == "richmenu").values(status="sent"))
    text = (city / "richmenu.toml").read_text(encoding="utf-8")
    (city / "richmenu.toml").write_text(text.replace(
        'items = ["class", "bookings", "register", "consult", "help", "delete"]', 'items = ["class", "help"]'),
        encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, url, city, "apply", database_url=database_url)
    assert code == 0 and "2 mother(s) of pregnant will be linked" in out
    with transaction(sessions) as session:
        pending = session.scalars(select(Reminder).where(Reminder.kind == "richmenu", Reminder.status == "pending"))
        assert sorted((row.user_id, reminders.menu_stage_of(row)) for row in pending) == [
            ("U" + "8" * 32, "pregnant"), ("U" + "9" * 32, "pregnant")]
    code, out, _ = run(capsys, monkeypatch, url, city, "apply", database_url=database_url)
    assert "no mother's menu to relink" in out


def test_apply_without_a_database_still_makes_the_menus_and_says_so(standin, city, capsys, monkeypatch):
    menus, url = standin
    code, out, _ = run(capsys, monkeypatch, url, city, "apply",
                       database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert code == 0 and len(menus.menus) == 3
    assert "the database does not answer" in out


def test_the_local_chat_puts_the_city_menus_on_its_stand_in(standin, city):
    from types import SimpleNamespace

    from bot.cli import _local_rich_menus
    menus, url = standin
    settings = SimpleNamespace(city_config=city / "city.toml", channel_access_token=TOKEN)
    assert "type /richmenu" in _local_rich_menus(url, settings)
    assert len(menus.menus) == 3 and menus.default
    (city / "richmenu.toml").write_text("[stages]\n", encoding="utf-8")
    assert "rich menu: not made" in _local_rich_menus(url, settings)
