"""Every city's rules file: its persona cases (`rules try` with `expect`) hold, and a typical mother reaches a
result in six taps or fewer."""
from datetime import datetime
from pathlib import Path

import pytest

from dialogs import router
from dialogs.core import JST, Cards, Context, Postback
from scheduling.city.rules_cli import main
from scheduling.rules import load_rules
from tests.test_screening_dialog import CITY

RULES = Path(__file__).resolve().parent.parent / "config" / "rules"
FILES = sorted(RULES.glob("*.toml"))
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=JST)
TYPICAL = {"relationship": "birth", "residence": "resident", "birth_date": "2026-04-20", "exclusions": "none",
           "babies": "1", "preterm": "no", "need:family_help": "yes", "need:unwell": "yes", "need:anxiety": "yes"}


@pytest.mark.parametrize("name", ["yokohama", "setagaya", "ami", "fukuoka", "kitakyushu"])
def test_the_new_cities_have_cases(name):
    assert (RULES / "cases" / f"{name}.json").is_file()


@pytest.mark.parametrize("path", [p for p in FILES if (RULES / "cases" / f"{p.stem}.json").is_file()],
                         ids=lambda p: p.stem)
def test_each_citys_cases_hold(path, capsys):
    booking = RULES / "cases" / f"{path.stem}.booking.toml"   # its providers, where rules differ by facility
    extra = ["--booking", str(booking)] if booking.is_file() else []
    assert main(["rules", "try", str(path), str(RULES / "cases" / f"{path.stem}.json"), *extra]) == 0, \
        capsys.readouterr().err


def taps_to_result(rule_set) -> tuple[int, dict]:
    state, taps = None, 0
    says = ()
    for _ in range(12):
        ctx = Context(now=NOW, city=CITY.contact, rules=rule_set)
        asking = (state or {}).get("asking")
        if taps and asking is None:
            break
        if not taps:
            event = Postback("menu:care", {})
        elif asking.endswith("_date"):
            event = Postback(f"scr|a|{asking}", {"date": TYPICAL[asking]})
        else:
            event = Postback(f"scr|a|{asking}|{TYPICAL[asking]}", {})
        outcome = router.handle(state, event, ctx)
        state, says, taps = outcome.state, outcome.says, taps + 1
    result = next(s for s in says if isinstance(s, Cards))
    return taps, {c.title.key.rsplit(".", 1)[1]: c.lines[0].key.rsplit(".", 1)[1] for c in result.cards}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_typical_mother_reaches_a_result_in_six_taps_or_fewer(path):
    taps, statuses = taps_to_result(load_rules(path))
    assert taps <= 6
    assert "eligible" in statuses.values()
