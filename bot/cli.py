"""`hagukumi` command line: chat (bot + local LINE stand-in + terminal chat), serve."""
import argparse
import logging
import sys
from pathlib import Path

WORKER_NICENESS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hagukumi", description="はぐくみ: a LINE bot for postpartum care")
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", help="run the bot with the local LINE stand-in and chat in the terminal")
    chat.add_argument("--script", help="read the conversation from this file instead of the keyboard")
    chat.add_argument("--user", default="U" + "0" * 31 + "1", help="the LINE user id to chat as")
    chat.add_argument("--bot-port", type=int, default=0)
    chat.add_argument("--standin-port", type=int, default=0)
    chat.add_argument("--no-quiet-hours", action="store_true",
                      help="push at any hour (the city's quiet hours hold pushes until the morning otherwise)")

    serve = commands.add_parser("serve", help="run the webhook service (uvicorn) and its worker process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="webhook processes")
    serve.add_argument("--worker-processes", type=int, default=1,
                       help="worker processes that answer (each runs a dispatcher too; default 1; 0: none "
                            "here, `hagukumi worker` runs on other machines)")

    worker = commands.add_parser("worker", help="run only the worker (serve starts one)")
    worker.add_argument("--nice", type=int, default=0, help="lower the worker's CPU priority by this much")
    worker.add_argument("--share", default="1/1", help="N/M: this is worker process N of M (serve sets it)")

    dispatch = commands.add_parser("dispatch", help="run only a reminder dispatcher (the worker runs one too)")
    dispatch.add_argument("--nice", type=int, default=0, help="lower its CPU priority by this much")

    rules = commands.add_parser("rules", help="check a city's 産後ケア rules file, or try cases against it",
                                add_help=False)
    rules.add_argument("rest", nargs=argparse.REMAINDER)

    for name, what in (("booking", "the city's booking file (providers, classes, policy)"),
                       ("pregnancy", "the city's pregnancy file (timed pushes, the 32-week call)")):
        commands.add_parser(name, help=f"check {what}", add_help=False).add_argument("rest", nargs=argparse.REMAINDER)

    commands.add_parser("safety", help="check the city's safety file, or try a typed text against it",
                        add_help=False).add_argument("rest", nargs=argparse.REMAINDER)

    richmenu = commands.add_parser("richmenu", help="the city's rich menus on LINE: apply (create or replace) or show")
    richmenu.add_argument("action", choices=("apply", "show"))

    keys = commands.add_parser("applications", help="the 利用申請's encryption keys: newkey (print a new key), "
                               "rekey (re-encrypt every application with the newest key)")
    keys.add_argument("action", choices=("newkey", "rekey"))

    staff = commands.add_parser("staff", help="staff accounts of the admin panel (add the first administrator)",
                                add_help=False)
    staff.add_argument("rest", nargs=argparse.REMAINDER)

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["staff"]:
        from admin.cli import main as staff_main
        return staff_main(argv[1:])
    if argv[:1] == ["rules"]:
        from scheduling.city.rules_cli import main as rules_main
        return rules_main(argv)
    if argv[:1] == ["safety"]:
        from scheduling.safety.cli import main as safety_main
        return safety_main(argv[1:])
    if argv[:1] in (["booking"], ["pregnancy"]):
        from scheduling.city.booking_cli import main as booking_main
        return booking_main(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "chat":
        return _chat(args)
    from bot.settings import Settings
    settings = Settings.from_env()  # stop at once, naming any missing setting
    if args.command == "richmenu":
        return _richmenu(args.action, settings)
    if args.command == "applications" and args.action == "newkey":
        from scheduling.applications.crypto import new_key
        print(new_key())
        return 0
    from scheduling.store.db import unreachable
    problem = unreachable(settings.database_url)
    if problem:
        print(f"Hagukumi cannot start: the database does not answer ({problem}); check DATABASE_URL and that "
              "the database server is running.", file=sys.stderr)
        return 1
    if args.command == "applications":
        return _rekey(settings)
    if args.command in ("worker", "dispatch"):
        import asyncio

        from bot import worker_process
        from bot.worker import Share
        share = Share.parse(args.share) if args.command == "worker" else Share()
        asyncio.run(worker_process.run(settings, nice=args.nice, answer_events=args.command == "worker", share=share))
        return 0
    return _serve(args)


def _richmenu(action: str, settings) -> int:
    """apply: make LINE hold the city's menus (config/richmenu.toml); show: what LINE holds."""
    from linebot.v3.messaging.exceptions import ApiException

    from bot.richmenu import RichMenuError, RichMenus
    from scheduling.city.city_file import CityConfigError, load_richmenu

    menus = RichMenus(base_url=settings.line_api_base_url, access_token=settings.channel_access_token)
    try:
        if action == "show":
            print("\n".join(menus.show()))
            return 0
        config = load_richmenu(settings.city_config)
        if config is None:
            print(f"{settings.city_config}: no [richmenu] table; add one naming the rich menu file (README)",
                  file=sys.stderr)
            return 1
        applied = menus.apply(config)
        print(f"rich menus on {settings.line_api_base_url}: new {', '.join(applied.created) or 'none'}; "
              f"unchanged {', '.join(applied.unchanged) or 'none'}; deleted {', '.join(applied.deleted) or 'none'}")
        print(_relink(settings.database_url, set(applied.created) - {"not_registered"}))
        return 0
    except (RichMenuError, CityConfigError) as error:
        print(f"hagukumi richmenu {action}: {error}", file=sys.stderr)
        return 1
    except ApiException as error:
        print(f"hagukumi richmenu {action}: LINE answered HTTP {error.status}: {error.body}", file=sys.stderr)
        return 1
    finally:
        menus.close()


def _rekey(settings) -> int:
    """Every application's sealed fields re-encrypted with the newest of HAGUKUMI_DATA_KEYS (docs/applications.md)."""
    from bot.runtime import build
    from scheduling.applications import service
    from scheduling.applications.crypto import Unreadable
    from scheduling.store.db import transaction
    runtime = build(settings)
    try:
        runtime.prepare_database()
        with transaction(runtime.sessions) as session:
            count = service.rekey(session, cipher=runtime.cipher)
    except Unreadable as error:
        print(f"hagukumi applications rekey: {error}; nothing was changed. Keep every old key in "
              "HAGUKUMI_DATA_KEYS (after the new one) until rekey has run.", file=sys.stderr)
        return 1
    finally:
        runtime.engine.dispose()
    print(f"{count} application(s) re-encrypted with the newest key; the older keys can now be removed "
          "from HAGUKUMI_DATA_KEYS")
    return 0


def _relink(database_url: str, stages: set[str]) -> str:
    """LINE unlinked the mothers of a replaced menu: the dispatcher links each to the new one."""
    if not stages:
        return "no mother's menu to relink"
    from scheduling.family import mothers
    from scheduling.store.db import make_engine, make_sessionmaker, transaction, unreachable
    from scheduling.store.models import utcnow
    problem = unreachable(database_url)
    if problem:
        return (f"the database does not answer ({problem}): mothers who had the replaced menus see the default "
                "until their stage changes")
    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            count = mothers.relink_menus(session, stages=stages, now=utcnow())
    except Exception as error:  # noqa: BLE001 (an empty or old database: say so, the menus are made)
        return f"mothers not relinked: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
    finally:
        engine.dispose()
    return f"{count} mother(s) of {', '.join(sorted(stages))} will be linked to the new menu by the dispatcher"


def _serve(args) -> int:
    """Webhook processes that only store and acknowledge, and worker processes (one unless
    --worker-processes), less favoured for the CPU, that answer: LINE's requests are acknowledged at once
    even when answering lags. Each worker process (which runs a dispatcher too) is supervised: started
    again, with backoff, if it dies; uvicorn does the same for the webhook processes. Several worker
    processes keep each mother's order: an event is claimed only when none of hers is held; each takes up
    its share of the mothers, and any mother's events left waiting."""
    import os

    from bot import serve
    from bot.supervisor import Supervised

    os.environ["HAGUKUMI_INLINE_WORKER"] = "0"
    count = args.worker_processes
    if count < 0:
        print("--worker-processes: 0 or more", file=sys.stderr)
        return 2
    workers = [Supervised([sys.executable, "-m", "bot.cli", "worker", "--nice", str(WORKER_NICENESS),
                           "--share", f"{n}/{count}"], "worker" if count == 1 else f"worker {n}/{count}")
               for n in range(1, count + 1)]
    for worker in workers:
        worker.start()
    try:
        return serve.main(["bot.app:app", "--host", args.host, "--port", str(args.port),
                           "--workers", str(args.workers), "--no-access-log"])
    finally:
        for worker in workers:
            worker.stop()


def _chat(args) -> int:
    import dataclasses

    from bot import local
    from bot.settings import Settings
    from bot.standin.chat import run_chat

    env = {"LINE_CHANNEL_SECRET": local.DEMO_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": local.DEMO_TOKEN,
           "HAGUKUMI_ADMIN_SECURE_COOKIES": "0"}  # the local admin panel is plain HTTP on 127.0.0.1
    import os
    env.update({k: v for k, v in os.environ.items() if k in ("DATABASE_URL", "REDIS_URL", "HAGUKUMI_CITY_CONFIG",
                                                             "HAGUKUMI_DATA_DIR", "HAGUKUMI_DATA_KEYS")})
    settings = dataclasses.replace(Settings.from_env(env), quiet_hours=not args.no_quiet_hours)
    with local.running(settings, bot_port=args.bot_port, standin_port=args.standin_port) as servers:
        print(f"はぐくみ is running: bot {servers.bot_url}, LINE stand-in {servers.standin_url}")
        print(f"database: {settings.database_url}")
        print(_quiet_hours_note(settings))
        sign_in = _demo_staff(servers.app.state.sessions, settings.database_url)
        print(f"staff admin panel: {servers.bot_url}/admin/  {sign_in}")
        print(f"利用申請 form (LIFF, as {args.user} on the stand-in): {servers.form_url(args.user)}")
        print(_local_rich_menus(servers.standin_url, settings))
        lines = Path(args.script).read_text(encoding="utf-8").splitlines() if args.script else None
        return run_chat(servers.standin_url, args.user, lines=lines)


def _local_rich_menus(standin_url: str, settings) -> str:
    """The city's rich menus on the local stand-in, so /richmenu shows what a phone would."""
    from bot.richmenu import RichMenuError, RichMenus
    from scheduling.city.city_file import CityConfigError, load_richmenu
    try:
        config = load_richmenu(settings.city_config)
        if config is None:
            return "rich menu: none (the city file has no [richmenu] table)"
        menus = RichMenus(base_url=standin_url, access_token=settings.channel_access_token)
        try:
            menus.apply(config)
        finally:
            menus.close()
    except (RichMenuError, CityConfigError) as error:
        return f"rich menu: not made ({error})"
    return "rich menu: the city's menus are on the stand-in; type /richmenu to see and tap yours"


def _quiet_hours_note(settings) -> str:
    """Say where the chat starts whether a confirmation made at night arrives now or in the morning."""
    from scheduling.city.city_file import load_city
    policy = load_city(settings.city_config).booking.policy
    if not settings.quiet_hours:
        return "quiet hours: off (--no-quiet-hours): pushes such as a confirmation arrive at once, at any hour"
    return (f"quiet hours: {policy.quiet_from}–{policy.quiet_until} (the city's file): a push made then, such as a "
            f"confirmation, arrives at {policy.quiet_until}; start with --no-quiet-hours to see it at once")


def _demo_staff(sessions, database_url: str) -> str:
    """A working way into the local admin panel, on every run. On a SQLite database with no staff but the
    demo administrator, that account is made or given a new password each run (local demo only);
    elsewhere, the command that adds an account to this very database."""
    import secrets

    from scheduling.accounts import staff
    from scheduling.store.db import transaction
    from scheduling.store.models import utcnow
    with transaction(sessions) as session:
        accounts = staff.all_staff(session)
        if database_url.startswith("sqlite") and all(user.login == "demo" for user in accounts):
            password = secrets.token_urlsafe(12)
            if accounts:
                staff.set_password(session, staff_id=accounts[0].id, password=password, actor="hagukumi chat",
                                   now=utcnow())
                if not accounts[0].active:
                    staff.set_active(session, staff_id=accounts[0].id, active=True, actor="hagukumi chat",
                                     now=utcnow())
            else:
                staff.create(session, login="demo", display_name="デモ職員", password=password, role="admin",
                             actor="hagukumi chat", now=utcnow())
            return f"(local demo only: login demo, password {password}; a new password each run)"
    return (f"(sign in with your staff account; add one with: DATABASE_URL='{database_url}' "
            ".venv/bin/hagukumi staff add LOGIN --name 氏名 --role admin)")


if __name__ == "__main__":
    sys.exit(main())
