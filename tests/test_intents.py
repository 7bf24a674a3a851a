"""Typed intents: tests/corpus/intents.tsv read by intent_of (accuracy ≥ 95%), every entry of the word
files reachable, a stop only when the whole message is one, and the files' validator naming line and field."""
from pathlib import Path

import pytest

from dialogs.intents import INTENTS, IntentsError, intent_of, means_stop, parse_words, word_files

ROOT = Path(__file__).resolve().parents[1]


def corpus() -> list[tuple[str, str]]:
    rows = []
    for line in (ROOT / "tests" / "corpus" / "intents.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, expected = line.split("\t")
            rows.append((text, expected))
    return rows


def test_the_corpus_is_read_with_at_least_95_percent_accuracy(capsys):
    rows = corpus()
    assert len(rows) >= 160
    assert {expected for _, expected in rows} == set(INTENTS) | {"none"}
    wrong = [(text, expected, intent_of(text)) for text, expected in rows if (intent_of(text) or "none") != expected]
    accuracy = 1 - len(wrong) / len(rows)
    with capsys.disabled():
        print(f"\nintents corpus: {len(rows) - len(wrong)}/{len(rows)} right ({accuracy:.1%}); wrong: {wrong}")
    assert accuracy >= 0.95


@pytest.mark.parametrize("text, intent", [
    ("予約をキャンセルしたい", "cancel_booking"), ("キャンセル待ちはできますか", "class"),
    ("キャンセル待ちに登録したい", "class"), ("教室の予約をキャンセルしたい", "cancel_booking"),
    ("こんにちは、産後ケアを使いたいです", "care"), ("直接電話したいです", "phone"), ("電話で話したい", "consult"),
    ("スキンケアの話", None), ("That was helpful", None), ("", None), ("！！", None),
])
def test_priority_and_except_phrases(text, intent):
    assert intent_of(text) == intent


def test_every_entry_of_every_file_is_reachable():
    """A word shadowed by a higher intent or an except phrase would be dead: each answers its own intent."""
    files = word_files()
    assert [path.stem for path in sorted((ROOT / "dialogs" / "intents").glob("*.toml"))] == ["en", "ja"]
    for words in files:
        assert [i.name for i in words.intents] == list(INTENTS)
        for intent in words.intents:
            for _, written in intent.words:
                assert intent_of(written) == intent.name, written
            for whole in intent.whole:
                assert intent_of(whole) == intent.name, whole
        for stop in words.stop_words:
            assert means_stop(stop), stop


@pytest.mark.parametrize("text", ["やめる", "やめます", "ヤメマス", "やめる！", "キャンセル", "ｷｬﾝｾﾙ", "キャンセルで",
                                  "キャンセルでお願いします", "キャンセルします", "中止", "中止してください", "もういい",
                                  "もういいです", "やっぱりやめます", "やめとく", "結構です", "終わり", "stop", "STOP",
                                  "Cancel", "cancel please", "never mind", "やめる😢"])
def test_a_whole_message_that_is_a_stop_word_means_stop(text):
    assert means_stop(text)


@pytest.mark.parametrize("text", ["予約をキャンセルしたい", "キャンセル待ちはできますか", "キャンセル料はかかりますか",
                                  "やめるかどうか迷っています", "中止になりますか", "教室をやめたい人はいますか",
                                  "いいです", "はい", "stop the rain", "cancel my booking", "", "💦"])
def test_a_sentence_that_holds_a_stop_word_is_not_a_stop(text):
    assert not means_stop(text)


def test_the_word_files_name_every_mistake_with_line_and_field():
    text = '''[stop]
words = ["やめる", "ヤメル"]

[intents.care]
words = ["産後ケア", ""]
except = ["教室"]

[intents.cooking]
words = ["料理"]

[intents.help]
'''
    with pytest.raises(IntentsError) as caught:
        parse_words(text, name="ja.toml")
    assert caught.value.problems == [
        "ja.toml:2: stop.words[1]: reads the same as words[0] after normalising（重複しています）",
        "ja.toml:5: intents.care.words[1]: must be text with letters（文字で）",
        "ja.toml:6: intents.care.except[0]: 「教室」 holds none of this intent's words, so it changes nothing"
        "（この項目の言葉を含まないので効きません）",
        "ja.toml:8: intents.cooking: unknown setting（不明な項目）; allowed: " + ", ".join(INTENTS),
        "ja.toml:11: intents.help: needs words or whole（words か whole が必要です）",
    ]
