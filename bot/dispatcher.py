"""Sends due reminder rows (scheduling/messaging/reminders.py) to LINE as pushes.

One loop per process: claim a batch of due rows (several dispatchers share the work on PostgreSQL),
render each row's words in her language, push them with a bounded number in flight, each with
X-Line-Retry-Key derived from the row, and record the outcomes in the transaction that claims the next
batch. A row pushed but not yet recorded when the process dies is claimed again after its lease and
pushed again under the same key: LINE answers 409 and it counts as sent, so nothing arrives twice.
No push during quiet hours (a rich menu switch, silent, goes then too); none to a user who blocked the
account; none about a booking no longer on.
"""
import asyncio
import contextlib
import functools
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.line_client import LineClient, Result
from bot.render import render
from dialogs import catalog, notices
from dialogs.core import Choice, Line, Say
from scheduling.city.booking_config import BookingConfig
from scheduling.classes import classes
from scheduling.dates.calendar import in_quiet_hours
from scheduling.messaging import heartbeats, reminders
from scheduling.messaging.statuses import DeliveryStatus
from scheduling.store.db import transaction
from scheduling.store.models import utcnow

log = logging.getLogger("hagukumi.dispatcher")
POLL_EVERY = 1.0  # seconds between looks for due rows when there were none
BATCH = 200  # rows claimed at once
CONCURRENCY = 32  # pushes in flight per process
EXPIRE_OFFERS_EVERY = timedelta(seconds=30)
EXPIRE_BATCH = 100
WORDS_KEEP = 4096  # rendered notices remembered by (kind, facts, language)
STOP_WAIT = 15.0  # seconds a stopping dispatcher waits for its pushes in flight


@dataclass(frozen=True)
class Push:
    reminder_id: int
    user_id: str
    messages: list[dict]
    retry_key: str
    richmenu: str | None = None   # not a push: switch her rich menu to this stage's


class Dispatcher:
    def __init__(self, *, sessions: sessionmaker[Session], line: LineClient, config: BookingConfig,
                 clock=utcnow, batch: int = BATCH, concurrency: int = CONCURRENCY, quiet_hours: bool = True):
        """`quiet_hours=False`: push at any hour (only for the local chat, so a newcomer sees a confirmation
        arrive at night; the city's file is not touched)."""
        self.sessions, self.line, self.config, self.clock, self.batch = sessions, line, config, clock, batch
        self.quiet_hours = quiet_hours
        self._concurrency = concurrency
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hagukumi-dispatch")
        self._pushing: set[asyncio.Task] = set()
        self._outcomes: list[tuple[int, Result]] = []
        self._made_signals: tuple[asyncio.Semaphore, asyncio.Event] | None = None
        self._loop: asyncio.Task | None = None
        self._expired_at: datetime | None = None
        self._pacemaker = heartbeats.Pacemaker("dispatcher")

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, every: float = POLL_EVERY) -> None:
        self._loop = asyncio.create_task(self._run_forever(every))

    async def stop(self) -> None:
        """Claim nothing more; let the pushes in flight finish and record them (or give up after
        STOP_WAIT: those rows are sent again after their lease, under the same key)."""
        self._signals()[1].set()
        if self._loop is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._loop, STOP_WAIT)
        for task in list(self._pushing):
            task.cancel()
        await asyncio.gather(*self._pushing, return_exceptions=True)
        self._db.shutdown(wait=True)

    def _signals(self) -> tuple[asyncio.Semaphore, asyncio.Event]:
        if self._made_signals is None:  # made inside the running loop
            self._made_signals = asyncio.Semaphore(self._concurrency), asyncio.Event()
        return self._made_signals

    async def _in_db(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._db, function, *args)

    async def _run_forever(self, every: float) -> None:
        stopping = self._signals()[1]
        while not stopping.is_set():
            for step in (self._beat, self.expire_offers, self.dispatch_due):  # one failing does not stop another
                try:
                    await step()
                except Exception:
                    log.exception("%s failed; trying again", step.__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every)

    async def _beat(self) -> None:
        if self._pacemaker.due(utcnow()):
            await self._in_db(self._beat_now)

    def _beat_now(self) -> None:
        with transaction(self.sessions) as session:
            self._pacemaker.beat(session, utcnow())

    # --- the work -------------------------------------------------------------------------------
    async def dispatch_due(self) -> int:
        """Push every row due now, batch after batch, and record the outcomes. Returns the number of
        rows claimed (pushed, skipped or failed)."""
        slots, stopping = self._signals()
        claimed_total = 0
        while not stopping.is_set():
            # at night only rich menu switches, which she does not hear
            quiet = self.quiet_hours and in_quiet_hours(self.clock(), self.config.policy)
            claimed, pushes = await self._in_db(self._record_and_claim, self._take_outcomes(), True,
                                                (reminders.RICHMENU,) if quiet else None)
            claimed_total += claimed
            for push in pushes:
                await slots.acquire()
                task = asyncio.create_task(self._push(push))
                self._pushing.add(task)
                task.add_done_callback(self._pushed)
            if claimed < self.batch:
                break
        await asyncio.gather(*self._pushing, return_exceptions=True)
        await self._in_db(self._record_and_claim, self._take_outcomes(), False)
        return claimed_total

    async def expire_offers(self) -> int:
        """Waiting-list offers nobody answered in time go to the next in line (every half minute),
        in short transactions of their own."""
        now = self.clock()
        if self._expired_at is not None and now - self._expired_at < EXPIRE_OFFERS_EVERY:
            return 0
        self._expired_at = now
        return await self._in_db(self._expire_offers, now)

    def _expire_offers(self, now: datetime) -> int:
        expired = 0
        while True:
            with transaction(self.sessions) as session:
                count = classes.expire_offers(session, config=self.config, now=now, limit=EXPIRE_BATCH)
            expired += count
            if count < EXPIRE_BATCH:
                return expired

    async def _push(self, push: Push) -> None:
        try:
            if push.richmenu is not None:
                outcome = await self.line.switch_menu(user_id=push.user_id, stage=push.richmenu)
            else:
                outcome = await self.line.push(user_id=push.user_id, messages=push.messages, retry_key=push.retry_key)
        except Exception as error:  # unexpected: try again later under the same key
            log.exception("push of reminder %s failed", push.reminder_id)
            outcome = Result("retry", error=f"{type(error).__name__}: {error}")
        self._outcomes.append((push.reminder_id, outcome))

    def _pushed(self, task: asyncio.Task) -> None:
        self._pushing.discard(task)
        self._signals()[0].release()

    def _take_outcomes(self) -> list[tuple[int, Result]]:
        outcomes, self._outcomes = self._outcomes, []
        return outcomes

    # --- in the database thread -------------------------------------------------------------------
    def _record_and_claim(self, outcomes: list[tuple[int, Result]], claim: bool,
                          kinds: tuple[str, ...] | None = None) -> tuple[int, list[Push]]:
        """One transaction: the outcomes of earlier pushes, then the next batch of due rows."""
        if not outcomes and not claim:
            return 0, []
        now = self.clock()
        with transaction(self.sessions) as session:
            if self._pacemaker.due(utcnow()):  # a long backlog is work too, not a sign of death
                self._pacemaker.beat(session, utcnow())
            self._record(session, outcomes, now)
            if not claim:
                return 0, []
            rows = reminders.claim_due(session, now=now, limit=self.batch, kinds=kinds)
            return len(rows), self._prepare(session, rows, now)

    def _record(self, session: Session, outcomes: list[tuple[int, Result]], now: datetime) -> None:
        sent = [rid for rid, outcome in outcomes if outcome.status == "sent"]
        reminders.mark_sent(session, ids=sent, now=now)
        reminders.forget_switches(session, ids=[rid for rid, outcome in outcomes
                                                if outcome.status == "sent" and outcome.via == "richmenu"])
        for reminder_id, outcome in outcomes:
            if outcome.status in ("failed", "skipped"):  # failed: LINE refused it (4xx); staff see it
                reminders.mark(session, reminder_id=reminder_id, status=outcome.status, error=outcome.error or "")
            elif outcome.status == "retry":
                reminders.retry_later(session, reminder_id=reminder_id, error=outcome.error or "", now=now,
                                      retry_after=outcome.retry_after)

    def _prepare(self, session: Session, rows: list[reminders.ClaimedRow], now: datetime) -> list[Push]:
        """The pushes to make of claimed rows; rows not to send are marked skipped (or failed) here."""
        if not rows:
            return []
        people = reminders.recipients(session, {row.user_id for row in rows})
        held_back = reminders.reasons_to_hold_back(
            session, rows, following={user: follows for user, (_, follows) in people.items()}, now=now)
        pushes = []
        for row in rows:
            if row.id in held_back:
                reminders.mark(session, reminder_id=row.id, status=DeliveryStatus.SKIPPED, error=held_back[row.id])
                continue
            if row.kind == reminders.RICHMENU:
                pushes.append(Push(row.id, row.user_id, [], "", richmenu=reminders.menu_stage_of(row)))
                continue
            language = catalog.language_of(people.get(row.user_id, (None, True))[0])
            try:
                messages = _words_to_push(row.kind, row.message, language)
            except Exception as error:  # a catalog key or parameter missing: staff must see it
                log.error("reminder %s cannot be rendered: %r", row.id, error)
                reminders.mark(session, reminder_id=row.id, status=DeliveryStatus.FAILED, error=f"cannot render: {error!r}")
                continue
            pushes.append(Push(row.id, row.user_id, messages, reminders.retry_key(row.id)))
        return pushes


def words(kind: str, message: str, language: str) -> list[dict]:
    """A row's notice (its kind and facts, dialogs/notices.py) as LINE messages in her language. A line sees
    its message's params too, and a care type is named in her language."""
    facts = json.loads(message)
    says = notices.says(kind, facts["facts"]) if isinstance(facts, dict) else _written_words(facts)
    return render(tuple(_in_her_language(say, language) for say in says), language)


@functools.lru_cache(maxsize=WORDS_KEEP)
def _words_to_push(kind: str, message: str, language: str) -> list[dict]:
    """`words`, remembered: a notice to many mothers (a class opening, a timed push) has the same kind,
    facts and language for each, and building and checking its messages is most of a row's work. The
    lists are shared by those pushes, which only read them."""
    return words(kind, message, language)


def _in_her_language(say: Say, language: str) -> Say:
    params = dict(say.params)
    type_name = f"screening.type.{params.get('type')}"
    if type_name in catalog.load(catalog.DEFAULT_LANGUAGE):
        params["type"] = catalog.text(language, type_name)
    return replace(say, params=params, lines=tuple(replace(line, params={**params, **line.params})
                                                   for line in say.lines))


def _written_words(specs: list[dict]) -> tuple[Say, ...]:
    """A row written before notices: [{"key", "params", "choices": [[label_key, data]], "lines": [[key, params]]}];
    a line sees the message's params too."""
    says = []
    for spec in specs:
        params = dict(spec.get("params") or {})
        lines = spec.get("lines")
        if lines is None and f"{spec['key']}_end" in catalog.load(catalog.DEFAULT_LANGUAGE):
            lines = [[f"{spec['key']}_end", params]]   # a row written before the lines
        says.append(Say(spec["key"], params, tuple(Choice(label, data) for label, data in spec.get("choices", ())),
                        tuple(Line(key, line_params) for key, line_params in lines or ())))
    return tuple(says)
