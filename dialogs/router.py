"""Which dialog answers an input: the one the state names, else the main menu."""
from dialogs import main_menu
from dialogs.core import Context, Input, Outcome

DIALOGS = {"menu": main_menu.handle}


def handle(state: dict | None, event: Input, ctx: Context) -> Outcome:
    dialog = DIALOGS.get((state or {}).get("dialog"), main_menu.handle)
    return dialog(state, event, ctx)
