"""The message catalog: every user-facing text, by key, in Japanese first and English second."""
import tomllib
from functools import cache
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
DEFAULT_LANGUAGE = "ja"


@cache
def load(language: str) -> dict[str, str]:
    path = CATALOG_DIR / f"{language}.toml"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return _flatten(tomllib.load(f))


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def language_of(profile_language: str | None) -> str:
    """LINE profile languages look like 'ja', 'en', 'zh-Hant'; unknown ones fall back to Japanese."""
    base = (profile_language or "").split("-")[0].lower()
    return base if load(base) else DEFAULT_LANGUAGE


def text(language: str, key: str, **params) -> str:
    template = load(language).get(key) or load(DEFAULT_LANGUAGE)[key]
    return template.format(**params)
