"""No dead ends: whatever she taps, the last message she gets offers a way on (a button). Walks the pure
dialogs (menu, 使い方, the screening with its result, データの削除 to the goodbye) at random from the
menu, many times, and fails naming the message that leaves her without a button."""
import random
from datetime import datetime
from pathlib import Path

import pytest

from bot.render import render
from dialogs import router
from dialogs.core import JST, Cards, Context, DateChoice, Follow, Postback, Say
from scheduling.city.city_file import load_city

CITY = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=JST)
WALKABLE = ("menu:care", "menu:help", "menu:show", "menu:delete", "scr|", "del|")  # no desk needed


def ways_on(say) -> list:
    buttons = list(getattr(say, "choices", ()))
    if isinstance(say, Cards):
        buttons += [b for card in say.cards for b in card.buttons]
    return buttons


def test_the_deletion_goodbye_offers_a_way_to_start_again():
    ctx = Context(now=NOW, city=CITY.contact, rules=CITY.rules)
    state = router.handle(None, Postback("menu:delete"), ctx).state
    state = router.handle(state, Postback("del|go_on"), ctx).state
    goodbye = router.handle(state, Postback("del|delete"), ctx)
    assert goodbye.says[-1].key == "del.done"
    assert [c.data for c in goodbye.says[-1].choices] == ["menu:show"]
    assert router.handle(None, Postback("menu:show"), ctx).says[-1].key == "menu.prompt"


@pytest.mark.parametrize("seed", range(6))
def test_every_answer_on_a_random_walk_has_a_way_on(seed):
    chance = random.Random(seed)
    ctx = Context(now=NOW, city=CITY.contact, rules=CITY.rules)
    state, event = None, Follow()
    for step in range(250):
        outcome = router.handle(state, event, ctx)
        render(outcome.says, "ja")
        last = outcome.says[-1]
        buttons = ways_on(last)
        name = last.key if isinstance(last, Say) else type(last).__name__
        assert buttons, f"seed {seed}, step {step}: {name} after {event} leaves her without a button"
        state = outcome.state
        walkable = [b for say in outcome.says for b in ways_on(say) if b.data.startswith(WALKABLE)]
        if not walkable:
            event = Postback("menu:show")
            continue
        button = chance.choice(walkable)
        if isinstance(button, DateChoice):
            event = Postback(button.data, {"date": chance.choice([button.initial, button.max, button.min])
                                           or NOW.date().isoformat()})
        else:
            event = Postback(button.data)
