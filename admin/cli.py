"""Staff accounts from the command line; the first administrator is created here:

    hagukumi staff add LOGIN --name "山田 花子" --role admin           (asks for the password twice)
    hagukumi staff add LOGIN --name "さくら産婦人科" --role provider --provider sakura
    hagukumi staff list

The password can come from HAGUKUMI_STAFF_PASSWORD instead (for scripts). The database is
DATABASE_URL, or the embedded SQLite file (as the service: HAGUKUMI_DATA_DIR, default ./data), which must
already exist: run from another folder, the command says so rather than make a new, empty one there.
Exit codes: 0 fine, 1 refused, 2 usage.
"""
import argparse
import getpass
import os
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from scheduling.accounts import staff
from scheduling.store.db import database_url_from_env, make_engine, make_sessionmaker, transaction, upgrade_schema
from scheduling.store.models import Provider, utcnow


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hagukumi staff", description="職員のアカウント（staff accounts）")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a staff account（職員を追加）")
    add.add_argument("login")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=staff.ROLES, required=True)
    add.add_argument("--provider", help="the provider's id in the booking file (role provider)")
    sub.add_parser("list", help="list staff accounts（一覧）")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    url = database_url_from_env(os.environ)
    where = make_url(url)
    print(f"データベース（database）: {where.render_as_string(hide_password=True)}", file=sys.stderr)
    if where.get_backend_name() == "sqlite" and not Path(where.database or "").is_file():
        print(f"{Path(where.database or '').resolve()} がありません（no such database file）。サービスを動かすフォルダで"
              "実行するか、DATABASE_URL か HAGUKUMI_DATA_DIR を指定してください（run this where the service "
              "keeps its data, or set DATABASE_URL or HAGUKUMI_DATA_DIR; the service, or scripts/chat, "
              "makes the file on its first start）。", file=sys.stderr)
        return 1
    engine = make_engine(url)
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    try:
        if args.action == "list":
            with transaction(sessions) as session:
                for user in staff.all_staff(session):
                    print(f"{user.login}\t{user.display_name}\t{user.role}\t{'有効' if user.active else '無効'}")
            return 0
        try:
            password = os.environ.get("HAGUKUMI_STAFF_PASSWORD") or _ask_password()
        except (EOFError, KeyboardInterrupt):
            print("\nパスワードが入力されなかったので、追加していません（no password given: nothing added）。",
                  file=sys.stderr)
            return 1
        with transaction(sessions) as session:
            provider_id = None
            if args.provider:
                provider_id = session.scalar(select(Provider.id).where(Provider.key == args.provider))
                if provider_id is None:
                    print(f"委託先 {args.provider!r} がありません（no such provider; start the service once "
                          "so the booking file is loaded）", file=sys.stderr)
                    return 1
            staff.create(session, login=args.login, display_name=args.name, password=password, role=args.role,
                         provider_id=provider_id, actor="command line", now=utcnow())
        print(f"{args.login} を追加しました（added）。")
        return 0
    except staff.StaffError as error:
        print(f"追加できませんでした（refused）: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _ask_password() -> str:
    first = getpass.getpass("パスワード（10文字以上）: ")
    if first != getpass.getpass("もう一度: "):
        raise staff.StaffError("the two passwords differ（2つのパスワードが違います）")
    return first
