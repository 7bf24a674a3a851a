"""Encryption at rest of her contact fields (names, kana, address, phone, email, 母子健康手帳 number).

Keys come from the environment: HAGUKUMI_DATA_KEYS, Fernet keys separated by commas, the newest first.
New values are encrypted with the newest; every key in the list can still read. To rotate: put a new key
first, keep the old ones after it, run `hagukumi applications rekey` (every row re-encrypted with the
newest key), then drop the old keys. docs/applications.md says it step by step.

Without HAGUKUMI_DATA_KEYS the embedded default (SQLite, the local chat) uses a DEVELOPMENT key kept in a
file beside the database (made once, readable by its owner only); the service refuses to start without
keys on any other database.
"""
import json
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("hagukumi.crypto")
DEV_KEY_FILE = "DEVELOPMENT-ONLY-data-key"   # beside the SQLite file; never for real data


class KeysMissing(SystemExit):
    def __init__(self):
        super().__init__("Hagukumi cannot start: please set HAGUKUMI_DATA_KEYS (Fernet keys, newest first, comma-"
                         "separated; see docs/applications.md). Only the embedded SQLite default makes a "
                         "development key by itself.")


class Unreadable(ValueError):
    """A value that none of the keys can read (a key was dropped too early, or the value was altered)."""


class Cipher:
    """Encrypts with the newest key, reads with any of them."""

    def __init__(self, keys: list[str] | tuple[str, ...]):
        keys = [key.strip() for key in keys if key and key.strip()]
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, values: dict) -> str:
        return self._fernet.encrypt(json.dumps(values, ensure_ascii=False).encode()).decode()

    def open(self, token: str | None) -> dict:
        if not token:
            return {}
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise Unreadable("none of the data keys can read this value") from None

    def rotate(self, token: str) -> str:
        """The same value under the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise Unreadable("none of the data keys can read this value") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def keys_from(value: str | None) -> list[str]:
    return [key.strip() for key in (value or "").split(",") if key.strip()]


def development_key(folder: Path) -> str:
    """The embedded default's key: made once in `folder`, mode 600, and said loudly in the log."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DEV_KEY_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as f:
            f.write(new_key() + "\n")
    log.warning("HAGUKUMI_DATA_KEYS is not set: contact fields are encrypted with the DEVELOPMENT key in %s "
                "(fine for the local chat, never for real data)", path)
    return path.read_text().strip()
