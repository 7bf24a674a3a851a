"""The main menu: the greeting, the four choices, and polite answers to anything else.

    follow                 -> greeting + menu
    tap 教室 / 予約, 予約する  -> (not built yet) "準備中です" + the centre's phone + menu
    tap 使い方               -> how to use + menu
    other text, stickers...  -> gentle hint + menu
(産後ケア is the screening dialog's: see dialogs/router.py.)
"""
from dialogs.core import Choice, Context, Follow, Input, Media, Outcome, Postback, Say, Text

CHOICES = (
    Choice("menu.care", "menu:care"),
    Choice("menu.class", "menu:class"),
    Choice("menu.bookings", "menu:bookings"),
    Choice("menu.help", "menu:help"),
)
MENU = Say("menu.prompt", choices=CHOICES)
KEYWORDS = {"教室": "menu:class", "予約": "menu:bookings",
            "メニュー": "menu:show", "menu": "menu:show"}


def handle(state: dict | None, event: Input, ctx: Context) -> Outcome:
    city = {"city": ctx.city["name"], "phone": ctx.city["phone"], "hours": ctx.city["hours"]}
    match event:
        case Follow():
            return Outcome(None, (Say("menu.greeting", city), MENU))
        case Postback(data=data):
            return _choose(data, city)
        case Text(text=text):
            for word, data in KEYWORDS.items():
                if word in text.lower():
                    return _choose(data, city)
            return Outcome(None, (Say("reply.not_understood"), MENU))
        case Media():
            return Outcome(None, (Say("reply.media"), MENU))
    return Outcome(None, (MENU,))


def _choose(data: str, city: dict) -> Outcome:
    if data == "menu:help":
        return Outcome(None, (Say("reply.help", city), MENU))
    if data in ("menu:class", "menu:bookings") or data.startswith("book|"):
        return Outcome(None, (Say("reply.preparing", city), MENU))
    if data == "menu:show":
        return Outcome(None, (MENU,))
    return Outcome(None, (Say("reply.not_understood"), MENU))  # a stale or unknown button
