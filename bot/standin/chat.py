"""Terminal chat with the bot through a running LINE stand-in.

    python -m bot.standin.chat http://127.0.0.1:8081 U0123... [script.chat]

Each input line (typed, or read from a script) is one of:

    /follow /unfollow      add or block the bot
    /sticker /image /location
                           send that kind of message
    /richmenu              show the rich menu under the chat (hers, else the default);
                           its areas become the choices, so 3 then taps its area [3]
    /richmenu 3            tap area [3] of the rich menu at once
    /help /quit
    3                      tap choice [3] of the bot's last batch of messages
    3 2026-01-05           tap a date picker choice with that value (also 2026/1/5,
                           2026年1月5日, today, today+14, today-30; without a value
                           you are asked for one)
    anything else          sent as a text message (so is a number with no such choice)

Script files use the same lines, plus:

    # a comment            ignored, like blank lines
    ? some text            assertion: the bot's last batch of messages (everything
                           shown after the previous send) must contain "some text"
                           somewhere in what was printed (texts, labels, altText)

The script stops at the first failed assertion (or at a date picker tap without
a value); run_chat then returns 1. See bot/standin/demo.chat and docs/chat-script.md.
"""

import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

HELP = __doc__.split("is one of:\n", 1)[1].split("Script files", 1)[0]
PICKER_FORMATS = {"date": "YYYY-MM-DD", "time": "HH:MM", "datetime": "YYYY-MM-DDTHH:MM"}
DATE = re.compile(r"(\d{4})\s*[-/年]\s*(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?")
RELATIVE = re.compile(r"today\s*(?:([+-])\s*(\d+))?", re.IGNORECASE)
PICKER_EXAMPLES = {"date": "2026-11-10, 2026/11/10, 2026年11月10日 or today-30", "time": "14:30",
                   "datetime": "2026-11-10T14:30 or 2026/11/10 14:30"}
TIME = re.compile(r"(\d{1,2})\s*[:時]\s*(\d{2})\s*分?")
CANNED: dict[str, dict] = {
    "/sticker": {"type": "sticker", "packageId": "446", "stickerId": "1988",
                 "stickerResourceType": "STATIC", "keywords": ["OK"]},
    "/image": {"type": "image", "contentProvider": {"type": "line"}},
    "/location": {"type": "location", "title": "市役所", "address": "東京都千代田区",
                  "latitude": 35.6812, "longitude": 139.7671},
}


def message_choices(message: dict) -> list[dict]:
    """The tappable actions of a message, in display order."""
    actions = []
    template = message.get("template") or {}
    if template.get("type") in ("buttons", "confirm"):
        actions += template.get("actions", [])
    for column in template.get("columns", []):  # carousel, image_carousel
        actions += column.get("actions") or ([column["action"]] if "action" in column else [])
    if message.get("type") == "flex":
        actions += [b["action"] for b in _flex_buttons(message.get("contents"))]
    actions += [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]
    return actions


def _flex_buttons(node) -> list[dict]:
    if isinstance(node, list):
        return [b for child in node for b in _flex_buttons(child)]
    if not isinstance(node, dict):
        return []
    if node.get("type") == "button" and "action" in node:
        return [node]
    return [b for value in node.values() for b in _flex_buttons(value)]


def _card_titles(message: dict) -> list[str]:
    """For each choice of the message, the title of the card (flex bubble) it sits on, or ""."""
    titles = []
    contents = message.get("contents") if message.get("type") == "flex" else None
    bubbles = (contents or {}).get("contents", []) if (contents or {}).get("type") == "carousel" else [contents]
    for bubble in bubbles:
        lines = [line.strip("│┌ ") for line in _flex_lines(bubble)]
        title = next((line for line in lines if line), "")
        titles += [title] * len(_flex_buttons(bubble))
    return titles + [""] * (len(message_choices(message)) - len(titles))


def _flex_lines(node, depth: int = 0) -> list[str]:
    """The texts of a flex message, a bubble's title first, one bubble after another."""
    if isinstance(node, list):
        return [line for child in node for line in _flex_lines(child, depth)]
    if not isinstance(node, dict):
        return []
    if node.get("type") == "bubble":
        return ["  ┌"] + [f"  │ {line}" for part in ("header", "hero", "body")
                          for line in _flex_lines(node.get(part), depth + 1)]
    if node.get("type") == "text":
        return node.get("text", "").splitlines()
    return _flex_lines(node.get("contents"), depth)


def render(message: dict, first: int = 1) -> list[str]:
    """A bot message as printable lines; its choices are numbered from `first`."""
    kind = message.get("type")
    template = message.get("template") or {}
    if kind in ("text", "textV2"):
        lines = message.get("text", "").splitlines() or [""]
    elif kind == "template":
        lines = [f"[{template.get('type')}] {message.get('altText', '')}"]
        for part in [template] + template.get("columns", []):
            lines += [part[k] for k in ("title", "text") if part.get(k)]
    elif kind == "flex":
        lines = [f"[{message.get('altText', '')}]"] + _flex_lines(message.get("contents"))
    elif kind == "imagemap":
        lines = [f"[{kind}] {message.get('altText', '')}"]
    elif kind == "sticker":
        lines = [f"[sticker {message.get('packageId')}/{message.get('stickerId')}]"]
    elif kind == "location":
        lines = [f"[location] {message.get('title', '')} {message.get('address', '')}"]
    else:
        lines = [f"[{kind}] {message.get('originalContentUrl', '')}".rstrip()]
    choices = message_choices(message)
    labels = [action.get("label") or action.get("text") or action["type"] for action in choices]
    for n, (action, label, card) in enumerate(zip(choices, labels, _card_titles(message), strict=False), first):
        if card and labels.count(label) > 1:  # say which card each of the same buttons is on
            label += f" — {card}"
        if action.get("type") == "datetimepicker":
            label += f" ({PICKER_FORMATS.get(action.get('mode', ''), 'value')})"
        elif action.get("type") == "uri":
            label += f" ({action.get('uri')})"
        lines.append(f"  [{n}] {label}")
    return lines


def _typed_date(text: str) -> str | None:
    if m := RELATIVE.fullmatch(text):
        today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
        days = int(m[2] or 0) * (-1 if m[1] == "-" else 1)
        return (today + timedelta(days=days)).isoformat()
    if m := DATE.fullmatch(text):
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    return None


def _typed_time(text: str) -> str | None:
    m = TIME.fullmatch(text)
    return f"{int(m[1]):02d}:{m[2]}" if m and int(m[1]) < 24 and int(m[2]) < 60 else None


def picker_value(mode: str, typed: str) -> str | None:
    """What a date picker of this mode sends for what was typed (2026-11-10, 2026/11/10, 2026年11月10日,
    today-30; 9:30; both for a date and time), or None when it is no such value."""
    text = unicodedata.normalize("NFKC", typed).strip()
    if mode == "time":
        return _typed_time(text)
    if mode == "datetime":
        m = re.fullmatch(r"(.+?)(?:T|\s+)(\d{1,2}\s*[:時]\s*\d{2}\s*分?)", text)
        day, time_ = (_typed_date(m[1].strip()), _typed_time(m[2])) if m else (None, None)
        return f"{day}T{time_}" if day and time_ else None
    return _typed_date(text)


class Chat:
    def __init__(self, client: httpx.Client, user_id: str, out: Callable, wait: float,
                 ask: Callable[[str], str] | None):
        self.client, self.user_id, self.out, self.wait, self.ask = client, user_id, out, wait, ask
        self.last_seq = max((m["seq"] for m in self._fetch(0)), default=0)
        self.choices: list[dict] = []
        self.batch_text = ""
        self.error = ""  # set when a script line cannot be carried out

    def opened(self, uri: str) -> str:
        """A LIFF address on this stand-in opens logged in as this chat's user (in a browser)."""
        base = str(self.client.base_url).rstrip("/")
        if uri.startswith(f"{base}/liff/") and "user_id=" not in uri:
            return f"{uri}{'&' if '?' in uri else '?'}user_id={self.user_id}"
        return uri

    def _fetch(self, after: int) -> list[dict]:
        response = self.client.get("/_standin/messages",
                                   params={"user_id": self.user_id, "after": after})
        response.raise_for_status()
        return response.json()["messages"]

    def send(self, event: dict) -> None:
        self.batch_text = ""
        response = self.client.post("/_standin/send", json={"user_id": self.user_id, "event": event})
        result = response.json()
        if "error" in result:
            self.out(f"(could not reach the bot: {result['error']})")
            return
        if result["status"] != 200:
            self.out(f"(the bot's webhook answered HTTP {result['status']})")
        self.receive(expect_reply="replyToken" in result["event"])

    def receive(self, expect_reply: bool = True) -> None:
        """Wait until new messages arrive and stay quiet for 0.3 s (or `wait` passes)."""
        got: list[dict] = []
        deadline = time.monotonic() + (self.wait if expect_reply else 0.3)
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            new = self._fetch(self.last_seq)
            if new:
                got += new
                self.last_seq = new[-1]["seq"]
                quiet_since = time.monotonic()
            elif got and time.monotonic() - quiet_since >= 0.3:
                break
            time.sleep(0.05)
        lines: list[str] = []
        choices: list[dict] = []
        for item in got:  # choices are numbered across the whole batch, as one screen shows them
            message = item["message"]
            lines += render(message, first=len(choices) + 1)
            choices += message_choices(message)
        if choices:
            self.choices = choices
        self.batch_text = "\n".join(lines)
        for line in lines:
            self.out(f"bot: {line}")

    def tap(self, action: dict, value: str) -> bool:
        """Do what tapping the action does on a phone."""
        kind = action.get("type")
        if kind == "postback":
            self.send({"type": "postback", "postback": {"data": action.get("data", "")}})
        elif kind == "datetimepicker":
            mode = action.get("mode", "date")
            picked = picker_value(mode, value) if value else None
            while picked is None and self.ask:  # at the keyboard: ask until it is a value, or nothing
                if value:
                    self.out(f"(not a {mode}: {value!r}; e.g. {PICKER_EXAMPLES.get(mode, '')})")
                value = self.ask(f"{PICKER_FORMATS.get(mode, 'value')}: ").strip()
                if not value:
                    break
                picked = picker_value(mode, value)
            if picked is None:
                self.error = (f"not a {mode}: {value!r}" if value else "a value is needed") + \
                    f" (e.g. {PICKER_EXAMPLES.get(mode, '')})"
                self.out(self.error)
                return True
            self.send({"type": "postback",
                       "postback": {"data": action.get("data", ""), "params": {mode: picked}}})
        elif kind == "message":
            self.send({"type": "message", "message": {"type": "text", "text": action.get("text", "")}})
        elif kind == "uri":
            self.out(f"(open {self.opened(action.get('uri', ''))})")
        elif kind == "location":
            self.send({"type": "message", "message": CANNED["/location"]})
        else:
            self.out(f"(the stand-in chat cannot do a {kind} action)")
        return True

    def rich_menu(self, tap: str) -> bool:
        """Show the rich menu she sees (the areas numbered in reading order), or tap one of its areas."""
        response = self.client.get(f"/_standin/richmenu/{self.user_id}")
        response.raise_for_status()
        menu = response.json()["richmenu"]
        if menu is None:
            self.error = "no rich menu (run hagukumi richmenu apply against this stand-in)"
            self.out(f"({self.error})")
            return True
        areas = sorted(menu["areas"], key=lambda a: (a["bounds"]["y"], a["bounds"]["x"]))
        actions = [area["action"] for area in areas]
        if tap:
            if not tap.isdigit() or not 1 <= int(tap) <= len(actions):
                self.error = f"the rich menu has areas 1 to {len(actions)}, not {tap!r}"
                self.out(f"({self.error})")
                return True
            return self.tap(actions[int(tap) - 1], "")
        rows: dict[int, list[str]] = {}
        for number, area in enumerate(areas, start=1):
            rows.setdefault(area["bounds"]["y"], []).append(f"[{number}] {area['action'].get('label', '')}")
        self.out(f"rich menu 「{menu['chatBarText']}」:")
        for row in rows.values():
            self.out("    " + "   ".join(row))
        self.choices = actions
        self.batch_text = "\n".join(["rich menu", *("   ".join(row) for row in rows.values())])
        return True

    def handle(self, line: str) -> bool:
        """Act on one input line. False means stop."""
        command = line.strip()
        if command == "/quit":
            return False
        if command == "/richmenu" or command.startswith("/richmenu "):
            return self.rich_menu(command.removeprefix("/richmenu").strip())
        if command == "/help":
            self.out(HELP.strip("\n"))
        elif command in ("/follow", "/unfollow"):
            self.send({"type": command[1:]})
        elif command in CANNED:
            self.send({"type": "message", "message": dict(CANNED[command])})
        elif (m := re.fullmatch(r"(\d+)(?:\s+(.*))?", command)) and 1 <= int(m[1]) <= len(self.choices):
            return self.tap(self.choices[int(m[1]) - 1], (m[2] or "").strip())
        else:
            self.send({"type": "message", "message": {"type": "text", "text": line}})
        return True


def run_chat(standin_url: str, user_id: str, *, lines: Iterable[str] | None = None,
             out=print, wait: float = 5.0) -> int:
    """Chat interactively (lines=None) or run a script; 0 on success, 1 on a failed assertion."""
    with httpx.Client(base_url=standin_url, timeout=60) as client:
        chat = Chat(client, user_id, out, wait, ask=input if lines is None else None)
        if lines is None:
            out("Chatting with the bot as " + user_id + ". /help for commands, /quit to stop.")
            out("> /follow  (adding the bot as a friend)")
            chat.handle("/follow")
            while True:
                try:  # Ctrl-D or Ctrl-C ends the chat, also at a prompt inside a tap (a date, a time)
                    line = input("> ")
                    if line.strip() and not chat.handle(line):
                        return 0
                except (EOFError, KeyboardInterrupt):
                    return 0
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            out(f"> {line}")
            if line.startswith("?"):
                expected = line[1:].strip()
                if expected not in chat.batch_text:
                    out(f"FAILED: expected {expected!r} in the bot's last messages, got:")
                    out(chat.batch_text or "(nothing)")
                    return 1
            elif not chat.handle(line):
                break
            if chat.error:
                return 1
        return 0


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Chat with the bot through the LINE stand-in.")
    parser.add_argument("standin_url", nargs="?", default="http://127.0.0.1:8081")
    parser.add_argument("user_id", nargs="?", default="U" + "0" * 31 + "a")
    parser.add_argument("script", nargs="?", help="a .chat script (default: interactive)")
    parser.add_argument("--wait", type=float, default=5.0)
    args = parser.parse_args()
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            return run_chat(args.standin_url, args.user_id, lines=f.readlines(), wait=args.wait)
    return run_chat(args.standin_url, args.user_id, wait=args.wait)


if __name__ == "__main__":
    sys.exit(main())
