"""normalize(): what people really type folds into one comparable form."""
import pytest

from scheduling.text.textnorm import fold, normalize


@pytest.mark.parametrize("typed", ["しにたい", "シニタイ", "ｼﾆﾀｲ", "しにたーい", "し に た い ！！", "しにたいいい",
                                   "しにたぁい", "「しにたい」", "し　に　た　い", "しにたい…", "しにたい\n"])
def test_the_ways_of_typing_one_word_read_the_same(typed):
    assert normalize(typed) == "しにたい"


@pytest.mark.parametrize("typed, folded", [
    ("HELP me!", "helpme"), ("Ｈｅｌｐ", "help"), ("ﾍﾙﾌﾟ", "へるぷ"), ("メニュー", "めにゅ"),
    ("０１２０－２７９－３３８", "0120279338"), ("37.5度", "375度"), ("1000円", "1000円"),   # digits never squashed
    ("つらぁぁい", "つらい"), ("ファミリー", "ふぁみり"),       # a stretching small vowel goes, ふぁ stays
    ("いいえ", "いいえ"), ("ここ", "ここ"),                     # two of a kind stay
    ("😢😢😢", "😢"), ("😭😭", "😭😭"), ("予約できました😊", "予約できました😊"),  # emoji are kept
    ("I can't breathe", "icantbreathe"), ("ＤＶ", "dv"), ("", ""),
])
def test_width_case_kana_marks_punctuation_and_runs(typed, folded):
    assert normalize(typed) == folded


def test_fold_keeps_what_a_regular_expression_needs():
    assert fold("(ミルク|オッパイ)[0-9]+\\D") == "(みるく|おっぱい)[0-9]+\\D"
    assert fold("ｼﾆﾀｰｲ") == "しにたい"
