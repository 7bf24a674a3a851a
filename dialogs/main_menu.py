"""The main menu: the greeting, the four choices, and polite answers to anything else.

    follow                 -> greeting + menu
    tap 使い方               -> how to use + menu
    other text, stickers...  -> gentle hint + menu
(産後ケア, パパママ教室 and 予約の確認, and the words 教室 and 予約, belong to their dialogs: see
dialogs/router.py.)
"""
from dialogs.core import Choice, Context, Follow, Input, Media, Outcome, Postback, Say, Text

CHOICES = (
    Choice("menu.care", "menu:care"),
    Choice("menu.class", "menu:class"),
    Choice("menu.bookings", "menu:bookings"),
    Choice("menu.help", "menu:help"),
)
MENU = Say("menu.prompt", choices=CHOICES)
KEYWORDS = {"教室": "menu:class", "予約": "menu:bookings"}


def keyword(text: str) -> str | None:
    """The menu tap a typed word stands for, if any."""
    return next((data for word, data in KEYWORDS.items() if word in text), None)


def handle(state: dict | None, event: Input, ctx: Context) -> Outcome:
    city = {"city": ctx.city["name"], "phone": ctx.city["phone"], "hours": ctx.city["hours"]}
    match event:
        case Follow():
            return Outcome(None, (Say("menu.greeting", city), MENU))
        case Postback(data="menu:help"):
            return Outcome(None, (Say("reply.help", city), MENU))
        case Postback(data="menu:show"):
            return Outcome(None, (MENU,))
        case Text(text=text) if "メニュー" in text or "menu" in text.lower():
            return Outcome(None, (MENU,))
        case Media():
            return Outcome(None, (Say("reply.media"), MENU))
    return Outcome(None, (Say("reply.not_understood"), MENU))  # other text, a stale or unknown button
