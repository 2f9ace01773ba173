"""Which policy version applies, and its rules."""

from __future__ import annotations

from sqlalchemy import select

from finance.approval_policy.models import RoutingPolicy
from finance.approval_policy.rules import DEFAULT_RULES, Rules, parse_rules
from finance.extensions import db
from finance.orgs.models import OrgUnit


def rules_of(policy: RoutingPolicy | None) -> Rules:
    """A version's rules; the default chain of DESIGN.md where a township never published one."""
    if policy is None:
        return DEFAULT_RULES
    # Cached by the rules' text, not the row id: an id can come back after a rolled-back publish
    # (SQLite reuses the highest rowid), the text cannot lie.
    return parse_rules(policy.rules)


def current_policy(township: OrgUnit) -> RoutingPolicy | None:
    """The township's newest version, or None when it has never published one."""
    return db.session.execute(
        select(RoutingPolicy).where(RoutingPolicy.township_id == township.id)
        .order_by(RoutingPolicy.version.desc()).limit(1)
    ).scalar_one_or_none()


def policy_history(township: OrgUnit) -> list[RoutingPolicy]:
    """Every published version of a township's policy, newest first."""
    return list(db.session.execute(
        select(RoutingPolicy).where(RoutingPolicy.township_id == township.id).order_by(RoutingPolicy.version.desc())
    ).scalars())
