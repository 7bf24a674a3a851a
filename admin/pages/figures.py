"""実績: the fiscal year's figures as a page, as CSV for Excel, and as an A4 print view in the form of a
municipal 事業実績 table. Staff and administrators only. Counting rules: scheduling/reports/statistics.py."""
import csv
import io
from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from admin.web import TOPIC_NAMES, TYPE_NAMES, Me, db, now, page, signed_in
from scheduling.city.city_file import City
from scheduling.dates.calendar import jst_today
from scheduling.dates.japanese_dates import fiscal_label, fiscal_year
from scheduling.reports import statistics

router = APIRouter()
STAFF = signed_in("admin", "staff")
OUTCOME_NAMES = {"phone": "電話", "in_person": "面接", "not_reached": "つながらず", "declined": "辞退"}
MONTH_NAMES = tuple(f"{m}月" for m in statistics.MONTHS)
YEAR = Query(None, ge=2000, le=2100)


def _figures(request: Request, year: int | None) -> tuple[statistics.Figures, list[int]]:
    today = jst_today(now(request))
    current = fiscal_year(today)
    year = current if year is None else year
    city = request.app.state.city
    with db(request) as session:
        figures = statistics.year_figures(session, rules=city.rules,
                                          config=city.booking, year=year, today=today)
        first = statistics.first_year(session) or current
    return figures, sorted(set(range(min(first, current), current + 1)) | {year}, reverse=True)


def rows(figures: statistics.Figures) -> list[tuple[str, str, str, statistics.Line]]:
    """Every line of the figures as (区分, 項目, 単位, line): the CSV, and the order of the tables."""
    found = []
    for care in figures.care:
        name = "産後ケア " + ("合計" if care.care_type == "total" else TYPE_NAMES.get(care.care_type, care.care_type))
        found += [(name, "実人数", "人", care.persons), (name, "延べ", care.unit, care.uses),
                  (name, "未確定", care.unit, care.pending), (name, "キャンセル", "件", care.cancelled),
                  (name, "ご連絡のないお休み", "件", care.no_show)]
    for parent_class in figures.classes:
        found += [(parent_class.title, "開催回数", "回", parent_class.sessions),
                  (parent_class.title, "参加者", "人", parent_class.persons)]
    calls = figures.calls
    found.append(("妊娠の登録", "登録", "件", calls.registered))
    found.append(("妊娠の登録", "うち面接での登録（妊娠届出時）", "件", calls.at_interview))
    found += [("32週の電話", OUTCOME_NAMES.get(k, k), "人", line) for k, line in calls.outcomes.items()]
    found += [("32週の電話（延べ）", OUTCOME_NAMES.get(k, k), "件", line) for k, line in calls.tries.items()]
    for c in figures.consults:
        name = "相談 " + ("合計" if c.topic == "total" else TOPIC_NAMES.get(c.topic, c.topic))
        found += [(name, "実人数", "人", c.persons), (name, "延べ件数", "件", c.contacts)]
    if figures.applications is not None:
        found += [("産後ケア 利用申請", "申請数", "件", figures.applications.submitted),
                  ("産後ケア 利用申請", "承認数", "件", figures.applications.approved)]
    return found


def _context(figures: statistics.Figures, city: City) -> dict:
    return dict(f=figures, months=MONTH_NAMES, type_names=TYPE_NAMES, outcome_names=OUTCOME_NAMES,
                city_name=city.name, rules=statistics.RULES,
                stay_units={"night": "1泊を1と数える", "day": "1日を1と数える（1泊2日は2）", "stay": "1回の宿泊を1と数える"})


@router.get("/figures")
def figures_page(request: Request, year: int | None = YEAR, me: Me = Depends(STAFF)):
    figures, years = _figures(request, year)
    return page(request, "figures.html", me, years=years, yesterday=(figures.today - timedelta(days=1)).isoformat(),
                **_context(figures, request.app.state.city))


@router.get("/figures/print")
def figures_print(request: Request, year: int | None = YEAR, me: Me = Depends(STAFF)):
    figures, _ = _figures(request, year)
    return page(request, "figures_print.html", me, **_context(figures, request.app.state.city))


@router.get("/figures.csv")
def figures_csv(request: Request, year: int | None = YEAR, me: Me = Depends(STAFF)):
    """UTF-8 with a BOM and CRLF, so that Excel opens the Japanese correctly with a double click."""
    figures, _ = _figures(request, year)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["年度", "区分", "項目", "単位", *MONTH_NAMES, "年度計"])
    for section, item, unit, line in rows(figures):
        writer.writerow([figures.label, section, item, unit, *line.months, line.year])
    name = f"{fiscal_label(figures.year)}_産後ケア等実績.csv"
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"figures-{figures.year}.csv\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})
