"""The city's pregnancy settings (config/pregnancy.toml): consent version, link codes, the 32-week call
and the timed pushes, validated. Mistakes are reported as 'FILE:LINE: field.path: message'.
Format: docs/pregnancy.md.
"""
import re
from dataclasses import dataclass

from scheduling.city.booking_config import _TIME
from scheduling.rules import config_files
from scheduling.rules.loader import RulesError, _Checker, _join

AUDIENCES = ("everyone", "first_baby", "multiples")
BUTTONS = ("none", "care", "class", "menu")   # what the push offers to tap: 産後ケア, 教室, the menu
_ID = re.compile(r"^[a-z0-9_]{1,40}$")
CALL_NOTICE = "call_notice"   # the 32-week call notice's id among her planned pushes


class PregnancyConfigError(RulesError):
    pass


@dataclass(frozen=True)
class TimedPush:
    key: str
    message: str                     # catalog key
    to: str = "everyone"
    pregnancy_week: int | None = None   # at week w+0 (from the due date)
    days_after_birth: int | None = None
    button: str = "none"
    about_class: str | None = None   # the class (booking file's id) it advertises: not sent once she booked it

    @property
    def stage(self) -> str:
        """pregnancy pushes stop at the birth or when a pregnancy ends; baby pushes need a birth."""
        return "pregnancy" if self.pregnancy_week is not None else "baby"


@dataclass(frozen=True)
class PregnancyConfig:
    consent_version: str
    code_valid_days: int
    code_max_failures: int
    code_lock_minutes: int
    call_push_week: int
    call_week: int
    push_time: str
    timed_pushes: tuple[TimedPush, ...]


def load_pregnancy_config(path) -> PregnancyConfig:
    text, name = config_files.read(path, PregnancyConfigError)
    return parse_pregnancy_config(text, name=name)


def parse_pregnancy_config(text: str, *, name: str = "pregnancy.toml") -> PregnancyConfig:
    return config_files.parse(text, name, _PregnancyChecker(), PregnancyConfigError)


class _PregnancyChecker(_Checker):
    def config(self, data: dict) -> PregnancyConfig:
        self.table(data, "", ("consent", "link_codes", "call", "timed_pushes"), ("consent", "call"))
        consent = self.table(data.get("consent", {}), "consent", ("version",),
                             ("version",) if "consent" in data else ())   # a missing [consent]: one message
        codes = self.table(data.get("link_codes", {}), "link_codes", ("valid_days", "max_failures", "lock_minutes"))
        call = self.table(data.get("call", {}), "call", ("push_week", "call_week", "push_time"))
        push_time = call.get("push_time", "10:00")
        if not isinstance(push_time, str) or not _TIME.match(push_time):
            self.error("call.push_time", "must be a time like \"10:00\"（時刻 \"10:00\"）")
            push_time = "10:00"
        push_week = self.integer(call, "push_week", "call", low=1, default=31)
        call_week = self.integer(call, "call_week", "call", low=1, default=32)
        if push_week and call_week and not push_week <= call_week <= 41:
            self.error("call.call_week", "must be from push_week to 41（push_week 以上 41 以下）")
        raw_pushes = data.get("timed_pushes", [])
        if not isinstance(raw_pushes, list):
            self.error("timed_pushes", "must be [[timed_pushes]] tables（[[timed_pushes]] の表にしてください）")
            raw_pushes = []
        pushes = [self.push(raw, f"timed_pushes[{i}]") for i, raw in enumerate(raw_pushes)]
        seen = set()
        for i, push in enumerate(pushes):
            if push.key in seen:
                self.error(f"timed_pushes[{i}].id", "is used twice（id が重複しています）")
            seen.add(push.key)
        version = consent.get("version", "1")
        if not isinstance(version, str) or not version:
            self.error("consent.version", "must be text（文字で）")
        return PregnancyConfig(
            consent_version=str(version),
            code_valid_days=self.integer(codes, "valid_days", "link_codes", low=1, default=30),
            code_max_failures=self.integer(codes, "max_failures", "link_codes", low=1, default=5),
            code_lock_minutes=self.integer(codes, "lock_minutes", "link_codes", low=1, default=30),
            call_push_week=push_week, call_week=call_week, push_time=push_time, timed_pushes=tuple(pushes))

    def push(self, raw, path: str) -> TimedPush:
        raw = self.table(raw, path, ("id", "message", "to", "pregnancy_week", "days_after_birth", "button",
                                     "about_class"), ("id", "message"))
        about = raw.get("about_class")
        if about is not None and (not isinstance(about, str) or not about.strip()):
            self.error(_join(path, "about_class"), "must be a class id of the booking file（教室の id）")
            about = None
        key = raw.get("id", "")
        if "id" in raw and (not isinstance(key, str) or not _ID.match(key)):
            self.error(_join(path, "id"), "must be lower-case letters, digits and _（英小文字・数字・_）")
        elif key == CALL_NOTICE:
            self.error(_join(path, "id"), "is the 32-week call's own push（32週の電話のお知らせの名前です）")
        message = raw.get("message", "")
        if not isinstance(message, str) or not message:
            self.error(_join(path, "message"), "must be a catalog key（文言のキー）")
        week = self.integer(raw, "pregnancy_week", path, low=4)
        days = self.integer(raw, "days_after_birth", path, low=0)
        if ("pregnancy_week" in raw) == ("days_after_birth" in raw):
            self.error(path, "needs exactly one of pregnancy_week or days_after_birth（どちらか1つ）")
        if week is not None and week > 41:
            self.error(_join(path, "pregnancy_week"), "must be 41 or less（41以下）")
        return TimedPush(key=str(key), message=str(message), to=self.choice(raw, "to", path, AUDIENCES, "everyone"),
                         pregnancy_week=week, days_after_birth=days,
                         button=self.choice(raw, "button", path, BUTTONS, "none"), about_class=about)
