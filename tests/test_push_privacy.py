"""Lock-screen privacy: a phone shows about four lines of a push on its lock screen (iOS), where anyone
near her may read it. None of the first four lines of any push may hold a word about health or care, or a
provider's name. Walks every push text of the catalog (push.*, and the timed pushes that
config/pregnancy.toml names), in every language, with every care type's and provider's name put in."""
import json
import string
import tomllib
from pathlib import Path

import pytest

from bot.dispatcher import words
from dialogs import catalog
from scheduling.city.booking_config import load_booking_config

CONFIG = Path(__file__).resolve().parents[1] / "config"
LOCK_SCREEN_LINES = 4
PROVIDERS = [p.name for p in load_booking_config(CONFIG / "booking.toml").providers]
WORDS = {
    "ja": ["産後ケア", "ケア", "流産", "死産", "妊娠", "妊婦", "出産", "産", "熱", "うつ", "体調", "相談", "病", "医",
           "助産", "保健師", "宿泊型", "通所型", "訪問型", "日帰り型", "短期入所", "居宅訪問", "つらい", "心", "こころ"],
    "en": ["postpartum", "care", "pregnan", "birth", "miscarriage", "stillbirth", "fever", "depress", "health",
           "consult", "midwife", "nurse", "short stay", "overnight", "day care", "home visit", "visit", "illness", "sick",
           "mental"],
}
TYPES = ("short_stay", "day_care", "home_visit")


def push_keys() -> list[str]:
    with (CONFIG / "pregnancy.toml").open("rb") as f:
        timed = [push["message"] for push in tomllib.load(f).get("timed_pushes", [])]
    keys = [k for k in catalog.load("ja") if k.startswith("push.") and not k.endswith("_end")
            and k not in ("push.bring", "push.address")]   # those two are lines further down a push
    return sorted(set(keys + timed))


def probes(key: str, language: str) -> list[dict]:
    """Every way the push's placeholders can be filled that matters here: each care type, each provider."""
    texts = catalog.load(language) | {}
    fields = {name for part in (key, f"{key}_end") if part in catalog.load("ja")
              for _, name, _, _ in string.Formatter().parse(texts.get(part) or catalog.load("ja")[part]) if name}
    base = {name: "2026-12-02" if name == "date" or name.endswith("_date") else "1" for name in fields}
    filled = []
    for type_name in TYPES if "type" in fields else (None,):
        for provider in PROVIDERS if "provider" in fields else (None,):
            filled.append(base | ({"type": type_name} if type_name else {})
                          | ({"provider": provider} if provider else {}))
    return filled


def first_lines(text: str) -> list[str]:
    return text.split("\n")[:LOCK_SCREEN_LINES]


def offending(text: str, language: str) -> list[tuple[int, str, str]]:
    found = []
    for number, line in enumerate(first_lines(text), start=1):
        for word in WORDS[language] + PROVIDERS:
            if word.lower() in line.lower():
                found.append((number, word, line))
    return found


def test_the_walk_finds_every_push():
    keys = push_keys()
    assert {"push.care_confirmed", "push.care_day_before", "push.call_notice", "push.consult_reply",
            "timed.week28_care", "timed.birth_2months_class"} <= set(keys)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_no_health_or_care_word_nor_a_providers_name_in_the_first_four_lines(language):
    problems = []
    for key in push_keys():
        for params in probes(key, language):
            spec = json.dumps([{"key": key, "params": params}], ensure_ascii=False)   # as rows before notices
            for message in words("any", spec, language):
                problems += [f"{key} line {n}: {word!r} in {line!r}" for n, word, line in
                             offending(message["text"], language)]
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_check_would_catch_a_bad_push():
    assert offending("明日は産後ケアの日です。", "ja")
    assert offending("お知らせです。\n\n\nさくら産婦人科医院", "ja")
    assert not offending("お知らせです。\n\n\n\n産後ケアの日です。", "ja")   # line 5: below the lock screen
