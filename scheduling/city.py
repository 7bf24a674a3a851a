"""The city's configuration file (TOML)."""
import logging
import tomllib
from pathlib import Path

from scheduling.booking_config import load_booking_config
from scheduling.pregnancy_config import load_pregnancy_config
from scheduling.rules import RulesError, load_rules
from scheduling.safety import load_safety


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
    classes = {c.key for c in data["booking"]["config"].classes}
    unknown = [p.key for p in data["pregnancy"]["config"].timed_pushes if p.about_class and p.about_class not in classes]
    if unknown:   # a warning, not a stop: such a push is simply never held back (test cities have few classes)
        log.warning("%s: timed pushes %s: about_class names no class of the booking file (classes: %s); "
                    "they are sent even to a mother who booked the class", path, ", ".join(unknown),
                    ", ".join(sorted(classes)))
    return data
