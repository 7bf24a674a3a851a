"""The city's configuration file (TOML)."""
import logging
import tomllib
from pathlib import Path

from scheduling.booking_config import load_booking_config
from scheduling.pregnancy_config import load_pregnancy_config
from scheduling.richmenu_config import load_richmenu_config
from scheduling.rules import RulesError, load_rules
from scheduling.rules.facilities import attach
from scheduling.rules.loader import _LineIndex
from scheduling.safety import load_safety

# [admin]: the staff panel's sessions. An idle session ends after idle_minutes without a page; any
# session ends session_hours after sign-in.
ADMIN_SETTINGS = {"idle_minutes": (30, 5, 240), "session_hours": (10, 1, 24)}  # default, min, max


log = logging.getLogger("hagukumi.config")


class CityConfigError(ValueError):
    pass


def load_city(path: Path) -> dict:
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
    data["admin"] = _admin_settings(path, data.get("admin", {}))
    rules = (data.get("care") or {}).get("rules")
    if not isinstance(rules, str):
        raise CityConfigError(f"{path}: [care] rules = \"FILE\" (the 産後ケア rules file) is required")
    try:
        data["care"]["rule_set"] = load_rules(Path(path).parent / rules)
    except RulesError as error:
        raise CityConfigError(f"{path}: the rules file has mistakes:\n" + "\n".join(error.problems)) from None
    for section, loader, what, key in (
            ("booking", load_booking_config, "providers, classes, policy", "config"),
            ("pregnancy", load_pregnancy_config, "registration, timed pushes, the 32-week call", "config"),
            ("safety", load_safety, "the safety net: crisis words, answers, the centre's hours", "net")):
        name = (data.get(section) or {}).get("file")
        if not isinstance(name, str):
            raise CityConfigError(f"{path}: [{section}] file = \"FILE\" ({what}) is required")
        try:
            data[section][key] = loader(Path(path).parent / name)
        except RulesError as error:
            raise CityConfigError(f"{path}: the {section} file has mistakes:\n" + "\n".join(error.problems)) from None
    try:   # the types whose rules differ by facility take them from the booking file's providers
        data["care"]["rule_set"] = attach(data["care"]["rule_set"], data["booking"]["config"],
                                          name=data["booking"]["file"])
    except RulesError as error:
        raise CityConfigError(f"{path}: the rules and booking files disagree:\n" + "\n".join(error.problems)) from None
    classes = {c.key for c in data["booking"]["config"].classes}
    unknown = [p.key for p in data["pregnancy"]["config"].timed_pushes if p.about_class and p.about_class not in classes]
    if unknown:   # a warning, not a stop: such a push is simply never held back (test cities have few classes)
        log.warning("%s: timed pushes %s: about_class names no class of the booking file (classes: %s); "
                    "they are sent even to a mother who booked the class", path, ", ".join(unknown),
                    ", ".join(sorted(classes)))
    return data


def load_richmenu(path: Path):
    """The rich menus of the city file's [richmenu] table, or None when it has none. Read only by
    `hagukumi richmenu apply`, not by the service: a city may keep its rich menus by hand in LINE's console."""
    data = load_city(path)
    richmenu = data.get("richmenu")
    if richmenu is None:
        return None
    name = richmenu.get("file") if isinstance(richmenu, dict) else None
    if not isinstance(name, str):
        raise CityConfigError(f"{path}: [richmenu] file = \"FILE\" (the rich menus per stage) is required")
    try:
        return load_richmenu_config(Path(path).parent / name)
    except RulesError as error:
        raise CityConfigError(f"{path}: the richmenu file has mistakes:\n" + "\n".join(error.problems)) from None


def _admin_settings(path: Path, table) -> dict:
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
    return settings
