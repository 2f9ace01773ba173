"""One permission question, `can(user, permission, obj)`, and one jurisdiction filter.

Permission names follow `scope:resource:action`. Views, queries and templates all ask `can()`; the
services ask it too (through `require`) so that a forged form post is refused like a hidden button.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, or_, select

from finance.orgs.models import OrgUnit
from finance.roles import OrgKind, Role
from finance.workflow import Action, State

if TYPE_CHECKING:
    from finance.auth.models import User
    from finance.payment_requests.models import PaymentRequest


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


READ_ROLES = frozenset(Role) - {Role.ADMIN}
DECISION_ACTIONS = (Action.APPROVE, Action.RETURN, Action.REJECT)
ACTION_PERMISSION = {
    Action.EDIT: Permission.REQUEST_SUBMIT,
    Action.SUBMIT: Permission.REQUEST_SUBMIT,
    Action.WITHDRAW: Permission.REQUEST_SUBMIT,
    Action.APPROVE: Permission.REQUEST_DECIDE,
    Action.RETURN: Permission.REQUEST_DECIDE,
    Action.REJECT: Permission.REQUEST_DECIDE,
    Action.PAY: Permission.PAYMENT_RECORD,
    Action.RECONCILE: Permission.PAYMENT_RECORD,
}
TOWNSHIP_STAFF = frozenset({Role.AGENCY_REVIEWER, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_HEAD, Role.CASHIER})


class Forbidden(Exception):
    """The user may see the object but not do this to it."""


def _roles_over(user: User, unit: OrgUnit) -> set[Role]:
    return user.roles_at(unit)


def current_step_role(request: PaymentRequest) -> Role | None:
    """The role that must act at the request's current step, or None when it is not pending."""
    from finance.payment_requests.queries import steps_of

    if request.state != State.PENDING:
        return None
    steps = steps_of(request)
    if 1 <= request.step <= len(steps):
        return steps[request.step - 1].role
    return None


RAISING_ACTIONS = (Action.SUBMIT, Action.WITHDRAW)


def raised_by(user: User, request: PaymentRequest) -> bool:
    """Is `user` the requester, or did they submit it in some round (another accountant of the village
    who took over, or revised a returned request)? Such a user never decides on it or pays it."""
    if user.id == request.requester_id:
        return True
    return any(a.actor_id == user.id and a.action in RAISING_ACTIONS for a in request.actions)


def decided_by(user: User, request: PaymentRequest) -> bool:
    """Has `user` approved, returned or rejected `request` at any step of any round?"""
    return any(a.actor_id == user.id and a.action in DECISION_ACTIONS for a in request.actions)


def acting_role(user: User, request: PaymentRequest, action: Action) -> Role | None:
    """The role in which `user` may take `action` on `request` now, or None. Encodes the separation of
    duties: no one decides their own request or at two steps of one request; a cashier pays nothing
    they raised or decided."""
    roles = _roles_over(user, request.village)
    permission = ACTION_PERMISSION.get(action)
    if permission is Permission.REQUEST_SUBMIT:
        if Role.ACCOUNTANT not in roles or decided_by(user, request):
            return None  # an accountant who also decided on it (as village lead, say) must not revise it
        return Role.ACCOUNTANT
    if permission is Permission.REQUEST_DECIDE:
        role = current_step_role(request)
        if role is None or role not in roles or raised_by(user, request):
            return None
        for done in request.actions:
            if done.actor_id == user.id and done.action in DECISION_ACTIONS and done.step != request.step:
                return None
        return role
    if permission is Permission.PAYMENT_RECORD:
        if Role.CASHIER not in roles or raised_by(user, request):
            return None
        if action is Action.PAY and decided_by(user, request):
            return None
        return Role.CASHIER
    return None


def can(user: Any, permission: Permission, obj: Any = None) -> bool:
    """May `user` do `permission` on `obj` (a request, an org unit, or None for "anywhere")?"""
    from finance.payment_requests.models import PaymentRequest

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if isinstance(obj, PaymentRequest):
        roles = _roles_over(user, obj.village)
        if permission is Permission.REQUEST_READ:
            return bool(roles & READ_ROLES)
        if permission is Permission.AUDIT_READ or permission is Permission.QUESTION_ASK:
            return Role.LIAISON in roles
        if permission is Permission.QUESTION_ANSWER:
            return bool(roles & TOWNSHIP_STAFF)
        action = {Permission.REQUEST_SUBMIT: Action.SUBMIT, Permission.REQUEST_DECIDE: Action.APPROVE,
                  Permission.PAYMENT_RECORD: Action.PAY}.get(permission)
        return action is not None and acting_role(user, obj, action) is not None
    if isinstance(obj, OrgUnit):
        roles = _roles_over(user, obj)
        if permission is Permission.REQUEST_CREATE:
            return obj.kind == OrgKind.VILLAGE and Role.ACCOUNTANT in roles
        if permission in (Permission.ORG_MANAGE, Permission.USER_MANAGE, Permission.POLICY_MANAGE):
            return Role.ADMIN in roles
        if permission in (Permission.AUDIT_READ, Permission.QUESTION_ASK):
            return Role.LIAISON in roles
        if permission is Permission.REQUEST_READ:
            return bool(roles & READ_ROLES)
        return False
    # "anywhere": does the user hold a role that grants this permission at all?
    held = {a.role for a in user.assignments}
    return bool(held & PERMISSION_ROLES.get(permission, frozenset()))


PERMISSION_ROLES: dict[Permission, frozenset[Role]] = {
    Permission.REQUEST_READ: READ_ROLES,
    Permission.REQUEST_CREATE: frozenset({Role.ACCOUNTANT}),
    Permission.REQUEST_SUBMIT: frozenset({Role.ACCOUNTANT}),
    Permission.REQUEST_DECIDE: frozenset({Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR, Role.AGENCY_REVIEWER,
                                          Role.TOWNSHIP_LEADER, Role.TOWNSHIP_HEAD}),
    Permission.PAYMENT_RECORD: frozenset({Role.CASHIER}),
    Permission.AUDIT_READ: frozenset({Role.LIAISON}),
    Permission.QUESTION_ASK: frozenset({Role.LIAISON}),
    Permission.QUESTION_ANSWER: TOWNSHIP_STAFF,
    Permission.ORG_MANAGE: frozenset({Role.ADMIN}),
    Permission.USER_MANAGE: frozenset({Role.ADMIN}),
    Permission.POLICY_MANAGE: frozenset({Role.ADMIN}),
}


def require(user: Any, permission: Permission, obj: Any = None) -> None:
    if not can(user, permission, obj):
        raise Forbidden(permission)


def jurisdiction(user: Any, roles: frozenset[Role] | set[Role] = READ_ROLES) -> Select[int]:
    """The ids of org units the user's assignments (in `roles`) cover. Every list query filters by it,
    so no view can forget; a record outside it is a 404 like a missing one."""
    paths = [a.org_unit.path for a in getattr(user, "assignments", []) if a.role in roles]
    if not paths:
        return select(OrgUnit.id).where(false())
    return select(OrgUnit.id).where(or_(*[OrgUnit.path.startswith(p, autoescape=True) for p in paths]))
