"""Fixtures' helpers for the 利用申請 tests: a valid form, keys, a postal lookup."""
from scheduling.applications.crypto import Cipher, new_key

KEY_OLD, KEY_NEW = new_key(), new_key()
CIPHER = Cipher([KEY_OLD])


def postal(code: str) -> str | None:
    """Two postal codes of the example city; anything else does not exist."""
    return {"1000001": "東京都千代田区千代田", "2900001": "千葉県市原市草刈"}.get(code)


def valid_form(**changes) -> dict:
    form = {"mother_name": "山田 花子", "mother_kana": "やまだ はなこ", "mother_birth_date": "1994-05-06",
            "postal_code": "100-0001", "address": "東京都千代田区千代田1-1", "phone": "090-1234-5678",
            "email": "", "baby_born": "yes", "baby_name": "山田 陽菜", "baby_kana": "ヤマダ ヒナ",
            "baby_birth_date": "2026-11-01", "birth_weight_g": "2980", "weeks_at_birth": "39",
            "due_date": "", "techo_number": "", "care_types": ["short_stay", "day_care"], "household": "taxed",
            "consent": True}
    form.update(changes)
    return form
