"""Handles stored events after LINE has its 200: one task per user, so each user's events run in
order and one slow user never delays another; a sweep picks up whatever a stopped worker left."""
import asyncio
import json
import logging
import traceback
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot import events
from bot.line_client import LineClient
from bot.render import render
from dialogs import catalog, router
from dialogs.core import Context
from dialogs.screening import SaveScreening
from scheduling import inbox, outbox, screenings, users
from scheduling.db import transaction
from scheduling.models import utcnow

log = logging.getLogger("hagukumi.worker")
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)  # LINE allows about a minute; keep a margin
SWEEP_EVERY = 2.0
KEEP_DONE_EVENTS = timedelta(days=7)


class Worker:
    def __init__(self, *, sessions: sessionmaker[Session], state_store, line: LineClient, city: dict,
                 clock=utcnow):
        self.sessions, self.state_store, self.line, self.city, self.clock = (
            sessions, state_store, line, city, clock)
        self._drains: dict[str, asyncio.Task] = {}
        self._sends: set[asyncio.Task] = set()
        self._sweeper: asyncio.Task | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        tasks = [t for t in (self._sweeper, *self._drains.values(), *self._sends) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until no user's events are being handled and nothing is being sent (for tests)."""
        while self._drains or self._sends:
            await asyncio.gather(*self._drains.values(), *self._sends, return_exceptions=True)

    # --- events ---------------------------------------------------------------------------------
    def kick(self, user_id: str) -> None:
        """Make sure this user's pending events get handled soon, in order."""
        task = self._drains.get(user_id)
        if task is None or task.done():
            self._drains[user_id] = asyncio.create_task(self._drain(user_id))
        else:
            task.kick_again = True

    async def _drain(self, user_id: str) -> None:
        task = asyncio.current_task()
        try:
            while True:
                task.kick_again = False
                if not await self._handle_next(user_id) and not task.kick_again:
                    return
        finally:
            if self._drains.get(user_id) is task:
                del self._drains[user_id]

    async def _handle_next(self, user_id: str) -> bool:
        now = self.clock()
        claimed = await asyncio.to_thread(self._claim, user_id, now)
        if claimed is None:
            return False
        event_id, raw, language = claimed
        try:
            if language is None and events.user_of(raw):
                language = await self.line.profile_language(user_id)
            message_ids = await asyncio.to_thread(self._apply, event_id, raw, language)
        except Exception:
            log.exception("event %s of %s failed; it will be retried", event_id, user_id)
            await asyncio.to_thread(self._fail, event_id, traceback.format_exc())
            return False
        for message_id in message_ids:
            await self._send(message_id)
        return True

    def _claim(self, user_id: str, now: datetime):
        with transaction(self.sessions) as session:
            event = inbox.claim_next(session, user_id=user_id, now=now)
            if event is None:
                return None
            user = users.get(session, user_id=user_id)
            return event.id, json.loads(event.body), (user.language if user else None)

    def _apply(self, event_id: int, raw: dict, language: str | None) -> list[int]:
        """Everything an event changes, in one transaction: user, dialog state, replies, done."""
        now = self.clock()
        event = events.parse(raw)
        user_id = events.user_of(raw)
        message_ids = []
        with transaction(self.sessions) as session:
            if event is not None and user_id:
                message_ids = self._converse(session, event, event_id, raw, user_id, language, now)
            inbox.finish(session, event_id=event_id)
        return message_ids

    def _converse(self, session, event, event_id, raw, user_id, language, now) -> list[int]:
        if raw["type"] in ("follow", "unfollow"):
            users.set_following(session, user_id=user_id, following=raw["type"] == "follow", now=now)
        user = users.ensure(session, user_id=user_id, now=now, language=language)
        dialog_input = events.to_input(event)
        if dialog_input is None:
            return []
        stored = self.state_store.load(session, user_id, now)
        base = stored.base_for(event_id)
        ctx = Context(now=now, city=self.city["city"], rules=self.city["care"]["rule_set"])
        outcome = router.handle(base, dialog_input, ctx)
        self.state_store.save(session, user_id, expected=stored.version, data=outcome.state,
                              event_id=event_id, before=base, now=now)
        for command in outcome.commands:
            self._run(session, command, user_id=user_id, event_id=event_id, now=now)
        messages = render(outcome.says, catalog.language_of(user.language))
        if not messages:
            return []
        token = events.reply_token(event)
        row = outbox.add(session, user_id=user_id, messages=messages, now=now, reply_token=token,
                         reply_deadline=events.occurred_at(raw) + REPLY_TOKEN_LIFETIME if token else None,
                         source_event_id=event_id)
        return [row.id]

    def _run(self, session, command, *, user_id: str, event_id: int, now: datetime) -> None:
        """A dialog's domain command, in the event's own transaction."""
        match command:
            case SaveScreening():
                screenings.record(session, user_id=user_id, answers=command.answers, decision=command.decision,
                                  rules_version=command.rules_version, care_date=command.care_date, now=now,
                                  source_event_id=event_id)
            case _:
                raise TypeError(f"unknown command {command!r}")

    def _fail(self, event_id: int, error: str) -> None:
        with transaction(self.sessions) as session:
            inbox.fail(session, event_id=event_id, error=error, now=self.clock())

    # --- sending --------------------------------------------------------------------------------
    async def _send(self, message_id: int) -> None:
        try:
            await self._send_claimed(message_id)
        except Exception:  # the row's lease runs out and the sweep tries again
            log.exception("sending message %s failed", message_id)

    async def _send_claimed(self, message_id: int) -> None:
        row = await asyncio.to_thread(self._claim_message, message_id)
        if row is None:
            return
        result = await self.line.send(user_id=row.user_id, messages=json.loads(row.messages),
                                      retry_key=row.retry_key, reply_token=row.reply_token,
                                      reply_deadline=row.reply_deadline, now=self.clock())
        await asyncio.to_thread(self._record, message_id, result)

    def _claim_message(self, message_id: int):
        with transaction(self.sessions) as session:
            row = outbox.claim(session, message_id=message_id, now=self.clock())
            if row is not None and outbox.recipient_blocked(session, user_id=row.user_id):
                outbox.mark_skipped(session, message_id=message_id, reason="the user has blocked the account")
                return None
            return row

    def _record(self, message_id: int, result) -> None:
        now = self.clock()
        with transaction(self.sessions) as session:
            if result.status == "sent":
                outbox.mark_sent(session, message_id=message_id, via=result.via, now=now)
            elif result.status == "failed":
                outbox.mark_failed(session, message_id=message_id, error=result.error)
            else:
                outbox.retry_later(session, message_id=message_id, error=result.error, now=now)

    # --- the sweep ------------------------------------------------------------------------------
    async def sweep(self) -> None:
        """Pick up events and messages that no live worker holds (after a crash or a restart)."""
        now = self.clock()
        waiting, due = await asyncio.to_thread(self._find_leftovers, now)
        for user_id in waiting:
            self.kick(user_id)
        for message_id in due:
            task = asyncio.create_task(self._send(message_id))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    def _find_leftovers(self, now: datetime):
        with transaction(self.sessions) as session:
            inbox.purge_done(session, before=now - KEEP_DONE_EVENTS)
            waiting = [u for u in inbox.users_waiting(session, now=now) if u not in self._drains]
            return waiting, outbox.due_ids(session, now=now)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed; trying again")
            await asyncio.sleep(SWEEP_EVERY)
