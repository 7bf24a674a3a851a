"""The safety net: every typed text is first checked against the city's safety file (config/safety.toml)
for an emergency, a life in danger, violence, an ill baby or distress, and answered from it.

    from scheduling.safety import load_safety
    net = load_safety("config/safety.toml")
    match = net.check("しにたい")            # Match(category="life", urgent=True, matched="しにた", …) or None
    text = net.answer(match, "ja", now)     # in or out of the centre's hours, numbers filled in

Pure: no database, no LINE. Format, categories and how misses and false alarms are weighed: docs/safety.md.
"""
from .loader import SafetyConfigError, load_safety, parse_safety
from .schema import Category, Contact, Hours, Match, SafetyNet

__all__ = ["SafetyConfigError", "load_safety", "parse_safety", "Category", "Contact", "Hours", "Match",
           "SafetyNet"]
