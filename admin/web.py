"""What every staff page shares: templates with 和暦 filters, the signed-in staff member, role checks,
CSRF on every form, one transaction per request.

    @router.get("/bookings")
    def bookings(request: Request, me: Me = Depends(signed_in("admin", "staff", "provider"))): ...

    @router.post("/bookings/{id}/confirm")
    def confirm(request: Request, me: Me = Depends(posted("admin", "staff")), ...): ...

`signed_in` redirects to the sign-in page without a session and answers 403 to a role that may not;
`posted` also checks the form's CSRF token. Pages call scheduling's services only.
"""
import hmac
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from scheduling.accounts import staff as staff_service
from scheduling.dates import japanese_dates
from scheduling.store.db import transaction
from scheduling.store.models import StaffUser

COOKIE = "hagukumi_staff"
ROLE_NAMES = {"admin": "管理者", "staff": "職員", "provider": "委託先"}
TYPE_NAMES = {"short_stay": "宿泊型", "day_care": "通所型", "home_visit": "訪問型"}
STATUS_NAMES = {"requested": "確認待ち", "confirmed": "確定", "declined": "お断り", "cancelled": "キャンセル",
                "attended": "利用済み", "no_show": "ご連絡のないお休み", "booked": "予約済み", "waiting": "キャンセル待ち",
                "offered": "空きのご案内中", "expired": "案内期限切れ"}

PREFERENCE_NAMES = {"morning": "平日の午前", "afternoon": "平日の午後", "evening": "平日の夕方",
                    "in_person": "会って話したい", "not_needed": "電話は不要", "none": "回答なし"}
OUTCOME_NAMES = {"phone": "電話で話した", "in_person": "会って話した", "not_reached": "つながらなかった",
                 "declined": "辞退された", "none": "まだ", "cancelled": "取りやめ（妊娠終了）"}
MOTHER_STATUS_NAMES = {"pregnant": "妊娠中", "mother": "出産後", "ended": "妊娠終了",
                       "replaced": "重複（センターの登録に統合）"}
PUSH_NAMES = {"care_confirmed": "予約確定", "care_declined": "予約のお断り", "care_day_before": "前日のお知らせ",
              "care_offer": "産後ケアのご案内", "class_day_before": "教室の前日のお知らせ",
              "class_offer": "教室の空きのご案内", "class_cancelled": "教室の中止", "class_confirmed": "教室の確定",
              "call_notice": "32週の電話のご案内",
              "consult_reply": "相談へのお返事", "richmenu": "メニューの切り替え"}
PUSH_STATUS_NAMES = {"pending": "送信予定", "sent": "送信済み", "failed": "送れなかった", "skipped": "送らなかった",
                     "cancelled": "取り消し"}
ACTOR_NAMES = {"mother": "ご本人（チャット）", "system": "自動"}
TOPIC_NAMES = {"body": "からだのこと", "baby": "赤ちゃんのこと", "feelings": "気持ちのこと", "other": "手続き・その他"}
ANSWER_NAMES = {"line": "LINEで", "phone": "電話で"}
BAND_NAMES = {"morning": "平日の午前", "afternoon": "平日の午後", "evening": "平日の夕方"}
SOURCE_NAMES = {"menu": "メニューから", "text": "入力したことばから", "safety": "安全のご案内のあとに",
                "care": "産後ケアの確認から"}
CLOSE_CATEGORY_NAMES = {"childcare": "育児のこと", "mother_health": "母の体調", "feelings": "気持ち・こころ",
                        "procedures": "手続き・制度", "to_care": "産後ケアにつないだ", "to_medical": "医療機関につないだ",
                        "other": "その他"}
MEDIA_NAMES = {"image": "画像", "video": "動画", "audio": "音声", "file": "ファイル", "sticker": "スタンプ",
               "location": "位置情報"}

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
templates.env.filters["wareki"] = japanese_dates.wareki
templates.env.filters["wareki_wd"] = lambda value: japanese_dates.wareki(value, weekday=True)
templates.env.filters["wareki_time"] = japanese_dates.wareki_time
templates.env.globals.update(ROLE_NAMES=ROLE_NAMES, TYPE_NAMES=TYPE_NAMES, STATUS_NAMES=STATUS_NAMES,
                             fiscal_label=japanese_dates.fiscal_label, PREFERENCE_NAMES=PREFERENCE_NAMES,
                             OUTCOME_NAMES=OUTCOME_NAMES, MOTHER_STATUS_NAMES=MOTHER_STATUS_NAMES,
                             PUSH_NAMES=PUSH_NAMES, PUSH_STATUS_NAMES=PUSH_STATUS_NAMES, TOPIC_NAMES=TOPIC_NAMES,
                             ANSWER_NAMES=ANSWER_NAMES, BAND_NAMES=BAND_NAMES, SOURCE_NAMES=SOURCE_NAMES,
                             CLOSE_CATEGORY_NAMES=CLOSE_CATEGORY_NAMES, MEDIA_NAMES=MEDIA_NAMES)


def waited(since, until) -> str:
    """How long she has waited, as staff say it: 「45分」「3時間10分」「2日と4時間」."""
    if since is None:
        return "—"
    minutes = max(int((until - since).total_seconds() // 60), 0)
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days}日と{hours}時間" if hours else f"{days}日"
    if hours:
        return f"{hours}時間{minutes}分" if minutes else f"{hours}時間"
    return f"{minutes}分"


templates.env.filters["waited"] = lambda since, until: waited(since, until)


def push_problem(error: str | None) -> str:
    """Why a push did not arrive, as staff can act on it (LINE's own words stay in the audit and the log)."""
    text = error or ""
    if "blocked" in text or re.search(r"property, \\?'to\\?'", text) or "HTTP 404" in text:
        return "LINEの友だち登録が解除されているか、送り先が見つからないため届きませんでした。"
    if "HTTP 400" in text:
        return "LINEがお知らせの内容を受け付けませんでした。管理者にお知らせください。"
    if "HTTP 429" in text:
        return "LINEの送信の上限（回数や月の通数）に達したため、届きませんでした。"
    if "HTTP 401" in text or "HTTP 403" in text:
        return "LINEの設定（チャネルのアクセストークン）に問題があるため送れませんでした。管理者にお知らせください。"
    if "cannot render" in text:
        return "お知らせの文面を作れませんでした（設定の誤り）。管理者にお知らせください。"
    if re.search(r"HTTP 5\d\d|Timeout|ClientError|Connect", text):
        return "LINE側の障害でしばらく届きませんでした。"
    return "届きませんでした（理由は操作の記録とログにあります）。"


def push_name(kind: str) -> str:
    return PUSH_NAMES.get(kind) or ("時期のお知らせ" if kind.startswith("timed:") else kind)


def who(actor: str | None, names: dict[str, str]) -> str:
    """A history's or the audit's actor ("staff:3", "mother", "system", "client:ADDRESS") as staff read it."""
    text = actor or ""
    if text.startswith("client:"):
        return f"接続元 {text.removeprefix('client:')}"
    return names.get(text) or ACTOR_NAMES.get(text) or text


templates.env.globals.update(push_name=push_name, who=who, push_problem=push_problem)


class SignInRequired(Exception):
    """No valid session: the app answers with a redirect to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but this role may not do this."""


@dataclass(frozen=True)
class Me:
    id: int
    login: str
    name: str
    role: str
    provider_id: int | None
    csrf: str

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"


def now(request: Request):
    return request.app.state.clock()


@contextmanager
def db(request: Request):
    """The request's transaction: services below never commit."""
    with transaction(request.app.state.sessions) as session:
        yield session


def session_cookie(request: Request) -> tuple[str, str]:
    """(name, path) of the session cookie. At the host's root, `__Host-` (Secure, Path=/, no Domain: no
    other host can set it); mounted under a path (/admin), `__Secure-` with that path, as `__Host-` needs
    Path=/ and the cookie should not go to other apps on the host; over plain HTTP (local chat only), no
    prefix. It is a session cookie (no Max-Age): the server ends it on idle or after the lifetime."""
    root = request.scope.get("root_path", "")
    if not request.app.state.secure_cookies:
        return COOKIE, root + "/"
    return (f"__Host-{COOKIE}", "/") if not root else (f"__Secure-{COOKIE}", root + "/")


def session_token(request: Request) -> str | None:
    return request.cookies.get(session_cookie(request)[0])


def admin_setting(request: Request, key: str) -> timedelta:
    """The city's [admin] setting as a time span: idle_minutes, session_hours."""
    value = getattr(request.app.state.city.admin, key)
    return timedelta(minutes=value) if key == "idle_minutes" else timedelta(hours=value)


def _me(request: Request) -> Me:
    with db(request) as session:
        found = staff_service.session_of(session, token=session_token(request), now=now(request),
                                         idle=admin_setting(request, "idle_minutes"))
        if found is None:
            raise SignInRequired()
        user, staff_session = found
        return _as_me(user, staff_session.csrf_token)


def _as_me(user: StaffUser, csrf: str) -> Me:
    return Me(user.id, user.login, user.display_name, user.role, user.provider_id, csrf)


def signed_in(*roles: str):
    """A dependency: the signed-in staff member, if their role is one of `roles`."""
    def dependency(request: Request) -> Me:
        me = _me(request)
        if roles and me.role not in roles:
            raise Forbidden()
        return me
    return dependency


def posted(*roles: str):
    """A dependency for forms: signed in with one of `roles`, and the form's CSRF token matches."""
    async def dependency(request: Request) -> Me:
        me = _me(request)
        form = await request.form()
        if not hmac.compare_digest(str(form.get("csrf", "")), me.csrf):
            raise Forbidden()
        if roles and me.role not in roles:
            raise Forbidden()
        return me
    return dependency


def url(request: Request, path: str) -> str:
    """An address inside the admin app, wherever it is mounted."""
    return request.scope.get("root_path", "") + path


def page(request: Request, template: str, me: Me | None, **context):
    return templates.TemplateResponse(request, template, {"me": me, "url": lambda p: url(request, p),
                                                          **context})


def staff_names(session) -> dict[str, str]:
    """"staff:<id>" -> the staff member's name, for histories and the audit trail."""
    return {f"staff:{user.id}": user.display_name for user in staff_service.all_staff(session)}


def as_date(text: str | None) -> date | None:
    """A date from a form or a query (YYYY-MM-DD), or None when empty or not a date."""
    try:
        return date.fromisoformat((text or "").strip()) if (text or "").strip() else None
    except ValueError:
        return None


def as_int(text: str | None) -> int | None:
    """A whole number from a form or a query that fits the database's INTEGER, or None."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) < 2**31 else None


def missing(request: Request, me: Me):
    """The record does not exist, or this account may not see it: the same answer for both."""
    response = page(request, "missing.html", me)
    response.status_code = 404
    return response


def given_contacts(request: Request, session, me: Me, user_ids: set[str], where: str) -> dict[str, dict]:
    """Name and phone each mother gave in her 利用申請 (where she gave them), for the call list and the 相談
    pages; a read of them is written to the audit trail with the page that showed them."""
    from scheduling.applications import service as applications
    from scheduling.store import audit
    found = applications.contacts(session, user_ids=user_ids, cipher=request.app.state.cipher) if user_ids else {}
    if found:
        audit.record(session, actor=me.actor, action="application_read", subject="applications", now=now(request),
                     after={"via": where, "count": len(found)})
    return found
