"""The worker in a process of its own, at a lower CPU priority than the webhook's processes, so
acknowledging LINE's requests comes first; it polls for stored events and due messages, and its
dispatcher sends due reminders. On PostgreSQL the webhook's NOTIFY wakes it as events are stored.
`hagukumi dispatch` runs a process with the dispatcher only."""
import asyncio
import contextlib
import gc
import os
import signal

from bot.runtime import build
from bot.settings import Settings
from bot.supervisor import orphaned
from bot.worker import Share
from scheduling.messaging import wakeup

POLL_EVERY = 0.1
POLL_EVERY_WHEN_WOKEN = 1.0  # PostgreSQL wakes the worker when events are stored; the poll is a fallback
ORPHAN_CHECK_EVERY = 1.0


async def run(settings: Settings, *, nice: int = 0, answer_events: bool = True, share: Share | None = None) -> None:
    if nice:
        os.nice(nice)
    runtime = build(settings)
    await asyncio.to_thread(runtime.prepare_database)
    gc.freeze()  # what is loaded by now lives as long as the process: the collector need not walk it again
    line = runtime.new_line_client()
    worker = runtime.new_worker(line, share=share) if answer_events else None
    listener = None
    if worker:
        if wakeup.listens(settings.database_url):
            loop = asyncio.get_running_loop()

            def woken(stored: dict[str, int]) -> None:   # on the listener's thread
                loop.call_soon_threadsafe(worker.wake, stored)
            listener = wakeup.Listener(settings.database_url, woken)
            listener.start()
        worker.start(sweep_every=POLL_EVERY_WHEN_WOKEN if listener else POLL_EVERY)
    dispatcher = runtime.new_dispatcher(line)
    dispatcher.start()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    while not stopping.is_set() and not orphaned():   # serve killed: a restarted serve starts its own worker
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), ORPHAN_CHECK_EVERY)
    await dispatcher.stop()
    if listener:
        await asyncio.to_thread(listener.stop)
    if worker:
        await worker.stop()
    await line.close()
    runtime.engine.dispose()
