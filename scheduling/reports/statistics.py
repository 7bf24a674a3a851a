"""The fiscal year's figures (年度実績) for the council: 産後ケア by type (実人数 and 延べ, by month),
parent classes, 32-week calls beside pregnancies registered, 相談 by topic. Pure queries and arithmetic; the
counting rules are written out in docs/figures.md and on the figures page.

    figures = year_figures(session, rules=city.rules, config=city.booking,
                           year=2026, today=date(2027, 4, 10))

Everything is counted by the date the service happens on (JST), never by the date it was booked.
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduling.applications.models import Application
from scheduling.applications.states import ApplicationState
from scheduling.city.booking_config import BookingConfig
from scheduling.classes.statuses import SessionStatus
from scheduling.consult import consults
from scheduling.dates.calendar import JST
from scheduling.dates.japanese_dates import fiscal_bounds, fiscal_label, fiscal_year
from scheduling.family.calls import OUTCOMES
from scheduling.family.statuses import CallStatus, MotherStatus
from scheduling.rules import RuleSet
from scheduling.rules.engine import units
from scheduling.store.models import Call, CallOutcome, CareBooking, ClassBooking, ClassSession, Mother
from scheduling.store.statuses import CareBookingStatus, ClassBookingStatus

CARE_TYPES = ("short_stay", "day_care", "home_visit")
MONTHS = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)
STAY_UNITS = {"night": "泊", "day": "日", "stay": "回"}
LONGEST_STAY = timedelta(days=366)  # a stay that began up to this long before the year can reach into it


# The counting rules, as the figures page and the print view state them (docs/figures.md has them too,
# with English; a test keeps the two in step).
RULES = (
    "年度は4月1日から翌年3月31日まで。すべてサービスを受けた日（利用日）で数えます。申込みや予約の日ではありません。",
    "利用に数えるのは「利用済み」と記録された予約だけです。",
    "実人数は、その月（年度）に1回以上利用した母親の人数です。同じ方は何回利用しても1人です。"
    "年度の実人数は各月の和ではありません。合計の実人数では、2つ以上の型を利用した方も1人です。",
    "延べは利用の回数です。宿泊型は、利用開始日に有効な「利用のきまり」の数え方（1泊ごと・1日ごと・1回の宿泊ごと）で数えます。",
    "宿泊が月や年度をまたぐときは、1泊（1日）ずつ、その夜（その日）の月・年度に数えます。"
    "3月31日の夜は前の年度、4月1日の夜は新しい年度です。1回の宿泊ごとに数えるきまりでは利用開始日で数えます。",
    "ふたご以上でも1回の利用は1回です（赤ちゃんの人数を掛けません）。合計の延べは、利用の上限と同じく3つの型の延べの和です。",
    "未確定は、確定した予約で利用日が過ぎたのに、利用済みもご連絡のないお休みも記録されていないものです。利用には数えず別に示します。"
    "記録すると利用（またはご連絡のないお休み）に移ります。",
    "キャンセルとご連絡のないお休みは利用に数えません。予約の件数を利用開始日の月に数えます。お断りした申込みは含みません。",
    "データの削除を希望された方の利用も、名前を消した形で数に残ります（同じ方は1人）。",
    "教室の開催回数は、中止ではない回のうち開催日が来たものです。参加者は人数で数えます（パートナーと2人なら2人）。"
    "出欠を記録した回は出席した方、記録していない回は予約の人数を数えます。",
    "32週の電話の人数は、1人につきその年度に記録した最後の結果（電話・面接・つながらず・辞退）を、記録した月に数えます。"
    "延べ件数は記録したすべての回です。"
    "対象は32週の週が年度内にある方で、記録なしはそのうちまだ一度も記録のない方、取りやめは妊娠が終わって電話をやめた方です。",
    "妊娠の登録は、チャットでご本人が登録したものと、センターの面接（妊娠届出の時）で職員が登録したものの合計で、登録日で数えます。市町村の妊娠届出の件数そのものではありません。うち面接での登録を別に示します。",
    "利用申請は送られた日、承認数は承認した日で数えます。",
    "相談の実人数は、その月（年度）に相談を受け付けた方の人数です（同じ方は何回相談しても1人）。延べ件数は受け付けた相談の件数で、受付日で数えます。内容の区分は受付のときにご本人が選んだものです。",
)


@dataclass(frozen=True)
class Line:
    """One row of a table: April … March, and the year. For 実人数 the year is not the sum of the months
    (a mother who came in May and June is one person in the year)."""
    months: tuple[int, ...]
    year: int


@dataclass(frozen=True)
class CareFigures:
    care_type: str            # a type, or "total" for all types together
    unit: str                 # what 延べ counts: 回, or for stays 泊 / 日 / 回 by the rules
    persons: Line             # 実人数: distinct mothers with a use
    uses: Line                # 延べ: uses, for stays nights / days / stays by the rules
    pending: Line             # 未確定: confirmed, the date has passed, neither attended nor no-show recorded
    cancelled: Line           # キャンセル: bookings (件) by their first day
    no_show: Line             # ご連絡のないお休み: bookings (件) by their first day


@dataclass(frozen=True)
class ClassFigures:
    class_key: str
    title: str
    sessions: Line            # sessions held: not cancelled, the day has come
    persons: Line             # participants in persons (a couple is two)
    unrecorded: int           # sessions held without attendance recorded (their bookings are counted)


@dataclass(frozen=True)
class CallFigures:
    registered: Line          # pregnancies registered (Mother.registered_on), in the chat or by staff
    at_interview: Line        # of those, registered by staff at the interview (registered_via "staff")
    outcomes: dict[str, Line]  # women by their last outcome in the year, in the month it was recorded
    tries: dict[str, Line]    # every recorded try
    due: int                  # calls whose week falls in the year
    without_record: int       # of those, still on the list with no try recorded yet
    cancelled: int            # of those, taken off the list because the pregnancy ended


@dataclass(frozen=True)
class ConsultFigures:
    topic: str                # a topic (scheduling.consult.consults.TOPICS), or "total"
    persons: Line             # 実人数: distinct mothers who asked for a 相談
    contacts: Line            # 延べ件数: cases opened


@dataclass(frozen=True)
class ApplicationFigures:
    submitted: Line           # 申請数: 利用申請 sent in the month (by the day of its latest sending)
    approved: Line            # 承認数: 利用承認 given in the month (their 承認番号 are of the 年度)


@dataclass(frozen=True)
class Figures:
    year: int
    label: str                # 令和8年度
    first: date
    last: date
    today: date
    complete: bool            # the year has ended
    care: list[CareFigures]   # one per type, then the total
    classes: list[ClassFigures]
    calls: CallFigures
    stay_rules: list[tuple[str, date, str]]  # (version label, in force from, count) for versions in the year
    consults: list[ConsultFigures]  # one per topic, then the total
    applications: ApplicationFigures | None = None


def year_figures(session: Session, *, rules: RuleSet, config: BookingConfig | None, year: int,
                 today: date) -> Figures:
    first, last = fiscal_bounds(year)
    return Figures(year=year, label=fiscal_label(year), first=first, last=last, today=today,
                   complete=today > last, care=_care(session, rules, first, last, today),
                   classes=_classes(session, config, first, last, today),
                   calls=_calls(session, first, last), consults=_consults(session, first, last),
                   stay_rules=stay_rules(rules, first, last), applications=_applications(session, first, last))


# --- 産後ケア ------------------------------------------------------------------------------------

def service_days(rules: RuleSet, care_type: str, start: date, nights: int) -> list[date]:
    """The dates one booking's units fall on: one per night (the night of the day it begins), per day
    (1泊2日 is two days) or per stay (its first day), as the rules version in force on the first day
    says; other types are one use on their day. len() equals engine.units()."""
    if care_type != "short_stay":
        return [start]
    return [start + timedelta(days=i) for i in range(units(_version_on(rules, start), care_type, nights))]


def _version_on(rules: RuleSet, day: date):
    """The version in force on the day; outside every version, the nearest one before it (or the first)."""
    earlier = [v for v in rules.versions if v.effective_from <= day]
    return rules.in_force(day) or (earlier[-1] if earlier else rules.versions[0])


def _stay_count(version) -> str:
    return version.types["short_stay"].count if "short_stay" in version.types else "night"


def _care(session: Session, rules: RuleSet, first: date, last: date, today: date) -> list[CareFigures]:
    rows = session.execute(
        select(CareBooking.user_id, CareBooking.care_type, CareBooking.start_date, CareBooking.nights,
               CareBooking.status)
        .where(CareBooking.status.in_((CareBookingStatus.ATTENDED, CareBookingStatus.CONFIRMED,
                                        CareBookingStatus.CANCELLED, CareBookingStatus.NO_SHOW)),
               CareBooking.start_date >= (first - LONGEST_STAY).isoformat(),
               CareBooking.start_date <= last.isoformat())).all()
    types = list(CARE_TYPES) + sorted({r.care_type for r in rows} - set(CARE_TYPES))
    used: defaultdict[tuple[str, int], set[str]] = defaultdict(set)     # (type, month) -> mothers; month 0 is the year
    counts: defaultdict[tuple[str, str, int], int] = defaultdict(int)  # (what, type, month) -> number; month 0 is the year
    for user_id, care_type, start_text, nights, status in rows:
        start = date.fromisoformat(start_text)
        if status in (CareBookingStatus.CANCELLED, CareBookingStatus.NO_SHOW):
            if first <= start <= last:
                for key in (care_type, "total"):
                    counts[status, key, start.month] += 1
                    counts[status, key, 0] += 1
            continue
        for day in service_days(rules, care_type, start, nights):
            if not first <= day <= last:
                continue
            if status == CareBookingStatus.ATTENDED:
                what = "uses"
                for month in (day.month, 0):
                    used[care_type, month].add(user_id)
                    used["total", month].add(user_id)
            elif day < today:
                what = "pending"
            else:
                continue  # confirmed and still to come: not a figure yet
            for key in (care_type, "total"):
                counts[what, key, day.month] += 1
                counts[what, key, 0] += 1

    def line(what, key):
        if what == "persons":
            return Line(tuple(len(used[key, m]) for m in MONTHS), len(used[key, 0]))
        return Line(tuple(counts[what, key, m] for m in MONTHS), counts[what, key, 0])

    stay_counts = {count for _, _, count in stay_rules(rules, first, last)}
    stay_unit = "・".join(STAY_UNITS[c] for c in STAY_UNITS if c in stay_counts)
    unit = {"short_stay": stay_unit, "total": "回" if stay_unit == "回" else f"回・{stay_unit}"}
    return [CareFigures(key, unit.get(key, "回"), *(line(what, key) for what in
                        ("persons", "uses", "pending", "cancelled", "no_show")))
            for key in types + ["total"]]


def stay_rules(rules: RuleSet, first: date, last: date) -> list[tuple[str, date, str]]:
    """The rules versions in force at some time in the year, with how each counts a stay."""
    found = []
    for i, version in enumerate(rules.versions):
        ends = [d for d in (version.effective_until,
                            rules.versions[i + 1].effective_from - timedelta(days=1) if i + 1 < len(rules.versions)
                            else None) if d]
        if version.effective_from <= last and (not ends or min(ends) >= first):
            found.append((version.label, version.effective_from, _stay_count(version)))
    if not found:
        version = _version_on(rules, first)
        found.append((version.label, version.effective_from, _stay_count(version)))
    return found


# --- parent classes -----------------------------------------------------------------------------

def _classes(session: Session, config: BookingConfig | None, first: date, last: date,
             today: date) -> list[ClassFigures]:
    in_year = (ClassSession.status != SessionStatus.CANCELLED, ClassSession.day >= first.isoformat(),
               ClassSession.day <= min(last, today).isoformat())
    held = list(session.scalars(select(ClassSession).where(*in_year)))
    bookings = defaultdict(list)
    taking_part = (ClassBookingStatus.BOOKED, ClassBookingStatus.ATTENDED, ClassBookingStatus.NO_SHOW)
    for booking in session.scalars(select(ClassBooking).join(ClassSession, ClassSession.id == ClassBooking.session_id)
                                   .where(*in_year, ClassBooking.status.in_(taking_part))):
        bookings[booking.session_id].append(booking)
    titles = {c.key: c.title for c in config.classes} if config else {}
    order = list(titles)
    for row in sorted(held, key=lambda s: (s.day, s.id)):
        titles.setdefault(row.class_key, row.title)
        if row.class_key not in order:
            order.append(row.class_key)
    found = []
    for key in order:
        sessions, persons, unrecorded = _per_month(), _per_month(), 0
        for row in (s for s in held if s.class_key == key):
            month = date.fromisoformat(row.day).month
            rows = bookings[row.id]
            recorded = any(b.status in (ClassBookingStatus.ATTENDED, ClassBookingStatus.NO_SHOW) for b in rows)
            unrecorded += bool(rows) and not recorded
            counted = sum(b.party for b in rows
                          if b.status == (ClassBookingStatus.ATTENDED if recorded else ClassBookingStatus.BOOKED))
            for m in (month, 0):
                sessions[m] += 1
                persons[m] += counted
        found.append(ClassFigures(key, titles[key], Line(tuple(sessions[m] for m in MONTHS), sessions[0]),
                                  Line(tuple(persons[m] for m in MONTHS), persons[0]), unrecorded))
    return found


# --- 32-week calls and pregnancies registered ----------------------------------------------------

def _calls(session: Session, first: date, last: date) -> CallFigures:
    registered, at_interview = _per_month(), _per_month()
    for day, via in session.execute(select(Mother.registered_on, Mother.registered_via).where(
            Mother.registered_on >= first.isoformat(), Mother.registered_on <= last.isoformat(),
            Mother.status != MotherStatus.REPLACED)):  # one pregnancy registered twice counts once
        for m in (date.fromisoformat(day).month, 0):
            registered[m] += 1
            at_interview[m] += via == "staff"
    tries = {outcome: _per_month() for outcome in OUTCOMES}
    latest: dict[int, tuple[datetime, int, str]] = {}  # call -> (at, id, outcome): her last try in the year
    # the year's bounds in JST as aware datetimes (stored UTC compares correctly)
    since = datetime.combine(first, time(0), JST)
    until = datetime.combine(last + timedelta(days=1), time(0), JST)
    for row in session.scalars(select(CallOutcome).where(CallOutcome.at >= since, CallOutcome.at < until)):
        month = row.at.astimezone(JST).month
        for m in (month, 0):
            tries.setdefault(row.outcome, _per_month())[m] += 1
        if row.call_id not in latest or (row.at, row.id) > latest[row.call_id][:2]:
            latest[row.call_id] = (row.at, row.id, row.outcome)
    outcomes = {outcome: _per_month() for outcome in tries}
    for at, _, outcome in latest.values():
        for m in (at.astimezone(JST).month, 0):
            outcomes[outcome][m] += 1
    due_in_year = (Call.due_on >= first.isoformat(), Call.due_on <= last.isoformat())
    due = session.execute(select(func.count(Call.id)).where(*due_in_year)).scalar_one()
    untried = session.execute(select(func.count(Call.id)).where(
        *due_in_year, Call.status != CallStatus.CANCELLED,
        ~select(CallOutcome.id).where(CallOutcome.call_id == Call.id).exists())
    ).scalar_one()
    cancelled = session.execute(select(func.count(Call.id)).where(*due_in_year, Call.status == CallStatus.CANCELLED)
                                ).scalar_one()

    def line(counts):
        return Line(tuple(counts[m] for m in MONTHS), counts[0])

    return CallFigures(registered=line(registered), at_interview=line(at_interview),
                       outcomes={k: line(v) for k, v in outcomes.items()},
                       tries={k: line(v) for k, v in tries.items()}, due=due,
                       without_record=untried, cancelled=cancelled)


# --- 相談 ------------------------------------------------------------------------------------------

def _consults(session: Session, first: date, last: date) -> list[ConsultFigures]:
    persons: dict[str, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    contacts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for who, topic, day in consults.counted(session, first=first, last=last):
        for key in (topic, "total"):
            for m in (day.month, 0):
                persons[key][m].add(who)
                contacts[key][m] += 1
    return [ConsultFigures(key, Line(tuple(len(persons[key][m]) for m in MONTHS), len(persons[key][0])),
                           Line(tuple(contacts[key][m] for m in MONTHS), contacts[key][0]))
            for key in (*consults.TOPICS, "total")]


# --- 利用申請 ---------------------------------------------------------------------------------------

def _applications(session: Session, first: date, last: date) -> ApplicationFigures:
    """申請数 and 承認数 by month. A draft is not counted; one sent and then withdrawn (her data deleted) or
    sent back stays an application of the month it was (last) sent."""
    since = datetime.combine(first, time(0), JST)
    until = datetime.combine(last + timedelta(days=1), time(0), JST)
    submitted = _per_jst_month(session.scalars(select(Application.submitted_at).where(
        Application.submitted_at >= since, Application.submitted_at < until)))
    approved = _per_jst_month(session.scalars(select(Application.decided_at).where(
        Application.state == ApplicationState.APPROVED, Application.decided_at >= since,
        Application.decided_at < until)))
    return ApplicationFigures(Line(tuple(submitted[m] for m in MONTHS), submitted[0]),
                              Line(tuple(approved[m] for m in MONTHS), approved[0]))


def _per_month() -> defaultdict[int, int]:
    """A number for each month (1 to 12) and for the year (0)."""
    return defaultdict(int)


def _per_jst_month(moments: Iterable[datetime | None]) -> defaultdict[int, int]:
    """How many moments fall in each JST month, and in the year (0)."""
    counts = _per_month()
    for at in moments:
        if at is None:
            continue  # the queries' bounds leave none out
        for m in (at.astimezone(JST).month, 0):
            counts[m] += 1
    return counts


def first_year(session: Session) -> int | None:
    """The earliest 年度 with a booking or a registration, for the year selector."""
    earliest = [session.scalar(select(func.min(CareBooking.start_date))),
                session.scalar(select(func.min(Mother.registered_on)))]
    days = [date.fromisoformat(d) for d in earliest if d]
    return fiscal_year(min(days)) if days else None
