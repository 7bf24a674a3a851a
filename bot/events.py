"""Turn LINE webhook events into dialog inputs. Only one-to-one chats with a user are handled;
group and room events and unknown types are acknowledged and left alone."""
from datetime import UTC, datetime

from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from dialogs.core import Follow, Input, Media, Postback, Text

HANDLED = {"message", "postback", "follow", "unfollow"}


def user_of(raw: dict) -> str | None:
    """The user id of an event we handle, or None for everything we acknowledge and ignore."""
    source = raw.get("source") or {}
    if raw.get("type") in HANDLED and source.get("type") == "user" and source.get("userId"):
        return source["userId"]
    return None


def occurred_at(raw: dict) -> datetime:
    return datetime.fromtimestamp(raw.get("timestamp", 0) / 1000, tz=UTC)


def parse(raw: dict) -> Event | None:
    try:
        return Event.from_dict(raw)
    except (ValueError, TypeError):
        return None


def to_input(event: Event) -> Input | None:
    """The dialog input for an event, or None for an event no dialog answers (unfollow)."""
    if not isinstance(event.source, UserSource):
        return None
    match event:
        case FollowEvent():
            return Follow()
        case PostbackEvent():
            params = event.postback.params or {}
            return Postback(event.postback.data, dict(params))
        case MessageEvent(message=TextMessageContent(text=text)):
            return Text(text)
        case MessageEvent(message=StickerMessageContent()):
            return Media("sticker")
        case MessageEvent():
            return Media(event.message.type)
    return None


def reply_token(event: Event) -> str | None:
    token = getattr(event, "reply_token", None)
    return token if token and not isinstance(event, UnfollowEvent) else None
