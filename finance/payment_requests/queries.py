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
from finance.permissions import DECISION_ACTIONS, RAISING_ACTIONS, Permission, acting_role, can, jurisdiction
from finance.roles import Role
from finance.routing import DEFAULT_RULES, Rules, StepRule, parse_rules
from finance.workflow import Action, State


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


def _units_under(unit: OrgUnit) -> list[int]:
    return list(db.session.execute(
        select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))
    ).scalars())


def _waiting_for(user: Any, *, with_sod: bool) -> ColumnElement[bool] | None:
    """Requests whose move is this user's: for each role assignment, the requests waiting for that role in
    that unit's villages (one indexed range per assignment). With `with_sod`, also less those the
    separation of duties keeps from them, in SQL (the rules of permissions.acting_role), for counting."""
    conditions = []
    action = RequestAction
    mine = select(action.id).where(action.request_id == PaymentRequest.id, action.actor_id == user.id)
    raised = exists(mine.where(action.action.in_(RAISING_ACTIONS)))
    decided_any = exists(mine.where(action.action.in_(DECISION_ACTIONS)))
    decided_elsewhere = exists(mine.where(action.action.in_(DECISION_ACTIONS),
                                          or_(action.step.is_(None), action.step != PaymentRequest.step)))
    for assignment in user.assignments:
        role = assignment.role
        if role not in (*DECIDING_ROLES, Role.CASHIER, Role.ACCOUNTANT):
            continue
        villages = _units_under(assignment.org_unit)
        waiting = and_(PaymentRequest.waiting_role == role, PaymentRequest.village_id.in_(villages))
        if role == Role.ACCOUNTANT:
            waiting = and_(waiting, PaymentRequest.requester_id == user.id)
            if with_sod:
                waiting = and_(waiting, ~decided_any)
        else:
            waiting = and_(waiting, PaymentRequest.requester_id != user.id)
            if with_sod:
                waiting = and_(waiting, ~raised, ~(decided_elsewhere if role in DECIDING_ROLES else decided_any))
        conditions.append(waiting)
    return or_(*conditions) if conditions else None


def _mine_now(user: Any, req: PaymentRequest) -> bool:
    """The rule itself (permissions.acting_role) for one listed request."""
    action = {State.PENDING: Action.APPROVE, State.APPROVED: Action.PAY}.get(req.state, Action.EDIT)
    return acting_role(user, req, action) is not None


def inbox_for(user: Any, *, after: tuple[datetime, int] | None = None, limit: int = INBOX_PAGE
              ) -> list[PaymentRequest]:
    """The user's to-do list (待办), oldest waiting first, a page at a time (keyset on waiting_since, id):
    steps they can decide, approved requests to pay (cashier), their drafts and returned requests
    (accountant).

    The candidates come in order from the (village_id, waiting_role, waiting_since) index, a little more
    than a page at a time; permissions.acting_role then decides each one, so the separation of duties
    is applied by the same rule that guards the action. A backlog of any size costs one page of rows."""
    where = _waiting_for(user, with_sod=False)
    if where is None:
        return []
    out: list[PaymentRequest] = []
    cursor = after
    batch_size = limit + 10
    while len(out) < limit:
        stmt = select(PaymentRequest).where(where)
        if cursor is not None:
            stmt = stmt.where(or_(PaymentRequest.waiting_since > cursor[0],
                                  and_(PaymentRequest.waiting_since == cursor[0], PaymentRequest.id > cursor[1])))
        stmt = (stmt.options(selectinload(PaymentRequest.policy), selectinload(PaymentRequest.actions),
                             lazyload(PaymentRequest.attachments), lazyload(PaymentRequest.requester))
                .order_by(PaymentRequest.waiting_since.asc(), PaymentRequest.id.asc()).limit(batch_size))
        batch = list(db.session.execute(stmt).scalars())
        out.extend(req for req in batch if _mine_now(user, req))
        if len(batch) < batch_size:
            break
        cursor = (batch[-1].waiting_since, batch[-1].id)  # type: ignore[assignment]
    return out[:limit]


INBOX_COUNT_CAP = 100


def inbox_count(user: Any) -> int:
    """How many items wait for the user, counted up to INBOX_COUNT_CAP (the page says "100+"): past
    that the exact figure helps no one and would cost a scan of the whole backlog on every visit."""
    where = _waiting_for(user, with_sod=True)
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
