"""Reminders and escalation: `flask --app finance notices remind`, run from cron (hourly is plenty).

A step (or an approved request waiting for the cashier) that has waited N working days since it began
gets a reminder to those it waits for; at M working days the next level up is told (N and M per township,
finance.notices.models.NoticePolicy, default 2 and 4). Each is one audit event on the village's chain
(`notice_remind`, `notice_escalate`) and one notice, written in one transaction; its key names the request,
the round, the step and when the wait began, so a second run, or two at once, never repeats one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from finance import trail
from finance.auth.models import User
from finance.db import utcnow
from finance.extensions import db
from finance.notices import recipients
from finance.notices.models import Notice, NoticeKind
from finance.notices.outbox import enqueue
from finance.notices.services import policy_of
from finance.notices.workdays import waiting_cutoff, working_days_waited
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.roles import OrgKind, Role
from finance.trail import AuditAction, AuditSubject


@dataclass
class RemindReport:
    reminded: list[str] = field(default_factory=list)  # request numbers
    escalated: list[str] = field(default_factory=list)


def notice_key(kind: NoticeKind, req: PaymentRequest) -> str:
    assert req.waiting_since is not None
    return f"{kind.value}:{req.id}:{req.round}:{req.step}:{req.state.value}:{int(req.waiting_since.timestamp())}"


def escalation_targets(role: Role, village: OrgUnit) -> tuple[Role | None, list[User]]:
    """The next level up from `role` that has someone in it, and those people."""
    up = recipients.ESCALATE_TO.get(role)
    while up is not None:
        people = recipients.holders([up], village)
        if people:
            return up, people
        up = recipients.ESCALATE_TO.get(up)
    return None, []


def _already(key: str) -> bool:
    return db.session.execute(select(Notice.id).where(Notice.key == key)).first() is not None


def _tell(req: PaymentRequest, kind: NoticeKind, role: Role, days: int) -> bool:
    key = notice_key(kind, req)
    if _already(key):
        return False
    if kind == NoticeKind.REMINDER:
        to_role, people = role, recipients.next_actors(req)
        action, what = AuditAction.NOTICE_REMIND, "reminder"
    else:
        found, people = escalation_targets(role, req.village)
        to_role = found or role
        action, what = AuditAction.NOTICE_ESCALATE, "escalation"
    event = trail.record(village=req.village, user=None, role=None, action=action,
                         subject_type=AuditSubject.PAYMENT_REQUEST, subject_id=req.id,
                         after={what: {"waiting_role": role.value, "working_days": days, "told_role": to_role.value,
                                       "told": sorted(u.id for u in people)}})
    enqueue(kind, key=key, village=req.village, request=req, recipients=people, event_id=event.event_id,
            role=role.value, to_role=to_role.value, working_days=days)
    return True


def remind_request(req: PaymentRequest, now: datetime, remind_after: int, escalate_after: int,
                   report: RemindReport) -> None:
    """The reminder and escalation one request is due, in the current transaction."""
    role = recipients.waiting_for(req)
    if role is None or req.waiting_since is None:
        return
    days = working_days_waited(req.waiting_since, now)
    if days >= remind_after and _tell(req, NoticeKind.REMINDER, role, days):
        report.reminded.append(req.number or str(req.id))
    if days >= escalate_after and _tell(req, NoticeKind.ESCALATION, role, days):
        report.escalated.append(req.number or str(req.id))


def remind(now: datetime | None = None) -> RemindReport:
    """Every township, every waiting request past its township's N: one committed transaction each."""
    now = now or utcnow()
    report = RemindReport()
    townships = list(db.session.execute(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.TOWNSHIP).order_by(OrgUnit.id)).scalars())
    for township in townships:
        remind_after, escalate_after = policy_of(township)
        cutoff = waiting_cutoff(now, min(remind_after, escalate_after))
        ids = list(db.session.execute(
            select(PaymentRequest.id)
            .join(OrgUnit, OrgUnit.id == PaymentRequest.village_id)
            .where(OrgUnit.path.startswith(township.path, autoescape=True),
                   PaymentRequest.state.in_(recipients.WAITED_STATES),
                   PaymentRequest.waiting_since < cutoff)
            .order_by(PaymentRequest.waiting_since, PaymentRequest.id)
        ).scalars())
        db.session.commit()
        for request_id in ids:
            try:
                # The row lock makes a second cron run wait here, then find the notices written.
                req = db.session.execute(
                    select(PaymentRequest).where(PaymentRequest.id == request_id).with_for_update(of=PaymentRequest)
                    .execution_options(populate_existing=True)
                ).scalar_one()
                if req.state in recipients.WAITED_STATES:
                    remind_request(req, now, remind_after, escalate_after, report)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
    return report
