"""Configuration from environment variables (and an optional .env file)."""
import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from scheduling.store.db import database_url_from_env

REQUIRED = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")


class MissingSettings(SystemExit):
    def __init__(self, names):
        super().__init__("Hagukumi cannot start: please set " + ", ".join(names)
                         + " (environment variables or .env; see README).")
        self.names = names


@dataclass(frozen=True)
class Settings:
    channel_secret: str
    channel_access_token: str
    line_api_base_url: str = "https://api.line.me"
    database_url: str = ""
    redis_url: str | None = None
    city_config: Path = Path(__file__).resolve().parent.parent / "config" / "city.toml"
    state_ttl_seconds: int = 24 * 3600
    run_worker: bool = True
    admin_secure_cookies: bool = True  # staff cookies only over HTTPS (the local chat runs on plain HTTP)
    quiet_hours: bool = True  # False only in the local chat (hagukumi chat --no-quiet-hours): pushes at any hour
    # The 利用申請 form (LIFF): the LIFF app's id ("<channel id>-<random>", LINE Developers console), the LINE
    # Login channel's id that ID tokens are issued for (the client_id of /oauth2/v2.1/verify; by default the
    # LIFF id's first part), the address that opens it in LINE, and where the LIFF SDK is loaded from.
    liff_id: str | None = None
    liff_channel_id: str | None = None
    liff_url: str | None = None
    liff_sdk_url: str = "https://static.line-scdn.net/liff/edge/2/sdk.js"
    data_keys: tuple[str, ...] = ()  # HAGUKUMI_DATA_KEYS: Fernet keys, newest first (docs/applications.md)

    @property
    def liff_client_id(self) -> str | None:
        return self.liff_channel_id or (self.liff_id.split("-")[0] if self.liff_id else None)

    @property
    def liff_open_url(self) -> str | None:
        """The address that opens the form inside LINE (https://liff.line.me/{liffId}), or the stand-in's."""
        return self.liff_url or (f"https://liff.line.me/{self.liff_id}" if self.liff_id else None)

    @classmethod
    def from_env(cls, env=None, dotenv: bool = True) -> "Settings":
        if env is None:
            if dotenv:
                load_dotenv(override=False)
            env = os.environ
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise MissingSettings(missing)
        database_url = database_url_from_env(env)
        kwargs = dict(
            channel_secret=env["LINE_CHANNEL_SECRET"],
            channel_access_token=env["LINE_CHANNEL_ACCESS_TOKEN"],
            line_api_base_url=env.get("LINE_API_BASE_URL") or cls.line_api_base_url,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            run_worker=env.get("HAGUKUMI_INLINE_WORKER", "1") != "0",
            admin_secure_cookies=env.get("HAGUKUMI_ADMIN_SECURE_COOKIES", "1") != "0",
            liff_id=env.get("HAGUKUMI_LIFF_ID") or None,
            liff_channel_id=env.get("HAGUKUMI_LIFF_CHANNEL_ID") or None,
            liff_url=env.get("HAGUKUMI_LIFF_URL") or None,
            data_keys=tuple(key.strip() for key in env.get("HAGUKUMI_DATA_KEYS", "").split(",") if key.strip()),
        )
        if env.get("HAGUKUMI_LIFF_SDK_URL"):
            kwargs["liff_sdk_url"] = env["HAGUKUMI_LIFF_SDK_URL"]
        if env.get("HAGUKUMI_CITY_CONFIG"):
            kwargs["city_config"] = Path(env["HAGUKUMI_CITY_CONFIG"])
        return cls(**kwargs)
