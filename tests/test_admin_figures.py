"""The 実績 page, its CSV for Excel and its A4 print view, on the fixture year of test_statistics."""
import csv
import io
import re
from datetime import date, datetime
from urllib.parse import unquote

import pytest

from admin.pages.figures import rows
from admin.web import templates
from scheduling.dates.calendar import JST
from scheduling.reports import statistics
from scheduling.store.db import transaction
from tests.admin_helpers import CITY, add_staff, admin_app, signed_in_client
from tests.browser_helpers import a4_pdf, chromium, pdf_pages
from tests.test_statistics import fill_year

NOW = datetime(2027, 4, 10, 9, 0, tzinfo=JST)     # 令和9年度 has begun; 令和8年度 is complete


@pytest.fixture
def app(sessions):
    fill_year(sessions)
    return admin_app(sessions, clock=lambda: NOW)


@pytest.fixture
def staff(app, sessions):
    add_staff(sessions, "sato", "staff")
    return signed_in_client(app, "sato")


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def expected(sessions, year=2026) -> statistics.Figures:
    with transaction(sessions) as session:
        return statistics.year_figures(session, rules=CITY.rules, config=CITY.booking,
                                       year=year, today=NOW.date())


def test_the_page_shows_the_year_its_tables_and_the_counting_rules(staff):
    html = staff.get("/figures?year=2026").text
    assert "令和8年度 実績" in html and "年度は終わっています" in html
    assert '<option value="2026" selected>' in html and '<option value="2027"' in html
    total = re.search(r'data-type="total" data-item="実人数（人）">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', total)[-1] == "6"   # a mother once across types
    for rule in statistics.RULES:
        assert rule in html
    assert "令和8年度の「利用のきまり」" in html and "1泊を1と数える" in html
    assert "パパママ教室" in html and "32週の電話" in html
    assert "未確定 延べ1" in html and "/bookings?status=confirmed&amp;last=2027-04-09" in html


def test_the_current_year_is_shown_by_default_and_marked_unfinished(staff):
    html = staff.get("/figures").text
    assert "令和9年度 実績" in html and "年度の途中です" in html


def test_the_csv_opens_in_excel_and_parses_back_to_the_same_numbers(staff, sessions):
    response = staff.get("/figures.csv?year=2026")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")                      # UTF-8 with BOM
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="figures-2026.csv"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "令和8年度_産後ケア等実績.csv"
    text = response.content.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")           # CRLF only
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == ["年度", "区分", "項目", "単位", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月",
                        "12月", "1月", "2月", "3月", "年度計"]
    parsed = {(r[1], r[2]): [int(n) for n in r[4:]] for r in table[1:]}
    assert all(r[0] == "令和8年度" for r in table[1:])
    assert parsed[("産後ケア 合計", "実人数")][-1] == 6
    assert parsed[("産後ケア 宿泊型", "延べ")] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5]
    assert parsed[("産後ケア 訪問型", "キャンセル")][-1] == 1
    want = {(section, item): [*line.months, line.year] for section, item, _, line in rows(expected(sessions))}
    assert parsed == want and len(table) == len(want) + 1


def test_the_print_view_is_a_municipal_report_with_the_citys_name(staff):
    html = staff.get("/figures/print?year=2026").text
    assert "<h1>令和8年度 産後ケア事業 実績報告</h1>" in html
    assert CITY.name in html and "令和9年4月10日作成" in html and "年度途中" not in html
    assert "<nav>" not in html                                              # no admin menu on paper
    heads = re.search(r'<table class="figures" id="care">.*?</tr>', html, re.S).group(0)
    assert [m for m in re.findall(r">(\d+月)<", heads)] == [f"{m}月" for m in statistics.MONTHS]


def test_providers_and_strangers_are_refused(app, sessions):
    add_staff(sessions, "clinic", "provider", provider_key="sakura")
    provider = signed_in_client(app, "clinic")
    for path in ("/figures", "/figures.csv?year=2026", "/figures/print?year=2026"):
        assert provider.get(path).status_code == 403, path
    assert "/figures" not in provider.get("/").text                         # not in a provider's menu


def test_the_print_view_fits_on_one_a4_page(staff, browser, tmp_path):
    html = _inline_css(staff, staff.get("/figures/print?year=2026").text)
    page = browser.new_page()
    page.set_content(html)
    assert pdf_pages(a4_pdf(page)) == 1
    page.close()


def test_the_print_view_fits_one_page_even_with_large_numbers(staff, browser, tmp_path):
    """The widest a year can be: four-digit months, five-digit years, two more classes."""
    big = statistics.Line(tuple([8888] * 12), 88888)
    figures = expected_big(big)
    html = templates.get_template("figures_print.html").render(
        f=figures, url=lambda p: p, months=[f"{m}月" for m in statistics.MONTHS], city_name="はぐくみ市",
        type_names={"short_stay": "宿泊型", "day_care": "通所型", "home_visit": "訪問型"},
        outcome_names={"phone": "電話", "in_person": "面接", "not_reached": "つながらず", "declined": "辞退"},
        rules=statistics.RULES, stay_units={"night": "1泊を1と数える"})
    page = browser.new_page()
    page.set_content(_inline_css(staff, html))
    pdf = a4_pdf(page)
    (tmp_path / "figures-big.pdf").write_bytes(pdf)
    page.screenshot(path=str(tmp_path / "figures-big.png"), full_page=True)
    assert pdf_pages(pdf) == 1
    page.close()


def expected_big(big: statistics.Line) -> statistics.Figures:
    care = [statistics.CareFigures(t, "泊" if t == "short_stay" else "回", big, big, big, big, big)
            for t in ("short_stay", "day_care", "home_visit", "total")]
    classes = [statistics.ClassFigures(f"c{i}", f"教室{i} パパママ教室（土曜）", big, big, 0) for i in range(4)]
    calls = statistics.CallFigures(big, big, {k: big for k in ("phone", "in_person", "not_reached", "declined")},
                                   {k: big for k in ("phone", "in_person", "not_reached", "declined")}, 88888, 0, 0)
    return statistics.Figures(2026, "令和8年度", date(2026, 4, 1), date(2027, 3, 31), date(2027, 4, 10), True,
                              care, classes, calls, [("令和8年度", date(2026, 4, 1), "night")],
                              [statistics.ConsultFigures(t, big, big)
                               for t in ("body", "baby", "feelings", "other", "total")],
                              statistics.ApplicationFigures(big, big))


def _inline_css(client, html: str) -> str:
    css = client.get("/static/admin.css").text
    return re.sub(r'<link rel="stylesheet" href="[^"]*">', f"<style>{css}</style>", html)
