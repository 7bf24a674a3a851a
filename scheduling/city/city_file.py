"""The city's configuration file (TOML): the centre's public facts, and the files it names, loaded and
checked together into one frozen City."""
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from scheduling.city.application_config import ApplicationConfig, ApplicationConfigError, application_config
from scheduling.city.booking_config import BookingConfig, load_booking_config
from scheduling.city.pregnancy_config import PregnancyConfig, load_pregnancy_config
from scheduling.city.richmenu_config import load_richmenu_config
from scheduling.rules import RulesError, RuleSet, load_rules
from scheduling.rules.facilities import attach
from scheduling.rules.loader import _LineIndex
from scheduling.safety import SafetyNet, load_safety

# [admin]: the staff panel's sessions. An idle session ends after idle_minutes without a page; any
# session ends session_hours after sign-in.
ADMIN_SETTINGS = {"idle_minutes": (30, 5, 240), "session_hours": (10, 1, 24)}  # default, min, max


log = logging.getLogger("hagukumi.config")
T = TypeVar("T")


class CityConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Contact:
    """The [city] table: what every dialog may tell her about the centre."""
    name: str
    phone: str
    hours: str
    privacy_url: str
    apply_url: str | None = None   # the 利用申請 form (LIFF), from the settings: bot/runtime.py


@dataclass(frozen=True)
class AdminSettings:
    """The [admin] table: an idle panel session ends after idle_minutes, any after session_hours."""
    idle_minutes: int = ADMIN_SETTINGS["idle_minutes"][0]
    session_hours: int = ADMIN_SETTINGS["session_hours"][0]


@dataclass(frozen=True)
class City:
    """The city as the service runs it: the centre's facts and every file the city file names."""
    contact: Contact
    rules: RuleSet
    booking: BookingConfig
    pregnancy: PregnancyConfig
    safety: SafetyNet
    admin: AdminSettings = AdminSettings()
    application: ApplicationConfig = ApplicationConfig()

    @property
    def name(self) -> str:
        return self.contact.name


def load_city(path: Path) -> City:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise CityConfigError(f"{path}: the city's configuration file does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise CityConfigError(f"{path}: {error}") from None
    city = data.get("city")
    if not isinstance(city, dict):
        raise CityConfigError(f"{path}: a [city] table is required")
    missing = [key for key in ("name", "phone", "hours", "privacy_url") if not isinstance(city.get(key), str)]
    if missing:
        raise CityConfigError(f"{path}: [city] needs text values for {', '.join(missing)}")
    admin = _admin_settings(path, data.get("admin", {}))
    try:
        application = application_config(data)
    except ApplicationConfigError as error:
        raise CityConfigError(f"{path}: {error}") from None
    rules = (data.get("care") or {}).get("rules")
    if not isinstance(rules, str):
        raise CityConfigError(f"{path}: [care] rules = \"FILE\" (the 産後ケア rules file) is required")
    try:
        rule_set = load_rules(Path(path).parent / rules)
    except RulesError as error:
        raise CityConfigError(f"{path}: the rules file has mistakes:\n" + "\n".join(error.problems)) from None
    booking = _load_named(path, data, "booking", load_booking_config, "providers, classes, policy")
    pregnancy = _load_named(path, data, "pregnancy", load_pregnancy_config,
                            "registration, timed pushes, the 32-week call")
    safety = _load_named(path, data, "safety", load_safety, "the safety net: crisis words, answers, the centre's hours")
    try:   # the types whose rules differ by facility take them from the booking file's providers
        rule_set = attach(rule_set, booking, name=data["booking"]["file"])
    except RulesError as error:
        raise CityConfigError(f"{path}: the rules and booking files disagree:\n" + "\n".join(error.problems)) from None
    classes = {c.key for c in booking.classes}
    unknown = [p.key for p in pregnancy.timed_pushes if p.about_class and p.about_class not in classes]
    if unknown:   # a warning, not a stop: such a push is simply never held back (test cities have few classes)
        log.warning("%s: timed pushes %s: about_class names no class of the booking file (classes: %s); "
                    "they are sent even to a mother who booked the class", path, ", ".join(unknown),
                    ", ".join(sorted(classes)))
    return City(contact=Contact(**{key: city[key] for key in ("name", "phone", "hours", "privacy_url")}),
                rules=rule_set, booking=booking, pregnancy=pregnancy, safety=safety,
                admin=admin, application=application)


def _load_named(path: Path, data: dict, section: str, loader: Callable[[Path], T], what: str) -> T:
    """The file named by [section] file = "…", loaded; or an error naming the city file and the section."""
    name = (data.get(section) or {}).get("file")
    if not isinstance(name, str):
        raise CityConfigError(f"{path}: [{section}] file = \"FILE\" ({what}) is required")
    try:
        return loader(Path(path).parent / name)
    except RulesError as error:
        raise CityConfigError(f"{path}: the {section} file has mistakes:\n" + "\n".join(error.problems)) from None


def load_richmenu(path: Path):
    """The rich menus of the city file's [richmenu] table, or None when it has none. Read only by
    `hagukumi richmenu apply`, not by the service: a city may keep its rich menus by hand in LINE's console."""
    load_city(path)   # the rich menus name the city's dialogs: the city file must be right first
    with open(path, "rb") as f:
        richmenu = tomllib.load(f).get("richmenu")
    if richmenu is None:
        return None
    name = richmenu.get("file") if isinstance(richmenu, dict) else None
    if not isinstance(name, str):
        raise CityConfigError(f"{path}: [richmenu] file = \"FILE\" (the rich menus per stage) is required")
    try:
        return load_richmenu_config(Path(path).parent / name)
    except RulesError as error:
        raise CityConfigError(f"{path}: the richmenu file has mistakes:\n" + "\n".join(error.problems)) from None


def _admin_settings(path: Path, table) -> AdminSettings:
    """The [admin] table with its defaults, or an error naming the line and field of each mistake."""
    if not isinstance(table, dict):
        raise CityConfigError(f"{path}: [admin] must be a table")
    problems = [f"admin.{key}: unknown setting（知らない設定です）; known: {', '.join(ADMIN_SETTINGS)}"
                for key in table if key not in ADMIN_SETTINGS]
    settings = {}
    for key, (default, low, high) in ADMIN_SETTINGS.items():
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"admin.{key}: must be a whole number from {low} to {high}"
                            f"（{low}〜{high}の整数にしてください）, not {value!r}")
        settings[key] = value
    if problems:
        lines = _LineIndex(Path(path).read_text(encoding="utf-8"))
        raise CityConfigError("\n".join(f"{path}:{lines.find(p.split(':')[0])}: {p}" for p in problems))
    return AdminSettings(**settings)
