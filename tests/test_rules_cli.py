"""`hagukumi rules check FILE` and `hagukumi rules try FILE CASES.json`."""
import json
import subprocess
import sys
from pathlib import Path

from scheduling.city.rules_cli import main

ROOT = Path(__file__).resolve().parent.parent
HAGUKUMI = str(ROOT / "config" / "rules" / "hagukumi.toml")


def test_check_summarises_in_japanese(capsys):
    assert main(["rules", "check", HAGUKUMI]) == 0
    out = capsys.readouterr().out
    assert "はぐくみ市の産後ケアのきまり" in out and "誤りはありません" in out
    assert "■ 令和7年度（2025年4月1日から2026年4月1日の前日まで）" in out
    assert "■ 令和8年度" in out and "産後ケアを必要とする方すべて" in out
    assert "料金 6回目から" in out and "1泊2日 = 1回" in out


def test_check_every_example(capsys):
    for name in ("oita", "yotsukaido"):
        assert main(["rules", "check", str(ROOT / "config" / "rules" / f"{name}.toml")]) == 0
    assert "1泊2日 = 2日" in capsys.readouterr().out


def test_check_names_line_and_field_of_mistakes(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text(Path(HAGUKUMI).read_text(encoding="utf-8").replace("cap = 6", "cpa = 6", 1), encoding="utf-8")
    assert main(["rules", "check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "1 件の誤り" in err
    assert "broken.toml:41: versions[0].types.short_stay.cpa: unknown setting" in err


def test_try_prints_decisions_as_json(tmp_path, capsys):
    cases = [
        {"name": "典型的なお母さん", "on_date": "2025-06-01",
         "answers": {"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20",
                     "need:family_help": "yes", "exclusions": "none", "babies": 1, "household": "taxed"},
         "existing_uses": [{"type": "home_visit", "start": "2025-05-10"}]},
        {"name": "途中", "on_date": "2025-06-01", "answers": {"relationship": "birth"}, "fees": True},
        {"name": "市外", "on_date": "2026-05-01", "answers": {"relationship": "birth", "residence": "other"},
         "language": "en"},
    ]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    assert main(["rules", "try", HAGUKUMI, str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    first = out[0]
    assert first["name"] == "典型的なお母さん" and first["version"]["label"] == "令和7年度"
    assert first["results"]["short_stay"]["status"] == "eligible"
    assert first["results"]["short_stay"]["fee_per_use"] == {"min": 2500, "max": 2500, "household": "taxed"}
    assert first["remaining_total"] == 6 and first["next_question"] is None
    assert out[1]["next_question"] == "residence"
    assert out[1]["results"]["day_care"]["status"] == "needs_check"
    third = out[2]["results"]["day_care"]
    assert out[2]["version"]["label"] == "令和8年度" and third["status"] == "not_eligible"
    assert third["reasons"][0]["key"] == "screening.reason.non_resident"
    assert "residents" in third["reasons"][0]["text"]


def test_try_reports_a_bad_case_and_goes_on(tmp_path, capsys):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"name": "日付なし", "answers": {}}, {"on_date": "2025-06-01"}]), encoding="utf-8")
    assert main(["rules", "try", HAGUKUMI, str(path)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert "error" in out[0] and out[1]["name"] == "case 2"


def test_usage_errors(capsys, tmp_path):
    assert main(["rules"]) == 2
    assert main(["rules", "try", HAGUKUMI, str(tmp_path / "missing.json")]) == 1


def test_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "scheduling.city.rules_cli", "rules", "check", HAGUKUMI], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "令和8年度" in done.stdout
