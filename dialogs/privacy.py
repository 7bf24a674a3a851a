"""データの削除, as a conversation:

    start ─▶ what will be deleted and what is kept (anonymous counts only) ─▶ 削除に進む / やめる
          ─▶ asked once more: it cannot be undone ─▶ 削除する / やめる ─▶ deleted, and a goodbye

The deletion is a command the worker runs after saving the (emptied) state, in the event's transaction.
"""
from dataclasses import dataclass

from dialogs.core import Choice, Context, Input, Outcome, Postback, Resume, Say

PREFIX = "del|"


@dataclass(frozen=True)
class DeleteMyData:
    """Command: delete her personal data (scheduling.records.erasure), keeping only anonymous counts."""


def is_for_me(event: Input) -> bool:
    return isinstance(event, Postback) and event.data.startswith(PREFIX)


def start(ctx: Context, menu: Say) -> Outcome:
    city = ctx.centre
    return Outcome({"dialog": "privacy", "step": "explain"}, (Say("del.explain", city, (
        Choice("del.go_on", PREFIX + "go_on"), Choice("del.cancel", PREFIX + "cancel"))),))


def handle(state: dict | None, event: Input, ctx: Context, menu: Say) -> Outcome:
    step = (state or {}).get("step") if (state or {}).get("dialog") == "privacy" else None
    data = event.data if isinstance(event, Postback) else ""
    if data == PREFIX + "cancel":
        return Outcome(None, (Say("del.cancelled"), menu))
    if step == "explain" and data == PREFIX + "go_on":
        return Outcome({"dialog": "privacy", "step": "sure"}, (Say("del.sure", choices=(
            Choice("del.delete", PREFIX + "delete"), Choice("del.cancel", PREFIX + "cancel"))),))
    if step == "sure" and data == PREFIX + "delete":
        # a way on even after the goodbye: she is still a friend of the account and may start again
        return Outcome(None, (Say("del.done", choices=(Choice("del.start_again", "menu:show"),)),), (DeleteMyData(),))
    if step is None:
        return Outcome(None, (Say("reply.expired"), menu))
    hint = () if isinstance(event, Resume) else (Say("del.hint"),)
    return Outcome(state, (*hint, *start(ctx, menu).says[-1:]) if step == "explain" else (
        *hint, Say("del.sure", choices=(Choice("del.delete", PREFIX + "delete"),
                                        Choice("del.cancel", PREFIX + "cancel")))))
