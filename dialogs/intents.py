"""What a typed message means, from a word file per language (dialogs/intents/ja.toml, en.toml), after
the same normalising as the safety net (scheduling/text/textnorm.py).

    intent_of("予約をキャンセルしたい") == "cancel_booking"     intent_of("ﾍﾙﾌﾟ") == "help"
    intent_of("キャンセル待ちはできますか") == "class"          intent_of("今日は雨ですね") is None
    means_stop("キャンセルでお願いします") is True              means_stop("予約をキャンセルしたい") is False

An intent fires when one of its words occurs anywhere in the message and no `except` phrase of that
intent holds it (キャンセル待ち holds the キャンセル of cancel_booking), or when the whole message is one of
its `whole` entries (hi). INTENTS is the priority: the first that fires answers, so
「教室の予約をキャンセルしたい」 is cancel_booking and 「こんにちは、産後ケアを使いたいです」 is care.
The lead's router maps the names to actions; the safety net is asked before this.
"""
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from scheduling.rules import config_files
from scheduling.rules.loader import RulesError, _Checker
from scheduling.safety.matcher import hits
from scheduling.text.textnorm import normalize

INTENTS = ("cancel_booking", "delete", "consult", "register", "bookings", "class", "care", "phone", "help",
           "menu", "greeting", "thanks")
INTENTS_DIR = Path(__file__).resolve().parent / "intents"


class IntentsError(RulesError):
    pass


@dataclass(frozen=True)
class Intent:
    name: str
    words: tuple[tuple[str, str], ...]     # (normalised, as written)
    excepts: tuple[tuple[str, str], ...]
    whole: frozenset[str]                  # normalised whole messages


@dataclass(frozen=True)
class Words:
    """One language's file."""
    intents: tuple[Intent, ...]            # in INTENTS order
    stop_words: frozenset[str]
    stop_endings: tuple[str, ...]          # longest first
    stop_fillers: tuple[str, ...]


def intent_of(text: str) -> str | None:
    normalized = normalize(text or "")
    if not normalized:
        return None
    files = word_files()
    for name in INTENTS:
        for words in files:
            intent = next((i for i in words.intents if i.name == name), None)
            if intent and (normalized in intent.whole
                           or any(h.covered_by is None for h in hits(intent.words, (), intent.excepts, normalized))):
                return name
    return None


def means_stop(text: str) -> bool:
    """True only when the whole message is a stop word (やめます, キャンセルで, stop), polite endings,
    a leading もう/やっぱり and trailing emoji aside; never for a sentence that holds one."""
    normalized = normalize(text or "")
    while normalized and unicodedata.category(normalized[-1]) in ("So", "Sk", "Mn", "Cf"):
        normalized = normalized[:-1]
    for words in word_files():
        for candidate in _trimmed(normalized, words):
            if candidate in words.stop_words:
                return True
    return False


def _trimmed(text: str, words: Words):
    """The text, and the text with fillers in front and polite endings behind taken off, step by step."""
    seen = []
    queue = [text]
    while queue:
        current = queue.pop()
        if not current or current in seen:
            continue
        seen.append(current)
        queue += [current[len(f):] for f in words.stop_fillers if current.startswith(f)]
        queue += [current[:-len(e)] for e in words.stop_endings if current.endswith(e)]
    return seen


@cache
def word_files() -> tuple[Words, ...]:
    """Every language's file, Japanese first; a mistake in one stops the service with its line and field."""
    paths = sorted(INTENTS_DIR.glob("*.toml"), key=lambda p: (p.stem != "ja", p.stem))
    return tuple(load_words(path) for path in paths)


def load_words(path) -> Words:
    text, name = config_files.read(path, IntentsError)
    return parse_words(text, name=name)


def parse_words(text: str, *, name: str = "ja.toml") -> Words:
    return config_files.parse(text, name, _WordsChecker(), IntentsError)


class _WordsChecker(_Checker):
    def config(self, data: dict) -> Words:
        self.table(data, "", ("stop", "intents"), ("stop", "intents"))
        stop = self.table(data.get("stop", {}), "stop", ("words", "endings", "fillers"), ("words",)
                          if "stop" in data else ())
        raw = self.table(data.get("intents", {}), "intents", INTENTS)
        intents = tuple(self.intent(name, raw[name]) for name in INTENTS if name in raw)
        return Words(intents=intents, stop_words=frozenset(f for f, _ in self.phrases(stop, "words", "stop")),
                     stop_endings=tuple(sorted((f for f, _ in self.phrases(stop, "endings", "stop")),
                                               key=len, reverse=True)),
                     stop_fillers=tuple(f for f, _ in self.phrases(stop, "fillers", "stop")))

    def intent(self, name: str, raw) -> Intent:
        path = f"intents.{name}"
        raw = self.table(raw, path, ("words", "except", "whole"))
        words = self.phrases(raw, "words", path)
        whole = self.phrases(raw, "whole", path)
        if not words and not whole:
            self.error(path, "needs words or whole（words か whole が必要です）")
        excepts = self.phrases(raw, "except", path)
        for i, (folded, written) in enumerate(excepts):
            if not any(w in folded for w, _ in words):
                self.error(f"{path}.except[{i}]", f"「{written}」 holds none of this intent's words, so it changes "
                                                  "nothing（この項目の言葉を含まないので効きません）")
        return Intent(name=name, words=words, excepts=excepts, whole=frozenset(f for f, _ in whole))

    def phrases(self, raw: dict, key: str, path: str) -> tuple[tuple[str, str], ...]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            self.error(f"{path}.{key}", "must be a list [ … ]（リスト [ … ] にしてください）")
            return ()
        good: list = []
        seen: dict[str, int] = {}
        for i, item in enumerate(value):
            folded = normalize(item) if isinstance(item, str) else ""
            if not folded:
                self.error(f"{path}.{key}[{i}]", "must be text with letters（文字で）")
            elif folded in seen:
                self.error(f"{path}.{key}[{i}]", f"reads the same as {key}[{seen[folded]}] after normalising"
                                                 "（重複しています）")
            else:
                seen[folded] = i
                good.append((folded, item))
        return tuple(good)
