"""Reads for the district admin pages, always limited to the admin's own district."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from finance.auth.models import RoleAssignment, User
from finance.extensions import db
from finance.orgs.models import AccountSubject, OrgUnit
from finance.permissions import jurisdiction
from finance.roles import OrgKind, Role

ADMIN = frozenset({Role.ADMIN})


def units_in_scope(admin: Any, kind: OrgKind | None = None) -> list[OrgUnit]:
    """The org units the admin manages, tree order (parents before children)."""
    stmt = select(OrgUnit).where(OrgUnit.id.in_(jurisdiction(admin, ADMIN)))
    if kind is not None:
        stmt = stmt.where(OrgUnit.kind == kind)
    return list(db.session.execute(stmt.order_by(OrgUnit.path)).scalars())


def get_unit(admin: Any, unit_id: int) -> OrgUnit | None:
    """A unit by id, or None when missing or outside the admin's district (both 404)."""
    return db.session.execute(
        select(OrgUnit).where(OrgUnit.id == unit_id, OrgUnit.id.in_(jurisdiction(admin, ADMIN)))
    ).scalar_one_or_none()


def _users_stmt(admin: Any) -> Any:
    in_scope = select(RoleAssignment.user_id).where(RoleAssignment.org_unit_id.in_(jurisdiction(admin, ADMIN)))
    return select(User).where(User.id.in_(in_scope))


def users_in_scope(admin: Any, active: bool | None = None, unit: OrgUnit | None = None,
                   text: str | None = None, after: str | None = None, limit: int | None = None) -> list[User]:
    """Users holding at least one role inside the admin's district, by username; optionally only those
    with a role at `unit` or under it, or whose username or name contains `text`; a page of them: those
    after the username `after`, at most `limit`."""
    stmt = _users_stmt(admin)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    if unit is not None:
        under = select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))
        stmt = stmt.where(User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.org_unit_id.in_(under))))
    if text:
        stmt = stmt.where(or_(User.username.contains(text.lower(), autoescape=True),
                              User.display_name.contains(text, autoescape=True)))
    if after is not None:
        stmt = stmt.where(User.username > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.execute(stmt.order_by(User.username)).scalars())


def get_user(admin: Any, user_id: int) -> User | None:
    """A user by id, or None when missing or holding no role inside the admin's district."""
    return db.session.execute(_users_stmt(admin).where(User.id == user_id)).scalar_one_or_none()


def assignments_in_scope(admin: Any, user: User) -> list[RoleAssignment]:
    """The user's roles held inside the admin's district: those the admin sees and may remove."""
    scope = set(db.session.execute(jurisdiction(admin, ADMIN)).scalars())
    return [a for a in user.assignments if a.org_unit_id in scope]


def assignment_of(admin: Any, user: User, assignment_id: int) -> RoleAssignment | None:
    """One of the user's roles, or None when missing or held outside the admin's district (not theirs to
    remove, and not shown to them)."""
    return next((a for a in assignments_in_scope(admin, user) if a.id == assignment_id), None)


def township_by_code(admin: Any, code: str) -> OrgUnit | None:
    """A township by its code, or None when missing or outside the admin's district (both 404)."""
    return db.session.execute(
        select(OrgUnit).where(OrgUnit.code == code.strip().upper(), OrgUnit.kind == OrgKind.TOWNSHIP,
                              OrgUnit.id.in_(jurisdiction(admin, ADMIN)))
    ).scalar_one_or_none()


def subject_names() -> dict[str, str]:
    return {s.code: s.name for s in db.session.execute(select(AccountSubject).order_by(AccountSubject.code)).scalars()}


def display_names(user_ids: set[int | None]) -> dict[int, str]:
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
    return {user_id: name for user_id, name in rows}
