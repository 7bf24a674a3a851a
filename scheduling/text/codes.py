"""The shape of a link code (scheduling/family/link_codes.py) as she types it, known without the database,
so that the safety net and the router can tell a code from words."""
import unicodedata

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read aloud and typed on a phone
LENGTH = 8


def normalise(text: str) -> str:
    """What she typed, as a code: full-width to half-width, upper case, no spaces or hyphens (the
    Japanese long-vowel mark ー, which a kana keyboard types for "-", is a letter to Python)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).upper() if c.isalnum() and c != "ー")


def looks_like_code(text: str) -> bool:
    code = normalise(text)
    return len(code) == LENGTH and all(c in ALPHABET for c in code)
