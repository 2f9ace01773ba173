"""The app's side of the audit trail: who is acting, from where, and on which chain."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

import audit
from finance.extensions import db
from finance.notices.dispatch import after_event as notices_after_event
from finance.orgs.models import OrgUnit
from finance.roles import Role


def context() -> audit.Context:
    if not has_request_context():
        return audit.Context(request_id=None, client_addr="cli")
    return audit.Context(request_id=getattr(g, "request_id", None), client_addr=request.remote_addr)


def actor(user: Any, role: Role | None = None, org: OrgUnit | None = None) -> audit.Actor:
    if user is None:
        return audit.Actor(None, None, None, None)
    if role is not None and org is None:
        org = next((a.org_unit for a in user.assignments if a.role == role), None)
    return audit.Actor(user.id, user.display_name, role.value if role else None, org.code if org else None)


def chain_for(village: OrgUnit | None) -> str:
    return audit.village_chain(village.code) if village is not None else audit.SYSTEM_CHAIN


def record(*, village: OrgUnit | None, user: Any, role: Role | None, action: str, subject_type: str,
           subject_id: int | str, **kwargs: Any) -> audit.Event:
    """`audit.record` on the village's chain (or the system chain), in the current transaction; then the
    notices the event causes (finance.notices.dispatch), in the same transaction."""
    event = audit.record(
        db.session,
        chain_id=chain_for(village),
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor(user, role),
        context=context(),
        **kwargs,
    )
    notices_after_event(event, village)
    return event
