"""Turn LINE webhook events into dialog inputs. Only one-to-one chats with a user are handled;
group and room events and unknown types are acknowledged and left alone (bot/event_fields.py: which)."""
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
