"""Phone numbers as mothers type them (090-1234-5678, 09012345678, full-width digits, a landline with its
area code, a sentence around the number), read with Google's libphonenumber rules for Japan."""
import re
import unicodedata

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

CALLABLE = {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
            PhoneNumberType.VOIP}
DASHES = re.compile("[ー－‐―−‑–—ｰ]")
MAX_LENGTH = 200  # longer is a message, not a phone number


def parse_phone(text: str) -> str | None:
    """The number in the national form staff dial (090-1234-5678), or None when the text holds no
    number one can call back (too short, a toll-free or premium line, two numbers at once)."""
    if not text or len(text) > MAX_LENGTH:
        return None
    cleaned = DASHES.sub("-", unicodedata.normalize("NFKC", text))
    found = {phonenumbers.format_number(match.number, PhoneNumberFormat.NATIONAL)
             for match in phonenumbers.PhoneNumberMatcher(cleaned, "JP")
             if phonenumbers.is_valid_number(match.number)
             and phonenumbers.number_type(match.number) in CALLABLE}
    return found.pop() if len(found) == 1 else None
