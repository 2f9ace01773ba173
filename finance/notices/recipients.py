"""Who is told: the holders of a role over a village, narrowed to those who may act on the request now."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from finance.auth.models import RoleAssignment, User
from finance.delegations.models import Delegation, delegation_village
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import waiting
from finance.permissions import TOWNSHIP_STAFF, acting_role
from finance.roles import Role
from finance.timefmt import today_local
from finance.workflow import Actor, State, awaited

# The states in which a request waits for someone other than its accountant (a step approver, the
# cashier), read off the workflow table: what reminders, escalation and overdue counts concern.
WAITED_STATES = tuple(s for s in State if (m := awaited(s)) is not None and m[1].actor is not Actor.REQUESTER)


def covering_paths(unit: OrgUnit) -> list[str]:
    """The paths of `unit` and every unit above it ("/1/", "/1/4/", "/1/4/9/")."""
    parts = [p for p in unit.path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def holders(roles: Iterable[Role], unit: OrgUnit) -> list[User]:
    """Active users holding any of `roles` at `unit` or above it: the people of that village's chain,
    not the whole township's (a village lead of another village is not told)."""
    wanted = list(roles)
    if not wanted:
        return []
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .where(RoleAssignment.role.in_(wanted), OrgUnit.path.in_(covering_paths(unit)), User.active.is_(True))
        .options(selectinload(User.assignments))
        .order_by(User.id)
        .distinct()
    )
    return list(db.session.execute(stmt).scalars())


def delegates(role: Role, village: OrgUnit) -> list[User]:
    """Active people who act in `role` over `village` for someone else today (finance.delegations)."""
    today = today_local()
    stmt = (
        select(User)
        .join(Delegation, Delegation.delegate_id == User.id)
        .join(delegation_village, delegation_village.c.delegation_id == Delegation.id)
        .where(Delegation.role == role, delegation_village.c.village_id == village.id,
               Delegation.starts_on <= today, Delegation.ends_on >= today, Delegation.ended_at.is_(None),
               User.active.is_(True))
        .options(selectinload(User.assignments))
        .order_by(User.id)
        .distinct()
    )
    return list(db.session.execute(stmt).scalars())


def next_actors(req: PaymentRequest) -> list[User]:
    """Whose move it is now, by the same rule that guards the action (separation of duties included):
    the approvers of the current step, or the cashiers once it is approved (what the workflow table
    says the request waits for), and whoever acts for one of them through a delegation in force."""
    role = waiting_for(req)
    now = waiting(req)
    if role is None or now is None:
        return []
    people = list({u.id: u for u in [*holders([role], req.village), *delegates(role, req.village)]}.values())
    return [u for u in people if acting_role(u, req, now.action) is not None]


def accountants(req: PaymentRequest) -> list[User]:
    """The accountant who raised the request; when they are no longer active, the village's accountants."""
    requester = req.requester
    if requester is not None and requester.active:
        return [requester]
    return holders([Role.ACCOUNTANT], req.village)


def township_staff(village: OrgUnit) -> list[User]:
    return holders(TOWNSHIP_STAFF, village)


def agency(village: OrgUnit) -> list[User]:
    return holders([Role.AGENCY_REVIEWER], village)


# Who is told when a step has waited M working days: the next level up from the role waited for.
# Village roles and the agency answer to the township leader in charge of the village (包村领导), the
# leader to the head of the township, the head to the district's office.
ESCALATE_TO: dict[Role, Role] = {
    Role.VILLAGE_LEAD: Role.TOWNSHIP_LEADER,
    Role.VILLAGE_SUPERVISOR: Role.TOWNSHIP_LEADER,
    Role.AGENCY_REVIEWER: Role.TOWNSHIP_LEADER,
    Role.CASHIER: Role.TOWNSHIP_LEADER,
    Role.TOWNSHIP_LEADER: Role.TOWNSHIP_HEAD,
    Role.TOWNSHIP_HEAD: Role.ADMIN,
}


def waiting_for(req: PaymentRequest) -> Role | None:
    """The role a request waits for when that is not its accountant (reminders concern only these)."""
    now = waiting(req)
    return now.role if now is not None and now.actor is not Actor.REQUESTER else None
