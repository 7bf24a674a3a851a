"""Stores webhook events in batches. Requests that arrive while one batch is being written go
together in the next, so under load the webhook takes the database's write lock once per batch,
not once per request. Every request still waits for the commit of its own events before its 200.
If a batch fails anyway, each request's events are written again on their own, so one request
that cannot be stored never costs the others their 200."""
import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

from sqlalchemy.orm import Session, sessionmaker

from scheduling.messaging import inbox, wakeup
from scheduling.store.models import utcnow


class InboxWriter:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hagukumi-inbox")
        self._waiting: list[tuple[list[dict], asyncio.Future]] = []
        self._writing: asyncio.Task | None = None

    async def store(self, rows: list[dict], timeout: float | None = None) -> None:
        """Return once the rows are committed; TimeoutError after `timeout` seconds (they may be yet)."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._waiting.append((rows, done))
        if self._writing is None or self._writing.done():
            self._writing = loop.create_task(self._write_batches())
        if timeout is None:
            await done
            return
        timer = loop.call_later(timeout, _settle, done, TimeoutError())   # a timer, not wait_for's task
        try:
            await done
        finally:
            timer.cancel()

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting, []
            unique = {row["webhook_event_id"]: row for rows, _ in batch for row in rows}
            try:
                await loop.run_in_executor(self._thread, self._write, list(unique.values()))
            except Exception:  # noqa: BLE001 (retried request by request below)
                for rows, done in batch:
                    try:
                        await loop.run_in_executor(self._thread, self._write, rows)
                    except Exception as error:  # noqa: BLE001 (this request answers 500; LINE sends it again)
                        _settle(done, error)
                    else:
                        _settle(done, None)
            else:
                for _, done in batch:
                    _settle(done, None)

    async def idle(self) -> None:
        """Wait until no batch is waiting or being written (the worker lets acknowledgements go first)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    def _write(self, rows: list[dict]) -> None:
        """One transaction, one INSERT statement for every event of the batch: on a Core connection,
        as no ORM object is involved (SQLite's writers queue on the engine's write lock)."""
        engine = self.sessions.kw["bind"]
        with getattr(engine, "write_lock", nullcontext()), engine.begin() as connection:
            inbox.store(connection, events=rows, now=utcnow())
            wakeup.notify(connection, inbox.pending_counts(rows))

    def close(self) -> None:
        self._thread.shutdown(wait=True)


def _settle(done: asyncio.Future, error: Exception | None) -> None:
    if done.done():  # the request stopped waiting (timed out)
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
