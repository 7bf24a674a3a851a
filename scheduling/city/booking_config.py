"""The city's providers, parent classes and booking policy (config/booking.toml), validated.

Every mistake is reported at once as 'FILE:LINE: field.path: message', like the rules file.
Format: docs/booking.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from scheduling.dates.calendar import WEEKDAYS
from scheduling.rules import config_files
from scheduling.rules.loader import RulesError, _Checker, _join
from scheduling.rules.schema import EXCLUSIONS, TYPES, AgeWindow, ProviderRules

LATE_FEES = ("none", "half", "full")
MAX_ADDRESS = 100   # one line of a push
MAX_BRING = 300
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class BookingConfigError(RulesError):
    """The booking file is wrong; `problems` lists every mistake."""


@dataclass(frozen=True)
class CancelPolicy:
    """Free cancellation until `time` on the day `days_before` the care; after that, call the provider."""
    days_before: int = 1
    time: str = "17:00"
    late_fee: str = "full"      # none | half | full (of the use's fee)


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    phone: str
    types: tuple[str, ...]
    beds: int = 0                   # short stays: mothers per night
    day_places: int = 0             # day care: mothers per day
    visit_times: tuple[str, ...] = ()   # home visits: one visit per time
    check_in: str = "10:00"
    check_out: str = "10:00"        # short stays: on the last day
    day_hours: str = ""
    address: str = ""               # where she goes (a map link in the pushes); empty for home visits
    what_to_bring: str = ""         # told in the confirmation and the day before
    open_days: tuple[str, ...] = WEEKDAYS[:5]
    open_on_holidays: bool = False
    closed: tuple[date, ...] = ()
    extra_open: tuple[date, ...] = ()
    cancel: CancelPolicy = CancelPolicy()
    age: dict[str, AgeWindow] = field(default_factory=dict)              # its own age window per type
    exclusions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # its own exclusions per type

    def rules(self) -> ProviderRules:
        """What the rule engine needs of it, for the types whose rules differ by facility."""
        return ProviderRules(self.key, self.name, self.types, dict(self.age), dict(self.exclusions))


@dataclass(frozen=True)
class Schedule:
    """The n-th `weekday` of each of `months`."""
    weekday: str
    nth: int
    months: tuple[int, ...]


@dataclass(frozen=True)
class ParentClass:
    key: str
    title: str
    place: str
    start: str
    end: str
    capacity: int
    requires_confirmation: bool = False
    opens_days_before: int = 30
    cancel_days_before: int = 1
    pregnancy_weeks: tuple[int, int] | None = None   # min <= week < max
    baby_months: tuple[int, int] | None = None       # min <= age in months < max
    first_baby_only: bool = False
    dates: tuple[date, ...] = ()
    schedule: Schedule | None = None


@dataclass(frozen=True)
class Policy:
    one_open_booking: bool = False
    book_ahead_days: int = 60
    reminder_time: str = "17:00"
    quiet_from: str = "21:00"
    quiet_until: str = "08:00"
    offer_hold_minutes: int = 180
    lead_days: dict[str, int] = field(default_factory=dict)
    max_nights: int = 6


@dataclass(frozen=True)
class BookingConfig:
    policy: Policy
    providers: tuple[Provider, ...]
    classes: tuple[ParentClass, ...]

    def provider(self, key: str) -> Provider | None:
        return next((p for p in self.providers if p.key == key), None)

    def providers_for(self, type_name: str) -> tuple[Provider, ...]:
        return tuple(p for p in self.providers if type_name in p.types)

    def parent_class(self, key: str) -> ParentClass | None:
        return next((c for c in self.classes if c.key == key), None)


def load_booking_config(path) -> BookingConfig:
    text, name = config_files.read(path, BookingConfigError)
    return parse_booking_config(text, name=name)


def parse_booking_config(text: str, *, name: str = "booking.toml") -> BookingConfig:
    return config_files.parse(text, name, _BookingChecker(), BookingConfigError)


class _BookingChecker(_Checker):
    def clock(self, table: dict, key: str, path: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not _TIME.match(value):
            self.error(_join(path, key), "must be a time like \"10:00\"（時刻 \"10:00\"）")
            return default
        return value

    def text(self, table: dict, key: str, path: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.error(_join(path, key), "must be text（文字で）" if key in table else "is required（必須の項目です）")
            return default or ""
        return value

    def optional_text(self, table: dict, key: str, path: str, most: int) -> str:
        if key not in table:
            return ""
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.error(_join(path, key), "must be text, or left out（文字で書くか、項目ごと省きます）")
            return ""
        if len(value) > most:
            self.error(_join(path, key), f"must be at most {most} characters（{most}文字以内）")
        return value.strip()

    def dates(self, table: dict, key: str, path: str) -> tuple[date, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or any(not isinstance(d, date) or hasattr(d, "hour") for d in value):
            self.error(_join(path, key), "must be a list of dates like [2026-12-29]（日付のリスト）")
            return ()
        return tuple(value)

    def range(self, table: dict, key: str, path: str) -> tuple[int, int] | None:
        if key not in table:
            return None
        raw = self.table(table[key], _join(path, key), ("min", "max"), ("max",))
        low = self.integer(raw, "min", _join(path, key), default=0)
        high = self.integer(raw, "max", _join(path, key), low=1, default=1)
        if low is not None and high is not None and high <= low:
            self.error(_join(path, key) + ".max", "must be more than min（min より大きく）")
        return (low or 0, high or 1)

    def config(self, data: dict) -> BookingConfig:
        self.table(data, "", ("policy", "providers", "classes"), ("policy",))
        policy = self.policy(data.get("policy", {}))
        providers = [self.provider(raw, f"providers[{i}]") for i, raw in enumerate(data.get("providers", []))]
        classes = [self.parent_class(raw, f"classes[{i}]") for i, raw in enumerate(data.get("classes", []))]
        for kind, keys in (("providers", [p.key for p in providers]), ("classes", [c.key for c in classes])):
            seen: set[str] = set()
            for i, key in enumerate(keys):
                if key in seen:
                    self.error(f"{kind}[{i}].id", "is used twice（id が重複しています）")
                seen.add(key)
        return BookingConfig(policy, tuple(providers), tuple(classes))

    def policy(self, raw) -> Policy:
        raw = self.table(raw, "policy", ("one_open_booking", "book_ahead_days", "reminder_time", "quiet_hours",
                                         "offer_hold_minutes", "lead_days", "max_nights"))
        quiet = self.table(raw.get("quiet_hours", {}), "policy.quiet_hours", ("from", "until"))
        lead = self.table(raw.get("lead_days", {}), "policy.lead_days", TYPES)
        nights = self.table(raw.get("max_nights", {}), "policy.max_nights", ("short_stay",))
        return Policy(
            one_open_booking=self.boolean(raw, "one_open_booking", "policy", False),
            book_ahead_days=self.integer(raw, "book_ahead_days", "policy", low=1, default=60),
            reminder_time=self.clock(raw, "reminder_time", "policy", "17:00"),
            quiet_from=self.clock(quiet, "from", "policy.quiet_hours", "21:00"),
            quiet_until=self.clock(quiet, "until", "policy.quiet_hours", "08:00"),
            offer_hold_minutes=self.integer(raw, "offer_hold_minutes", "policy", low=1, default=180),
            lead_days={t: self.integer(lead, t, "policy.lead_days", default=0) for t in TYPES},
            max_nights=self.integer(nights, "short_stay", "policy.max_nights", low=1, default=6),
        )

    def provider(self, raw, path: str) -> Provider:
        keys = ("id", "name", "phone", "types", "beds", "day_places", "visit_times", "check_in", "day_hours",
                "open_days", "holidays", "closed", "open", "cancel", "check_out", "address", "what_to_bring", "rules")
        raw = self.table(raw, path, keys, ("id", "name", "phone", "types"))
        types = self.choices(raw, "types", path, TYPES, ())
        if "types" in raw and not types:
            self.error(f"{path}.types", "must name at least one type（少なくとも1つの型）")
        beds = self.integer(raw, "beds", path, default=0)
        places = self.integer(raw, "day_places", path, default=0)
        times = raw.get("visit_times", [])
        if not isinstance(times, list) or any(not isinstance(t, str) or not _TIME.match(t) for t in times):
            self.error(f"{path}.visit_times", "must be a list of times like [\"10:00\", \"14:00\"]")
            times = []
        for type_name, ok, what in (("short_stay", beds, "beds"), ("day_care", places, "day_places"),
                                    ("home_visit", raw.get("visit_times"), "visit_times")):
            if type_name in types and not ok:
                self.error(f"{path}.{what}", f"is required for {type_name}（{type_name} には必要です）")
        cancel_raw = self.table(raw.get("cancel", {}), f"{path}.cancel", ("days_before", "time", "late_fee"))
        cancel = CancelPolicy(self.integer(cancel_raw, "days_before", f"{path}.cancel", default=1),
                              self.clock(cancel_raw, "time", f"{path}.cancel", "17:00"),
                              self.choice(cancel_raw, "late_fee", f"{path}.cancel", LATE_FEES, "full"))
        holidays = self.choice(raw, "holidays", path, ("closed", "open"), "closed")
        age, exclusions = self.provider_rules(raw.get("rules", {}), f"{path}.rules", types)
        return Provider(
            key=self.text(raw, "id", path), name=self.text(raw, "name", path), phone=self.text(raw, "phone", path),
            types=types, beds=beds or 0, day_places=places or 0, visit_times=tuple(sorted(times)),
            check_in=self.clock(raw, "check_in", path, "10:00"), day_hours=raw.get("day_hours", ""),
            check_out=self.clock(raw, "check_out", path, "10:00"),
            address=self.optional_text(raw, "address", path, MAX_ADDRESS),
            what_to_bring=self.optional_text(raw, "what_to_bring", path, MAX_BRING),
            open_days=self.choices(raw, "open_days", path, WEEKDAYS, WEEKDAYS[:5]),
            open_on_holidays=holidays == "open", closed=self.dates(raw, "closed", path),
            extra_open=self.dates(raw, "open", path), cancel=cancel, age=age, exclusions=exclusions)

    def provider_rules(self, raw, path: str, types: tuple[str, ...]):
        """[providers.rules.TYPE]: the provider's own age window and exclusions for a type whose rules the
        rules file says differ by facility (by_provider)."""
        raw = self.table(raw, path, TYPES)
        age, exclusions = {}, {}
        for name, table in raw.items():
            if name not in TYPES:
                continue
            if name not in types:
                self.error(f"{path}.{name}", f"{name} is not in this provider's types（types にない型です）")
            table = self.table(table, f"{path}.{name}", ("age", "exclusions"))
            if not table and isinstance(raw[name], dict):
                self.error(f"{path}.{name}", "is empty: write age or exclusions（age か exclusions を書きます）")
            if "age" in table:   # checked as the rules file checks an age window
                checker = _Checker()
                age[name] = checker.age(table["age"], f"{path}.{name}.age")
                self.errors += checker.errors
            if "exclusions" in table:
                exclusions[name] = self.choices(table, "exclusions", f"{path}.{name}", EXCLUSIONS, ())
        return age, exclusions

    def parent_class(self, raw, path: str) -> ParentClass:
        keys = ("id", "title", "place", "start", "end", "capacity", "requires_confirmation", "opens_days_before",
                "cancel_days_before", "pregnancy_weeks", "baby_months", "first_baby_only", "dates", "schedule")
        raw = self.table(raw, path, keys, ("id", "title", "place", "capacity"))
        schedule = None
        if "schedule" in raw:
            sched = self.table(raw["schedule"], f"{path}.schedule", ("weekday", "nth", "months"),
                               ("weekday", "nth", "months"))
            months = sched.get("months", [])
            if not isinstance(months, list) or any(not isinstance(m, int) or not 1 <= m <= 12 for m in months):
                self.error(f"{path}.schedule.months", "must be a list of months 1 to 12（1〜12の月）")
                months = []
            nth = self.integer(sched, "nth", f"{path}.schedule", low=1, default=1)
            if nth and nth > 5:
                self.error(f"{path}.schedule.nth", "must be 1 to 5（第1〜第5）")
            schedule = Schedule(self.choice(sched, "weekday", f"{path}.schedule", WEEKDAYS, "sat"),
                                nth or 1, tuple(sorted(set(months))))
        dates = self.dates(raw, "dates", path)
        if not dates and schedule is None:
            self.error(path, "needs dates or a schedule（dates か schedule が必要です）")
        if "pregnancy_weeks" not in raw and "baby_months" not in raw:
            self.error(path, "needs pregnancy_weeks or baby_months（対象の週数か月齢が必要です）")
        return ParentClass(
            key=self.text(raw, "id", path), title=self.text(raw, "title", path), place=self.text(raw, "place", path),
            start=self.clock(raw, "start", path, "10:00"), end=self.clock(raw, "end", path, "12:00"),
            capacity=self.integer(raw, "capacity", path, low=1, default=1) or 1,
            requires_confirmation=self.boolean(raw, "requires_confirmation", path, False),
            opens_days_before=self.integer(raw, "opens_days_before", path, low=1, default=30),
            cancel_days_before=self.integer(raw, "cancel_days_before", path, default=1),
            pregnancy_weeks=self.range(raw, "pregnancy_weeks", path), baby_months=self.range(raw, "baby_months", path),
            first_baby_only=self.boolean(raw, "first_baby_only", path, False), dates=dates, schedule=schedule)
