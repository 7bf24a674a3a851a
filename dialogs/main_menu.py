"""The main menu: the greeting, the seven choices, and polite answers to anything else.

    follow                 -> greeting + menu
    tap 使い方               -> how to use + menu
    tap 利用申請             -> a card whose button opens the 利用申請 form (LIFF) + menu
    stickers, images...      -> gentle hint + menu
(産後ケア, 教室, 予約の確認, 妊娠・出産の登録, 相談する and データの削除 belong to their dialogs, and what she
types to the router and dialogs/intents: see dialogs/router.py.)
"""
from dialogs.core import Card, Cards, Choice, Context, Follow, Input, Line, Link, Media, Outcome, Postback, Say, Text

CHOICES = (
    Choice("menu.care", "menu:care"),
    Choice("menu.apply", "menu:apply"),
    Choice("menu.class", "menu:class"),
    Choice("menu.bookings", "menu:bookings"),
    Choice("menu.register", "menu:register"),
    Choice("menu.consult", "menu:consult"),
    Choice("menu.help", "menu:help"),
    Choice("menu.delete", "menu:delete"),
)
MENU = Say("menu.prompt", choices=CHOICES)


def handle(state: dict | None, event: Input, ctx: Context) -> Outcome:
    city = ctx.centre
    match event:
        case Follow():
            return Outcome(None, (Say("menu.greeting", city), MENU))
        case Postback(data="menu:help"):
            return Outcome(None, (Say("reply.help", city), MENU))
        case Postback(data="menu:show"):
            return Outcome(None, (MENU,))
        case Postback(data="menu:apply"):
            return Outcome(None, (apply_form(ctx),))
        case Text(text=text) if "メニュー" in text or "menu" in text.lower():
            return Outcome(None, (MENU,))
        case Media():
            return Outcome(None, (Say("reply.media"), MENU))
    return Outcome(None, (Say("reply.not_understood"), MENU))  # other text, a stale or unknown button


def apply_form(ctx: Context) -> Cards | Say:
    """The way to the 利用申請 form (LIFF): a card whose button opens it inside LINE. Her name and address
    are asked there, never in the chat. Without a LIFF app configured, the centre's phone."""
    url = ctx.city.apply_url
    if not url:
        return Say("apply.chat.unavailable", ctx.centre, choices=CHOICES)
    card = Card(Line("apply.chat.card_title"), (Line("apply.chat.card_text"), Line("apply.chat.card_hint")),
                (Link("apply.open", url),))
    return Cards(Line("apply.chat.card_title"), (card,), choices=CHOICES)
