"""利用申請, below the page: drafts, the server's checks of every field, the idempotent submit, encryption
at rest and key rotation, the city's decision with one push each way, what a provider may read, erasure."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from scheduling.applications import fields, service
from scheduling.applications.crypto import Cipher, Unreadable, new_key
from scheduling.applications.models import Application
from scheduling.city.application_config import ApplicationConfig, ApplicationConfigError, application_config
from scheduling.city.booking_config import load_booking_config
from scheduling.dates.calendar import JST
from scheduling.family import screenings
from scheduling.records import erasure
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, Reminder
from tests.application_helpers import CIPHER, KEY_NEW, KEY_OLD, postal, valid_form
from tests.test_erasure import CONFIG

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)
HER, OTHER = "U" + "a" * 32, "U" + "b" * 32
CONFIG_APP = ApplicationConfig()
BOOKING = load_booking_config(CONFIG / "booking.toml")


def submitted(sessions, user_id=HER, **changes) -> int:
    with transaction(sessions) as session:
        row = service.start(session, user_id=user_id, now=NOW, cipher=CIPHER)
        outcome = service.submit(session, user_id=user_id, draft_token=row.draft_token, form=valid_form(**changes),
                                 now=NOW, cipher=CIPHER, config=CONFIG_APP, postal_lookup=postal)
        assert outcome.ok, outcome.problems
        return row.id


def test_a_draft_keeps_what_she_typed_and_resumes(sessions):
    with transaction(sessions) as session:
        row = service.start(session, user_id=HER, now=NOW, cipher=CIPHER)
        token = row.draft_token
        service.save_draft(session, user_id=HER, draft_token=token, now=NOW, cipher=CIPHER,
                           form={"mother_name": "山田", "birth_weight_g": "29", "unknown": "x",
                                 "care_types": ["day_care", "spa"]})
    with transaction(sessions) as session:
        again = service.start(session, user_id=HER, now=NOW + timedelta(hours=3), cipher=CIPHER)
        assert again.draft_token == token   # the same draft, not a second one
        assert service.form_of(again, CIPHER) == {"mother_name": "山田", "birth_weight_g": "29", "care_types": ["day_care"]}


def test_a_draft_is_only_hers(sessions):
    with transaction(sessions) as session:
        token = service.start(session, user_id=HER, now=NOW, cipher=CIPHER).draft_token
    with transaction(sessions) as session, pytest.raises(service.NotFound):
        service.save_draft(session, user_id=OTHER, draft_token=token, form={"mother_name": "x"}, now=NOW, cipher=CIPHER)


def test_what_the_chat_answered_is_filled_in(sessions):
    with transaction(sessions) as session:
        screenings.record(session, user_id=HER, rules_version="2026", care_date="2026-12-01",
                          answers={"birth_date": "2026-11-01", "household": "tax_exempt", "babies": 1},
                          decision={}, now=NOW)
        form = service.form_of(service.start(session, user_id=HER, now=NOW, cipher=CIPHER), CIPHER)
    assert form == {"baby_born": "yes", "baby_birth_date": "2026-11-01", "household": "tax_exempt"}


@pytest.mark.parametrize(("field", "value", "key"), [
    ("mother_name", "", "apply.error.required"),
    ("mother_name", "花" * 10_000, "apply.error.too_long"),
    ("mother_kana", "Yamada", "apply.error.kana"),
    ("mother_birth_date", "2026-02-30", "apply.error.date"),
    ("mother_birth_date", "2020-01-01", "apply.error.mother_birth"),
    ("postal_code", "12-345", "apply.error.postal"),
    ("postal_code", "000-0000", "apply.error.postal_unknown"),
    ("address", "", "apply.error.required"),
    ("phone", "0120-000-000", "apply.error.phone"),
    ("email", "hanako@", "apply.error.email"),
    ("techo_number", "第12号", "apply.error.techo"),
    ("baby_born", "maybe", "apply.error.choose"),
    ("baby_name", "", "apply.error.required"),
    ("baby_kana", "ひな1", "apply.error.kana"),
    ("baby_birth_date", "2027-01-01", "apply.error.baby_birth"),
    ("birth_weight_g", "29800", "apply.error.weight"),
    ("weeks_at_birth", "50", "apply.error.weeks"),
    ("care_types", [], "apply.error.care_types"),
    ("household", "rich", "apply.error.choose"),
    ("consent", False, "apply.error.consent"),
])
def test_each_field_is_checked_on_the_server(field, value, key):
    checked = fields.check(valid_form(**{field: value}), today=NOW.date(), postal_lookup=postal)
    assert set(checked.problems) == {field} and checked.problems[field][0] == key


def test_a_valid_form_is_cleaned():
    checked = fields.check(valid_form(postal_code="１０００００１", mother_kana="やまだ　はなこ", birth_weight_g="2,980g"),
                           today=NOW.date(), postal_lookup=postal)
    assert checked.ok
    assert checked.values["postal_code"] == "100-0001" and checked.values["birth_weight_g"] == 2980
    assert checked.values["mother_kana"] == "ヤマダ ハナコ" and checked.values["phone"] == "090-1234-5678"


def test_before_the_birth_the_due_date_is_asked_not_the_babys():
    checked = fields.check(valid_form(baby_born="no", baby_name="", baby_kana="", baby_birth_date="",
                                      birth_weight_g="", weeks_at_birth="", due_date="2027-01-20"),
                           today=NOW.date(), postal_lookup=postal)
    assert checked.ok and checked.values["due_date"] == "2027-01-20"


def test_a_wrong_submit_writes_nothing_and_says_what_is_wrong(sessions):
    with transaction(sessions) as session:
        row = service.start(session, user_id=HER, now=NOW, cipher=CIPHER)
        before = row.sealed
        outcome = service.submit(session, user_id=HER, draft_token=row.draft_token, form=valid_form(phone="12"),
                                 now=NOW, cipher=CIPHER, config=CONFIG_APP, postal_lookup=postal)
        assert not outcome.ok and set(outcome.problems) == {"phone"}
        assert row.state == "draft" and row.sealed == before


def test_a_draft_refuses_a_text_longer_than_any_answer(sessions):
    with transaction(sessions) as session:
        row = service.start(session, user_id=HER, now=NOW, cipher=CIPHER)
        before = row.sealed
        with pytest.raises(fields.TooLong):
            service.save_draft(session, user_id=HER, draft_token=row.draft_token, now=NOW, cipher=CIPHER,
                               form={"mother_name": "花" * 10_000, "phone": "090"})
        assert row.sealed == before


def test_a_second_submit_writes_nothing_new(sessions):
    application_id = submitted(sessions)
    with transaction(sessions) as session:
        row = session.get(Application, application_id)
        before = (row.sealed, row.submitted_at)
        again = service.submit(session, user_id=HER, draft_token=row.draft_token, form=valid_form(mother_name="別人"),
                               now=NOW + timedelta(minutes=1), cipher=CIPHER, config=CONFIG_APP, postal_lookup=postal)
        assert again.ok and again.again and (row.sealed, row.submitted_at) == before
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "application_submitted")).all()
        assert len(audits) == 1


def test_contact_fields_are_not_in_the_database_in_plain_text(sessions, engine):
    submitted(sessions)
    with engine.connect() as conn:
        raw = " ".join(str(value) for row in conn.execute(text("SELECT * FROM applications")) for value in row)
    # whole values: a short run of digits such as "090" turns up in random ciphertext now and then
    for secret in ("山田", "ヤマダ", "090-1234-5678", "09012345678", "千代田", "100-0001", "1000001", "1994-05-06"):
        assert secret not in raw
    assert "2026-11-01" in raw   # the baby's birth date is plain: the rules and the provider need it


def test_a_new_key_first_still_reads_old_rows_and_rekey_moves_them(sessions):
    application_id = submitted(sessions)
    rotated = Cipher([KEY_NEW, KEY_OLD])
    with transaction(sessions) as session:
        row = session.get(Application, application_id)
        assert service.view(row, rotated).name == "山田 花子"
        assert service.rekey(session, cipher=rotated) == 1
    with transaction(sessions) as session:
        row = session.get(Application, application_id)
        assert service.view(row, Cipher([KEY_NEW])).name == "山田 花子"
        with pytest.raises(Unreadable):
            service.view(row, Cipher([KEY_OLD]))
        with pytest.raises(Unreadable):
            service.view(row, Cipher([new_key()]))


def pushes(sessions, kind):
    with transaction(sessions) as session:
        return session.scalars(select(Reminder).where(Reminder.kind == kind)).all()


def test_approval_gives_a_number_a_period_and_one_push(sessions):
    application_id = submitted(sessions)
    with transaction(sessions) as session:
        row = service.approve(session, application_id=application_id, actor="staff:1", now=NOW, config=CONFIG_APP)
        assert service.approval_number(row) == "令和8年度第1号"
        assert (row.valid_from, row.valid_until) == ("2026-12-01", "2027-10-31")   # the baby turns one
    with transaction(sessions) as session:
        assert service.approve(session, application_id=application_id, actor="staff:2", now=NOW, config=CONFIG_APP) is None
    sent = pushes(sessions, "application_approved")
    assert len(sent) == 1 and sent[0].user_id == HER
    second = submitted(sessions, user_id=OTHER)
    with transaction(sessions) as session:
        assert service.approval_number(service.approve(session, application_id=second, actor="staff:1", now=NOW,
                                                       config=CONFIG_APP)) == "令和8年度第2号"


def test_a_returned_application_is_corrected_and_sent_again(sessions):
    application_id = submitted(sessions)
    with transaction(sessions) as session:
        with pytest.raises(ValueError):
            service.send_back(session, application_id=application_id, reason=" ", actor="staff:1", now=NOW)
        service.send_back(session, application_id=application_id, reason="住所の番地をご確認ください", actor="staff:1",
                          now=NOW)
        assert service.send_back(session, application_id=application_id, reason="x", actor="staff:1", now=NOW) is None
    assert len(pushes(sessions, "application_returned")) == 1
    with transaction(sessions) as session:
        row = service.start(session, user_id=HER, now=NOW, cipher=CIPHER)
        assert row.id == application_id and row.state == "returned"
        again = service.form_of(row, CIPHER)
        assert again["care_types"] == ["short_stay", "day_care"] and "consent" not in again   # she agrees anew
        assert service.submit(session, user_id=HER, draft_token=row.draft_token, form=valid_form(), now=NOW,
                              cipher=CIPHER, config=CONFIG_APP, postal_lookup=postal).ok
        service.send_back(session, application_id=application_id, reason="もう一度", actor="staff:1", now=NOW)
    assert len(pushes(sessions, "application_returned")) == 2


def test_the_provider_sees_contact_and_no_health_or_household(sessions):
    submitted(sessions)
    with transaction(sessions) as session:
        found = service.standing(session, user_ids={HER, OTHER}, cipher=CIPHER)
        assert set(found) == {HER}
        shown = service.for_provider(found[HER])
    assert shown == {"mother_name": "山田 花子", "mother_kana": "ヤマダ ハナコ", "phone": "090-1234-5678",
                     "baby_name": "山田 陽菜", "baby_birth_date": "2026-11-01"}


def test_erasure_removes_the_application(sessions, engine):
    submitted(sessions)
    with transaction(sessions) as session:
        service.start(session, user_id=OTHER, now=NOW, cipher=CIPHER)
        counts = erasure.delete_user_data(session, config=BOOKING, user_id=HER, now=NOW)
        erasure.delete_user_data(session, config=BOOKING, user_id=OTHER, now=NOW)
    assert counts["applications_kept"] == 1
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, sealed, baby_birth_date, household, state FROM applications")).all()
    assert len(rows) == 1   # her draft-only neighbour's draft is gone, hers is an anonymous count
    user_id, sealed, birth, household, state = rows[0]
    assert user_id.startswith("deleted:") and sealed is None and birth is None and household is None
    assert state == "withdrawn"
    with transaction(sessions) as session:
        assert service.counts_by_year(session, year=2026) == {"submitted": 1, "approved": 0}


def test_the_city_settings_are_checked():
    assert application_config({}) == ApplicationConfig()
    assert application_config({"application": {"valid_months": 6}}).valid_months == 6
    with pytest.raises(ApplicationConfigError, match="valid_months"):
        application_config({"application": {"valid_months": 0}})
    with pytest.raises(ApplicationConfigError, match="unknown"):
        application_config({"application": {"colour": "red"}})



def test_the_rekey_command_moves_every_row_to_the_newest_key(tmp_path, monkeypatch, capsys):
    from bot.cli import main
    from scheduling.store.db import make_engine, make_sessionmaker
    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    engine = make_engine(url)
    from scheduling.store.db import upgrade_schema
    upgrade_schema(engine)
    submitted(make_sessionmaker(engine))
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "s")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "t")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HAGUKUMI_DATA_KEYS", f"{KEY_NEW}")   # the old key dropped too early
    assert main(["applications", "rekey"]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    monkeypatch.setenv("HAGUKUMI_DATA_KEYS", f"{KEY_NEW},{KEY_OLD}")
    assert main(["applications", "rekey"]) == 0
    assert "1 application(s) re-encrypted" in capsys.readouterr().out
    with transaction(make_sessionmaker(engine)) as session:
        assert service.view(session.scalars(select(Application)).one(), Cipher([KEY_NEW])).name == "山田 花子"
    engine.dispose()
    assert main(["applications", "newkey"]) == 0
    Cipher([capsys.readouterr().out.strip()])   # a key Fernet accepts


def test_the_figures_count_applications_and_approvals_by_month_of_the_year(sessions):
    from datetime import date

    from scheduling.reports import statistics
    first, second = submitted(sessions), submitted(sessions, user_id=OTHER)
    with transaction(sessions) as session:
        service.start(session, user_id="U" + "0" * 32, now=NOW, cipher=CIPHER)   # a draft: not counted
        service.approve(session, application_id=first, actor="staff:1", now=NOW + timedelta(days=40), config=CONFIG_APP)
        service.send_back(session, application_id=second, reason="番地", actor="staff:1", now=NOW)
    with transaction(sessions) as session:
        found = statistics._applications(session, date(2026, 4, 1), date(2027, 3, 31))
        assert (found.submitted.year, found.approved.year) == (2, 1)
        assert found.submitted.months[8] == 2 and found.approved.months[9] == 1   # December, January
        assert statistics._applications(session, date(2027, 4, 1), date(2028, 3, 31)).submitted.year == 0


def test_the_liff_settings_and_the_keys_the_service_starts_with(tmp_path):
    import stat

    from bot.runtime import build
    from bot.settings import Settings
    from scheduling.applications.crypto import DEV_KEY_FILE, KeysMissing
    base = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"}
    settings = Settings.from_env(base | {"HAGUKUMI_LIFF_ID": "1650000000-abcdEFGH",
                                         "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"})
    assert settings.liff_open_url == "https://liff.line.me/1650000000-abcdEFGH"
    assert settings.liff_client_id == "1650000000" and settings.data_keys == ()
    runtime = build(settings)   # the embedded default: a development key beside the database, its owner's only
    sealed = runtime.cipher.seal({"phone": "090"})
    key_file = tmp_path / DEV_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert build(settings).cipher.open(sealed) == {"phone": "090"}   # the same key next time
    assert runtime.city.contact.apply_url == "https://liff.line.me/1650000000-abcdEFGH"
    postgres = build(Settings.from_env(base | {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}))
    with pytest.raises(KeysMissing, match="HAGUKUMI_DATA_KEYS"):
        getattr(postgres, "cipher")  # noqa: B009 (the property refuses)
    keyed = build(Settings.from_env(base | {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                                            "HAGUKUMI_DATA_KEYS": f" {KEY_NEW} , {KEY_OLD} "}))
    assert keyed.cipher.open(Cipher([KEY_OLD]).seal({"a": 1})) == {"a": 1}
    for runtime_ in (runtime, postgres, keyed):
        runtime_.engine.dispose()
