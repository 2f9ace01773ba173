"""Reads for pages: how many to-do items are overdue, whether one is, the slowest steps of the month for a
township head, a request's reminders, and the deliveries that failed for the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import g, has_app_context
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from finance.db import utcnow
from finance.extensions import db
from finance.notices.models import DeliveryState, Notice, NoticeDelivery, NoticeKind
from finance.notices.recipients import WAITED_STATES
from finance.notices.services import policy_of
from finance.notices.workdays import waiting_cutoff, working_days_waited
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.queries import INBOX_COUNT_CAP, todo_condition
from finance.permissions import jurisdiction
from finance.roles import OrgKind, Role
from finance.timefmt import CST, to_local
from finance.workflow import DECISION_ACTIONS, Action


def _policy(township: OrgUnit | None) -> tuple[int, int]:
    """policy_of, remembered for the request being served (a page asks once per township)."""
    if township is None:
        return policy_of(None)
    cache: dict[int, tuple[int, int]] | None = g.setdefault("_notice_policies", {}) if has_app_context() else None
    if cache is None:
        return policy_of(township)
    if township.id not in cache:
        cache[township.id] = policy_of(township)
    return cache[township.id]


def _townships(user: Any) -> list[OrgUnit]:
    seen: dict[int, OrgUnit] = {}
    for a in getattr(user, "assignments", []):
        township = a.org_unit.township
        if township is not None:
            seen.setdefault(township.id, township)
    return list(seen.values())


def _villages_of(township: OrgUnit) -> Any:
    return select(OrgUnit.id).where(OrgUnit.path.startswith(township.path, autoescape=True))


def overdue_count(user: Any, now: datetime | None = None) -> int:
    """How many of the user's to-do items (steps to decide, payments to make) have waited at least their
    township's N working days; counted in SQL with one cutoff instant per township, capped like the to-do
    count."""
    where = todo_condition(user)
    townships = _townships(user)
    if where is None or not townships:
        return 0
    now = now or utcnow()
    late = or_(*[and_(PaymentRequest.village_id.in_(_villages_of(t)),
                      PaymentRequest.waiting_since < waiting_cutoff(now, _policy(t)[0])) for t in townships])
    capped = (select(PaymentRequest.id)
              .where(where, late, PaymentRequest.state.in_(WAITED_STATES)).limit(INBOX_COUNT_CAP).subquery())
    return int(db.session.execute(select(func.count()).select_from(capped)).scalar_one())


def is_overdue(req: PaymentRequest, now: datetime | None = None) -> bool:
    """Has this pending or approved request waited its township's N working days at its current step?"""
    if req.state not in WAITED_STATES or req.waiting_since is None:
        return False
    remind_after = _policy(req.village.township)[0]
    return working_days_waited(req.waiting_since, now or utcnow()) >= remind_after


def reminders_of(req: PaymentRequest) -> list[Notice]:
    """The reminders and escalations sent about a request, oldest first (shown on its page)."""
    return list(db.session.execute(
        select(Notice).where(Notice.request_id == req.id, Notice.kind.in_([NoticeKind.REMINDER, NoticeKind.ESCALATION]))
        .order_by(Notice.id)
    ).scalars())


@dataclass
class SlowStep:
    request_id: int
    number: str
    village: str
    step: int | None
    role: Role
    who: str | None  # None: still waiting
    started_at: datetime
    ended_at: datetime | None
    working_days: int
    hours: int


def month_start(now: datetime) -> datetime:
    local = to_local(now)
    return datetime(local.year, local.month, 1, tzinfo=CST)


def slowest_steps(user: Any, now: datetime | None = None, limit: int = 5) -> list[SlowStep]:
    """For a township head: the slowest steps of this month in their township(s), decided or still
    waiting, longest first (working days, then hours). A step runs from the action before it (the
    submission or the previous approval) to its decision, or to now while it waits."""
    now = now or utcnow()
    heads = [a.org_unit for a in getattr(user, "assignments", []) if a.role == Role.TOWNSHIP_HEAD]
    if not heads:
        return []
    since = month_start(now)
    villages = or_(*[PaymentRequest.village_id.in_(_villages_of(t)) for t in heads])
    decided = list(db.session.execute(
        select(RequestAction).join(PaymentRequest, PaymentRequest.id == RequestAction.request_id)
        .where(villages, RequestAction.created_at >= since,
               RequestAction.action.in_([*DECISION_ACTIONS, Action.PAY]))
        .options(selectinload(RequestAction.actor))
    ).scalars())
    history: dict[int, list[RequestAction]] = {}
    if decided:
        for act in db.session.execute(
            select(RequestAction).where(RequestAction.request_id.in_({a.request_id for a in decided}))
            .order_by(RequestAction.id)
        ).scalars():
            history.setdefault(act.request_id, []).append(act)
    out: list[SlowStep] = []
    for act in decided:
        before = [a for a in history.get(act.request_id, []) if a.id < act.id]
        if not before:
            continue
        req = act.request
        out.append(_slow(req, act.step, act.actor_role, act.actor.display_name, before[-1].created_at,
                         act.created_at))
    waiting = db.session.execute(
        select(PaymentRequest).where(villages, PaymentRequest.state.in_(WAITED_STATES),
                                     PaymentRequest.waiting_since.is_not(None))
        .order_by(PaymentRequest.waiting_since).limit(50)
    ).scalars()
    for req in waiting:
        if req.waiting_role is None or req.waiting_since is None:
            continue
        start = max(req.waiting_since, since - timedelta(days=366))
        out.append(_slow(req, req.step or None, req.waiting_role, None, start, None, now))
    out.sort(key=lambda s: (s.working_days, s.hours), reverse=True)
    return out[:limit]


def _slow(req: PaymentRequest, step: int | None, role: Role, who: str | None, start: datetime,
          end: datetime | None, now: datetime | None = None) -> SlowStep:
    stop = end or now or utcnow()
    return SlowStep(request_id=req.id, number=req.number or "", village=req.village.name, step=step, role=role,
                    who=who, started_at=start, ended_at=end, working_days=working_days_waited(start, stop),
                    hours=int((stop - start).total_seconds() // 3600))


def failed_deliveries(user: Any, limit: int = 100) -> list[NoticeDelivery]:
    """Deliveries that failed after their last retry, newest first, within the admin's district."""
    scope = jurisdiction(user, frozenset({Role.ADMIN}))
    return list(db.session.execute(
        select(NoticeDelivery).join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(NoticeDelivery.state == DeliveryState.FAILED,
               or_(Notice.village_id.is_(None), Notice.village_id.in_(scope)))
        .options(selectinload(NoticeDelivery.notice), selectinload(NoticeDelivery.user))
        .order_by(NoticeDelivery.id.desc()).limit(limit)
    ).scalars())


def admin_townships(user: Any) -> list[OrgUnit]:
    """The townships of the admin's district, by code (each with its reminder policy on the admin page)."""
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.TOWNSHIP,
                              OrgUnit.id.in_(jurisdiction(user, frozenset({Role.ADMIN}))))
        .order_by(OrgUnit.code)
    ).scalars())


def failed_delivery(user: Any, delivery_id: int) -> NoticeDelivery | None:
    """A failed delivery within the admin's district, or None (a 404 like a missing one)."""
    scope = jurisdiction(user, frozenset({Role.ADMIN}))
    return db.session.execute(
        select(NoticeDelivery).join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(NoticeDelivery.id == delivery_id, NoticeDelivery.state == DeliveryState.FAILED,
               or_(Notice.village_id.is_(None), Notice.village_id.in_(scope)))
    ).scalar_one_or_none()


def delivery_counts() -> dict[DeliveryState, int]:
    rows = db.session.execute(select(NoticeDelivery.state, func.count()).group_by(NoticeDelivery.state)).all()
    return {state: int(n) for state, n in rows}
