"""Handles stored events after LINE has its 200: one task per user, so each user's events run in
order and one slow user never delays another; a sweep picks up whatever a stopped worker left."""
import asyncio
import contextlib
import json
import logging
import traceback
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot import event_fields, events
from bot.line_client import LineClient, Result
from bot.render import render
from bot.state import StateStoreUnavailable
from dialogs import catalog, router
from dialogs.core import Context, Say
from dialogs.main_menu import MENU
from dialogs.privacy import DeleteMyData
from dialogs.router import NoteForStaff, RaiseAlert
from dialogs.screening import SaveScreening
from scheduling.chat.consult_desk import ConsultDesk
from scheduling.chat.desk import Desk
from scheduling.chat.family_desk import FamilyDesk
from scheduling.city.city_file import City
from scheduling.consult import alerts
from scheduling.family import screenings
from scheduling.messaging import heartbeats, inbox, outbox, reminders, users
from scheduling.records import erasure
from scheduling.store.db import transaction
from scheduling.store.models import InboundEvent, utcnow

log = logging.getLogger("hagukumi.worker")
# Another share's events waiting this long are anyone's: its process is gone, or is not being restarted
# (the supervisor's longest pause is 30 s). Not shorter: under a backlog, events queued for a live
# process wait too, and two processes claiming the same users would only slow both.
ORPHANED_AFTER = timedelta(seconds=30)
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)  # LINE allows about a minute; keep a margin
SWEEP_EVERY = 2.0  # inside the webhook's process, which kicks users itself; a worker process polls faster
KEEP_DONE_EVENTS = inbox.KEEP_HANDLED
PURGE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Share:
    """Which users' events a worker process takes up when told of them: those whose id hashes to
    `index` of `of` (so two worker processes do not race for every user). Events of others that have
    waited ORPHANED_AFTER are taken up too, in case their worker process is gone."""
    index: int = 0
    of: int = 1

    def owns(self, user_id: str) -> bool:
        return self.of == 1 or zlib.crc32(user_id.encode()) % self.of == self.index

    @classmethod
    def parse(cls, text: str) -> "Share":
        """"2/3": the second of three (1-based, as people count)."""
        number, _, of = text.partition("/")
        share = cls(int(number) - 1, int(of))
        if not 0 <= share.index < share.of:
            raise ValueError(f"not a share of worker processes: {text!r}")
        return share


class Worker:
    def __init__(self, *, sessions: sessionmaker[Session], state_store, line: LineClient, city: City,
                 clock=utcnow, give_way=None, share: Share = Share()):
        self.sessions, self.state_store, self.line, self.city, self.clock = (
            sessions, state_store, line, city, clock)
        self.share = share
        self._give_way = give_way  # awaited before each event: LINE's acknowledgements go first
        # Database work has threads of its own, so it never waits behind the HTTP client's helpers.
        # SQLite has one writer: more threads would only queue for it and take CPU from the webhook.
        single_writer = hasattr(sessions.kw["bind"], "write_lock")
        self._db = ThreadPoolExecutor(max_workers=1 if single_writer else 4, thread_name_prefix="hagukumi-db")
        self._drains: dict[str, asyncio.Task] = {}
        self._owed: dict[str, int] = {}  # events a user was kicked for and her drain has not yet handled
        # Outcomes of answers sent, recorded with the next transaction this worker makes anyway (the
        # next event's claim, or the sweep). Until then the row's lease keeps others from sending it; a
        # crash before then sends it again, which LINE refuses (a used reply token, a known retry key).
        self._marks: list[tuple[int, Result]] = []
        self._languages: dict[str, str] = {}  # "" when her profile did not say
        self._sends: set[asyncio.Task] = set()
        self._sweeper: asyncio.Task | None = None
        self._nudged: asyncio.Event | None = None
        self._purged_at = datetime.min.replace(tzinfo=utcnow().tzinfo)
        self._pacemaker = heartbeats.Pacemaker("worker")

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, sweep_every: float = SWEEP_EVERY) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(sweep_every))

    async def stop(self) -> None:
        tasks = [t for t in (self._sweeper, *self._drains.values(), *self._sends) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._record_marks()
        except Exception:  # noqa: BLE001 (their leases run out; a sweep sends them again, and LINE refuses twice)
            log.exception("recording sent answers failed")
        self._db.shutdown(wait=True)

    async def _in_db(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._db, function, *args)

    async def idle(self, *, recorded: bool = True) -> None:
        """Wait until no user's events are being handled and nothing is being sent, and (`recorded`)
        every sent answer's outcome is recorded (for tests and benchmarks)."""
        while self._drains or self._sends:
            await asyncio.gather(*self._drains.values(), *self._sends, return_exceptions=True)
        if recorded:
            await self._record_marks()

    async def _record_marks(self) -> None:
        if self._marks:
            await self._in_db_with_marks(self._record_all)

    async def _in_db_with_marks(self, function, *args):
        """`function(*args, marks)` on the database thread, the marks taken from the list for it to record
        in its transaction; put back (to be recorded by the next one) if that transaction failed."""
        marks, self._marks = self._marks, []
        try:
            return await self._in_db(function, *args, marks)
        except BaseException:
            self._marks[:0] = marks
            raise

    # --- events ---------------------------------------------------------------------------------
    def kick(self, user_id: str, events: int = 1) -> None:
        """Make sure this user's pending events (`events` more of them stored) get handled soon, in order."""
        self._owed[user_id] = self._owed.get(user_id, 0) + events
        task = self._drains.get(user_id)
        if task is None or task.done():
            self._drains[user_id] = asyncio.create_task(self._drain(user_id))

    async def _drain(self, user_id: str) -> None:
        """Handle her events until those she was kicked for are done: no empty claim after the last one.
        Events nobody was told of (left by a stopped worker) are the sweep's."""
        task = asyncio.current_task()
        try:
            while (owed := self._owed.get(user_id, 0)) > 0:
                handled = await self._handle_next(user_id)
                # a kick during an empty claim may be for an event it could not see yet: it stays owed
                self._owed[user_id] -= 1 if handled else owed
        except Exception:  # the database failed her claim: nothing of it was kept, and the sweep tries again
            log.exception("handling the events of %s failed; the sweep will try again", user_id)
        finally:
            if self._drains.get(user_id) is task:
                del self._drains[user_id]
                self._owed.pop(user_id, None)

    async def _handle_next(self, user_id: str) -> bool:
        """Handle the user's oldest pending event if no other worker holds it, in one transaction that
        also records the answers sent before; then send its answer. Whether an event was handled."""
        language = self._languages.get(user_id)
        if language is None:  # once per user and process: her LINE profile's language
            language = await self._in_db(self._stored_language, user_id)
            if language is None:
                language = await self.line.profile_language(user_id) or ""
            if len(self._languages) > 100_000:
                self._languages.clear()
            self._languages[user_id] = language
        if self._give_way is not None:
            await self._give_way()
        handled = await self._in_db_with_marks(self._claim_and_apply, user_id, language)
        if handled is None:
            return False
        for row, messages in handled:
            result = await self._send_claimed(row, messages)
            if result is not None:
                self._marks.append((row.id, result))
        return True

    def _stored_language(self, user_id: str) -> str | None:
        with transaction(self.sessions) as session:
            user = users.get(session, user_id=user_id)
            return user.language if user else None

    def _claim_and_apply(self, user_id: str, language: str, marks: list[tuple[int, Result]]) -> list | None:
        """Everything an event changes, in one transaction: the outcomes of answers sent before, the
        claim, user, dialog state, answer, done. The answer's row is written already claimed by this
        worker, which sends it next. A failing event is set aside to be retried later, with backoff.
        Returns [(claimed row, messages)] to send, or None when no event was claimed."""
        now = self.clock()
        claimed = None
        try:
            with transaction(self.sessions) as session:
                self._record_in(session, marks, now=now)
                claimed = inbox.claim_next(session, user_id=user_id, now=now)
                if claimed is None:
                    return None
                event_id, body = claimed
                raw = json.loads(body)
                event = events.parse(raw)
                messages = self._converse(session, event, event_id, raw, user_id, language or None, now) \
                    if event is not None else []
                inbox.finish(session, event_id=event_id)
                return messages
        except Exception as error:
            if claimed is None:  # nothing of an event was done; the caller keeps the marks
                raise
            return self._set_aside(user_id, claimed[0], language, marks, error, now)

    def _set_aside(self, user_id: str, event_id: int, language: str, marks: list[tuple[int, Result]],
                   error: Exception, now: datetime) -> list:
        """The event's transaction failed and was rolled back: record the marks, and have the event wait
        (the state store did not answer: no try is counted) or be tried again later."""
        with transaction(self.sessions) as session:
            self._record_in(session, marks, now=now)
            if isinstance(error, StateStoreUnavailable):
                log.warning("event %s of %s waits for the state store: %s", event_id, user_id, error)
                inbox.postpone(session, event_id=event_id, error=str(error), now=now)
                return []
            log.error("event %s of %s failed", event_id, user_id, exc_info=error)
            text = "".join(traceback.format_exception(error))
            if not inbox.fail(session, event_id=event_id, error=text, now=now):
                return []
            # given up: she still hears from us, as a push since her reply token is long gone
            sorry = Say("reply.sorry", {"phone": self.city.contact.phone})
            apology = render((sorry, MENU), catalog.language_of(language))
            return [outbox.add_claimed(session, user_id=user_id, messages=apology, now=now,
                                       source_event_id=event_id)]

    def _converse(self, session, event, event_id, raw, user_id, language, now) -> list:
        if raw["type"] in ("follow", "unfollow"):
            users.set_following(session, user_id=user_id, following=raw["type"] == "follow", now=now)
        stored_language = users.ensure_language(session, user_id=user_id, now=now, language=language)
        dialog_input = events.to_input(event)
        if dialog_input is None:
            return []
        stored = self.state_store.load(session, user_id, now)
        base = stored.base_for(event_id)
        asked_at = event_fields.occurred_at(raw)   # when she tapped, at LINE
        desk = Desk(session, user_id, config=self.city.booking, rules=self.city.rules, now=now, asked_at=asked_at)
        family = FamilyDesk(session, user_id, config=self.city.pregnancy, now=now)
        ctx = Context(now=now, city=self.city.contact, rules=self.city.rules, desk=desk, family=family,
                      consult=ConsultDesk(session, user_id, now=now), safety=self.city.safety)
        outcome = router.handle(base, dialog_input, ctx)
        self.state_store.save(session, user_id, expected=stored.version, data=outcome.state,
                              event_id=event_id, before=base, now=now)
        for command in outcome.commands:
            self._run(session, command, user_id=user_id, event_id=event_id, now=now)
        messages = render(outcome.says, catalog.language_of(stored_language))
        if not messages:
            return []
        token = events.reply_token(event)
        return [outbox.add_claimed(session, user_id=user_id, messages=messages, now=now, reply_token=token,
                                   reply_deadline=asked_at + REPLY_TOKEN_LIFETIME if token else None,
                                   source_event_id=event_id)]

    def _run(self, session, command, *, user_id: str, event_id: int, now: datetime) -> None:
        """A dialog's domain command, in the event's own transaction."""
        match command:
            case SaveScreening():
                screenings.record(session, user_id=user_id, answers=command.answers, decision=command.decision,
                                  rules_version=command.rules_version, care_date=command.care_date, now=now,
                                  source_event_id=event_id)
            case RaiseAlert():
                alerts.raise_alert(session, user_id=user_id, category=command.category, label=command.label,
                                   body=command.text, matched=command.matched, now=now, source_event_id=event_id)
            case NoteForStaff():
                alerts.raise_alert(session, user_id=user_id, category=alerts.UNREAD_WORDS,
                                   label="自動で分類できなかったことば", body=command.text, matched="", now=now,
                                   source_event_id=event_id)
            case DeleteMyData():
                erasure.delete_user_data(session, config=self.city.booking, user_id=user_id, now=now)
                self.state_store.forget(session, user_id)
                # her menu goes back to the default; the row is deleted once LINE has done it
                reminders.switch_menu(session, user_id=user_id, stage="not_registered", now=now)
            case _:
                raise TypeError(f"unknown command {command!r}")

    # --- sending --------------------------------------------------------------------------------
    async def _send(self, message_id: int) -> None:
        """Send a message row no live sender holds (found by the sweep), and record the outcome."""
        try:
            claimed = await self._in_db(self._claim_message, message_id)
            if claimed is None:
                return
            result = await self._send_claimed(*claimed)
            if result is not None:
                self._marks.append((message_id, result))
        except Exception:  # the row's lease runs out and the sweep tries again
            log.exception("sending message %s failed", message_id)

    async def _send_claimed(self, row, messages: list[dict]):
        """Send a claimed row; the outcome (None when sending failed unexpectedly: the row's lease runs out
        and the sweep tries again)."""
        try:
            return await self.line.send(user_id=row.user_id, messages=messages,
                                        retry_key=row.retry_key, reply_token=row.reply_token,
                                        reply_deadline=row.reply_deadline, now=self.clock(),
                                        replied_before=row.attempts > 1)
        except Exception:
            log.exception("sending message %s failed", row.id)
            return None

    def _claim_message(self, message_id: int):
        """(row, its messages) to send, or None; an answer that leaves late says sorry first."""
        now = self.clock()
        with transaction(self.sessions) as session:
            row = outbox.claim(session, message_id=message_id, now=now)
            if row is None:
                return None
            if outbox.recipient_blocked(session, user_id=row.user_id):
                outbox.mark_skipped(session, message_id=message_id, reason="the user has blocked the account")
                return None
            messages = json.loads(row.messages)
            asked = session.get(InboundEvent, row.source_event_id) if row.source_event_id else None
            if outbox.is_late_answer(row, asked_at=asked.occurred_at if asked else None, now=now):
                user = users.get(session, user_id=row.user_id)
                messages = with_apology(messages, catalog.language_of(user.language if user else None))
            return row, messages

    def _record_all(self, marks: list[tuple[int, Result]]) -> None:
        with transaction(self.sessions) as session:
            self._record_in(session, marks, now=self.clock())

    @staticmethod
    def _record_in(session, marks: list[tuple[int, Result]], *, now: datetime) -> None:
        outbox.mark_sent(session, sent=[(message_id, result.via or "") for message_id, result in marks
                                        if result.status == "sent"], now=now)
        for message_id, result in marks:
            if result.status == "failed":
                outbox.mark_failed(session, message_id=message_id, error=result.error or "")
            elif result.status != "sent":
                outbox.retry_later(session, message_id=message_id, error=result.error or "", now=now,
                                   retry_after=result.retry_after)

    # --- the sweep ------------------------------------------------------------------------------
    async def sweep(self) -> None:
        """Pick up events and messages that no live worker holds (after a crash or a restart)."""
        now = self.clock()
        waiting, due = await self._in_db_with_marks(self._find_leftovers, now)
        for user_id, count, since in waiting:
            if self.share.owns(user_id) or now - since >= ORPHANED_AFTER:
                self.kick(user_id, count)
        for message_id in due:
            task = asyncio.create_task(self._send(message_id))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    def _find_leftovers(self, now: datetime, marks: list[tuple[int, Result]]):
        with transaction(self.sessions) as session:
            self._record_in(session, marks, now=now)
            if self._pacemaker.due(utcnow()):
                self._pacemaker.beat(session, utcnow())
            if now - self._purged_at > PURGE_EVERY:
                inbox.purge_done(session, before=now - KEEP_DONE_EVENTS)
                outbox.purge_sent(session, before=now - KEEP_DONE_EVENTS)
                self._purged_at = now
            waiting = [found for found in inbox.users_waiting(session, now=now) if found[0] not in self._drains]
            return waiting, outbox.due_ids(session, now=now)

    def wake(self, stored: dict[str, int]) -> None:
        """Events were stored for these users, so many each (scheduling/messaging/wakeup.py): take up
        those of this worker's share now rather than at the next poll; {}: sweep now."""
        if not stored:
            if self._nudged is not None:
                self._nudged.set()
            return
        for user_id, count in stored.items():
            if self.share.owns(user_id):
                self.kick(user_id, count)

    async def _sweep_forever(self, every: float) -> None:
        self._nudged = asyncio.Event()
        while True:
            self._nudged.clear()  # nudges from now on are for events this sweep may not see
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), every)


def with_apology(messages: list[dict], language: str) -> list[dict]:
    """A late answer, kindly: 「お返事が遅くなり申し訳ありません。」 before it (in its first text, or as a
    message of its own when there is room: LINE takes at most five)."""
    late = catalog.text(language, "reply.late")
    first = messages[0] if messages else {}
    if first.get("type") == "text" and len(first.get("text", "")) + len(late) + 2 <= 5000:
        return [dict(first, text=f"{late}\n\n{first['text']}"), *messages[1:]]
    if len(messages) < 5:
        return [{"type": "text", "text": late}, *messages]
    return messages
