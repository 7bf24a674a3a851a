"""The city's configuration file (TOML)."""
import tomllib
from pathlib import Path

from scheduling.booking_config import BookingConfigError, load_booking_config
from scheduling.rules import RulesError, load_rules


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
    booking = (data.get("booking") or {}).get("file")
    if not isinstance(booking, str):
        raise CityConfigError(f"{path}: [booking] file = \"FILE\" (providers, classes, policy) is required")
    try:
        data["booking"]["config"] = load_booking_config(Path(path).parent / booking)
    except BookingConfigError as error:
        raise CityConfigError(f"{path}: the booking file has mistakes:\n" + "\n".join(error.problems)) from None
    return data
