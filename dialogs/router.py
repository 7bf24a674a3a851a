"""Which dialog answers an input.

    scr|…  postbacks               -> the screening (or "expired" when its state is gone)
    産後ケア (menu tap or text)      -> start or resume the screening
    other menu taps, 予約する, follow, メニュー -> the main menu, leaving any dialog
    anything else during a dialog   -> that dialog (it re-asks its question with a hint)
    anything else                   -> the main menu
"""
from dialogs import main_menu, screening
from dialogs.core import Context, Follow, Input, Outcome, Postback, Text


def handle(state: dict | None, event: Input, ctx: Context) -> Outcome:
    if screening.is_for_me(event):
        return screening.handle(state, event, ctx, main_menu.MENU)
    if _asks_for_care(event):
        return screening.start(state, ctx)
    if (isinstance(event, Follow) or (isinstance(event, Postback) and event.data.startswith(("menu:", "book|")))
            or (isinstance(event, Text) and event.text.strip().lower() in ("メニュー", "menu"))):
        return main_menu.handle(None, event, ctx)
    if (state or {}).get("dialog") == "screening":
        return screening.handle(state, event, ctx, main_menu.MENU)
    return main_menu.handle(state, event, ctx)


def _asks_for_care(event: Input) -> bool:
    return ((isinstance(event, Postback) and event.data == "menu:care")
            or (isinstance(event, Text) and "産後ケア" in event.text))
