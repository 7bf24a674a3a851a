"""The application's fields and what each accepts. Checked on the server (the page's own hints are only a
help); each problem is (catalog key, params) for the field it belongs to.

A draft keeps what she typed, however unfinished; `check` says what is still wrong and gives the clean
values a submit stores."""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from scheduling.text.phones import parse_phone

CONTACT = ("mother_name", "mother_kana", "mother_birth_date", "postal_code", "address", "phone", "email",
           "baby_name", "baby_kana", "techo_number")
TEXT_FIELDS = CONTACT + ("baby_born", "baby_birth_date", "due_date", "birth_weight_g", "weeks_at_birth", "household")
FIELDS = TEXT_FIELDS + ("care_types", "consent")
CARE_TYPES = ("short_stay", "day_care", "home_visit")
HOUSEHOLDS = ("taxed", "tax_exempt", "welfare", "unknown")
MAX = {"mother_name": 40, "mother_kana": 60, "baby_name": 40, "baby_kana": 60, "address": 120, "email": 254,
       "techo_number": 20, "phone": 20, "postal_code": 10}
MAX_TYPED = 300   # a draft refuses a field longer than this (the page's own limits are far below it)
KANA = re.compile(r"^[\u30A0-\u30FF\u3000 ・ー]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TECHO = re.compile(r"^[0-9A-Za-z\-]+$")
Value = str | int | bool | list[str]    # text, a number, the consent, the care types
Problem = tuple[str, dict[str, int]]    # (catalog key, params)


@dataclass(frozen=True)
class Checked:
    values: dict[str, Value]      # clean values of the fields that are right
    problems: dict[str, Problem]  # field -> (catalog key, params)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def number(self, name: str) -> int | None:
        value = self.values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def care_types(self) -> list[str]:
        value = self.values.get("care_types")
        return value if isinstance(value, list) else []


class TooLong(ValueError):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def typed(raw: dict) -> dict:
    """What a draft keeps of a posted form: known fields only, care types a list. A text longer than
    MAX_TYPED is no one's answer: TooLong, and nothing is kept."""
    kept: dict[str, Value] = {}
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            if len(str(value)) > MAX_TYPED:
                raise TooLong(name)
            kept[name] = str(value)
    types = raw.get("care_types")
    if isinstance(types, list):
        kept["care_types"] = [t for t in types if t in CARE_TYPES][:len(CARE_TYPES)]
    if isinstance(raw.get("consent"), bool):
        kept["consent"] = raw["consent"]
    return kept


def check(form: dict, *, today: date, postal_lookup) -> Checked:
    """Every field of a whole application. `postal_lookup(code) -> address or None`."""
    values: dict[str, Value] = {}
    problems: dict[str, Problem] = {}

    def need(name: str) -> str | None:
        text = unicodedata.normalize("NFKC", str(form.get(name) or "")).strip()
        if not text:
            problems[name] = ("apply.error.required", {})
            return None
        if name in MAX and len(text) > MAX[name]:
            problems[name] = ("apply.error.too_long", {"max": MAX[name]})
            return None
        return text

    def optional(name: str) -> str | None:
        text = unicodedata.normalize("NFKC", str(form.get(name) or "")).strip()
        if text and name in MAX and len(text) > MAX[name]:
            problems[name] = ("apply.error.too_long", {"max": MAX[name]})
            return None
        return text or None

    _mother(form, today, postal_lookup, values, problems, need, optional)
    _baby(form, today, values, problems, need, optional)
    types = [t for t in form.get("care_types") or [] if t in CARE_TYPES]
    if types:
        values["care_types"] = [t for t in CARE_TYPES if t in types]
    else:
        problems["care_types"] = ("apply.error.care_types", {})
    household = str(form.get("household") or "")
    if household in HOUSEHOLDS:
        values["household"] = household
    else:
        problems["household"] = ("apply.error.choose", {})
    if form.get("consent") is True:
        values["consent"] = True
    else:
        problems["consent"] = ("apply.error.consent", {})
    return Checked(values, problems)


def _mother(form, today, postal_lookup, values, problems, need, optional) -> None:  # noqa: C901 (a field a line)
    for name in ("mother_name", "address"):
        if (text := need(name)) is not None:
            values[name] = text
    for name in ("mother_kana",):
        if (text := need(name)) is not None:
            _kana(name, text, values, problems)
    if (text := need("mother_birth_date")) is not None:
        born = _date(text)
        if born is None:
            problems["mother_birth_date"] = ("apply.error.date", {})
        elif not date(today.year - 70, 1, 1) <= born <= date(today.year - 10, today.month, 1):
            problems["mother_birth_date"] = ("apply.error.mother_birth", {})
        else:
            values["mother_birth_date"] = born.isoformat()
    if (text := need("postal_code")) is not None:
        digits = text.replace("-", "").replace("〒", "").strip()
        if not (digits.isascii() and digits.isdigit() and len(digits) == 7):
            problems["postal_code"] = ("apply.error.postal", {})
        elif postal_lookup(digits) is None:
            problems["postal_code"] = ("apply.error.postal_unknown", {})
        else:
            values["postal_code"] = f"{digits[:3]}-{digits[3:]}"
    if (text := need("phone")) is not None:
        phone = parse_phone(text)
        if phone is None:
            problems["phone"] = ("apply.error.phone", {})
        else:
            values["phone"] = phone
    if (text := optional("email")) is not None:
        if EMAIL.match(text):
            values["email"] = text
        else:
            problems["email"] = ("apply.error.email", {})
    if (text := optional("techo_number")) is not None:
        if TECHO.match(text):
            values["techo_number"] = text
        else:
            problems["techo_number"] = ("apply.error.techo", {})


def _baby(form, today, values, problems, need, optional) -> None:
    born = str(form.get("baby_born") or "")
    if born not in ("yes", "no"):
        problems["baby_born"] = ("apply.error.choose", {})
        return
    values["baby_born"] = born
    if born == "no":
        if (text := need("due_date")) is not None:
            due = _date(text)
            if due is None:
                problems["due_date"] = ("apply.error.date", {})
            elif not today <= due <= date.fromordinal(today.toordinal() + 300):
                problems["due_date"] = ("apply.error.due", {})
            else:
                values["due_date"] = due.isoformat()
        for name in ("baby_name", "baby_kana"):
            if (text := optional(name)) is not None:
                if name == "baby_kana":
                    _kana(name, text, values, problems)
                else:
                    values[name] = text
        return
    if (text := need("baby_name")) is not None:
        values["baby_name"] = text
    if (text := need("baby_kana")) is not None:
        _kana("baby_kana", text, values, problems)
    if (text := need("baby_birth_date")) is not None:
        birth = _date(text)
        if birth is None:
            problems["baby_birth_date"] = ("apply.error.date", {})
        elif not date.fromordinal(today.toordinal() - 3 * 366) <= birth <= today:
            problems["baby_birth_date"] = ("apply.error.baby_birth", {})
        else:
            values["baby_birth_date"] = birth.isoformat()
    _number("birth_weight_g", need, values, problems, 300, 6000, "apply.error.weight")
    _number("weeks_at_birth", need, values, problems, 22, 44, "apply.error.weeks")


def _number(name, need, values, problems, low, high, key) -> None:
    text = need(name)
    if text is None:
        return
    text = text.replace(",", "").removesuffix("g").removesuffix("週").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or not low <= int(text) <= high:
        problems[name] = (key, {"low": low, "high": high})
    else:
        values[name] = int(text)


def _kana(name: str, text: str, values: dict, problems: dict) -> None:
    katakana = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)
    if KANA.match(katakana):
        values[name] = katakana
    else:
        problems[name] = ("apply.error.kana", {})


def _date(text: str) -> date | None:
    cleaned = re.sub(r"[年月/.]", "-", text).replace("日", "").strip()
    try:
        parts = [int(p) for p in cleaned.split("-")]
        return date(*parts) if len(parts) == 3 else None
    except (ValueError, TypeError):
        return None
