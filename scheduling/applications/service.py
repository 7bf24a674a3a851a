"""Drafts, submit, the city's decision, and who may read what. Services never commit: the caller's
transaction does (the LIFF page's request, the admin page's request).

The page names its draft by `draft_token` (random, per draft, given only to her verified LINE id): a save or a
submit must bring the token of a draft that is hers, so a forged page cannot write into another's
application, and a second submit of the same draft answers what the first did."""
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import String, cast, delete, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling.applications import fields
from scheduling.applications.crypto import Cipher
from scheduling.applications.models import OPEN_STATES, Application
from scheduling.applications.states import ApplicationState
from scheduling.city.application_config import ApplicationConfig
from scheduling.dates.calendar import JST, jst_today
from scheduling.dates.japanese_dates import fiscal_label, fiscal_year
from scheduling.family import mothers, screenings
from scheduling.family.statuses import MotherStatus
from scheduling.messaging import reminders
from scheduling.rules.periods import add_months
from scheduling.store import audit
from scheduling.store.models import Reminder
from scheduling.store.sql import affected

EDITABLE = (ApplicationState.DRAFT, ApplicationState.RETURNED)
SUBMITTED_OR_DECIDED = (ApplicationState.SUBMITTED, ApplicationState.APPROVED, ApplicationState.RETURNED)
MAX_REASON = 200
PROVIDER_FIELDS = ("mother_name", "mother_kana", "phone", "baby_name")   # besides the baby's birth date


class NotFound(LookupError):
    """No draft of hers with that token (never made, or erased with her data)."""


class Closed(ValueError):
    """The application is no longer hers to change (submitted and waiting, or decided)."""


@dataclass(frozen=True)
class Submitted:
    ok: bool
    application: Application | None
    problems: dict = field(default_factory=dict)
    again: bool = False   # the same draft was already submitted: nothing new was written


def approval_number(row: Application, config: ApplicationConfig | None = None) -> str | None:
    if row.approval_year is None:
        return None
    prefix = config.number_prefix if config else ""
    return f"{prefix}{fiscal_label(row.approval_year)}第{row.approval_seq}号"


def current(session: Session, *, user_id: str) -> Application | None:
    """Her application in the making or waiting, else her latest decided one."""
    rows = list(session.scalars(select(Application).where(Application.user_id == user_id)
                                .order_by(Application.created_at.desc(), Application.id.desc())))
    return next((row for row in rows if row.state in OPEN_STATES), rows[0] if rows else None)


def start(session: Session, *, user_id: str, now: datetime, cipher: Cipher) -> Application:
    """Her open application, or a new draft filled with what the chat already knows."""
    found = current(session, user_id=user_id)
    if found is not None and found.state in OPEN_STATES:
        return found
    row = Application(user_id=user_id, state=ApplicationState.DRAFT, draft_token=secrets.token_urlsafe(24), created_at=now,
                      updated_at=now)
    known = prefill(session, user_id=user_id)
    row.sealed = cipher.seal(known)
    row.screening_id = known.pop("_screening", None)
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:   # the page opened twice at once: the other request made it
        session.expunge(row)
        made = current(session, user_id=user_id)
        if made is None:
            raise
        return made
    return row


def prefill(session: Session, *, user_id: str) -> dict:
    """What the chat already answered: the screening's birth or due date and household, her registration's
    dates and phone. Shown filled in; she may correct them."""
    known: dict = {}
    mother = mothers.latest(session, user_id=user_id)
    if mother is not None and mother.deleted_at is None:
        if mother.birth_date:
            known |= {"baby_born": "yes", "baby_birth_date": mother.birth_date}
        elif mother.due_date and mother.status == MotherStatus.PREGNANT:
            known |= {"baby_born": "no", "due_date": mother.due_date}
        if mother.due_date and mother.birth_date:
            known["_due"] = mother.due_date
        if mother.phone:
            known["phone"] = mother.phone
    found = screenings.of_user(session, user_id=user_id)
    if found:
        answers = json.loads(found[-1].answers)
        known["_screening"] = found[-1].id
        if answers.get("birth_date") and "baby_birth_date" not in known:
            known |= {"baby_born": "yes", "baby_birth_date": answers["birth_date"]}
        if answers.get("due_date"):
            known.setdefault("_due", answers["due_date"])
        if answers.get("household") in fields.HOUSEHOLDS:
            known["household"] = answers["household"]
    due = known.pop("_due", None)
    if due and known.get("baby_birth_date"):
        try:
            early = (date.fromisoformat(due) - date.fromisoformat(known["baby_birth_date"])).days
            if 0 <= early <= 18 * 7:
                known["weeks_at_birth"] = str((280 - early) // 7)
        except ValueError:
            pass
    return known


def form_of(row: Application, cipher: Cipher) -> dict:
    """Every field as she typed it (the draft), for the page."""
    values = cipher.open(row.sealed)
    values.pop("_screening", None)
    return values


def _hers(session: Session, user_id: str, draft_token: str) -> Application:
    row = session.scalars(select(Application).where(Application.draft_token == draft_token)
                          .with_for_update()).first() if draft_token else None
    if row is None or row.user_id != user_id:
        raise NotFound(draft_token)
    return row


def save_draft(session: Session, *, user_id: str, draft_token: str, form: dict, now: datetime,
               cipher: Cipher) -> Application:
    """Keep what she typed so far (known fields only), whatever is still wrong; fields.TooLong for a text
    longer than anyone's answer, and nothing is kept."""
    row = _hers(session, user_id, draft_token)
    if row.state not in EDITABLE:
        raise Closed(row.state)
    row.sealed = cipher.seal(fields.typed(form))
    row.updated_at = now
    return row


def submit(session: Session, *, user_id: str, draft_token: str, form: dict, now: datetime, cipher: Cipher,
           config: ApplicationConfig, postal_lookup) -> Submitted:
    row = _hers(session, user_id, draft_token)
    if row.state in (ApplicationState.SUBMITTED, ApplicationState.APPROVED):
        return Submitted(True, row, again=True)
    if row.state not in EDITABLE:
        raise Closed(row.state)
    checked = fields.check(form, today=jst_today(now), postal_lookup=postal_lookup)
    if not checked.ok:   # nothing written: the page keeps what she typed, and its draft was saved as she went
        return Submitted(False, row, checked.problems)
    clean = checked.values
    row.sealed = cipher.seal({name: value for name, value in clean.items() if name != "consent"})   # re-ticked if sent back
    row.baby_birth_date = checked.text("baby_birth_date")
    row.birth_weight_g, row.weeks_at_birth = checked.number("birth_weight_g"), checked.number("weeks_at_birth")
    row.care_types, row.household = ",".join(checked.care_types), checked.text("household")
    row.consent_version, row.consent_at = config.consent_version, now
    row.state, row.submitted_at, row.return_reason = ApplicationState.SUBMITTED, now, None
    row.decided_at = row.decided_by = None
    audit.record(session, actor="mother", action="application_submitted", subject=f"application:{row.id}", now=now,
                 after={"state": ApplicationState.SUBMITTED, "consent_version": config.consent_version})
    return Submitted(True, row)


# --- the city's decision ------------------------------------------------------------------------

def get(session: Session, *, application_id: int) -> Application | None:
    return session.get(Application, application_id)


def _locked(session: Session, application_id: int) -> Application | None:
    return session.scalars(select(Application).where(Application.id == application_id).with_for_update()
                           .execution_options(populate_existing=True)).first()


def period(config: ApplicationConfig, *, on: date, baby_birth: str | None) -> tuple[date, date]:
    last = add_months(on, config.valid_months) - timedelta(days=1)
    if config.until_baby_months and baby_birth:
        last = min(last, add_months(date.fromisoformat(baby_birth), config.until_baby_months) - timedelta(days=1))
    return on, max(last, on)


def approve(session: Session, *, application_id: int, actor: str, now: datetime,
            config: ApplicationConfig) -> Application | None:
    """利用承認: a number of the 年度 and a period; she is told by a push. None when it is not waiting."""
    row = _locked(session, application_id)
    if row is None or row.state != ApplicationState.SUBMITTED:
        return None
    today = jst_today(now)
    year = fiscal_year(today)
    first, last = period(config, on=today, baby_birth=row.baby_birth_date)
    for _ in range(5):   # two approvals at the same moment: the loser takes the next number
        seq = (session.scalar(select(func.max(Application.approval_seq)).where(Application.approval_year == year))
               or 0) + 1
        try:
            with session.begin_nested():
                row.approval_year, row.approval_seq = year, seq
                session.flush()
            break
        except IntegrityError:
            session.refresh(row)
    row.state, row.decided_at, row.decided_by = ApplicationState.APPROVED, now, actor
    row.valid_from, row.valid_until, row.updated_at = first.isoformat(), last.isoformat(), now
    number = approval_number(row, config)
    reminders.add(session, user_id=row.user_id, kind="application_approved", due_at=now, now=now,
                  plan_key=f"application:{row.id}:approved",
                  facts={"number": number, "first_date": first.isoformat(), "last_date": last.isoformat()})
    audit.record(session, actor=actor, action="application_approved", subject=f"application:{row.id}", now=now,
                 before={"state": ApplicationState.SUBMITTED}, after={"state": ApplicationState.APPROVED, "number": number,
                                                       "period": [first.isoformat(), last.isoformat()]})
    return row


def send_back(session: Session, *, application_id: int, reason: str, actor: str, now: datetime) -> Application | None:
    """差し戻し: back to her with a reason (by push); she corrects it and submits again."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValueError("a reason of 1 to 200 characters")
    row = _locked(session, application_id)
    if row is None or row.state != ApplicationState.SUBMITTED:
        return None
    row.state, row.return_reason = ApplicationState.RETURNED, reason
    row.decided_at, row.decided_by, row.updated_at = now, actor, now
    returns = session.scalar(select(func.count()).select_from(Reminder).where(
        Reminder.plan_key.like(f"application:{row.id}:returned:%"))) or 0
    reminders.add(session, user_id=row.user_id, kind="application_returned", due_at=now, now=now,
                  plan_key=f"application:{row.id}:returned:{returns + 1}",
                  facts={"reason": reason})
    audit.record(session, actor=actor, action="application_returned", subject=f"application:{row.id}", now=now,
                 before={"state": ApplicationState.SUBMITTED}, after={"state": ApplicationState.RETURNED, "reason": reason})
    return row


# --- reading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    row: Application
    values: dict          # every field, decrypted

    @property
    def name(self) -> str:
        return self.values.get("mother_name") or ""

    @property
    def care_types(self) -> list[str]:
        return [t for t in (self.row.care_types or "").split(",") if t]


def view(row: Application, cipher: Cipher) -> View:
    return View(row, form_of(row, cipher))


def listing(session: Session, *, cipher: Cipher, limit: int = 300) -> list[View]:
    """Staff's list: submitted (waiting for a decision) first, oldest first; then the rest, newest first."""
    order: dict[str, int] = {ApplicationState.SUBMITTED: 0, ApplicationState.RETURNED: 1,
                             ApplicationState.APPROVED: 2, ApplicationState.WITHDRAWN: 3}
    rows = list(session.scalars(select(Application).where(Application.state != ApplicationState.DRAFT)
                                .order_by(Application.submitted_at.desc(), Application.id.desc()).limit(limit)))
    rows.sort(key=lambda r: (order.get(r.state, 9), _sent(r) * (1 if r.state == ApplicationState.SUBMITTED else -1)))
    return [view(row, cipher) for row in rows]


def _sent(row: Application) -> float:
    """When it was (last) sent, as a timestamp: every row but a draft has been sent."""
    return row.submitted_at.timestamp() if row.submitted_at else 0.0


def standing(session: Session, *, user_ids: set[str], cipher: Cipher) -> dict[str, View]:
    """Each mother's application that staff and providers see beside a booking: her latest submitted or
    decided one (a draft is not an application yet)."""
    rows = session.scalars(select(Application).where(Application.user_id.in_(user_ids),
                                                     Application.state.in_(SUBMITTED_OR_DECIDED))
                           .order_by(Application.submitted_at, Application.id))
    found = {}
    for row in rows:
        found[row.user_id] = row
    return {user_id: view(row, cipher) for user_id, row in found.items()}


def states_of(session: Session, *, user_ids: set[str]) -> dict[str, str]:
    """Each mother's application state (her latest submitted or decided one), without reading a name."""
    rows = session.execute(select(Application.user_id, Application.state).where(
        Application.user_id.in_(user_ids), Application.state.in_(SUBMITTED_OR_DECIDED))
        .order_by(Application.submitted_at, Application.id))
    return dict(rows.all())


def for_provider(found: View) -> dict:
    """What a provider sees for its own booking: her name, kana, phone, the baby's name and birth date."""
    return {name: found.values.get(name) for name in PROVIDER_FIELDS} | {"baby_birth_date": found.row.baby_birth_date}


def contacts(session: Session, *, user_ids: set[str], cipher: Cipher) -> dict[str, dict]:
    """Name and phone she gave in her application, for the call list and the 相談 cases."""
    return {user_id: {"name": found.values.get("mother_name"), "phone": found.values.get("phone")}
            for user_id, found in standing(session, user_ids=user_ids, cipher=cipher).items()}


# --- erasure, keys, figures -----------------------------------------------------------------------

def erase(session: Session, *, user_id: str, alias: str, now: datetime) -> dict:
    """Her data deleted: a draft goes; a submitted one keeps only its state, care types and dates (the
    figures count it) under the alias, one still waiting becoming 'withdrawn'."""
    drafts = affected(session, delete(Application).where(Application.user_id == user_id,
                                                         Application.submitted_at.is_(None))
                      .execution_options(synchronize_session=False))
    session.execute(update(Application).where(Application.user_id == user_id,
                                              Application.state == ApplicationState.SUBMITTED)
                    .values(state=ApplicationState.WITHDRAWN).execution_options(synchronize_session=False))
    session.execute(update(Application).where(Application.user_id == user_id,
                                              Application.state == ApplicationState.RETURNED)
                    .values(state=ApplicationState.WITHDRAWN).execution_options(synchronize_session=False))
    kept = affected(session, update(Application).where(Application.user_id == user_id).values(
        user_id=alias, sealed=None, baby_birth_date=None, birth_weight_g=None, weeks_at_birth=None, household=None,
        screening_id=None, return_reason=None, updated_at=now,
        draft_token=literal(f"{alias}:") + cast(Application.id, String))
        .execution_options(synchronize_session=False))
    return {"application_drafts": drafts, "applications_kept": kept}


def rekey(session: Session, *, cipher: Cipher) -> int:
    """Every sealed value re-encrypted with the newest key (after a new key was put first)."""
    count = 0
    for row in session.scalars(select(Application).where(Application.sealed.is_not(None))):
        if row.sealed is not None:   # as the query asks
            row.sealed = cipher.rotate(row.sealed)
            count += 1
    return count


def counts_by_year(session: Session, *, year: int) -> dict:
    """申請数 (sent in the 年度, by the day of its latest sending) and 承認数 (承認番号 of the 年度)."""
    start = datetime(year, 4, 1, tzinfo=JST)
    end = datetime(year + 1, 4, 1, tzinfo=JST)
    submitted = session.scalar(select(func.count()).select_from(Application).where(
        Application.submitted_at >= start, Application.submitted_at < end)) or 0
    approved = session.scalar(select(func.count()).select_from(Application).where(
        Application.state == ApplicationState.APPROVED, Application.approval_year == year)) or 0
    return {"submitted": submitted, "approved": approved}
