"""The message catalog: every user-facing text, by key, in Japanese first and English second."""
import tomllib
from functools import cache
from pathlib import Path

from scheduling.rules.texts import TEXTS as RULES_TEXTS
from scheduling.rules.texts import flatten, with_words

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
DEFAULT_LANGUAGE = "ja"


@cache
def load(language: str) -> dict[str, str]:
    """The dialogs' own texts (every file in catalog/LANGUAGE/), and the rules' texts (questions,
    reasons) that scheduling owns. A key defined twice is a mistake."""
    folder = CATALOG_DIR / language
    if not folder.is_dir():
        return {}
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as f:
            part = flatten(tomllib.load(f))
        _no_clash(texts, part, path.name)
        texts |= part
    rules_texts = RULES_TEXTS.get(language, {})
    _no_clash(texts, rules_texts, "the rules' texts")
    return texts | rules_texts


def _no_clash(texts: dict, more: dict, where: str) -> None:
    clash = texts.keys() & more.keys()
    if clash:
        raise ValueError(f"catalog keys defined twice ({where}): {sorted(clash)}")


def language_of(profile_language: str | None) -> str:
    """LINE profile languages look like 'ja', 'en', 'zh-Hant'; unknown ones fall back to Japanese."""
    base = (profile_language or "").split("-")[0].lower()
    return base if load(base) else DEFAULT_LANGUAGE


def text(language: str, key: str, **params) -> str:
    template = load(language).get(key) or load(DEFAULT_LANGUAGE)[key]
    return template.format(**with_words(params, language))
