"""操作の記録: the audit trail, newest first, by subject (administrators only)."""
from fastapi import APIRouter, Depends, Request

from admin import audit_words
from admin.web import Me, db, page, signed_in, staff_names
from scheduling.store import audit

router = APIRouter()
ACTIONS = {"signed_in": "ログイン", "staff_created": "職員アカウント作成", "staff_disabled": "職員アカウント停止",
           "staff_active": "職員アカウント再開", "password_set": "パスワード変更",
           "care_confirmed": "予約の確定", "care_declined": "予約のお断り", "care_attended": "利用済み",
           "care_no_show": "ご連絡のないお休み", "care_cancelled": "予約のキャンセル（電話）",
           "class_session_created": "教室の回の追加", "class_session_changed": "教室の回の変更",
           "class_session_cancelled": "教室の回の中止", "class_attendance": "教室の出欠",
           "call_recorded": "32週の電話の記録", "mother_registered": "面談での登録", "link_code_issued": "LINE コード発行",
           "linked": "LINE とつながった", "record_viewed": "記録の閲覧", "data_deleted": "申し出による削除",
           "pregnancy_ended": "妊娠の終了", "staff_need_marked": "産後ケアの対象（センターの判断）をつけた",
           "staff_need_removed": "産後ケアの対象（センターの判断）を外した",
           "sign_in_failed": "ログイン失敗", "sign_in_unlocked": "ログインのロック解除",
           "password_changed": "パスワード変更（ご本人）", "totp_enabled": "2段階認証の設定",
           "totp_disabled": "2段階認証の停止", "consult_viewed": "相談の閲覧", "consult_replied": "相談へのお返事",
           "consult_closed": "相談の終了", "alert_handled": "チャットのことばの対応", "staff_ref_set": "登録番号をつけた",
           "reminder.resend": "お知らせの再送", "reminder.resolve": "お知らせを対応済みに",
           "message.resend": "返信の再送",
           "registration_replaced": "登録の統合"}


@router.get("/audit")
def entries(request: Request, me: Me = Depends(signed_in("admin")), subject: str = ""):
    subject = subject.strip()
    with db(request) as session:
        rows = audit.entries(session, limit=300, subject=subject or None)
        return page(request, "audit.html", me, rows=rows, subject=subject, names=staff_names(session),
                    actions=ACTIONS, words=audit_words)
