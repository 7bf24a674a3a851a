"""What people really type, folded into one comparable form, so that 「シニタイ」, 「ｼﾆﾀｲ」, 「しにたーい」,
「し に た い ！！」 and 「しにたいいい」 all read 「しにたい」 (the safety net and typed intents match on this).

    normalize("ﾍﾙﾌﾟ!!") == "へるぷ"      normalize("Help me") == "helpme"      normalize("😢😢😢") == "😢"

Steps: NFKC (full/half width), lower case, katakana → hiragana (jaconv), long-vowel marks and waves removed
(ー 〜 ~), a small vowel that only stretches the kana before it dropped (つらぁい → つらい, but ふぁ stays),
spaces, line breaks and punctuation removed, and a run of three or more of the same character cut to one
(いいい → い, 😭😭😭 → 😭; two stay, for いい and ここ; digits stay, for 1000). Emoji and other symbols are kept.
"""
import re
import unicodedata

import jaconv

_LONG_MARKS = re.compile(r"[ー〜~―‐]+")   # after NFKC ｰ is ー and ～ is ~; ASCII - is left to patterns
_RUNS = re.compile(r"(\D)\1{2,}")        # not digits: 1000 stays 1000
_SMALL_VOWELS = {"ぁ": "あ", "ぃ": "い", "ぅ": "う", "ぇ": "え", "ぉ": "お"}
_ROWS = {vowel: set(kana) for vowel, kana in {
    "あ": "あかさたなはまやらわがざだばぱゃ",
    "い": "いきしちにひみりぎじぢびぴ",
    "う": "うくすつぬふむゆるぐずづぶぷゅ",
    "え": "えけせてねへめれげぜでべぺ",
    "お": "おこそとのほもよろをごぞどぼぽょ",
}.items()}


def fold(text: str) -> str:
    """Width, case, katakana, long-vowel marks and stretching small vowels; spaces and punctuation kept.
    (Used alone for regex patterns, whose punctuation is syntax: case is left alone there too.)"""
    text = jaconv.kata2hira(unicodedata.normalize("NFKC", text))
    text = _LONG_MARKS.sub("", text)
    kept: list[str] = []
    for char in text:
        vowel = _SMALL_VOWELS.get(char)
        if vowel and kept and (kept[-1] == char or kept[-1] in _ROWS[vowel]):
            continue
        kept.append(char)
    return "".join(kept)


def normalize(text: str) -> str:
    text = fold(text).lower()
    text = "".join(c for c in text if not unicodedata.category(c).startswith(("P", "Z", "Cc")))
    return _RUNS.sub(r"\1", text)
