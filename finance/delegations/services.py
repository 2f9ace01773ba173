"""Naming a delegate and ending a delegation: the only writers of delegations. Each is one audit event on
the system chain (actor: the person who named the delegate, or who ended it); nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from finance import trail
from finance.auth.models import RoleAssignment, User
from finance.db import utcnow
from finance.delegations.models import Delegation
from finance.errors import Forbidden, InputError, NotFound
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.permissions import GRANTS_CACHE, Permission, can
from finance.roles import APPROVER_ROLES, OrgKind, Role
from finance.timefmt import today_local
from finance.trail import AuditAction, AuditSubject

# The roles whose turn can be handed to someone else: the approval steps and the cashier's payment.
DELEGABLE_ROLES = (*APPROVER_ROLES, Role.CASHIER)
MAX_DAYS = 92  # one delegation covers at most about three months; name the delegate again after that
# A delegate is a colleague who works in the same township, not a liaison or the district office.
DELEGATE_ROLES = frozenset(Role) - {Role.ADMIN, Role.LIAISON}


class DelegationError(InputError):
    """A delegation the user must correct (field name -> message)."""


@dataclass
class DelegationInput:
    role: str = ""
    delegate_id: int | None = None
    village_ids: list[int] = field(default_factory=list)
    starts_on: date | None = None
    ends_on: date | None = None


def own_villages(principal: User, role: Role) -> list[OrgUnit]:
    """The villages over which `principal` holds `role` in their own right (not as someone's delegate:
    a delegate cannot hand on what was handed to them), by code."""
    paths = [a.org_unit.path for a in principal.assignments if a.role == role]
    if not paths:
        return []
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.VILLAGE,
                              or_(*[OrgUnit.path.startswith(p, autoescape=True) for p in paths]))
        .order_by(OrgUnit.code)
    ).scalars())


def delegable_roles(principal: User) -> list[Role]:
    held = {a.role for a in principal.assignments}
    return [r for r in DELEGABLE_ROLES if r in held]


def _townships(villages: list[OrgUnit]) -> list[OrgUnit]:
    return list({t.id: t for v in villages if (t := v.township) is not None}.values())


def colleagues(principal: User) -> list[User]:
    """Who `principal` may name: active people (not themselves) with a role other than liaison or admin
    at, above or under one of the townships where the principal holds a delegable role."""
    townships = _townships([v for r in delegable_roles(principal) for v in own_villages(principal, r)])
    if not townships:
        return []
    rows = db.session.execute(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(User.active.is_(True), User.id != principal.id, RoleAssignment.role.in_(DELEGATE_ROLES))
        .order_by(User.display_name, User.id)
    ).unique().scalars()
    return [u for u in dict.fromkeys(rows)
            if any(a.role in DELEGATE_ROLES and (a.org_unit.covers(t) or t.covers(a.org_unit))
                   for a in u.assignments for t in townships)]


def delegation_errors(principal: User, data: DelegationInput) -> tuple[dict[str, str], Role | None,
                                                                        User | None, list[OrgUnit]]:
    errors: dict[str, str] = {}
    role = next((r for r in delegable_roles(principal) if r.value == data.role), None)
    if role is None:
        errors["role"] = _("请选择要委托的角色。")
    delegate = db.session.get(User, data.delegate_id) if data.delegate_id else None
    if delegate is None or delegate not in colleagues(principal):
        errors["delegate"] = _("请从列表中选择代理人（本乡镇在岗人员，不能是本人）。")
    mine = own_villages(principal, role) if role is not None else []
    chosen = [v for v in mine if v.id in set(data.village_ids)]
    if role is not None and (not data.village_ids or len(chosen) != len(set(data.village_ids))):
        errors["villages"] = _("请至少选择一个您担任该角色的村。")
    today = today_local()
    if data.starts_on is None:
        errors["starts_on"] = _("请填写开始日期。")
    elif data.starts_on < today:
        errors["starts_on"] = _("开始日期不能早于今天。")
    if data.ends_on is None:
        errors["ends_on"] = _("请填写结束日期。")
    elif data.starts_on is not None and data.ends_on < data.starts_on:
        errors["ends_on"] = _("结束日期不能早于开始日期。")
    elif data.starts_on is not None and data.ends_on - data.starts_on > timedelta(days=MAX_DAYS):
        errors["ends_on"] = _("一次委托最长 %(n)d 天。", n=MAX_DAYS)
    if not errors and role is not None and data.starts_on and data.ends_on:
        overlapping = db.session.execute(
            select(Delegation).where(Delegation.principal_id == principal.id, Delegation.role == role,
                                     Delegation.ended_at.is_(None), Delegation.starts_on <= data.ends_on,
                                     Delegation.ends_on >= data.starts_on)
        ).scalars()
        ids = {v.id for v in chosen}
        if any(ids & {v.id for v in d.villages} for d in overlapping):
            errors["villages"] = _("这段时间内您已将这些村的该角色委托给他人，请先结束原委托。")
    return errors, role, delegate, chosen


def summary(d: Delegation) -> dict[str, object]:
    """What the trail records of a delegation."""
    return {
        "principal": {"user_id": d.principal_id, "name": d.principal.display_name},
        "delegate": {"user_id": d.delegate_id, "name": d.delegate.display_name},
        "role": d.role.value,
        "villages": [v.code for v in d.villages],
        "starts_on": d.starts_on.isoformat(),
        "ends_on": d.ends_on.isoformat(),
    }


def create(principal: User, data: DelegationInput) -> Delegation:
    """`principal` names a delegate to act for them in one role over some of their villages between two
    dates (both included, China dates). One `delegation_create` event. Two at once for one principal
    are serialised (their user row is locked; SQLite takes its write lock at BEGIN), so the overlap
    check sees the other's row."""
    db.session.execute(select(User.id).where(User.id == principal.id).with_for_update())
    errors, role, delegate, villages = delegation_errors(principal, data)
    if errors:
        first = next(iter(errors.values()))
        raise DelegationError(first if len(errors) == 1 else _("还有内容需要修改，请检查标红的项目。"), errors)
    assert role is not None and delegate is not None and data.starts_on and data.ends_on
    d = Delegation(principal=principal, delegate=delegate, role=role, starts_on=data.starts_on,
                   ends_on=data.ends_on, villages=villages)
    db.session.add(d)
    db.session.flush()
    db.session.info.pop(GRANTS_CACHE, None)
    trail.record(village=None, user=principal, role=role, action=AuditAction.DELEGATION_CREATE,
                 subject_type=AuditSubject.DELEGATION, subject_id=d.id, after=summary(d))
    return d


def may_end(user: User, d: Delegation) -> bool:
    """The person who named the delegate, or the district admin over one of its villages."""
    return user.id == d.principal_id or any(can(user, Permission.USER_MANAGE, v) for v in d.villages)


def end(user: User, d: Delegation | None) -> Delegation:
    """End a delegation now (before its end date, or before it began). One `delegation_end` event; a
    delegation already over changes nothing."""
    if d is None or not may_end(user, d):
        raise NotFound()
    if d.ended_at is not None or d.ends_on < today_local():
        return d
    if not (user.id == d.principal_id or can(user, Permission.USER_MANAGE)):
        raise Forbidden(Permission.USER_MANAGE)
    # One end even when the principal and the admin press at the same moment: the conditional UPDATE
    # changes the row for one of them; the other finds it ended and records nothing.
    now = utcnow()
    ended = db.session.execute(
        update(Delegation).where(Delegation.id == d.id, Delegation.ended_at.is_(None))
        .values(ended_at=now, ended_by_id=user.id).execution_options(synchronize_session=False)
    )
    db.session.info.pop(GRANTS_CACHE, None)
    if getattr(ended, "rowcount", 0) != 1:
        db.session.refresh(d)
        return d
    db.session.refresh(d)
    trail.record(village=None, user=user, role=d.role if user.id == d.principal_id else Role.ADMIN,
                 action=AuditAction.DELEGATION_END, subject_type=AuditSubject.DELEGATION, subject_id=d.id,
                 before={"ends_on": d.ends_on.isoformat()},
                 after={**summary(d), "ended_on": today_local().isoformat()})
    return d
