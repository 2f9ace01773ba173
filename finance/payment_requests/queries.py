"""Reads of payment requests, always scoped by the user's jurisdiction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import lazyload, selectinload

from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest, RequestAction, RoutingPolicy
from finance.permissions import DECISION_ACTIONS, RAISING_ACTIONS, Permission, can, jurisdiction
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


DECIDING_ROLES = (Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR, Role.AGENCY_REVIEWER, Role.TOWNSHIP_LEADER,
                  Role.TOWNSHIP_HEAD)
INBOX_PAGE = 20


def _inbox_filter(user: Any) -> ColumnElement[bool] | None:
    """Requests whose move is this user's: for each role assignment, the requests waiting for that role in
    that unit, less those the separation of duties keeps from them (the same rules as
    permissions.acting_role, in SQL, so the list is one indexed query however many requests wait)."""
    action = RequestAction
    mine = select(action.id).where(action.request_id == PaymentRequest.id, action.actor_id == user.id)
    raised = or_(PaymentRequest.requester_id == user.id, exists(mine.where(action.action.in_(RAISING_ACTIONS))))
    decided_any = exists(mine.where(action.action.in_(DECISION_ACTIONS)))
    decided_elsewhere = exists(mine.where(action.action.in_(DECISION_ACTIONS),
                                          or_(action.step.is_(None), action.step != PaymentRequest.step)))
    conditions = []
    for assignment in user.assignments:
        role = assignment.role
        under = select(OrgUnit.id).where(OrgUnit.path.startswith(assignment.org_unit.path, autoescape=True))
        waiting = and_(PaymentRequest.waiting_role == role, PaymentRequest.village_id.in_(under))
        if role in DECIDING_ROLES:
            conditions.append(and_(waiting, ~raised, ~decided_elsewhere))
        elif role == Role.CASHIER:
            conditions.append(and_(waiting, ~raised, ~decided_any))
        elif role == Role.ACCOUNTANT:
            conditions.append(and_(waiting, PaymentRequest.requester_id == user.id, ~decided_any))
    return or_(*conditions) if conditions else None


def inbox_for(user: Any, *, after: tuple[datetime, int] | None = None, limit: int = INBOX_PAGE
              ) -> list[PaymentRequest]:
    """The user's to-do list (待办), oldest waiting first, a page at a time (keyset on waiting_since, id):
    steps they can decide, approved requests to pay (cashier), their drafts and returned requests
    (accountant)."""
    where = _inbox_filter(user)
    if where is None:
        return []
    stmt = select(PaymentRequest).where(where)
    if after is not None:
        stmt = stmt.where(or_(PaymentRequest.waiting_since > after[0],
                              and_(PaymentRequest.waiting_since == after[0], PaymentRequest.id > after[1])))
    # A list needs neither the history nor the files of each item: load them only if touched. (Acting on
    # an item goes through permissions.acting_role again; tests/test_inbox.py holds this query to it.)
    stmt = (stmt.options(selectinload(PaymentRequest.policy), lazyload(PaymentRequest.actions),
                         lazyload(PaymentRequest.attachments), lazyload(PaymentRequest.requester))
            .order_by(PaymentRequest.waiting_since.asc(), PaymentRequest.id.asc()).limit(limit))
    return list(db.session.execute(stmt).scalars())


INBOX_COUNT_CAP = 1000


def inbox_count(user: Any) -> int:
    """How many items wait for the user, counted up to INBOX_COUNT_CAP (the page says "1000+"): past
    that the exact figure helps no one and would cost a scan of the whole backlog on every visit."""
    where = _inbox_filter(user)
    if where is None:
        return 0
    capped = select(PaymentRequest.id).where(where).limit(INBOX_COUNT_CAP).subquery()
    return int(db.session.execute(select(func.count()).select_from(capped)).scalar_one())


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
