"""Which dialog answers an input.

    scr|…  postbacks                  -> the screening (or "expired" when its state is gone)
    産後ケア (menu tap or text)         -> start or resume the screening
    book|TYPE (a result card), bk|…    -> care booking (dialogs/booking.py)
    パパママ教室 (menu:class), cls|…     -> parent classes (dialogs/classes.py)
    予約の確認 (menu:bookings), my|…     -> her bookings (dialogs/my_bookings.py)
    妊娠・出産の登録 (menu:register), reg|…, call|pref|… (the 32-week notice) -> dialogs/registration.py
    データの削除 (menu:delete), del|…    -> dialogs/privacy.py
    a typed link code outside a dialog -> linking her record (dialogs/registration.py)
    other menu taps, follow, メニュー    -> the main menu, leaving any dialog
    anything else during a dialog      -> that dialog (it re-asks its question with a hint)
    教室 / 予約 typed outside a dialog   -> parent classes / her bookings
    anything else                      -> the main menu
"""
from dialogs import booking, classes, main_menu, my_bookings, privacy, registration, screening
from scheduling.family_desk import looks_like_code
from dialogs.core import Context, Follow, Input, Outcome, Postback, Text

MENU = main_menu.MENU


def handle(state: dict | None, event: Input, ctx: Context) -> Outcome:
    if screening.is_for_me(event):
        return screening.handle(state, event, ctx, MENU)
    if booking.is_for_me(event):
        return booking.handle(state, event, ctx, MENU)
    if classes.is_for_me(event):
        return classes.handle(state, event, ctx, MENU)
    if my_bookings.is_for_me(event):
        return my_bookings.handle(state, event, ctx, MENU)
    if registration.is_for_me(event):
        return registration.handle(state, event, ctx, MENU)
    if privacy.is_for_me(event):
        return privacy.handle(state, event, ctx, MENU)
    if _asks_for_care(event):
        return screening.start(state, ctx)
    if isinstance(event, Postback) and event.data == "menu:register":
        return registration.start(ctx, MENU)
    if isinstance(event, Postback) and event.data == "menu:delete":
        return privacy.start(ctx, MENU)
    if (isinstance(event, Follow) or (isinstance(event, Postback) and event.data.startswith("menu:"))
            or (isinstance(event, Text) and event.text.strip().lower() in ("メニュー", "menu"))):
        return main_menu.handle(None, event, ctx)
    dialog = (state or {}).get("dialog")
    if dialog == "screening":
        return screening.handle(state, event, ctx, MENU)
    if dialog == "booking":
        return booking.handle(state, event, ctx, MENU)
    if dialog == "classes":
        return classes.handle(state, event, ctx, MENU)
    if dialog == "my":
        return my_bookings.handle(state, event, ctx, MENU)
    if dialog == "registration":
        return registration.handle(state, event, ctx, MENU)
    if dialog == "privacy":
        return privacy.handle(state, event, ctx, MENU)
    if isinstance(event, Text) and looks_like_code(event.text):
        return registration.redeem_typed_code(event.text, ctx, MENU)
    if isinstance(event, Text) and main_menu.keyword(event.text):
        return handle(None, Postback(main_menu.keyword(event.text)), ctx)
    return main_menu.handle(state, event, ctx)


def _asks_for_care(event: Input) -> bool:
    return ((isinstance(event, Postback) and event.data == "menu:care")
            or (isinstance(event, Text) and "産後ケア" in event.text))
