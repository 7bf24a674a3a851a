"""Read and validate the city's safety file (config/safety.toml) into a SafetyNet. Every mistake is
reported at once as 'FILE:LINE: field.path: message'. Format: docs/safety.md."""
import re
from datetime import date, datetime, time

from scheduling.rules import config_files
from scheduling.rules.loader import RulesError, _Checker, _join
from scheduling.text.textnorm import fold, normalize

from .matcher import PLACEHOLDER, WEEKDAYS
from .schema import WHEN, Category, Contact, Hours, SafetyNet

LANGUAGES = ("ja", "en")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")
# 0120-279-338, 0570-064-556, 0123-45-6789, 090-1234-5678; #8000; 110, 119, 189
_NUMBER = re.compile(r"^(0\d{1,4}-\d{1,4}-\d{3,4}|#\d{4}|1\d\d)$")
_UPPER = re.compile(r"(?<!\\)[A-Z]")
NUMBER_FORM = "must be a phone number like 0120-279-338, #8000 or 189（電話番号の形: 0120-279-338、#8000、189）"


class SafetyConfigError(RulesError):
    pass


def load_safety(path) -> SafetyNet:
    text, name = config_files.read(path, SafetyConfigError)
    return parse_safety(text, name=name)


def parse_safety(text: str, *, name: str = "safety.toml") -> SafetyNet:
    return config_files.parse(text, name, _SafetyChecker(), SafetyConfigError)


class _SafetyChecker(_Checker):
    def config(self, data: dict) -> SafetyNet:
        self.table(data, "", ("hours", "contacts", "categories"), ("hours", "contacts", "categories"))
        hours = self.hours(data.get("hours", {}), required="hours" in data)   # a missing [hours]: one message
        contacts_raw = data.get("contacts", {})
        raw_contacts = self.table(contacts_raw, "contacts", tuple(contacts_raw) if isinstance(contacts_raw, dict) else ())
        contacts = tuple(c for c in (self.contact(k, v) for k, v in raw_contacts.items()) if c)
        raw = data.get("categories", [])
        if not isinstance(raw, list) or ("categories" in data and not raw):
            self.error("categories", "must be one or more [[categories]] tables（[[categories]] が必要です）")
            raw = []
        keys = {c.key for c in contacts}
        categories = [self.category(item, f"categories[{i}]", keys) for i, item in enumerate(raw)]
        seen = set()
        for i, category in enumerate(categories):
            if category.key in seen:
                self.error(f"categories[{i}].key", "is used twice（key が重複しています）")
            seen.add(category.key)
        return SafetyNet(hours=hours, contacts=contacts, categories=tuple(categories))

    # --- hours ---

    def hours(self, raw, required: bool) -> Hours:
        raw = self.table(raw, "hours", ("weekdays", "open", "close", "closed_on_public_holidays",
                                        "closed_every_year", "closed_dates"),
                         ("weekdays", "open", "close") if required else ())
        weekdays = self.choices(raw, "weekdays", "hours", WEEKDAYS, ("mon", "tue", "wed", "thu", "fri"))
        if "weekdays" in raw and not weekdays:
            self.error("hours.weekdays", "must name at least one day（少なくとも1日）")
        opens, closes = self.clock(raw, "open", time(8, 30)), self.clock(raw, "close", time(17, 15))
        if opens >= closes:
            self.error("hours.close", "must be after open（開所時刻より後に）")
        yearly = []
        for i, item in enumerate(self.listed(raw, "closed_every_year", "hours")):
            found = _MONTH_DAY.match(item) if isinstance(item, str) else None
            if not found or not _valid_month_day(int(found.group(1)), int(found.group(2))):
                self.error(f"hours.closed_every_year[{i}]", "must be a month and day like \"12-29\"（月-日 \"12-29\"）")
            else:
                yearly.append((int(found.group(1)), int(found.group(2))))
        dates = []
        for i, item in enumerate(self.listed(raw, "closed_dates", "hours")):
            if isinstance(item, datetime) or not isinstance(item, date):
                self.error(f"hours.closed_dates[{i}]", "must be a date like 2027-05-06, without quotes（日付 2027-05-06）")
            else:
                dates.append(item)
        return Hours(weekdays=weekdays, opens=opens, closes=closes,
                     holidays_closed=self.boolean(raw, "closed_on_public_holidays", "hours", True),
                     closed_yearly=tuple(yearly), closed_dates=tuple(dates))

    def clock(self, raw: dict, key: str, default: time) -> time:
        value = raw.get(key)
        found = _TIME.match(value) if isinstance(value, str) else None
        if key in raw and not found:
            self.error(f"hours.{key}", "must be a time like \"08:30\"（時刻 \"08:30\"）")
        return time(int(found.group(1)), int(found.group(2))) if found else default

    def listed(self, raw: dict, key: str, path: str) -> list:
        value = raw.get(key, [])
        if not isinstance(value, list):
            self.error(_join(path, key), "must be a list [ … ]（リスト [ … ] にしてください）")
            return []
        return value

    # --- contacts ---

    def contact(self, key: str, raw) -> Contact | None:
        path = f"contacts.{key}"
        raw = self.table(raw, path, ("name", "number", "hours"), ("name", "number"))
        if not _KEY.match(key):
            self.error(path, "the key must be lower-case letters, digits and _（英小文字・数字・_）")
        number = raw.get("number", "")
        if "number" in raw and (not isinstance(number, str) or not _number_ok(number)):
            self.error(f"{path}.number", NUMBER_FORM)
        names = self.texts(raw.get("name", {}), f"{path}.name") if "name" in raw else ()
        hours = self.texts(raw.get("hours", {}), f"{path}.hours") if "hours" in raw else ()
        return Contact(key=key, number=str(number), names=names, hours=hours)

    def texts(self, raw, path: str) -> tuple[tuple[str, str], ...]:
        """{ ja = "…", en = "…" }: Japanese required."""
        raw = self.table(raw, path, LANGUAGES, ("ja",))
        good = []
        for language, text in raw.items():
            if language not in LANGUAGES:
                continue
            if not isinstance(text, str) or not text.strip():
                self.error(_join(path, language), "must be text（文字で）")
            else:
                good.append((language, text))
        return tuple(good)

    # --- categories ---

    def category(self, raw, path: str, contact_keys: set) -> Category:
        raw = self.table(raw, path, ("key", "label", "urgent", "offer_consult", "words", "patterns", "except")
                         + WHEN, ("key", "label", "urgent", "offer_consult") + WHEN)
        key = raw.get("key", "")
        if "key" in raw and (not isinstance(key, str) or not _KEY.match(key)):
            self.error(_join(path, "key"), "must be lower-case letters, digits and _（英小文字・数字・_）")
        label = raw.get("label", "")
        if "label" in raw and (not isinstance(label, str) or not label.strip()):
            self.error(_join(path, "label"), "must be text（文字で）")
        words = self.phrases(raw, "words", path)
        found = []
        for i, pattern in enumerate(self.listed(raw, "patterns", path)):
            found.append(self.pattern(pattern, f"{path}.patterns[{i}]"))
        compiled = tuple(c for c in found if c)
        if not words and not compiled and ("words" in raw or "patterns" in raw or "key" in raw):
            self.error(path, "needs words or patterns（words か patterns が必要です）")
        excepts = self.phrases(raw, "except", path)
        for i, (folded, written) in enumerate(excepts):
            if not any(w in folded for w, _ in words) and not any(p.search(folded) for p, _ in compiled):
                self.error(f"{path}.except[{i}]", f"「{written}」 holds none of this category's words or patterns, "
                                                  "so it changes nothing（この区分の言葉を含まないので効きません）")
        answers = []
        for when in WHEN:
            if when in raw:
                for language, text in self.texts(raw[when], f"{path}.{when}"):
                    self.placeholders(text, f"{path}.{when}.{language}", contact_keys)
                    answers.append((when, language, text))
        return Category(key=str(key), label=str(label), urgent=self.boolean(raw, "urgent", path, True),
                        offer_consult=self.boolean(raw, "offer_consult", path, False),
                        words=tuple(w for _, w in words), patterns=tuple(p for _, p in compiled),
                        excepts=tuple(e for _, e in excepts), answers=tuple(answers),
                        folded_words=words, compiled=compiled, folded_excepts=excepts)

    def phrases(self, raw: dict, key: str, path: str) -> tuple[tuple[str, str], ...]:
        """(normalised, as written) for each phrase of the list; mistakes and repeats named."""
        good: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(self.listed(raw, key, path)):
            where = f"{path}.{key}[{i}]"
            folded = normalize(item) if isinstance(item, str) else ""
            if not folded:
                self.error(where, "must be text with letters（文字で）")
            elif folded in seen:
                self.error(where, f"reads the same as {key}[{seen[folded]}] after normalising（重複しています）")
            else:
                seen[folded] = i
                good.append((folded, item))
        return tuple(good)

    def pattern(self, pattern, where: str):
        if not isinstance(pattern, str) or not pattern:
            self.error(where, "must be a regular expression as text（正規表現を文字で）")
            return None
        if " " in pattern or "　" in pattern:
            self.error(where, "spaces are removed before matching: write it without spaces（空白なしで）")
            return None
        if _UPPER.search(pattern):
            self.error(where, "letters are lower-cased before matching: write it in lower case（英字は小文字で）")
            return None
        try:
            compiled = re.compile(fold(pattern))
        except re.error as error:
            self.error(where, f"is not a regular expression（正規表現の誤り）: {error}")
            return None
        if compiled.search(""):
            self.error(where, "matches an empty text, so it would fire on every message（空の文にも当たります）")
            return None
        return compiled, pattern

    def placeholders(self, text: str, where: str, contact_keys: set):
        for braced in re.findall(r"\{[^{}]*\}|[{}]", text):
            found = PLACEHOLDER.fullmatch(braced)
            if not found:
                self.error(where, f"{braced} is not a placeholder like {{centre}} or {{centre.number}}"
                                  "（{連絡先} か {連絡先.number} の形で）")
            elif found.group(1) not in contact_keys:
                self.error(where, f"{braced}: there is no [contacts.{found.group(1)}]（その連絡先がありません）")


def _number_ok(number: str) -> bool:
    if not _NUMBER.match(number):
        return False
    digits = number.replace("-", "")
    return not digits.startswith("0") or len(digits) in (10, 11)


def _valid_month_day(month: int, day: int) -> bool:
    try:
        date(2024, month, day)   # a leap year, so 02-29 is allowed
        return True
    except ValueError:
        return False
