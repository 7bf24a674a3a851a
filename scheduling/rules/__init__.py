"""産後ケア rules: the city's rules file (TOML), its validator, the rule engine and the screening questions.

    from scheduling.rules import load_rules, decide, next_question
    rules = load_rules("config/rules/hagukumi.toml")
    decision = decide(rules, answers, on_date=date(2025, 6, 1), existing_uses=[...])
    question = next_question(rules, answers, date.today())

Pure: no database, no HTTP, no LINE. Format and definitions: docs/rules.md.
"""
from .engine import Decision, Fee, Reason, TypeResult, Use, decide, fee_for, total_fee
from .loader import RulesError, load_rules, parse_rules
from .questions import Question, next_question, question_for
from .schema import RuleSet, Version
from .texts import QUESTION_TEXTS_EN, QUESTION_TEXTS_JA, render, render_reason

__all__ = ["Decision", "Fee", "Reason", "TypeResult", "Use", "decide", "fee_for", "total_fee", "RulesError", "load_rules",
           "parse_rules", "Question", "next_question", "question_for", "RuleSet", "Version",
           "QUESTION_TEXTS_EN", "QUESTION_TEXTS_JA", "render", "render_reason"]
