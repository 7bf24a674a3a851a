"""Needs only staff can judge (issue 15, kind 4, the staff action): staff mark a mother's record on the
resident page (audited), and her screening and booking are then eligible on that need instead of a check."""
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from dialogs import router
from dialogs.core import Context, Postback
from scheduling import staff_needs
from scheduling.chat.desk import Desk
from scheduling.family import mothers, screenings
from scheduling.records import erasure
from scheduling.rules import decide, next_question, parse_rules
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, StaffNeed
from tests.admin_helpers import CITY, add_staff, admin_app, page_csrf, signed_in_client
from tests.test_admin_pages import NOW, PREGNANCY
from tests.test_booking_dialog import booking_config

STAFF_NEEDS_LINE = 'staff_needs = ["doctor_recommended", "staff_recognised"]\n'
RULES_TEXT = (
    '[city]\nname = "テスト市"\n\n[[versions]]\neffective_from = 2026-04-01\noffered = ["day_care"]\n\n'
    '[versions.eligibility]\nmode = "needs"\nneeds = ["family_help"]\n' + STAFF_NEEDS_LINE + '\n'
    '[versions.types.day_care]\nage = { max = 4 }\n\n[[versions.types.day_care.fees]]\nfrom_use = 1\n'
    'welfare = 0\ntax_exempt = 0\ntaxed = 1000\n')
RULES = parse_rules(RULES_TEXT, name="city.toml")
MOTHER = {"relationship": "birth", "residence": "resident", "birth_date": "2026-10-20", "babies": 1}
TODAY = date(2026, 12, 1)


def test_a_marked_need_passes_and_her_own_needs_are_not_asked():
    told_no = {**MOTHER, "need:family_help": "no"}
    assert decide(RULES, told_no, on_date=TODAY).results["day_care"].status == "needs_check"
    marked = {**MOTHER, "staff_need:staff_recognised": "yes"}
    result = decide(RULES, marked, on_date=TODAY).results["day_care"]
    assert result.status == "eligible"
    assert [r.key for r in result.reasons] == ["screening.reason.staff_marked.staff_recognised"]
    assert next_question(RULES, marked, TODAY) is None                         # no need:family_help
    assert decide(RULES, {**told_no, "staff_need:staff_recognised": "no"}, on_date=TODAY).results[
        "day_care"].status == "needs_check"


def _linked_mother(session, user: str) -> int:
    return mothers.register_birth(session, config=PREGNANCY, user_id=user, birth_date=date(2026, 10, 20), babies=1,
                                  now=NOW).id


def test_her_screening_and_booking_see_the_mark_on_her_record(sessions):
    user = "U" + "2" * 32
    with transaction(sessions) as session:
        from scheduling.care import providers
        providers.sync(session, config=booking_config())
        mother_id = _linked_mother(session, user)
    with transaction(sessions) as session:
        assert staff_needs.mark(session, mother_id=mother_id, need="staff_recognised", actor="staff:1", now=NOW)
        assert not staff_needs.mark(session, mother_id=mother_id, need="staff_recognised", actor="staff:1", now=NOW)
    with transaction(sessions) as session:
        desk = Desk(session, user, config=booking_config(), rules=RULES, now=NOW)
        ctx = Context(now=NOW, city=CITY.contact, rules=RULES, desk=desk)
        outcome = router.handle(None, Postback("menu:care", {}), ctx)
        asked = []
        while (asking := (outcome.state or {}).get("asking")) is not None:
            asked.append(asking)
            data = f"scr|a|{asking}" + ("" if asking.endswith("_date") else f"|{MOTHER.get(asking, 'none')}")
            outcome = router.handle(outcome.state, Postback(data, {"date": MOTHER.get(asking)}), ctx)
        assert "need:family_help" not in asked
        card = next(s for s in outcome.says if hasattr(s, "cards")).cards[0]
        assert card.lines[0].key == "screening.status.eligible"
        screenings.record(session, user_id=user, answers={**MOTHER, "exclusions": "none"}, decision={},
                          rules_version="t", care_date="2026-12-01", now=NOW)
    with transaction(sessions) as session:
        desk = Desk(session, user, config=booking_config(), rules=RULES, now=NOW)
        assert desk.care_days("day_care").days                                   # the booking takes her
        staff_needs.unmark(session, mother_id=mother_id, need="staff_recognised", actor="staff:1", now=NOW)
    with transaction(sessions) as session:
        desk = Desk(session, user, config=booking_config(), rules=RULES, now=NOW)
        assert desk.care_days("day_care").problem == "not_eligible"              # a check again, not booked
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["staff_need_marked", "staff_need_removed"]


def test_rules_without_staff_needs_read_no_marks(sessions):
    """A mark can change nothing where no rules version lists staff needs: the desk then reads none (it
    is asked on every screening answer), and reads them where the rules do."""
    user = "U" + "3" * 32
    plain = parse_rules(RULES_TEXT.replace(STAFF_NEEDS_LINE, ""), name="city.toml")
    assert not any(v.eligibility.staff_needs for v in plain.versions)
    with transaction(sessions) as session:
        staff_needs.mark(session, mother_id=_linked_mother(session, user), need="staff_recognised",
                         actor="staff:1", now=NOW)
    with transaction(sessions) as session:
        assert Desk(session, user, config=booking_config(), rules=plain, now=NOW).marks() == {}
        assert Desk(session, user, config=booking_config(), rules=RULES, now=NOW).marks() == {
            "staff_need:staff_recognised": "yes"}


@pytest.fixture
def staff_app(sessions):
    from tests.test_admin_pages import Clock
    app = admin_app(sessions, clock=Clock(NOW))
    app.state.city = replace(CITY, rules=RULES)
    return app


def test_staff_mark_and_take_off_a_need_on_the_resident_page_audited(sessions, staff_app):
    user = "U" + "9" * 32
    with transaction(sessions) as session:
        mother_id = _linked_mother(session, user)
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(staff_app, "hanako")
    page = client.get(f"/residents/{mother_id}").text
    assert "産後ケアの対象（センターの判断）" in page and "保健師等が特に支援が必要と認めた方" in page
    path = f"/residents/{mother_id}"
    response = client.post(f"{path}/needs", data={"csrf": page_csrf(client, path), "need": "staff_recognised",
                                                   "marked": "yes"})
    assert response.status_code == 200 and "あてはまる（hanako" in response.text
    with transaction(sessions) as session:
        assert staff_needs.answers_of(session, user_id=user) == {"staff_need:staff_recognised": "yes"}
    refused = client.post(f"{path}/needs", data={"csrf": page_csrf(client, path), "need": "anything", "marked": "yes"})
    assert refused.status_code == 400 and "その項目がありません" in refused.text
    client.post(f"{path}/needs", data={"csrf": page_csrf(client, path), "need": "staff_recognised", "marked": "no"})
    with transaction(sessions) as session:
        assert staff_needs.answers_of(session, user_id=user) == {}
    add_staff(sessions, "boss", "admin")
    audit = signed_in_client(staff_app, "boss").get("/audit").text
    assert "産後ケアの対象（センターの判断）をつけた" in audit and "産後ケアの対象（センターの判断）を外した" in audit
    assert "保健師等が特に支援が必要と認めた方" in audit
    no_csrf = client.post(f"{path}/needs", data={"need": "staff_recognised", "marked": "yes"})
    assert no_csrf.status_code in (400, 403)


def test_her_marks_go_when_she_deletes_her_data(sessions):
    user = "U" + "8" * 32
    with transaction(sessions) as session:
        mother_id = _linked_mother(session, user)
        staff_needs.mark(session, mother_id=mother_id, need="doctor_recommended", actor="staff:1", now=NOW)
    with transaction(sessions) as session:
        counts = erasure.delete_user_data(session, config=booking_config(), user_id=user, now=NOW)
        assert counts["staff_needs"] == 1
        assert session.scalars(select(StaffNeed)).all() == []
