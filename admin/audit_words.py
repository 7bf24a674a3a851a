"""The audit trail as a person reads it: 「保健師 佐藤が 受付番号12 を確定」, not JSON and `call:8`."""
import json

from admin.web import STATUS_NAMES, who

SUBJECTS = {"care_booking": "受付番号{}", "mother": "記録番号{}", "staff": "職員 {}", "call": "32週の電話（番号{}）",
            "consult": "相談{}", "alert": "チャットのことば（番号{}）", "reminder": "お知らせ（番号{}）",
            "class_session": "教室の回（番号{}）", "class_booking": "教室の予約（番号{}）",
            "application": "利用申請{}", "applications": "利用申請の一覧"}
FIELDS = {"status": "状態", "reason": "理由", "note": "メモ", "category": "区分", "outcome": "結果",
          "retry_on": "次にかける日", "staff_ref": "登録番号", "due_date": "出産予定日", "babies": "お子さんの人数",
          "role": "役割", "login": "ログインID", "error": "理由", "length": "文字数", "message": "メッセージ番号",
          "state": "状態", "number": "承認番号", "period": "期間", "consent_version": "同意の版", "via": "見た画面",
          "count": "件数", "booking": "受付番号", "staff_need": "センターの判断"}
APPLICATION_STATES = {"draft": "入力中", "submitted": "承認待ち", "approved": "承認済み", "returned": "差し戻し",
                      "withdrawn": "取り下げ"}
STAFF_NEED_NAMES = {"doctor_recommended": "産婦健康診査等の結果、医師から勧められた方",
                    "staff_recognised": "保健師等が特に支援が必要と認めた方"}
ACTORS = {"command line": "管理コマンド", "hagukumi chat": "管理コマンド（ローカルのチャット）", "test": "管理コマンド"}


def subject_in_words(subject: str, names: dict[str, str]) -> str:
    kind, _, ref = subject.partition(":")
    if kind == "staff" and subject in names:
        return f"職員 {names[subject]}"
    if kind == "deleted":
        return "削除を希望された方（名前なし）"
    template = SUBJECTS.get(kind)
    return template.format(ref) if template and (ref or "{}" not in template) else subject


def actor_in_words(actor: str, names: dict[str, str]) -> str:
    return ACTORS.get(actor) or who(actor, names)


def details(before: str | None, after: str | None) -> str:
    """What changed, in words: 「状態: 確認待ち → 確定」, 「理由: …」."""
    old, new = _load(before), _load(after)
    if not isinstance(old, dict) or not isinstance(new, dict):
        return " / ".join(str(v) for v in (old, new) if v)
    parts = []
    for key in dict.fromkeys([*old, *new]):
        name = FIELDS.get(key, key)
        was, now = _value(key, old.get(key)), _value(key, new.get(key))
        if key in old and key in new and was != now:
            parts.append(f"{name}: {was} → {now}")
        elif key in new:
            parts.append(f"{name}: {now}")
        elif key in old:
            parts.append(f"{name}: {was}（変更前）")
    return "、".join(parts)


def _value(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if key == "status":
        return STATUS_NAMES.get(value, {"open": "受付中", "closed": "終了", "handled": "対応済み", "pending": "送信予定",
                                        "failed": "送れなかった", "resolved": "対応済み"}.get(value, str(value)))
    if key == "state":
        return APPLICATION_STATES.get(value, str(value))
    if key == "staff_need":
        return STAFF_NEED_NAMES.get(value, str(value))
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, dict):
        return "、".join(f"{FIELDS.get(k, k)} {v}" for k, v in value.items())
    return str(value)


def _load(text: str | None):
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text
