"""The one hook: `after_event` is called by finance.trail.record for every audit event, inside the same
transaction, and writes the notices that event causes. Handlers are keyed by (subject type, action), so a
hand-off produces its notice without any service knowing about notices.

Recipients are computed from the request as it is after the change (the event is recorded after the
service has moved the request on)."""

from __future__ import annotations

from collections.abc import Callable

import audit
from finance.extensions import db
from finance.notices import recipients
from finance.notices.models import NoticeKind
from finance.notices.outbox import enqueue
from finance.orgs.models import OrgUnit
from finance.oversight.models import Question
from finance.payment_requests.models import PaymentRequest
from finance.workflow import Action, State

Handler = Callable[[audit.Event, OrgUnit | None], None]
HANDLERS: dict[tuple[str, str], Handler] = {}


def on(subject_type: str, *actions: str) -> Callable[[Handler], Handler]:
    """Register a handler for events of `subject_type` with one of `actions` (other packages may too)."""

    def register(handler: Handler) -> Handler:
        for action in actions:
            HANDLERS[(subject_type, str(action))] = handler
        return handler

    return register


def after_event(event: audit.Event, village: OrgUnit | None) -> None:
    """Write the notices `event` causes, in the current transaction (called by finance.trail.record)."""
    handler = HANDLERS.get((event.subject_type, event.action))
    if handler is not None:
        handler(event, village)


def _key(event: audit.Event, kind: NoticeKind) -> str:
    return f"ev:{event.event_id}:{kind.value}"


@on("payment_request", Action.SUBMIT, Action.APPROVE, Action.RETURN, Action.REJECT, Action.PAY)
def request_moved(event: audit.Event, village: OrgUnit | None) -> None:
    req = db.session.get(PaymentRequest, int(event.subject_id))
    if req is None:
        return
    if req.state == State.PENDING:
        kind, people = NoticeKind.TURN, recipients.next_actors(req)
    elif req.state == State.APPROVED:
        kind, people = NoticeKind.PAY_DUE, recipients.next_actors(req)
    elif req.state in (State.RETURNED, State.REJECTED, State.PAID):
        kind = {State.RETURNED: NoticeKind.RETURNED, State.REJECTED: NoticeKind.REJECTED,
                State.PAID: NoticeKind.PAID}[req.state]
        people = recipients.accountants(req)
    else:
        return
    enqueue(kind, key=_key(event, kind), village=req.village, request=req, recipients=people,
            event_id=event.event_id, exclude=event.actor_id, new_cause=True)


@on("question", "question_ask", "question_answer")
def question_moved(event: audit.Event, village: OrgUnit | None) -> None:
    question = db.session.get(Question, int(event.subject_id))
    if question is None:
        return
    req = question.request
    if event.action == "question_ask":
        kind, people = NoticeKind.QUESTION, recipients.township_staff(req.village)
    else:
        kind, people = NoticeKind.ANSWER, [question.asked_by]
    enqueue(kind, key=_key(event, kind), village=req.village, request=req, recipients=people,
            link=f"/oversight/questions/{question.id}", event_id=event.event_id, exclude=event.actor_id,
            new_cause=True)
