"""The main menu: the greeting, the six choices, and polite answers to anything else.

    follow                 -> greeting + menu
    tap 使い方               -> how to use + menu
    other text, stickers...  -> gentle hint + menu
(産後ケア, パパママ教室, 予約の確認, 妊娠・出産の登録 and データの削除, and the words 教室, 予約, 登録 and
削除, belong to their dialogs: see dialogs/router.py.)
"""
from dialogs.core import Choice, Context, Follow, Input, Media, Outcome, Postback, Say, Text

CHOICES = (
    Choice("menu.care", "menu:care"),
    Choice("menu.class", "menu:class"),
    Choice("menu.bookings", "menu:bookings"),
    Choice("menu.register", "menu:register"),
    Choice("menu.help", "menu:help"),
    Choice("menu.delete", "menu:delete"),
)
MENU = Say("menu.prompt", choices=CHOICES)
KEYWORDS = {"教室": "menu:class", "予約": "menu:bookings", "登録": "menu:register", "削除": "menu:delete"}


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
