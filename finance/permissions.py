"""One permission question, `can(user, permission, obj)`, one jurisdiction filter, and one answer to
"which villages may this user see".

Permission names follow `scope:resource:action`. Views, queries and templates all ask `can()`. Who may
take a step of a request's workflow is `acting_role`, which reads the workflow table: the transition's
actor says which role, its bars say who is excluded whatever their role (the separation of duties);
the to-do count asks the same bars in SQL (`barred_sql`). A delegate (finance.delegations) may act
for the person who named them, in that role over those villages while the delegation is in force
(`grants_of`); the bars then apply to both, and an action taken for someone counts as theirs too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, event, exists, false, or_, select
from sqlalchemy.orm import Session, selectinload

from finance.auth.models import User
from finance.controls.queries import recusal_matches
from finance.delegations.models import Delegation
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.route import current_step_role
from finance.roles import APPROVER_ROLES, OrgKind, Role
from finance.timefmt import today_local
from finance.workflow import DECISION_ACTIONS, RAISING_ACTIONS, TABLE, Action, Actor, Bar, Transition


class Permission(StrEnum):
    REQUEST_READ = "village:request:read"
    REQUEST_CREATE = "village:request:create"
    REQUEST_SUBMIT = "village:request:submit"  # edit, submit, resubmit, withdraw
    REQUEST_DECIDE = "township:request:decide"  # approve, return, reject at the current step
    PAYMENT_RECORD = "township:payment:record"  # pay, reconcile
    AUDIT_READ = "township:audit:read"  # raw events, verification, checkpoints, trail report
    QUESTION_ASK = "township:question:create"
    QUESTION_ANSWER = "township:question:answer"
    ORG_MANAGE = "district:org:manage"
    USER_MANAGE = "district:user:manage"
    POLICY_MANAGE = "district:policy:manage"
    IMPORT_RUN = "district:import:run"  # bulk imports (EXCHANGE.md); which kinds: finance.imports.services.KIND_ROLES
    # the bank (issue 10): read a village's statements, matches, receipts, exceptions and balances; set
    # its accounts; import statements; confirm matches, close exceptions and months; register receipts
    BANK_READ = "township:bank:read"
    BANK_ACCOUNT_MANAGE = "township:bank_account:manage"
    STATEMENT_IMPORT = "township:statement:import"
    BANK_RECONCILE = "township:bank:reconcile"
    RECEIPT_RECORD = "village:receipt:record"
    FLAG_DECIDE = "township:flag:decide"  # a liaison's 已核实无异常 / 需问询 on a risk flag
    PAYMENT_HOLD = "township:payment:hold"  # a liaison's 暂缓支付 and its lifting
    DISTRICT_READ = "district:oversight:read"  # the district page (提级监督): read every township


READ_ROLES = frozenset(Role) - {Role.ADMIN}
TOWNSHIP_STAFF = frozenset({Role.AGENCY_REVIEWER, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_HEAD, Role.CASHIER})
# Who answers a liaison's question (问询): township staff, and the village's 书记 and 报账员 (issue 12 item 4).
ANSWER_ROLES = TOWNSHIP_STAFF | {Role.VILLAGE_LEAD, Role.ACCOUNTANT}
# The roles each actor of the workflow table stands for, and the permission that names their moves.
ACTOR_ROLES: dict[Actor, frozenset[Role]] = {
    Actor.REQUESTER: frozenset({Role.ACCOUNTANT}),
    Actor.STEP_APPROVER: frozenset(APPROVER_ROLES),
    Actor.CASHIER: frozenset({Role.CASHIER}),
    Actor.RECONCILER: frozenset({Role.AGENCY_REVIEWER}),
}
ACTOR_PERMISSION = {
    Actor.REQUESTER: Permission.REQUEST_SUBMIT,
    Actor.STEP_APPROVER: Permission.REQUEST_DECIDE,
    Actor.CASHIER: Permission.PAYMENT_RECORD,
    Actor.RECONCILER: Permission.BANK_RECONCILE,
}
# Who reads a village's bank side: the agency (审核会计, 出纳), the township head and the liaisons.
BANK_READERS = frozenset({Role.AGENCY_REVIEWER, Role.CASHIER, Role.TOWNSHIP_HEAD, Role.LIAISON})

PERMISSION_ROLES: dict[Permission, frozenset[Role]] = {
    Permission.REQUEST_READ: READ_ROLES,
    Permission.REQUEST_CREATE: frozenset({Role.ACCOUNTANT}),
    **{permission: ACTOR_ROLES[actor] for actor, permission in ACTOR_PERMISSION.items()},
    Permission.AUDIT_READ: frozenset({Role.LIAISON}),
    Permission.QUESTION_ASK: frozenset({Role.LIAISON}),
    Permission.QUESTION_ANSWER: ANSWER_ROLES,
    Permission.FLAG_DECIDE: frozenset({Role.LIAISON}),
    Permission.PAYMENT_HOLD: frozenset({Role.LIAISON}),
    Permission.DISTRICT_READ: frozenset({Role.LIAISON, Role.ADMIN}),
    Permission.ORG_MANAGE: frozenset({Role.ADMIN}),
    Permission.USER_MANAGE: frozenset({Role.ADMIN}),
    Permission.POLICY_MANAGE: frozenset({Role.ADMIN}),
    Permission.IMPORT_RUN: frozenset({Role.ADMIN, Role.AGENCY_REVIEWER}),
    Permission.BANK_READ: BANK_READERS,
    Permission.BANK_ACCOUNT_MANAGE: frozenset({Role.AGENCY_REVIEWER, Role.ADMIN}),
    Permission.STATEMENT_IMPORT: frozenset({Role.AGENCY_REVIEWER, Role.CASHIER}),
    Permission.RECEIPT_RECORD: frozenset({Role.ACCOUNTANT, Role.AGENCY_REVIEWER}),
}
BANK_PERMISSIONS = frozenset({Permission.BANK_READ, Permission.BANK_ACCOUNT_MANAGE, Permission.STATEMENT_IMPORT,
                              Permission.BANK_RECONCILE, Permission.RECEIPT_RECORD})

def raised_by(user: User, request: PaymentRequest) -> bool:
    """Is `user` the requester, or did they submit or withdraw it in some round (another accountant of
    the village who took over, or revised a returned request)?"""
    if user.id == request.requester_id:
        return True
    return any(_by(a, user) and a.action in RAISING_ACTIONS for a in request.actions)


def decided_by(user: User, request: PaymentRequest) -> bool:
    """Has `user` approved, returned or rejected `request` at any step of any round (themselves, or a
    delegate for them)?"""
    return any(_by(a, user) and a.action in DECISION_ACTIONS for a in request.actions)


def _by(action: RequestAction, user: User) -> bool:
    """Is `action` this user's: taken by them, or by a delegate on their behalf? (An action a delegate
    takes counts as both people's, so the separation of duties holds for each.)"""
    return action.actor_id == user.id or action.on_behalf_of_id == user.id


def barred(user: User, request: PaymentRequest, bar: Bar) -> bool:
    """Does `bar` of the workflow table exclude `user` from acting on `request`?"""
    if bar is Bar.RAISED:
        return raised_by(user, request)
    if bar is Bar.DECIDED:
        return decided_by(user, request)
    if bar is Bar.PAID:
        return any(_by(a, user) and a.action is Action.PAY for a in request.actions)
    return any(_by(a, user) and a.action in DECISION_ACTIONS and a.step != request.step
               for a in request.actions)


def barred_sql(user: Any, bar: Bar) -> ColumnElement[bool]:
    """`barred` as a condition on PaymentRequest rows, for counting in SQL what `acting_role` decides."""
    action = RequestAction
    mine = select(action.id).where(action.request_id == PaymentRequest.id,
                                   or_(action.actor_id == user.id, action.on_behalf_of_id == user.id))
    if bar is Bar.RAISED:
        return or_(PaymentRequest.requester_id == user.id, exists(mine.where(action.action.in_(RAISING_ACTIONS))))
    if bar is Bar.DECIDED:
        return exists(mine.where(action.action.in_(DECISION_ACTIONS)))
    if bar is Bar.PAID:
        return exists(mine.where(action.action == Action.PAY))
    return exists(mine.where(action.action.in_(DECISION_ACTIONS),
                             or_(action.step.is_(None), action.step != PaymentRequest.step)))


@dataclass(frozen=True)
class Grant:
    """What an active delegation lets its delegate do: act in `role` over `villages` for `principal`."""

    delegation_id: int
    role: Role
    villages: frozenset[int]  # village ids the principal still holds the role over
    principal: User


@dataclass(frozen=True)
class Acting:
    """In which role a user may take a move, and for whom (None: in their own right)."""

    role: Role
    on_behalf_of: User | None = None
    delegation_id: int | None = None


GRANTS_CACHE = "sanzi.delegation_grants"


def grants_of(user: Any) -> list[Grant]:
    """The delegations naming `user` as delegate that are in force today (China date), each for the
    villages over which its principal, still active, still holds the role. Read once per transaction
    (kept in the session's `info` until the transaction or savepoint ends; the delegation services
    forget it when they write)."""
    user_id = getattr(user, "id", None)
    if user_id is None:
        return []
    today = today_local()
    cache: dict[tuple[int, Any], list[Grant]] = db.session.info.setdefault(GRANTS_CACHE, {})
    if (user_id, today) in cache:
        return cache[(user_id, today)]
    rows = db.session.execute(
        select(Delegation).where(Delegation.delegate_id == user_id, Delegation.ends_on >= today,
                                 Delegation.starts_on <= today, Delegation.ended_at.is_(None))
        .options(selectinload(Delegation.villages), selectinload(Delegation.principal))
        .order_by(Delegation.id)
    ).scalars()
    grants = []
    for d in rows:
        principal = d.principal
        villages = frozenset(v.id for v in d.villages if d.role in principal.roles_at(v))
        if principal.active and villages:
            grants.append(Grant(d.id, d.role, villages, principal))
    cache[(user_id, today)] = grants
    return grants


@event.listens_for(Session, "after_transaction_end")
def _forget_grants(session: Session, _transaction: Any) -> None:
    session.info.pop(GRANTS_CACHE, None)


def acting_as(user: User, request: PaymentRequest, transition: Transition) -> Acting | None:
    """The role in which `user` may take `transition` on `request`, and for whom, or None: a role of its
    actor held over the request's village (the current step's role, for a step approver) in their own
    right, or else through a delegation in force; and none of its bars, for the user nor (through a
    delegation) for the person they act for. Nobody acts on imported history (EXCHANGE.md §4): it was
    decided and paid in an earlier system."""
    if request.imported:
        return None
    if transition.actor is Actor.STEP_APPROVER:
        step_role = current_step_role(request)
        wanted = frozenset({step_role}) if step_role is not None else frozenset()
    else:
        wanted = ACTOR_ROLES[transition.actor]
    if any(barred(user, request, bar) for bar in transition.barred):
        return None
    recusing = transition.actor is Actor.STEP_APPROVER
    if recusing and recusal_matches(user.id, request):
        return None  # 须回避: the payee is the approver or in his register (finance.controls)
    roles = user.roles_at(request.village)
    own = next((r for r in wanted if r in roles), None)
    if own is not None:
        return Acting(own)
    for grant in grants_of(user):
        if (grant.role in wanted and request.village_id in grant.villages
                and not any(barred(grant.principal, request, bar) for bar in transition.barred)
                and not (recusing and recusal_matches(grant.principal.id, request))):
            return Acting(grant.role, grant.principal, grant.delegation_id)
    return None


def role_for(user: User, request: PaymentRequest, transition: Transition) -> Role | None:
    """The role in which `user` may take `transition` on `request`, or None (see `acting_as`)."""
    acting = acting_as(user, request, transition)
    return acting.role if acting is not None else None


def acting_for(user: User, request: PaymentRequest, action: Action) -> Acting | None:
    """`acting_role`, with the person a delegate acts for (None when the state does not open `action`)."""
    transition = TABLE.get((request.state, action))
    return acting_as(user, request, transition) if transition is not None else None


def acting_role(user: User, request: PaymentRequest, action: Action) -> Role | None:
    """The role in which `user` may take `action` on `request` now, or None (also when the request's
    state does not open `action`)."""
    acting = acting_for(user, request, action)
    return acting.role if acting is not None else None


def can(user: Any, permission: Permission, obj: Any = None) -> bool:
    """May `user` do `permission` on `obj` (a request, an org unit, or None for "anywhere")?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if isinstance(obj, PaymentRequest):
        roles = user.roles_at(obj.village)
        if permission is Permission.REQUEST_READ:  # in their own right, or as a delegate for the village
            return bool(roles & READ_ROLES) or any(obj.village_id in grant.villages for grant in grants_of(user))
        if permission in (Permission.AUDIT_READ, Permission.QUESTION_ASK, Permission.FLAG_DECIDE,
                          Permission.PAYMENT_HOLD):
            return Role.LIAISON in roles
        if permission is Permission.QUESTION_ANSWER:
            return bool(roles & ANSWER_ROLES)
        # a workflow permission: a move of its actor that the request's state opens and the user may take
        return any(role_for(user, obj, t) is not None for (state, _a), t in TABLE.items()
                   if state is obj.state and ACTOR_PERMISSION[t.actor] is permission)
    if isinstance(obj, OrgUnit):
        roles = user.roles_at(obj)
        if permission is Permission.REQUEST_CREATE:
            return obj.kind == OrgKind.VILLAGE and Role.ACCOUNTANT in roles
        if permission in (Permission.ORG_MANAGE, Permission.USER_MANAGE, Permission.POLICY_MANAGE):
            return Role.ADMIN in roles
        if permission in (Permission.AUDIT_READ, Permission.QUESTION_ASK, Permission.FLAG_DECIDE):
            return Role.LIAISON in roles
        if permission is Permission.IMPORT_RUN:
            return bool(roles & PERMISSION_ROLES[Permission.IMPORT_RUN])
        if permission is Permission.DISTRICT_READ:
            return obj.kind == OrgKind.DISTRICT and bool({a.role for a in user.assignments
                                                         if a.org_unit_id == obj.id} & {Role.LIAISON, Role.ADMIN})
        if permission is Permission.REQUEST_READ:
            return bool(roles & READ_ROLES)
        if permission in BANK_PERMISSIONS:  # a village's bank side, read or changed over that village
            return obj.kind == OrgKind.VILLAGE and bool(roles & PERMISSION_ROLES[permission])
        return False
    # "anywhere": does the user hold a role that grants this permission at all?
    held = {a.role for a in user.assignments}
    return bool(held & PERMISSION_ROLES.get(permission, frozenset()))


def jurisdiction(user: Any, roles: frozenset[Role] | set[Role] = READ_ROLES) -> Select[int]:
    """The ids of org units the user's assignments (in `roles`) cover. Every list query filters by it,
    so no view can forget; a record outside it is a 404 like a missing one."""
    paths = [a.org_unit.path for a in getattr(user, "assignments", []) if a.role in roles]
    delegated = {v for grant in grants_of(user) if grant.role in roles for v in grant.villages}
    if not paths and not delegated:
        return select(OrgUnit.id).where(false())
    return select(OrgUnit.id).where(or_(*[OrgUnit.path.startswith(p, autoescape=True) for p in paths],
                                        OrgUnit.id.in_(delegated) if delegated else false()))


def villages_in_scope(user: Any, roles: frozenset[Role] | set[Role] = READ_ROLES) -> list[OrgUnit]:
    """The villages the user's assignments (in `roles`) cover, by code: the choices of every village
    selector, and what a request list, a print or the liaison's pages may show."""
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(jurisdiction(user, roles)), OrgUnit.kind == OrgKind.VILLAGE)
        .order_by(OrgUnit.code)
    ).scalars())
