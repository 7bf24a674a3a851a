"""The safety net against tests/corpus/safety.tsv: how mothers really type. No emergency, life-in-danger
or violence message may be missed or answered as a lesser category; the other categories and the false
alarms on ordinary messages (near-misses included) are measured and bounded."""
from collections import Counter
from pathlib import Path

import pytest

from scheduling.safety import load_safety

ROOT = Path(__file__).resolve().parents[1]
NET = load_safety(ROOT / "config" / "safety.toml")
CRISIS = ("emergency", "life", "violence")


def corpus() -> list[tuple[str, str]]:
    rows = []
    for line in (ROOT / "tests" / "corpus" / "safety.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, expected = line.split("\t")
            rows.append((text, expected))
    return rows


def answered(text: str) -> str:
    match = NET.check(text)
    return match.category if match else "none"


def test_the_corpus_is_large_and_names_only_known_categories():
    rows = corpus()
    counts = Counter(expected for _, expected in rows)
    assert len(rows) >= 220
    assert set(counts) == {c.key for c in NET.categories} | {"none"}
    assert min(counts.values()) >= 30
    assert len({text for text, _ in rows}) == len(rows) - 1   # データを消したい twice: 2 near-miss lists


@pytest.mark.parametrize("category", CRISIS)
def test_no_crisis_message_is_missed(category):
    missed = [(text, answered(text)) for text, expected in corpus()
              if expected == category and answered(text) != category]
    assert missed == []


def test_recall_per_category_and_false_alarms(capsys):
    rows = corpus()
    recall = {}
    for category in [c.key for c in NET.categories]:
        texts = [text for text, expected in rows if expected == category]
        recall[category] = sum(answered(t) == category for t in texts) / len(texts)
    ordinary = [text for text, expected in rows if expected == "none"]
    alarms = [text for text in ordinary if answered(text) != "none"]
    rate = len(alarms) / len(ordinary)
    with capsys.disabled():
        print("\nsafety corpus: recall " + ", ".join(f"{k} {v:.0%}" for k, v in recall.items())
              + f"; false alarms {len(alarms)}/{len(ordinary)} ({rate:.1%}): {alarms}")
    assert all(recall[c] == 1 for c in CRISIS)
    assert recall["baby_ill"] >= 0.95 and recall["distress"] >= 0.95
    assert rate <= 0.05
    # no ordinary message ever raises an urgent item for staff except the one named in docs/safety.md
    urgent = [t for t in alarms if NET.check(t).urgent]
    assert urgent == ["救急車のサイレンで赤ちゃんが起きた"]


def test_a_typed_link_code_is_not_read_as_words():
    """Codes are 8 letters and digits; one in about 130 holds "DV", which must not raise an urgent item."""
    import random

    from scheduling.text.codes import ALPHABET, LENGTH
    randomly = random.Random(10)
    codes = ["".join(randomly.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(3000)]
    assert sum("DV" in code for code in codes) > 10
    assert [code for code in codes if NET.check(code)] == []
    assert [NET.check(code) for code in ("74ADV2AU", "74AD-V2AU", "７４ＡＤＶ２ＡＵ")] == [None, None, None]
    assert NET.check("DV").category == NET.check("dv victim 2").category == "violence"   # words, not a code
