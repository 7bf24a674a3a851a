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


def test_serve_starts_and_stops_as_many_supervised_worker_processes_as_asked(monkeypatch, tmp_path):
    import bot.serve
    import bot.supervisor
    from bot.cli import main

    started, stopped, served = [], [], []

    class Recording:
        def __init__(self, command, name, **_):
            self.command = command

        def start(self):
            started.append(self.command)

        def stop(self):
            stopped.append(self.command)

    monkeypatch.setattr(bot.supervisor, "Supervised", Recording)
    monkeypatch.setattr(bot.serve, "main", lambda argv: served.append(argv) or 0)
    for name, value in {"HAGUKUMI_INLINE_WORKER": "1", "LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t",
                        "HAGUKUMI_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["serve", "--workers", "2", "--worker-processes", "3"]) == 0
    assert len(started) == 3 and all(command[2:4] == ["bot.cli", "worker"] for command in started)
    assert [command[command.index("--share") + 1] for command in started] == ["1/3", "2/3", "3/3"]
    assert stopped == started
    assert served[0][served[0].index("--workers") + 1] == "2"
    assert main(["serve"]) == 0 and len(started) == 4  # one worker process unless asked
    # none: the webhook processes only acknowledge, and worker processes run on other machines
    assert main(["serve", "--worker-processes", "0"]) == 0 and len(started) == 4 and len(served) == 3
    assert main(["serve", "--worker-processes", "-1"]) == 2 and len(served) == 3
