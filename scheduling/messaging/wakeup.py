"""Wakes worker processes when events are stored, on PostgreSQL: the webhook's transaction sends a
NOTIFY, delivered at its commit, and a listener in each worker process has it sweep at once instead of
at its next poll. A lost notification (the listener reconnecting) only costs one poll's wait; SQLite
has no such channel, and its worker polls.
"""
import logging
import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

log = logging.getLogger("hagukumi.wakeup")
CHANNEL = "hagukumi_inbox"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")
RECONNECT_AFTER = 1.0  # seconds


def notify(connection: Connection) -> None:
    """Tell the listeners that events were stored, when this transaction commits (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY)


def listens(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


class Listener:
    """A thread with a connection of its own that calls `woken` (from that thread) for each NOTIFY."""

    def __init__(self, url: str, woken: Callable[[], None]):
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

        from scheduling.store.db import CONNECT_TIMEOUT
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._woken()  # events stored while no one listened are swept now
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._woken()
            except Exception as error:  # noqa: BLE001 (the polls go on meanwhile)
                log.warning("listening for stored events failed (%s); again in %.0f s", error, RECONNECT_AFTER)
                self._stopping.wait(RECONNECT_AFTER)
