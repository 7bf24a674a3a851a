"""Run the bot and the local LINE stand-in together on this machine (for chat, tests, benchmarks)."""
import asyncio
import dataclasses
import socket
import threading
from contextlib import contextmanager

import uvicorn

from bot.settings import Settings

DEMO_SECRET = "hagukumi-local-channel-secret"
DEMO_TOKEN = "hagukumi-local-access-token"
LOCAL_LIFF_ID = "2000000001-standin"   # the 利用申請 form's LIFF app on the stand-in


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class Local:
    bot_url: str
    standin_url: str
    app: object
    standin: object
    liff_id: str = LOCAL_LIFF_ID

    def form_url(self, user_id: str) -> str:
        """The 利用申請 form as the stand-in opens it for this user (LINE's https://liff.line.me/{liffId})."""
        return f"{self.standin_url}/liff/{self.liff_id}?user_id={user_id}"


@contextmanager
def running(settings: Settings | None = None, *, bot_port: int = 0, standin_port: int = 0,
            log_level: str = "warning"):
    """Start the stand-in and the bot (pointed at it) in a background thread; stop them on exit."""
    from bot.app import create_app
    from bot.standin.server import create_standin_app

    bot_port, standin_port = bot_port or free_port(), standin_port or free_port()
    standin_url, bot_url = f"http://127.0.0.1:{standin_port}", f"http://127.0.0.1:{bot_port}"
    settings = settings or Settings.from_env(
        {"LINE_CHANNEL_SECRET": DEMO_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": DEMO_TOKEN})
    liff_id = settings.liff_id or LOCAL_LIFF_ID   # the form opens through the stand-in, never LINE
    settings = dataclasses.replace(settings, line_api_base_url=standin_url, liff_id=liff_id,
                                   liff_url=f"{standin_url}/liff/{liff_id}",
                                   liff_sdk_url=f"{standin_url}/_standin/liff/sdk.js")
    standin = create_standin_app(channel_secret=settings.channel_secret,
                                 access_token=settings.channel_access_token,
                                 webhook_url=f"{bot_url}/callback", liff_apps={liff_id: f"{bot_url}/liff/apply"})
    app = create_app(settings)
    servers = [uvicorn.Server(uvicorn.Config(standin, host="127.0.0.1", port=standin_port, log_level=log_level)),
               uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=bot_port, log_level=log_level))]

    async def serve():
        await asyncio.gather(*(server.serve() for server in servers))

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    try:
        while not all(server.started for server in servers):
            if not thread.is_alive():
                raise RuntimeError("the local servers did not start (see the log above)")
            thread.join(0.05)
        yield Local(bot_url, standin_url, app, standin, liff_id)
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(10)
