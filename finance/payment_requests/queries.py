"""Reads of payment requests, always scoped by the user's jurisdiction."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import lazyload, selectinload

from finance import keyset
from finance.controls.queries import recusal_sql
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.permissions import ACTOR_ROLES, Permission, acting_role, barred_sql, can, grants_of, jurisdiction
from finance.roles import Role
from finance.timefmt import CST
from finance.workflow import Actor, Bar, State, awaited

INBOX_PAGE = 20
INBOX_COUNT_CAP = 100


def visible(user: Any) -> Select[PaymentRequest]:
    """Every request the user may read: the one jurisdiction filter for request lists."""
    return select(PaymentRequest).where(PaymentRequest.village_id.in_(jurisdiction(user)))


def get_visible(user: Any, request_id: int) -> PaymentRequest | None:
    """A request by id, or None when it does not exist or lies outside the user's scope (both 404)."""
    req = db.session.execute(visible(user).where(PaymentRequest.id == request_id)).scalar_one_or_none()
    if req is None or not can(user, Permission.REQUEST_READ, req):
        return None
    return req


def count_visible(user: Any) -> int:
    return int(db.session.execute(
        select(func.count(PaymentRequest.id)).where(PaymentRequest.village_id.in_(jurisdiction(user)))
    ).scalar_one())


def _units_under(unit: OrgUnit) -> list[int]:
    return list(db.session.execute(
        select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))
    ).scalars())


def _awaited_bars() -> dict[Actor, dict[frozenset[Bar], list[State]]]:
    """For each actor of the table, the states that await a move of theirs, grouped by that move's bars."""
    out: dict[Actor, dict[frozenset[Bar], list[State]]] = {}
    for state in State:
        if (move := awaited(state)) is not None:
            out.setdefault(move[1].actor, {}).setdefault(move[1].barred, []).append(state)
    return out


AWAITED = _awaited_bars()


def _waiting_for(user: Any, *, with_bars: bool) -> ColumnElement[bool] | None:
    """Requests whose move is this user's: for each role assignment, the requests waiting for that role in
    that unit's villages (one indexed range per assignment), and for each delegation in force naming
    them, those waiting for its role in its villages. An accountant's are the requests they raised.
    With `with_bars`, also less those the awaited move's bars (the workflow table's) keep from them (and,
    as a delegate, from the person they act for), in SQL, for counting; without, only the cheap part of
    the bars (permissions.acting_role then decides each listed request)."""
    conditions = []
    sources: list[tuple[Role, list[int], list[Any]]] = [
        (a.role, _units_under(a.org_unit), [user]) for a in user.assignments]
    sources += [(grant.role, sorted(grant.villages), [user, grant.principal]) for grant in grants_of(user)]
    for role, units, people in sources:
        actor = next((a for a, roles in ACTOR_ROLES.items() if role in roles and a in AWAITED), None)
        if actor is None:
            continue
        waiting = and_(PaymentRequest.waiting_role == role, PaymentRequest.village_id.in_(units))
        if actor is Actor.REQUESTER:
            waiting = and_(waiting, PaymentRequest.requester_id == user.id)
        by_bars = AWAITED[actor]
        guards = []
        for bars, states in by_bars.items():
            if with_bars:
                guard = and_(*[~barred_sql(p, bar) for bar in bars for p in people]) if bars else true()
                if actor is Actor.STEP_APPROVER:  # 须回避 (finance.controls), as permissions.role_for asks it
                    guard = and_(guard, *[~recusal_sql(p.id) for p in people])
            elif Bar.RAISED in bars:
                guard = and_(*[PaymentRequest.requester_id != p.id for p in people])
            else:
                guard = true()
            guards.append(guard if len(by_bars) == 1 else and_(PaymentRequest.state.in_(states), guard))
        conditions.append(and_(waiting, or_(*guards)))
    return or_(*conditions) if conditions else None


def _mine_now(user: Any, req: PaymentRequest) -> bool:
    """The rule itself (permissions.acting_role on the awaited move) for one listed request."""
    move = awaited(req.state)
    return move is not None and acting_role(user, req, move[0]) is not None


def inbox_for(user: Any, *, after: keyset.Cursor | None = None, limit: int = INBOX_PAGE) -> list[PaymentRequest]:
    """The user's to-do list (待办), oldest waiting first, a page at a time (keyset on waiting_since, id):
    steps they can decide, approved requests to pay (cashier), their drafts and returned requests
    (accountant).

    The candidates come in order from the (village_id, waiting_role, waiting_since) index, a little more
    than a page at a time; permissions.acting_role then decides each one, so the separation of duties
    is applied by the same rule that guards the action. A backlog of any size costs one page of rows."""
    where = _waiting_for(user, with_bars=False)
    if where is None:
        return []
    out: list[PaymentRequest] = []
    cursor = after
    batch_size = limit + 10
    while len(out) < limit:
        stmt = select(PaymentRequest).where(where)
        if cursor is not None:
            stmt = stmt.where(keyset.after(PaymentRequest.waiting_since, PaymentRequest.id, cursor,
                                           descending=False))
        stmt = (stmt.options(selectinload(PaymentRequest.policy), selectinload(PaymentRequest.actions),
                             lazyload(PaymentRequest.attachments), lazyload(PaymentRequest.requester))
                .order_by(PaymentRequest.waiting_since.asc(), PaymentRequest.id.asc()).limit(batch_size))
        batch = list(db.session.execute(stmt).scalars())
        out.extend(req for req in batch if _mine_now(user, req))
        if len(batch) < batch_size:
            break
        last = batch[-1]
        assert last.waiting_since is not None  # a request waiting for a role has waited since a moment
        cursor = (last.waiting_since, last.id)
    return out[:limit]


def todo_condition(user: Any) -> ColumnElement[bool] | None:
    """The user's to-do as a condition on PaymentRequest rows, the table's bars included in SQL (what
    inbox_count counts), for reads that narrow it down (finance.notices: how many are overdue); None
    when nothing can wait for them."""
    return _waiting_for(user, with_bars=True)


def inbox_count(user: Any) -> int:
    """How many items wait for the user, counted up to INBOX_COUNT_CAP (the page says "100+"): past
    that the exact figure helps no one and would cost a scan of the whole backlog on every visit."""
    where = todo_condition(user)
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
    after: keyset.Cursor | None = None,
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
        stmt = stmt.where(keyset.after(PaymentRequest.created_at, PaymentRequest.id, after, descending=True))
    stmt = stmt.order_by(PaymentRequest.created_at.desc(), PaymentRequest.id.desc()).limit(limit)
    return list(db.session.execute(stmt).scalars())


def _day_start(day: date, plus_days: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(days=plus_days)

