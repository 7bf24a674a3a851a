"""Rules that differ by facility (issue 15, kind 3): a type whose rules file says `by_provider` takes its
age window or exclusions from each provider's [providers.rules.TYPE] in config/booking.toml.

attach() checks the two files against each other and gives the rule set its providers; the engine then
decides such a type at each provider (engine.decide) and the booking offers only those that take her."""
from __future__ import annotations

from .loader import RulesError
from .schema import RuleSet

TYPE_JA = {"short_stay": "宿泊型", "day_care": "通所型", "home_visit": "訪問型"}


def attach(rule_set: RuleSet, config, *, name: str = "booking.toml") -> RuleSet:
    """The rule set knowing the booking file's providers; a provider's own rule for a type the rules file
    does not say differs by facility, or an exclusion the rules file never asks, is a mistake."""
    problems = []
    for index, provider in enumerate(config.providers):
        for kind, per_type in (("age", provider.age), ("exclusions", provider.exclusions)):
            for type_name, value in per_type.items():
                where = f"{name}: providers[{index}]（{provider.key}）.rules.{type_name}.{kind}"
                versions = [v for v in rule_set.versions if type_name in v.types
                            and kind in v.types[type_name].by_provider]
                if not versions:
                    problems.append(
                        f"{where}: the rules file does not let providers set this: write by_provider = [\"{kind}\"] "
                        f"in its [versions.types.{type_name}]（ルールのファイルに、{TYPE_JA[type_name]}の{kind}は"
                        "施設ごとと書かれていません）")
                    continue
                for item in value if kind == "exclusions" else ():
                    if any(item not in v.exclusions.items for v in versions):
                        problems.append(f"{where}: {item} is not in the rules file's exclusions.items, so she is "
                                        f"never asked it（ルールのファイルの exclusions.items にない項目です）")
    if problems:
        raise RulesError(problems)
    return rule_set.with_providers(tuple(p.rules() for p in config.providers))
