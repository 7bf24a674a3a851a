"""Every notice the domain writes has words: scheduling writes kinds and facts, dialogs/notices.py the rest."""
import ast
from pathlib import Path

import pytest

from dialogs import notices
from dialogs.core import Say
from scheduling.messaging import reminders
from tests.helpers import parse_python

ROOT = Path(__file__).resolve().parents[1]


def kinds_written() -> set[str]:
    """The literal kinds of every reminders.add(...) in scheduling/ (timed pushes take theirs from the city)."""
    found = set()
    for path in (ROOT / "scheduling").rglob("*.py"):
        for node in ast.walk(parse_python(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add" \
                    and getattr(node.func.value, "id", "") == "reminders":
                found |= {k.value.value for k in node.keywords if k.arg == "kind" and isinstance(k.value, ast.Constant)}
    return found


def test_every_kind_the_domain_writes_has_words():
    written = kinds_written()
    assert {"care_confirmed", "class_offer", "consult_reply", "care_offer"} <= written   # the walk finds them
    assert written - {reminders.RICHMENU} <= set(notices.NOTICES)


def test_the_domain_names_no_catalog_key_nor_postback():
    """The postback protocol and the catalog's keys live in dialogs/ only."""
    for path in (ROOT / "scheduling").rglob("*.py"):
        text = path.read_text()
        for mark in ('"menu:', '"cls|', '"call|', '"cons|', '"push.'):
            assert mark not in text and mark.replace('"', "f\"") not in text, f"{path.relative_to(ROOT)} has {mark}"


def test_an_unknown_kind_is_refused_not_guessed():
    with pytest.raises(notices.UnknownNotice):
        notices.says("care_confirmd", {})


def test_a_timed_push_says_the_citys_text_with_its_button():
    [say] = notices.says("timed:week28_care", {"message": "timed.week28_care", "button": "care"})
    assert say == Say("timed.week28_care", {}, (notices.CARE,))
    [plain] = notices.says("timed:x", {"message": "timed.birth_2months_class"})
    assert plain.choices == ()


def test_the_offer_buttons_carry_the_booking_and_the_call_buttons_the_record():
    [offer] = notices.says("class_offer", {"date": "2027-01-09", "title": "t", "start": "10:00", "place": "p",
                                           "until": "12/1 15:00", "class_booking": 41})
    assert [c.data for c in offer.choices] == ["cls|accept|41", "cls|decline|41"]
    [call] = notices.says("call_notice", {"mother": 9})
    assert len(call.choices) == 5 and all(c.data.startswith("call|pref|") and c.data.endswith("|9")
                                          for c in call.choices)
