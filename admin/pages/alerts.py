"""Urgent items from the chat's safety net (her life in danger, violence, an emergency): marked handled
with a note, on 今日 (admin/pages/today.py lists them first). Staff and administrators only."""
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from admin.web import Me, db, missing, now, posted, url
from scheduling.consult import alerts
from scheduling.consult.statuses import AlertStatus

router = APIRouter()
MAX_NOTE = 500


@router.post("/alerts/{alert_id}/handled")
def handled(request: Request, alert_id: int, me: Me = Depends(posted("admin", "staff")), note: str = Form("")):
    note = note.strip()
    with db(request) as session:
        alert = alerts.get(session, alert_id=alert_id)
        if alert is None:
            return missing(request, me)
        if not note or len(note) > MAX_NOTE or alert.status != AlertStatus.OPEN:
            problem = "note" if alert.status == AlertStatus.OPEN else "done"
            return RedirectResponse(url(request, f"/?alert_problem={problem}#alert-{alert_id}"), status_code=303)
        alerts.mark_handled(session, alert_id=alert_id, staff=me.actor, note=note, now=now(request))
    return RedirectResponse(url(request, "/?alert_done=1"), status_code=303)
