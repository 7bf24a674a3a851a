"""The command line a newcomer meets first: the chat's way into the admin panel, and `hagukumi staff add`."""
import getpass

from admin.cli import main as staff_main
from bot.cli import _demo_staff
from scheduling.accounts import staff
from scheduling.store.models import utcnow
from tests.admin_helpers import add_staff


def password_in(line: str) -> str:
    return line.split("password ", 1)[1].split(";", 1)[0]


def signs_in(sessions, login: str, password: str) -> bool:
    return staff.sign_in(sessions, login=login, password=password, address="127.0.0.1", now=utcnow()).token is not None


def test_every_chat_run_prints_a_working_demo_sign_in_on_sqlite(sessions, database_url):
    if not database_url.startswith("sqlite"):
        # on another database no demo account is made: the line says how to add one to that database
        line = _demo_staff(sessions, database_url)
        assert f"DATABASE_URL='{database_url}' .venv/bin/hagukumi staff add LOGIN" in line
        with sessions() as session:
            assert staff.all_staff(session) == []
        return
    first = _demo_staff(sessions, database_url)
    assert first.startswith("(local demo only: login demo, password ")
    assert signs_in(sessions, "demo", password_in(first))
    second = _demo_staff(sessions, database_url)
    assert password_in(second) != password_in(first)
    assert signs_in(sessions, "demo", password_in(second)) and not signs_in(sessions, "demo", password_in(first))


def test_no_demo_account_is_made_beside_real_staff(sessions, database_url):
    add_staff(sessions, "hanako", "admin")
    line = _demo_staff(sessions, database_url)
    assert "staff add LOGIN --name" in line and "password" not in line
    with sessions() as session:
        assert [user.login for user in staff.all_staff(session)] == ["hanako"]


def test_staff_add_with_ctrl_d_at_the_password_says_so(monkeypatch, capsys, database_url, sessions):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("HAGUKUMI_STAFF_PASSWORD", raising=False)

    def ctrl_d(prompt=""):
        raise EOFError
    monkeypatch.setattr(getpass, "getpass", ctrl_d)
    assert staff_main(["add", "hanako", "--name", "山田 花子", "--role", "admin"]) == 1
    err = capsys.readouterr().err
    assert "パスワードが入力されなかったので、追加していません" in err and "Traceback" not in err
    assert f"データベース（database）: {database_url}" in err
    with sessions() as session:
        assert staff.all_staff(session) == []


def test_staff_add_refuses_to_make_a_new_sqlite_file(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("HAGUKUMI_DATA_DIR", raising=False)
    monkeypatch.setenv("HAGUKUMI_STAFF_PASSWORD", "a-long-enough-password")
    assert staff_main(["add", "hanako", "--name", "山田 花子", "--role", "admin"]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "data" / "hagukumi.sqlite3") in err and "no such database file" in err
    assert not (tmp_path / "data").exists()


def test_staff_add_uses_the_existing_database_it_names(monkeypatch, capsys, sessions, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HAGUKUMI_STAFF_PASSWORD", "a-long-enough-password")
    assert staff_main(["add", "hanako", "--name", "山田 花子", "--role", "admin"]) == 0
    assert "hanako を追加しました" in capsys.readouterr().out
    assert signs_in(sessions, "hanako", "a-long-enough-password")
