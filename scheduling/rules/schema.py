"""The city's postpartum-care rules as typed, immutable data (built by loader.py from a TOML file).

Every fact that varies between cities is a field here; the engine (engine.py) only reads them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

# The three types of 産後ケア, in the order they are shown.
TYPES = ("short_stay", "day_care", "home_visit")
# Household classes for fees: 生活保護, 住民税非課税, 課税.
CLASSES = ("welfare", "tax_exempt", "taxed")
# Mothers a city may accept (besides pregnant women and mothers after a loss, which have own settings).
MOTHERS = ("birth", "adoptive", "foster")
# Needs a needs-based city may ask about.
NEEDS = ("family_help", "unwell", "anxiety")
# Exclusions a city may check (each has its question and reason texts).
EXCLUSIONS = ("infection", "hospital", "medical_care", "siblings", "household_fever", "household_illness")
# Needs only staff can judge (a doctor's recommendation, a public health nurse's view): never asked of her.
STAFF_NEEDS = ("doctor_recommended", "staff_recognised")
# Days a type may be closed on, or not used for the first time: weekdays and Japanese public holidays.
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
# How a short stay counts against the caps: per night, per calendar day (1泊2日 = 2), per stay.
STAY_COUNTS = ("night", "day", "stay")
# What the caps count over: each birth (child) its own, the 年度 of the care, or each birth within each 年度.
CAP_PERIODS = ("birth", "fiscal_year", "birth_fiscal_year")
# A type's rules a provider may set for itself (config/booking.toml), when the rules file says by_provider.
BY_PROVIDER = ("age", "exclusions")


@dataclass(frozen=True)
class AgeWindow:
    """The infant's age allowed for a type: min <= age < max (max is 未満, exclusive)."""
    min: int
    max: int
    unit: str = "months"        # "months" | "days"
    at: str = "start"           # "start" | "last_day" (of the care)
    corrected: bool | str = False   # preterm babies: True: the upper bound counts from the due date;
                                    # "ask": a preterm baby past it is a staff check with ask_text
    ask_text: str = ""              # the city's words for corrected = "ask"


@dataclass(frozen=True)
class FeeTier:
    """Fees per use from use number `from_use` on (until the next tier), by household class, in yen."""
    from_use: int
    fees: dict[str, int]
    extra_per_baby: dict[str, int] = field(default_factory=dict)
    text: str = ""                  # instead of amounts: 「施設により異なります」, 「お問い合わせください」


@dataclass(frozen=True)
class TypeRules:
    name: str
    age: AgeWindow
    fees: tuple[FeeTier, ...]
    cap: int | None = None              # uses of this type (None: only the total cap)
    cap_multiples: int | None = None    # for twins or more (None: same as cap)
    count: str = "night"                # short_stay only: night | day | stay
    apply_before_birth: bool = True     # may a pregnant woman apply for this type?
    fee_text: str = ""                  # instead of fee tiers: 「施設により異なります」 etc.
    full_price: int | None = None       # yen per unit beyond the cap (全額自己負担); None: no use beyond it
    note: str = ""                      # shown to her with this type's result (how to apply, what to bring)
    not_on: tuple[str, ...] = ()        # DAYS on which this type cannot start at all
    first_not_on: tuple[str, ...] = ()  # DAYS on which her first use of this type cannot start (土日祝の初回)
    after_loss: bool = True             # open to mothers after a stillbirth or miscarriage (when the city is)
    after_loss_months: int | None = None    # this type's own window from the end of the pregnancy
                                            # (None: the version's eligibility.after_loss_months)
    by_provider: tuple[str, ...] = ()   # BY_PROVIDER rules each provider may set for itself (施設によって異なる)


@dataclass(frozen=True)
class ProviderRules:
    """A provider's own rules for the types whose rules differ by facility (from config/booking.toml);
    what it does not set is the type's own rule."""
    key: str
    name: str
    types: tuple[str, ...]
    age: dict[str, AgeWindow] = field(default_factory=dict)              # type -> its age window here
    exclusions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # type -> the exclusions here

    def for_type(self, rules: TypeRules) -> tuple[TypeRules, tuple[str, ...] | None]:
        """The type's rules at this provider, and its exclusions here (None: the city's)."""
        age = self.age.get(rules.name) if "age" in rules.by_provider else None
        items = self.exclusions.get(rules.name) if "exclusions" in rules.by_provider else None
        return (replace(rules, age=age) if age else rules), items


@dataclass(frozen=True)
class Eligibility:
    mode: str = "anyone"                # "anyone" (必要とする方すべて) | "needs" (要件あり)
    needs: tuple[str, ...] = ()
    needs_match: str = "any"            # "any" | "all"
    staff_needs: tuple[str, ...] = ()   # needs staff judge (STAFF_NEEDS): "no" to the others is a check
    mothers: tuple[str, ...] = MOTHERS
    after_loss: bool = True             # mothers after stillbirth or miscarriage
    after_loss_months: int = 12
    satogaeri: bool = False             # mothers staying in the city for the birth (里帰り)
    non_residents: bool = False         # anyone, wherever she lives


@dataclass(frozen=True)
class Exclusions:
    items: tuple[str, ...] = ()
    doctor_clearance: tuple[str, ...] = ()   # items a doctor's clearance overrides
    applies_to: dict[str, tuple[str, ...]] = field(default_factory=dict)   # item -> types (absent: all)
    wording: dict[str, str] = field(default_factory=dict)   # item -> the city's own words for it

    def for_type(self, type_name: str) -> tuple[str, ...]:
        return tuple(i for i in self.items if type_name in self.applies_to.get(i, TYPES))


@dataclass(frozen=True)
class Caps:
    total: int | None = None
    total_multiples: int | None = None
    use_number: str = "total"           # fee tiers count uses in "total" or per "type"
    per: str = "birth"                  # CAP_PERIODS: the uses that count together against the caps


@dataclass(frozen=True)
class Household:
    """The household class for fees follows the 住民税 of a tax year that switches in the middle of the 年度:
    from `switch_month` (6 or 7) on, the new 年度's tax; before it (from April), the previous one's."""
    switch_month: int | None = None     # None: one class all year (the one she says)
    ask_next: bool = True               # before the switch, ask her class after it too (else: a range)


@dataclass(frozen=True)
class Application:
    from_pregnancy_week: int | None = None   # None: apply after the birth only


@dataclass(frozen=True)
class Version:
    effective_from: date
    label: str
    offered: tuple[str, ...]
    types: dict[str, TypeRules]
    eligibility: Eligibility = Eligibility()
    exclusions: Exclusions = Exclusions()
    caps: Caps = Caps()
    application: Application = Application()
    household: Household = Household()
    effective_until: date | None = None      # inclusive; None: until the next version
    note: str = ""                           # shown to her with every result (the city's own words)
    providers: tuple[ProviderRules, ...] = ()   # the providers, for the types whose rules differ by facility

    def providers_for(self, type_name: str) -> tuple[ProviderRules, ...]:
        """The providers of a type whose rules differ by facility (none: the type's rules hold everywhere)."""
        if type_name not in self.types or not self.types[type_name].by_provider:
            return ()
        return tuple(p for p in self.providers if type_name in p.types)

    def exclusions_for(self, type_name: str) -> tuple[str, ...]:
        """Every exclusion that may apply to the type: the city's, and any provider's own."""
        own = [i for p in self.providers_for(type_name) for i in p.exclusions.get(type_name, ())]
        return tuple(i for i in self.exclusions.items if i in self.exclusions.for_type(type_name) or i in own)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)


@dataclass(frozen=True)
class RuleSet:
    city: str
    versions: tuple[Version, ...]       # sorted by effective_from
    source: str = ""

    def with_providers(self, providers: tuple[ProviderRules, ...]) -> RuleSet:
        """The same rules, knowing the providers (for the types whose rules differ by facility)."""
        return replace(self, versions=tuple(replace(v, providers=tuple(providers)) for v in self.versions))

    def in_force(self, on_date: date) -> Version | None:
        """The version in force on `on_date`: the latest one that has started and not ended."""
        for version in reversed(self.versions):
            if version.in_force_on(on_date):
                return version
        return None
