"""The worker in a process of its own, at a lower CPU priority than the webhook's processes, so
acknowledging LINE's requests comes first; it polls for stored events and due messages."""
import asyncio
import os
import signal

from bot.runtime import build
from bot.settings import Settings

POLL_EVERY = 0.1


async def run(settings: Settings, *, nice: int = 0) -> None:
    if nice:
        os.nice(nice)
    runtime = build(settings)
    await asyncio.to_thread(runtime.prepare_database)
    line = runtime.new_line_client()
    worker = runtime.new_worker(line)
    worker.start(sweep_every=POLL_EVERY)
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await worker.stop()
    await line.close()
    runtime.engine.dispose()
