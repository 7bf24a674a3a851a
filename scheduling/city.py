"""The city's configuration file (TOML)."""
import tomllib
from pathlib import Path


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
    return data
