"""Turn a dialog's words into LINE message objects (dicts), checked by line-bot-sdk's models."""
import json
from typing import Any

from linebot.v3.messaging import Message

from dialogs import catalog
from dialogs.core import Cards, Choice, CityText, DateChoice, Link, Say

MAX_MESSAGES = 5
MAX_TEXT = 5000  # LINE's limit for one text message
CHECKED_KEEP = 5_000  # messages remembered as accepted by the SDK's model (most repeat); about 1 KB each
_checked: set[str] = set()


def render(says: tuple[Say | Cards | CityText, ...], language: str) -> list[dict]:
    if len(says) > MAX_MESSAGES:
        raise ValueError(f"a dialog may send at most {MAX_MESSAGES} messages at once, not {len(says)}")
    return [_render_one(say, language) for say in says]


def _render_one(say: Say | Cards | CityText, language: str) -> dict:
    def text(line) -> str:
        return catalog.text(language, line.key, **line.params)

    message: dict[str, Any]
    if isinstance(say, CityText):
        message = {"type": "text", "text": say.text_for(language)[:MAX_TEXT]}
    elif isinstance(say, Cards):
        message = {"type": "flex", "altText": text(say.alt)[:400],
                   "contents": {"type": "carousel", "contents": [_bubble(card, text, language)
                                                                 for card in say.cards]}}
    else:
        message = {"type": "text", "text": "\n".join([text(say), *map(text, say.lines)])[:MAX_TEXT]}
    if say.choices:
        message["quickReply"] = {"items": [{"type": "action", "action": _action(c, language)}
                                           for c in say.choices]}
    check(message)
    return message


def check(message: dict) -> None:
    """line-bot-sdk's own model must accept the message (ValueError if not). Building the model costs far
    more than the rest of rendering, so a message accepted once is remembered by its JSON and not built
    again (most are the same for every mother: a question, its buttons). A message seen for the first time
    is looked up by its shape too, its JSON with the words blanked (FREE_TEXT, where the model takes any
    string): a class list whose places left have changed is not built again."""
    key = json.dumps(message, ensure_ascii=False, sort_keys=True)
    if key in _checked:
        return
    shape = json.dumps(_shape(message), ensure_ascii=False, sort_keys=True)
    if shape not in _checked:
        Message.from_dict(message)
        _remember(shape)
    _remember(key)


# Fields the SDK's models type as any string (StrictStr: no length, no pattern; tests/test_hot_path.py
# keeps this true). LINE's own limits on them are render's (MAX_TEXT, the altText's 400).
FREE_TEXT = frozenset({"text", "altText", "label"})


def _shape(value: Any, field: str = "") -> Any:
    if isinstance(value, dict):
        return {key: _shape(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return "" if field in FREE_TEXT and isinstance(value, str) else value


def _remember(key: str) -> None:
    if len(_checked) >= CHECKED_KEEP:
        _checked.clear()
    _checked.add(key)


def _action(choice: Choice | DateChoice | Link, language: str) -> dict:
    label = catalog.text(language, choice.label, **getattr(choice, "params", {}))
    if isinstance(choice, Link):
        return {"type": "uri", "label": label, "uri": choice.uri}
    if isinstance(choice, DateChoice):
        action = {"type": "datetimepicker", "label": label, "data": choice.data, "mode": "date"}
        for field in ("initial", "min", "max"):
            if getattr(choice, field):
                action[field] = getattr(choice, field)
        return action
    return {"type": "postback", "label": label, "data": choice.data}


def _bubble(card, text, language: str) -> dict:
    body = [{"type": "text", "text": text(card.title), "weight": "bold", "size": "lg", "wrap": True}]
    body += [{"type": "text", "text": text(line), "size": "sm", "wrap": True, "margin": "md"}
             for line in card.lines]
    bubble = {"type": "bubble", "size": "kilo",
              "body": {"type": "box", "layout": "vertical", "contents": body}}
    if card.buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": [
            {"type": "button", "style": "primary" if i == 0 else "secondary", "height": "sm",
             "action": _action(button, language)} for i, button in enumerate(card.buttons)]}
    return bubble

