"""Load and validate a city's rules file (TOML) into a RuleSet.

Every mistake is reported at once, each naming the file, the line and the dotted field path, e.g.
    hagukumi.toml:23: versions[1].types.short_stay.age.max: must be a whole number ≥ 0（0以上の整数）
tomllib gives no line numbers, so lines are found by scanning the text for table headers and keys.
"""
from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path

from .schema import (
    BY_PROVIDER,
    CAP_PERIODS,
    CLASSES,
    DAYS,
    EXCLUSIONS,
    MOTHERS,
    NEEDS,
    STAFF_NEEDS,
    STAY_COUNTS,
    TYPES,
    AgeWindow,
    Application,
    Caps,
    Eligibility,
    Exclusions,
    FeeTier,
    Household,
    RuleSet,
    TypeRules,
    Version,
)


class RulesError(ValueError):
    """The rules file is wrong; `problems` lists every mistake as 'FILE:LINE: field.path: message'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))

    def report(self, file) -> str:
        """What the city's commands print: how many mistakes, then each on its own line."""
        return "\n".join([f"{file}: {len(self.problems)} 件の誤りがあります（errors）:",
                          *(f"  {problem}" for problem in self.problems)])


def load_rules(path) -> RuleSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError([f"{path.name}: the file does not exist（ファイルがありません）"]) from None
    except UnicodeDecodeError:
        raise RulesError([f"{path.name}: the file is not UTF-8 text（UTF-8 で保存してください）"]) from None
    return parse_rules(text, name=path.name, source=str(path))


FULL_WIDTH_HINTS = (("＝", "「＝」（全角のイコール）は「=」（半角）にしてください"),
                    ("”", "「”」（全角の引用符）は「\"」（半角）にしてください"),
                    ("“", "「“」（全角の引用符）は「\"」（半角）にしてください"),
                    ("\u3000", "全角のスペースは半角のスペースにしてください"),
                    ("［", "「［」「］」（全角のかっこ）は「[」「]」（半角）にしてください"),
                    ("，", "「，」（全角のカンマ）は「,」（半角）にしてください"))


def toml_error(text: str, name: str, error: Exception) -> str:
    """A TOML syntax error as staff can fix it: where, in Japanese, with a hint for the usual causes."""
    match = re.search(r"line (\d+)", str(error))
    lines = text.splitlines()
    line_no = int(match.group(1)) if match else None
    if line_no is None:   # "at end of document": most often a quote left open on some line
        line_no = next((n for n, line in enumerate(lines, 1) if line.split("#")[0].count('"') % 2), None)
    line = lines[line_no - 1] if line_no and line_no <= len(lines) else ""
    hints = [hint for mark, hint in FULL_WIDTH_HINTS if mark in line]
    if not hints and line.count('"') % 2:
        hints.append("引用符「\"」が閉じていないようです。文字は \"…\" で囲んでください")
    if not hints and "=" in line and not re.search(r'=\s*("|\[|\{|\d|true|false|-)', line):
        hints.append("文字の値は \"…\" で囲んでください（例: name = \"はぐくみ市\"）")
    where = f"{name}:{line_no or '?'}"
    hint = f" ヒント: {'。'.join(hints)}。" if hints else ""
    return f"{where}: TOML syntax error（書き方の誤り）: {error}{hint}"


def parse_rules(text: str, *, name: str = "rules.toml", source: str = "") -> RuleSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError([toml_error(text, name, error)]) from None
    checker = _Checker()
    rule_set = checker.rule_set(data, source=source or name)
    if checker.errors:
        lines = _LineIndex(text)
        located = sorted(((lines.find(path), n, path, message) for n, (path, message) in enumerate(checker.errors)),
                         key=lambda t: (t[0], t[1]))
        raise RulesError([f"{name}:{line}: {path}: {message}" for line, _, path, message in located])
    return rule_set


# --- validation -------------------------------------------------------------------------------------

NUMBER = "must be a whole number ≥ {low}（{low}以上の整数）"


class _Checker:
    def __init__(self):
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str):
        self.errors.append((path, message))

    def table(self, value, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.error(path, "must be a table（[表] にしてください）")
            return {}
        for key in value:
            if key not in allowed:
                self.error(_join(path, key), f"unknown setting（不明な項目）; allowed: {', '.join(allowed)}")
        for key in required:
            if key not in value:
                self.error(_join(path, key), "is required（必須の項目です）")
        return value

    def integer(self, table: dict, key: str, path: str, *, low: int = 0, default=None):
        value = table.get(key, default)
        if key in table and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            self.error(_join(path, key), NUMBER.format(low=low))
            return default
        return value

    def boolean(self, table: dict, key: str, path: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.error(_join(path, key), "must be true or false（true か false）")
            return default
        return value

    def choice(self, table: dict, key: str, path: str, allowed: tuple[str, ...], default: str) -> str:
        value = table.get(key, default)
        if value not in allowed:
            self.error(_join(path, key), f"must be one of（次のどれか）: {', '.join(allowed)}")
            return default
        return value

    def choices(self, table: dict, key: str, path: str, allowed: tuple[str, ...], default) -> tuple[str, ...]:
        value = table.get(key, default)
        if not isinstance(value, (list, tuple)):
            self.error(_join(path, key), f"must be a list of（次のリスト）: {', '.join(allowed)}")
            return tuple(default)
        good = []
        for index, item in enumerate(value):
            if item not in allowed:
                self.error(f"{_join(path, key)}[{index}]", f"must be one of（次のどれか）: {', '.join(allowed)}")
            elif item in good:
                self.error(f"{_join(path, key)}[{index}]", "is listed twice（重複しています）")
            else:
                good.append(item)
        return tuple(good)

    def text(self, table: dict, key: str, path: str) -> str:
        value = table.get(key, "")
        if not isinstance(value, str):
            self.error(_join(path, key), "must be text in quotes（文字で \"…\"）")
            return ""
        if key in table and not value.strip():
            self.error(_join(path, key), "is empty（空です。書かないか、文を入れてください）")
        return value.strip()

    def day(self, table: dict, key: str, path: str):
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            self.error(_join(path, key), "must be a date like 2025-04-01, without quotes（日付 2025-04-01）")
            return None
        return value

    # --- the file ---

    def rule_set(self, data: dict, *, source: str) -> RuleSet:
        self.table(data, "", ("city", "versions"), ("city", "versions"))
        city = self.table(data.get("city", {}), "city", ("name",), ("name",))
        name = city.get("name", "")
        if "name" in city and (not isinstance(name, str) or not name.strip()):
            self.error("city.name", "must be the city's name as text（市町村名を文字で）")
        raw_versions = data.get("versions", [])
        if not isinstance(raw_versions, list) or not raw_versions:
            if "versions" in data:
                self.error("versions", "must be one or more [[versions]] tables（[[versions]] が必要です）")
            raw_versions = []
        built = [(i, self.version(raw, f"versions[{i}]")) for i, raw in enumerate(raw_versions)]
        self.check_dates(raw_versions)
        versions = [v for _, v in built if v is not None]
        versions.sort(key=lambda v: v.effective_from)
        return RuleSet(city=name if isinstance(name, str) else "", versions=tuple(versions), source=source)

    def check_dates(self, raw_versions):
        """Versions must not overlap: sorted by start, each must end before the next starts."""
        dated = []
        for i, raw in enumerate(raw_versions):
            start = raw.get("effective_from") if isinstance(raw, dict) else None
            until = raw.get("effective_until") if isinstance(raw, dict) else None
            if _is_date(start):
                dated.append((start, i, until if _is_date(until) else None))
        dated.sort(key=lambda t: (t[0], t[1]))
        for (start, i, until), (next_start, j, _) in zip(dated, dated[1:], strict=False):
            if start == next_start:
                self.error(f"versions[{j}].effective_from",
                           f"overlaps versions[{i}]: both start on {start}（開始日が重複しています）")
            elif until and until >= next_start:
                self.error(f"versions[{i}].effective_until",
                           f"overlaps versions[{j}], which starts on {next_start}（期間が重なっています）")

    def version(self, raw, path: str) -> Version | None:
        keys = ("effective_from", "effective_until", "label", "offered", "eligibility", "exclusions", "caps",
                "application", "types", "note", "household")
        raw = self.table(raw, path, keys, ("effective_from", "offered", "types"))
        errors_before = len(self.errors)
        start = self.day(raw, "effective_from", path)
        until = self.day(raw, "effective_until", path)
        if start and until and until < start:
            self.error(f"{path}.effective_until", "is before effective_from（開始日より前です）")
        label = raw.get("label", "")
        if not isinstance(label, str):
            self.error(f"{path}.label", "must be text（文字で）")
        offered = self.choices(raw, "offered", path, TYPES, ())
        if "offered" in raw and not offered:
            self.error(f"{path}.offered", "must name at least one type（少なくとも1つの型）")
        types_raw = self.table(raw.get("types", {}), f"{path}.types", TYPES)
        types = {}
        for name in offered:
            if name not in types_raw:
                self.error(f"{path}.offered", f"{name} is offered but there is no [versions.types.{name}] table"
                                              "（提供する型の設定がありません）")
            else:
                types[name] = self.type_rules(types_raw[name], f"{path}.types.{name}", name)
        for name in types_raw:
            if name in TYPES and name not in offered:
                self.error(f"{path}.types.{name}", "is not in offered（offered に入っていません）")
        eligibility = self.eligibility(raw.get("eligibility", {}), f"{path}.eligibility")
        exclusions = self.exclusions(raw.get("exclusions", {}), f"{path}.exclusions", offered)
        note = self.text(raw, "note", path)
        caps = self.caps(raw.get("caps", {}), f"{path}.caps")
        application = self.application(raw.get("application", {}), f"{path}.application")
        household = self.household(raw.get("household", {}), f"{path}.household")
        for name, rules in types.items():
            for key in ("after_loss", "after_loss_months"):
                if isinstance(types_raw.get(name), dict) and key in types_raw[name] and not eligibility.after_loss:
                    self.error(f"{path}.types.{name}.{key}", "is only used when eligibility.after_loss = true"
                                                             "（死産・流産のあとの方を対象にするときだけ）")
            if not rules.after_loss and rules.after_loss_months is not None:
                self.error(f"{path}.types.{name}.after_loss_months", "is not used when after_loss = false"
                                                                     "（after_loss = false の型には書きません）")
            if rules.full_price is not None and rules.cap is None and caps.total is None:
                self.error(f"{path}.types.{name}.full_price", "needs a cap to go beyond（cap か caps.total が必要です）")
        if len(self.errors) > errors_before or start is None:
            return None
        return Version(effective_from=start, effective_until=until, label=label or f"{start}〜",
                       offered=offered, types=types, eligibility=eligibility, exclusions=exclusions, caps=caps,
                       application=application, note=note, household=household)

    def eligibility(self, raw, path: str) -> Eligibility:
        raw = self.table(raw, path, ("mode", "needs", "needs_match", "mothers", "after_loss", "after_loss_months",
                                     "satogaeri", "non_residents", "staff_needs"))
        mode = self.choice(raw, "mode", path, ("anyone", "needs"), "anyone")
        needs = self.choices(raw, "needs", path, NEEDS, ())
        staff_needs = self.choices(raw, "staff_needs", path, STAFF_NEEDS, ())
        if mode == "needs" and not needs and not staff_needs:
            self.error(f"{path}.needs", "must list the needs when mode = \"needs\"（要件を並べてください）")
        for key, listed in (("needs", needs), ("staff_needs", staff_needs)):
            if mode == "anyone" and listed:
                self.error(f"{path}.{key}", "is only used when mode = \"needs\"（mode = \"needs\" のときだけ）")
        return Eligibility(
            mode=mode, needs=needs, staff_needs=staff_needs,
            needs_match=self.choice(raw, "needs_match", path, ("any", "all"), "any"),
            mothers=self.choices(raw, "mothers", path, MOTHERS, MOTHERS),
            after_loss=self.boolean(raw, "after_loss", path, True),
            after_loss_months=self.integer(raw, "after_loss_months", path, low=1, default=12),
            satogaeri=self.boolean(raw, "satogaeri", path, False),
            non_residents=self.boolean(raw, "non_residents", path, False))

    def exclusions(self, raw, path: str, offered: tuple[str, ...] = TYPES) -> Exclusions:
        raw = self.table(raw, path, ("items", "doctor_clearance", "applies_to", "wording"))
        items = self.choices(raw, "items", path, EXCLUSIONS, ())
        cleared = self.choices(raw, "doctor_clearance", path, EXCLUSIONS, ())
        for index, item in enumerate(cleared):
            if item not in items:
                self.error(f"{path}.doctor_clearance[{index}]", f"{item} is not in items（items にありません）")
        applies_raw = self.table(raw.get("applies_to", {}), f"{path}.applies_to", EXCLUSIONS)
        applies_to = {}
        for item in applies_raw:
            if item not in EXCLUSIONS:
                continue
            if item not in items:
                self.error(f"{path}.applies_to.{item}", f"{item} is not in items（items にありません）")
            types = self.choices(applies_raw, item, f"{path}.applies_to", TYPES, ())
            for index, name in enumerate(types):
                if name not in offered:
                    self.error(f"{path}.applies_to.{item}[{index}]", f"{name} is not offered（offered にない型です）")
            if isinstance(applies_raw[item], list) and not applies_raw[item]:
                self.error(f"{path}.applies_to.{item}", "must name at least one type（少なくとも1つの型）")
            applies_to[item] = types
        wording_raw = self.table(raw.get("wording", {}), f"{path}.wording", EXCLUSIONS)
        wording = {}
        for item in wording_raw:
            if item not in EXCLUSIONS:
                continue
            if item not in items:
                self.error(f"{path}.wording.{item}", f"{item} is not in items（items にありません）")
            wording[item] = self.text(wording_raw, item, f"{path}.wording")
        return Exclusions(items=items, doctor_clearance=cleared, applies_to=applies_to, wording=wording)

    def caps(self, raw, path: str) -> Caps:
        raw = self.table(raw, path, ("total", "total_multiples", "use_number", "per"))
        total = self.integer(raw, "total", path, low=1)
        multiples = self.integer(raw, "total_multiples", path, low=1)
        if multiples is not None and total is None:
            self.error(f"{path}.total_multiples", "needs total（total も書いてください）")
        return Caps(total=total, total_multiples=multiples,
                    use_number=self.choice(raw, "use_number", path, ("total", "type"), "total"),
                    per=self.choice(raw, "per", path, CAP_PERIODS, "birth"))

    def household(self, raw, path: str) -> Household:
        raw = self.table(raw, path, ("switch_month", "ask_next"))
        month = self.integer(raw, "switch_month", path, low=1)
        if month is not None and month not in (6, 7):
            self.error(f"{path}.switch_month", "must be 6 or 7: the month the new 住民税 year decides the class"
                                               "（住民税の年度が切り替わる月: 6 か 7）")
            month = None
        if "ask_next" in raw and "switch_month" not in raw:
            self.error(f"{path}.ask_next", "needs switch_month（switch_month も書いてください）")
        return Household(switch_month=month, ask_next=self.boolean(raw, "ask_next", path, True))

    def application(self, raw, path: str) -> Application:
        raw = self.table(raw, path, ("from_pregnancy_week",))
        week = self.integer(raw, "from_pregnancy_week", path, low=0)
        if week is not None and week > 42:
            self.error(f"{path}.from_pregnancy_week", "must be a pregnancy week 0–42（妊娠週数 0〜42）")
        return Application(from_pregnancy_week=week)

    def type_rules(self, raw, path: str, name: str) -> TypeRules:
        keys = ("age", "fees", "cap", "cap_multiples", "apply_before_birth", "fee_text", "full_price", "note",
                "not_on", "first_not_on", "after_loss", "after_loss_months", "by_provider") + \
            (("count",) if name == "short_stay" else ())
        raw = self.table(raw, path, keys, ("age",))
        age = self.age(raw.get("age", {}), f"{path}.age")
        fee_text = self.text(raw, "fee_text", path)
        if "fees" in raw and "fee_text" in raw:
            self.error(f"{path}.fee_text", "write fees or fee_text, not both（料金表か fee_text のどちらか）")
        elif "fees" not in raw and "fee_text" not in raw and isinstance(raw, dict):
            self.error(f"{path}.fees", "is required: a fee table, or fee_text = \"お問い合わせください\""
                                       "（料金表か fee_text が必要です）")
        fees = self.fees(raw.get("fees", []), f"{path}.fees") if "fees" in raw else ()
        full_price = self.integer(raw, "full_price", path, low=1)
        cap = self.integer(raw, "cap", path, low=1)
        cap_multiples = self.integer(raw, "cap_multiples", path, low=1)
        if cap_multiples is not None and cap is None:
            self.error(f"{path}.cap_multiples", "needs cap（cap も書いてください）")
        return TypeRules(name=name, age=age, fees=fees, cap=cap, cap_multiples=cap_multiples,
                         count=self.choice(raw, "count", path, STAY_COUNTS, "night"),
                         apply_before_birth=self.boolean(raw, "apply_before_birth", path, True),
                         fee_text=fee_text, full_price=full_price, note=self.text(raw, "note", path),
                         not_on=self.choices(raw, "not_on", path, DAYS, ()),
                         first_not_on=self.choices(raw, "first_not_on", path, DAYS, ()),
                         after_loss=self.boolean(raw, "after_loss", path, True),
                         after_loss_months=self.integer(raw, "after_loss_months", path, low=1),
                         by_provider=self.choices(raw, "by_provider", path, BY_PROVIDER, ()))

    def age(self, raw, path: str) -> AgeWindow:
        raw = self.table(raw, path, ("min", "max", "unit", "at", "corrected", "ask_text"), ("max",))
        low = self.integer(raw, "min", path, default=0)
        high = self.integer(raw, "max", path, low=1, default=1)
        if "max" in raw and isinstance(low, int) and isinstance(high, int) and high <= low:
            self.error(f"{path}.max", "must be greater than min（min より大きく）")
        return AgeWindow(min=low, max=high, unit=self.choice(raw, "unit", path, ("months", "days"), "months"),
                         at=self.choice(raw, "at", path, ("start", "last_day"), "start"),
                         corrected=self.corrected(raw, path), ask_text=self.text(raw, "ask_text", path))

    def corrected(self, raw: dict, path: str) -> bool | str:
        value = raw.get("corrected", False)
        if value not in (True, False, "ask"):
            self.error(f"{path}.corrected", "must be true, false or \"ask\"（true・false・\"ask\" のどれか）")
            return False
        if value == "ask" and not isinstance(raw.get("ask_text"), str):
            self.error(f"{path}.ask_text", "is required when corrected = \"ask\": the words she is told, e.g. "
                                           "\"修正月齢を考慮できる場合があります。ご相談ください\"（ご案内の文が必要です）")
        if value != "ask" and "ask_text" in raw:
            self.error(f"{path}.ask_text", "is only used when corrected = \"ask\"（corrected = \"ask\" のときだけ）")
        return value

    def fees(self, raw, path: str) -> tuple[FeeTier, ...]:
        if not isinstance(raw, list) or not raw:
            self.error(path, "must be one or more [[…fees]] tables（料金表が必要です）")
            return ()
        tiers = []
        for index, item in enumerate(raw):
            where = f"{path}[{index}]"
            given = isinstance(item, dict) and "text" in item
            item = self.table(item, where, ("from_use", "extra_per_baby", "text") + CLASSES, () if given else CLASSES)
            from_use = self.integer(item, "from_use", where, low=1, default=1)
            text = self.text(item, "text", where)
            if given and any(c in item for c in CLASSES + ("extra_per_baby",)):
                self.error(f"{where}.text", "write the amounts or text, not both（金額か text のどちらか）")
            fees = {c: self.integer(item, c, where, default=0) for c in CLASSES}
            extra_raw = self.table(item.get("extra_per_baby", {}), f"{where}.extra_per_baby", CLASSES)
            extra = {c: self.integer(extra_raw, c, f"{where}.extra_per_baby", default=0) for c in CLASSES}
            tiers.append(FeeTier(from_use=from_use or 1, fees=fees, extra_per_baby=extra, text=text))
        starts = [t.from_use for t in tiers]
        if starts[0] != 1:
            self.error(f"{path}[0].from_use", "the first tier must start at use 1（最初は 1 から）")
        for index in range(1, len(starts)):
            if starts[index] <= starts[index - 1]:
                self.error(f"{path}[{index}].from_use", "must be larger than the tier before（前より大きく）")
        return tuple(tiers)


def _is_date(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- line numbers -----------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\".]+)\s*=\s*(.*)$")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+)\s*=")


class _LineIndex:
    """Maps concrete field paths (versions[1].types.short_stay.age.max) to the line that defines them."""

    def __init__(self, text: str):
        self.lines: dict[str, int] = {}
        arrays: set[str] = set()             # header paths that are arrays of tables
        counts: dict[str, int] = {}          # concrete array path -> index of its current element
        current = ""
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header and not line.lstrip().startswith("#"):
                parts = [p.strip().strip('"') for p in header.group(2).split(".")]
                if header.group(1) == "[[":
                    arrays.add(".".join(parts))
                concrete = self._concrete(parts, arrays, counts)
                if header.group(1) == "[[":
                    counts[concrete] = counts.get(concrete, -1) + 1
                    concrete = f"{concrete}[{counts[concrete]}]"
                current = concrete
                self.lines.setdefault(concrete, number)
                continue
            key = _KEY.match(line)
            if key and not line.lstrip().startswith("#"):
                path = _join(current, ".".join(p.strip().strip('"') for p in key.group(1).split(".")))
                self.lines.setdefault(path, number)
                value = key.group(2)
                if value.startswith("{"):
                    for inner in _INLINE_KEY.findall(value):
                        self.lines.setdefault(f"{path}.{inner}", number)

    @staticmethod
    def _concrete(parts, arrays, counts) -> str:
        concrete, plain = "", ""
        for part in parts[:-1]:
            plain = _join(plain, part)
            concrete = _join(concrete, part)
            if plain in arrays:
                concrete = f"{concrete}[{counts.get(concrete, 0)}]"
        return _join(concrete, parts[-1])

    def find(self, path: str) -> int | str:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            trimmed = re.sub(r"(\[\d+\]|\.[^.\[]+)$", "", path)
            if trimmed == path:
                break
            path = trimmed
        return 1
