"""What the webhook reads of a raw LINE event (a dict), without the SDK's models: a webhook process
stores events and never builds them (bot/events.py does, in the worker)."""
from datetime import UTC, datetime

HANDLED = {"message", "postback", "follow", "unfollow"}


def user_of(raw: dict) -> str | None:
    """The user id of an event we handle, or None for everything we acknowledge and ignore."""
    source = raw.get("source") or {}
    if raw.get("type") in HANDLED and source.get("type") == "user" and source.get("userId"):
        return source["userId"]
    return None


def occurred_at(raw: dict) -> datetime:
    return datetime.fromtimestamp(raw.get("timestamp", 0) / 1000, tz=UTC)
