"""The one hook: `after_event` is called by finance.trail.record for every audit event (registered with
`trail.on_record` at app start), inside the same transaction, and writes the notices that event causes.
Handlers are keyed by (AuditSubject, AuditAction), so a hand-off produces its notice without any service
knowing about notices.

Recipients are computed from the request as it is after the change (the event is recorded after the
service has moved the request on)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

import audit
from finance.extensions import db
from finance.flags.models import RiskFlagRequest
from finance.notices import recipients
from finance.notices.models import Notice, NoticeKind
from finance.notices.outbox import enqueue
from finance.orgs.models import OrgUnit
from finance.oversight.models import Question
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import waiting
from finance.trail import AuditAction, AuditSubject
from finance.workflow import Actor

Handler = Callable[[audit.Event, OrgUnit | None], None]
HANDLERS: dict[tuple[AuditSubject, AuditAction], Handler] = {}


def on(subject_type: AuditSubject, *actions: AuditAction) -> Callable[[Handler], Handler]:
    """Register a handler for events of `subject_type` with one of `actions` (other packages may too)."""

    def register(handler: Handler) -> Handler:
        for action in actions:
            HANDLERS[(subject_type, action)] = handler
        return handler

    return register


def after_event(event: audit.Event, village: OrgUnit | None) -> None:
    """Write the notices `event` causes, in the current transaction (called by finance.trail.record).
    The event's stored values are the enums' values (trail.record refuses any other)."""
    handler = HANDLERS.get((AuditSubject(event.subject_type), AuditAction(event.action)))
    if handler is not None:
        handler(event, village)


def alert_agency(village: OrgUnit, *, key: str, link: str, request: PaymentRequest | None = None,
                 event_id: str | None = None) -> Notice | None:
    """Tell the agency (三资代理中心 reviewers over `village`) that an exception or a red flag appeared:
    the one notice other packages (bank, flags, controls) trigger themselves.

    Call it in the same transaction as the audit event of the flag or exception, with a `key` unique to
    that cause (e.g. "flag:<flag id>", "bank-exception:<line id>") and a `link` to the page that shows it.
    The notice carries the request's number, village and amount (when there is a request) and the link,
    nothing else. Returns None when a notice with that key exists already (a second scan, a retry)."""
    return enqueue(NoticeKind.ALERT, key=f"alert:{key}", village=village, request=request, link=link,
                   recipients=recipients.agency(village), event_id=event_id)


@on(AuditSubject.RISK_FLAG, AuditAction.FLAG_RAISE)
def flag_raised(event: audit.Event, village: OrgUnit | None) -> None:
    """A risk flag (finance.flags, at a scan or at submit) tells the agency over its village. The link is
    the page of its first request (where the agency sees the request's flags); a flag on bank lines only
    links to the to-do. Once per flag (key `flag:<id>`)."""
    if village is None:
        return
    first = db.session.execute(
        select(RiskFlagRequest.request_id).where(RiskFlagRequest.flag_id == int(event.subject_id))
        .order_by(RiskFlagRequest.request_id).limit(1)
    ).scalar_one_or_none()
    req = db.session.get(PaymentRequest, first) if first is not None else None
    alert_agency(village, key=f"flag:{event.subject_id}", link=f"/requests/{req.id}" if req else "/",
                 request=req, event_id=event.event_id)


def _key(event: audit.Event, kind: NoticeKind) -> str:
    return f"ev:{event.event_id}:{kind.value}"


# What the accountant who raised a request is told of a decision on it.
TO_THE_ACCOUNTANT = {AuditAction.RETURN: NoticeKind.RETURNED, AuditAction.REJECT: NoticeKind.REJECTED,
                     AuditAction.PAY: NoticeKind.PAID}
# What those a request now waits for (by the workflow table's actor) are told after a hand-off.
TO_THE_NEXT = {Actor.STEP_APPROVER: NoticeKind.TURN, Actor.CASHIER: NoticeKind.PAY_DUE}


@on(AuditSubject.PAYMENT_REQUEST, AuditAction.SUBMIT, AuditAction.APPROVE, AuditAction.RETURN,
    AuditAction.REJECT, AuditAction.PAY)
def request_moved(event: audit.Event, village: OrgUnit | None) -> None:
    req = db.session.get(PaymentRequest, int(event.subject_id))
    if req is None:
        return
    told = TO_THE_ACCOUNTANT.get(AuditAction(event.action))
    if told is not None:
        kind, people = told, recipients.accountants(req)
    else:
        now = waiting(req)
        next_kind = TO_THE_NEXT.get(now.actor) if now is not None else None
        if next_kind is None:
            return
        kind, people = next_kind, recipients.next_actors(req)
    enqueue(kind, key=_key(event, kind), village=req.village, request=req, recipients=people,
            event_id=event.event_id, exclude=event.actor_id, new_cause=True)


@on(AuditSubject.QUESTION, AuditAction.QUESTION_ASK, AuditAction.QUESTION_ANSWER)
def question_moved(event: audit.Event, village: OrgUnit | None) -> None:
    question = db.session.get(Question, int(event.subject_id))
    if question is None:
        return
    req = question.request
    if event.action == AuditAction.QUESTION_ASK:
        kind, people = NoticeKind.QUESTION, recipients.township_staff(req.village)
    else:
        kind, people = NoticeKind.ANSWER, [question.asked_by]
    enqueue(kind, key=_key(event, kind), village=req.village, request=req, recipients=people,
            link=f"/oversight/questions/{question.id}", event_id=event.event_id, exclude=event.actor_id,
            new_cause=True)
