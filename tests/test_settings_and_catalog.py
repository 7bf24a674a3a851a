"""Start-up settings, the message catalog and LINE's limits on what the dialogs send."""
import re
import subprocess
import sys

import pytest

from bot.render import render
from bot.settings import MissingSettings, Settings
from dialogs import catalog, main_menu
from dialogs.core import Context, Follow, Media, Postback, Text
from scheduling.city.city_file import Contact
from scheduling.store.models import utcnow

CITY = Contact(name="はぐくみ市", phone="0123-45-6789", hours="平日 8:30〜17:15", privacy_url="x")


def test_missing_settings_stop_the_start_naming_them():
    with pytest.raises(MissingSettings) as stop:
        Settings.from_env({"LINE_CHANNEL_SECRET": "s"})
    assert stop.value.names == ["LINE_CHANNEL_ACCESS_TOKEN"]
    assert "LINE_CHANNEL_ACCESS_TOKEN" in str(stop.value.code)


def test_serve_without_settings_exits_with_a_message(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode != 0
    assert "LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_defaults_to_sqlite_in_the_data_folder():
    settings = Settings.from_env({"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"})
    assert settings.database_url == "sqlite:///data/hagukumi.sqlite3"
    assert settings.line_api_base_url == "https://api.line.me"
    assert settings.redis_url is None


def test_japanese_and_english_catalogs_have_the_same_keys_and_placeholders():
    ja, en = catalog.load("ja"), catalog.load("en")
    assert ja.keys() == en.keys()
    for key in ja:
        assert set(re.findall(r"{(\w+)}", ja[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_japanese_sentences_are_polite():
    """Every sentence (not a button label) ends in です・ます form."""
    for key, value in catalog.load("ja").items():
        for sentence in re.findall(r"[^。？\n]+[。？]", value):
            assert re.search(r"(です|ます|ました|でした|ください|ません)か?[）」]?[。？]$", sentence), (key, sentence)


@pytest.mark.parametrize("language,expected", [("ja", "ja"), ("en", "en"), ("en-US", "en"), ("zh-Hant", "ja"),
                                               (None, "ja")])
def test_language_from_the_line_profile_falls_back_to_japanese(language, expected):
    assert catalog.language_of(language) == expected


@pytest.mark.parametrize("event", [Follow(), Text("こんにちは"), Text("産後ケアについて"), Media("sticker"),
                                   Postback("menu:help"), Postback("menu:care"), Postback("old:button")])
@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_menu_answer_fits_lines_limits(event, language):
    outcome = main_menu.handle(None, event, Context(now=utcnow(), city=CITY))
    messages = render(outcome.says, language)
    assert 1 <= len(messages) <= 5
    for message in messages:
        assert 0 < len(message["text"]) <= 5000
        items = (message.get("quickReply") or {}).get("items", [])
        assert len(items) <= 13
        for item in items:
            assert 0 < len(item["action"]["label"]) <= 20
            assert len(item["action"]["data"]) <= 300
            assert "displayText" not in item["action"]  # answers are not echoed into the chat
