"""Wakes worker processes when events are stored, on PostgreSQL: the webhook's transaction sends a
NOTIFY naming the users and how many events each (delivered at its commit), and a listener in each
worker process has it take up those users at once instead of at its next poll. A lost notification
(the listener reconnecting) only costs one poll's wait; SQLite has no such channel, and its worker polls.
"""
import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Connection, make_url

from scheduling.store import raw

log = logging.getLogger("hagukumi.wakeup")
CHANNEL = "hagukumi_inbox"
_NOTIFY = raw.Sql("SELECT pg_notify(:channel, :payload)")
RECONNECT_AFTER = 1.0  # seconds
PAYLOAD_LIMIT = 7000  # bytes; PostgreSQL takes under 8000 per notification


def notify(connection: Connection, stored: dict[str, int]) -> None:
    """Tell the listeners which users had how many events stored, when this transaction commits
    (PostgreSQL only). A payload is "user:count,user:count"."""
    if connection.dialect.name != "postgresql" or not stored:
        return
    payloads: list[str] = []
    items: list[str] = []
    size = 0
    for user_id, count in stored.items():
        item = f"{user_id}:{count}"
        if items and size + len(item) + 1 > PAYLOAD_LIMIT:
            payloads.append(",".join(items))
            items, size = [], 0
        items.append(item)
        size += len(item) + 1
    payloads.append(",".join(items))
    for payload in payloads:
        raw.execute(connection, _NOTIFY, {"channel": CHANNEL, "payload": payload}).fetchall()


def parse(payload: str) -> dict[str, int]:
    """The users and counts of a payload; {} for one not understood (the worker then sweeps)."""
    stored: dict[str, int] = {}
    for item in payload.split(","):
        user_id, _, count = item.rpartition(":")
        if not user_id or not count.isdigit():
            return {}
        stored[user_id] = stored.get(user_id, 0) + int(count)
    return stored


def listens(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


class Listener:
    """A thread with a connection of its own that calls `woken` (from that thread) with the users and
    counts of each NOTIFY, and with {} (sweep: events may have been stored unheard) when it starts to
    listen."""

    def __init__(self, url: str, woken: Callable[[dict[str, int]], None]):
        parsed = make_url(url)
        self._conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._woken = woken
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen_forever, name="hagukumi-wakeup", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _listen_forever(self) -> None:
        import psycopg

        from scheduling.store.db import PG_CONNECT_ARGS
        # the engine's timeouts and keepalives, so a server that vanished is noticed, not waited on forever
        conninfo = psycopg.conninfo.make_conninfo(
            self._conninfo, **{key: str(value) for key, value in PG_CONNECT_ARGS.items() if key != "options"})
        while not self._stopping.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._woken({})  # events stored while no one listened are swept now
                    while not self._stopping.is_set():
                        for notification in conn.notifies(timeout=0.5, stop_after=1):
                            self._woken(parse(notification.payload))
            except Exception as error:  # noqa: BLE001 (the polls go on meanwhile)
                log.warning("listening for stored events failed (%s); again in %.0f s", error, RECONNECT_AFTER)
                self._stopping.wait(RECONNECT_AFTER)
