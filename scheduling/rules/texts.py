"""The screening texts (texts_ja.toml, texts_en.toml) as flat dicts, and reason rendering."""
from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from .engine import Reason

_HERE = Path(__file__).resolve().parent


def flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    """Nested TOML tables as dotted keys: {'a': {'b': 'x'}} -> {'a.b': 'x'}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _load(language: str) -> dict[str, str]:
    with (_HERE / f"texts_{language}.toml").open("rb") as f:
        return flatten(tomllib.load(f))


QUESTION_TEXTS_JA: dict[str, str] = _load("ja")
QUESTION_TEXTS_EN: dict[str, str] = _load("en")
TEXTS = {"ja": QUESTION_TEXTS_JA, "en": QUESTION_TEXTS_EN}


def format_date(value: date | str, language: str = "ja") -> str:
    day = date.fromisoformat(value) if isinstance(value, str) else value
    if language == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {day:%B} {day.year}"


def render(key: str, params: dict | None = None, language: str = "ja") -> str:
    texts = TEXTS.get(language, QUESTION_TEXTS_JA)
    template = texts.get(key) or QUESTION_TEXTS_JA[key]
    values = {k: (format_date(v, language) if k == "date" else v) for k, v in (params or {}).items()}
    return template.format_map(_Keep(values))


def render_reason(reason: Reason, language: str = "ja") -> str:
    return render(reason.key, reason.params, language)


class _Keep(dict):
    """Leaves unknown {placeholders} (e.g. {city}, filled in by the dialog) as they are."""

    def __missing__(self, key):
        return "{" + key + "}"
