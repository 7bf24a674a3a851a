"""Turn a dialog's words into LINE message objects (dicts), checked by line-bot-sdk's models."""
from linebot.v3.messaging import PostbackAction, QuickReply, QuickReplyItem, TextMessage

from dialogs import catalog
from dialogs.core import Say

MAX_MESSAGES = 5


def render(says: tuple[Say, ...], language: str) -> list[dict]:
    if len(says) > MAX_MESSAGES:
        raise ValueError(f"a dialog may send at most {MAX_MESSAGES} messages at once, not {len(says)}")
    return [_render_one(say, language) for say in says]


def _render_one(say: Say, language: str) -> dict:
    message = TextMessage(text=catalog.text(language, say.key, **say.params))
    if say.choices:
        message.quick_reply = QuickReply(items=[
            QuickReplyItem(action=PostbackAction(label=catalog.text(language, c.label), data=c.data))
            for c in say.choices
        ])
    return message.to_dict()
