"""Reads of delegations: a person's own (given and received) and the district admin's list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from finance.delegations.models import Delegation, delegation_village
from finance.extensions import db
from finance.permissions import jurisdiction
from finance.roles import Role

_LOAD = (selectinload(Delegation.villages), selectinload(Delegation.principal), selectinload(Delegation.delegate))


def mine(user: Any, limit: int = 50) -> list[Delegation]:
    """Delegations the user gave or received, newest first."""
    return list(db.session.execute(
        select(Delegation).where(or_(Delegation.principal_id == user.id, Delegation.delegate_id == user.id))
        .options(*_LOAD).order_by(Delegation.id.desc()).limit(limit)
    ).scalars())


def for_admin(user: Any, limit: int = 200) -> list[Delegation]:
    """Every delegation touching a village of the admin's district, newest first."""
    scope = jurisdiction(user, frozenset({Role.ADMIN}))
    touches = exists(select(delegation_village.c.delegation_id).where(
        delegation_village.c.delegation_id == Delegation.id, delegation_village.c.village_id.in_(scope)))
    return list(db.session.execute(
        select(Delegation).where(touches).options(*_LOAD).order_by(Delegation.id.desc()).limit(limit)
    ).scalars())


def get(delegation_id: int) -> Delegation | None:
    return db.session.get(Delegation, delegation_id)
