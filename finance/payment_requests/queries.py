"""Reads of payment requests, always scoped by the user's jurisdiction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload

from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest, RoutingPolicy
from finance.permissions import Permission, can, jurisdiction
from finance.roles import Role
from finance.routing import DEFAULT_RULES, Rules, StepRule, parse_rules
from finance.workflow import State


def rules_of(policy: RoutingPolicy | None) -> Rules:
    if policy is None:
        return DEFAULT_RULES
    # Cached by the rules' text, not the row id: an id can come back after a rolled-back publish
    # (SQLite reuses the highest rowid), the text cannot lie.
    return parse_rules(policy.rules)


def steps_of(request: PaymentRequest) -> list[StepRule]:
    """The approval steps that apply to this request under the policy version it was submitted with."""
    if request.amount is None:
        return []
    return rules_of(request.policy).steps_for(request.amount, request.subject.code if request.subject else None)


def current_policy(township: OrgUnit) -> RoutingPolicy | None:
    return db.session.execute(
        select(RoutingPolicy).where(RoutingPolicy.township_id == township.id)
        .order_by(RoutingPolicy.version.desc()).limit(1)
    ).scalar_one_or_none()


def visible(user: Any) -> Select[PaymentRequest]:
    """Every request the user may read: the one jurisdiction filter for request lists."""
    return select(PaymentRequest).where(PaymentRequest.village_id.in_(jurisdiction(user)))


def get_visible(user: Any, request_id: int) -> PaymentRequest | None:
    """A request by id, or None when it does not exist or lies outside the user's scope (both 404)."""
    req = db.session.execute(visible(user).where(PaymentRequest.id == request_id)).scalar_one_or_none()
    if req is None or not can(user, Permission.REQUEST_READ, req):
        return None
    return req


def inbox_for(user: Any) -> list[PaymentRequest]:
    """The user's to-do list (待办), oldest waiting first: pending steps they can decide, approved
    requests to pay (cashier), returned requests to revise (accountant)."""
    roles = {a.role for a in user.assignments}
    conditions = []
    if roles & {Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR, Role.AGENCY_REVIEWER, Role.TOWNSHIP_LEADER,
                Role.TOWNSHIP_HEAD}:
        conditions.append(PaymentRequest.state == State.PENDING)
    if Role.CASHIER in roles:
        conditions.append(PaymentRequest.state == State.APPROVED)
    if Role.ACCOUNTANT in roles:
        conditions.append(and_(PaymentRequest.state.in_([State.RETURNED, State.DRAFT]),
                               PaymentRequest.requester_id == user.id))
    if not conditions:
        return []
    stmt = (
        visible(user).where(or_(*conditions))
        .options(selectinload(PaymentRequest.policy))
        .order_by(PaymentRequest.waiting_since.asc(), PaymentRequest.id.asc())
        .limit(500)
    )
    out = []
    from finance.permissions import acting_role
    from finance.workflow import Action

    for req in db.session.execute(stmt).scalars():
        if req.state == State.PENDING and acting_role(user, req, Action.APPROVE) is None:
            continue
        if req.state == State.APPROVED and acting_role(user, req, Action.PAY) is None:
            continue
        out.append(req)
    return out


def search(
    user: Any,
    *,
    states: list[State] | None = None,
    village_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
    payee: str | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 20,
) -> list[PaymentRequest]:
    """Requests in scope, newest first, keyset-paginated on (created_at, id)."""
    stmt = visible(user)
    if states:
        stmt = stmt.where(PaymentRequest.state.in_(states))
    if village_id:
        stmt = stmt.where(PaymentRequest.village_id == village_id)
    if date_from:
        stmt = stmt.where(PaymentRequest.created_at >= _day_start(date_from))
    if date_to:
        stmt = stmt.where(PaymentRequest.created_at < _day_start(date_to, 1))
    if amount_min is not None:
        stmt = stmt.where(PaymentRequest.amount >= amount_min)
    if amount_max is not None:
        stmt = stmt.where(PaymentRequest.amount <= amount_max)
    if payee:
        stmt = stmt.where(PaymentRequest.payee_name.contains(payee, autoescape=True))
    if after is not None:
        stmt = stmt.where(or_(PaymentRequest.created_at < after[0],
                              and_(PaymentRequest.created_at == after[0], PaymentRequest.id < after[1])))
    stmt = stmt.order_by(PaymentRequest.created_at.desc(), PaymentRequest.id.desc()).limit(limit)
    return list(db.session.execute(stmt).scalars())


def _day_start(day: date, plus_days: int = 0) -> datetime:
    from datetime import timedelta

    from finance.timefmt import CST

    return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(days=plus_days)
