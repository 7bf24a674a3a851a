"""Helpers of the fault tests: a TCP proxy that can hang a server, the stand-in alone, processes."""
import asyncio
import threading
from contextlib import contextmanager

from bot.local import free_port
from tests.helpers import serving


class FreezableProxy:
    """Forwards TCP connections to (host, port). freeze() makes the server look hung: connections stay
    open and new ones are accepted, but nothing passes either way until thaw(). cut() makes it look
    down (connections reset) until restore()."""

    def __init__(self, host: str, port: int):
        self.target, self.port = (host, port), free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._cut, self._writers = False, set()
        self._open = asyncio.Event()
        self._open.set()
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_reader, client_writer):
        if self._cut:
            client_writer.close()
            return
        self._writers.add(client_writer)
        await self._open.wait()
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self._pump(client_reader, server_writer), self._pump(server_reader, client_writer),
                             return_exceptions=True)

    async def _pump(self, reader, writer):
        try:
            while data := await reader.read(65536):
                await self._open.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def freeze(self):
        self._loop.call_soon_threadsafe(self._open.clear)

    def thaw(self):
        self._loop.call_soon_threadsafe(self._open.set)

    def cut(self):
        """The server is down: every connection is closed and new ones are closed at once."""
        def go():
            self._cut = True
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()
        self._loop.call_soon_threadsafe(go)

    def restore(self):
        self._loop.call_soon_threadsafe(setattr, self, "_cut", False)

    def close(self):
        """Stop serving and end every connection's tasks before the loop stops: tasks left pending are
        destroyed later by the garbage collector, in whatever the process is doing then."""
        self.thaw()

        async def shut():
            self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@contextmanager
def standin_running(secret: str, token: str, webhook_url: str):
    """The LINE stand-in alone in a thread (the bot runs as processes of its own)."""
    from bot.standin.server import create_standin_app
    app = create_standin_app(channel_secret=secret, access_token=token, webhook_url=webhook_url)
    with serving(app) as url:
        yield url, app
