"""The city's [application] settings in config/city.toml:

    [application]
    consent_version = "2026-12"   # the 同意 text's version (its words: apply.consent.* in the catalog)
    valid_months = 12             # a 利用承認 holds this many months from the day it is given ...
    until_baby_months = 12        # ... and never beyond the baby's age of this many months (optional)
    number_prefix = ""            # before the 承認番号 (令和8年度第12号: the 年度 and a number within it)
"""
from dataclasses import dataclass


class ApplicationConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ApplicationConfig:
    consent_version: str = "2026-12"
    valid_months: int = 12
    until_baby_months: int | None = 12
    number_prefix: str = ""   # never a care word: the number is in her push


def application_config(city: dict) -> ApplicationConfig:
    table = city.get("application") or {}
    if isinstance(table, ApplicationConfig):
        return table
    if not isinstance(table, dict):
        raise ApplicationConfigError("[application] must be a table")
    known = {"consent_version", "valid_months", "until_baby_months", "number_prefix"}
    problems = [f"application.{key}: unknown setting（知らない設定です）" for key in table if key not in known]
    config = ApplicationConfig()
    version = table.get("consent_version", config.consent_version)
    if not isinstance(version, str) or not version.strip() or len(version) > 32:
        problems.append("application.consent_version: must be text of up to 32 characters（32文字までの文字で）")
    months = table.get("valid_months", config.valid_months)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 36:
        problems.append("application.valid_months: must be a whole number from 1 to 36（1〜36の整数）")
    baby = table.get("until_baby_months", config.until_baby_months)
    if baby is not None and (isinstance(baby, bool) or not isinstance(baby, int) or not 1 <= baby <= 36):
        problems.append("application.until_baby_months: must be a whole number from 1 to 36（1〜36の整数）")
    prefix = table.get("number_prefix", config.number_prefix)
    if not isinstance(prefix, str) or len(prefix) > 8:
        problems.append("application.number_prefix: must be text of up to 8 characters（8文字までの文字で）")
    if problems:
        raise ApplicationConfigError("\n".join(problems))
    return ApplicationConfig(version.strip(), months, baby, prefix)
