"""The message catalog: every user-facing text, by key, in Japanese first and English second."""
import tomllib
from functools import cache
from pathlib import Path

from scheduling.rules.texts import TEXTS as RULES_TEXTS, flatten, format_date

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
DEFAULT_LANGUAGE = "ja"


@cache
def load(language: str) -> dict[str, str]:
    """The dialogs' own texts, and the rules' texts (questions, reasons) that scheduling owns."""
    path = CATALOG_DIR / f"{language}.toml"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        texts = flatten(tomllib.load(f))
    rules_texts = RULES_TEXTS.get(language, {})
    clash = texts.keys() & rules_texts.keys()
    if clash:
        raise ValueError(f"catalog keys defined twice: {sorted(clash)}")
    return texts | rules_texts


def language_of(profile_language: str | None) -> str:
    """LINE profile languages look like 'ja', 'en', 'zh-Hant'; unknown ones fall back to Japanese."""
    base = (profile_language or "").split("-")[0].lower()
    return base if load(base) else DEFAULT_LANGUAGE


def text(language: str, key: str, **params) -> str:
    template = load(language).get(key) or load(DEFAULT_LANGUAGE)[key]
    if "date" in params:
        params["date"] = format_date(params["date"], language)
    return template.format(**params)
