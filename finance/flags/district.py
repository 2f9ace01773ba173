"""The district page (提级监督): for a district liaison or the district admin, per township, requests and
amounts by month, the backlog and its age, open flags by type. Read-only: nobody at the district approves
or pays (their roles there grant no workflow move)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from finance.bank.queries import open_exception_counts_by_village
from finance.extensions import db
from finance.flags.models import FlagStatus, RiskFlag
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.roles import OrgKind, Role
from finance.timefmt import to_local
from finance.workflow import State

MONTHS = 6
BACKLOG = (State.PENDING, State.APPROVED)
DISTRICT_ROLES = frozenset({Role.LIAISON, Role.ADMIN})


def district_of_user(user: Any) -> OrgUnit | None:
    """The district where the user is a liaison or the admin (None: no district page for them)."""
    for a in getattr(user, "assignments", []):
        if a.role in DISTRICT_ROLES and a.org_unit.kind == OrgKind.DISTRICT:
            unit: OrgUnit = a.org_unit
            return unit
    return None


@dataclass
class TownshipRow:
    township: OrgUnit
    months: list[tuple[str, int, Decimal]] = field(default_factory=list)  # (YYYY-MM, requests, amount)
    backlog: int = 0
    oldest_days: int = 0
    flags: dict[str, int] = field(default_factory=dict)  # open flags by type
    exceptions: int | None = None  # bank exceptions (issue 10), when the bank package reports them


def report(district: OrgUnit, now: datetime | None = None) -> list[TownshipRow]:
    now = now or datetime.now(UTC)
    townships = list(db.session.execute(select(OrgUnit).where(OrgUnit.parent_id == district.id,
                                                              OrgUnit.kind == OrgKind.TOWNSHIP)
                                        .order_by(OrgUnit.code)).scalars())
    village_of: dict[int, int] = {vid: parent for vid, parent in db.session.execute(
        select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.parent_id.in_([t.id for t in townships]),
                                                    OrgUnit.kind == OrgKind.VILLAGE)) if parent is not None}
    rows = {t.id: TownshipRow(t) for t in townships}
    if not village_of:
        return list(rows.values())
    since = now - timedelta(days=31 * MONTHS)
    per_month: dict[tuple[int, str], list[Any]] = defaultdict(lambda: [0, Decimal("0")])
    for vid, submitted, amount in db.session.execute(
            select(PaymentRequest.village_id, PaymentRequest.submitted_at, PaymentRequest.amount)
            .where(PaymentRequest.village_id.in_(village_of), PaymentRequest.submitted_at >= since)):
        if submitted is None:
            continue
        key = (village_of[vid], to_local(submitted).strftime("%Y-%m"))
        per_month[key][0] += 1
        per_month[key][1] += amount or Decimal("0")
    month_keys = sorted({m for _t, m in per_month}, reverse=True)
    for tid, row in rows.items():
        row.months = [(m, *per_month[(tid, m)]) for m in month_keys if (tid, m) in per_month]
    for vid, count, oldest in db.session.execute(
            select(PaymentRequest.village_id, func.count(PaymentRequest.id), func.min(PaymentRequest.waiting_since))
            .where(PaymentRequest.village_id.in_(village_of), PaymentRequest.state.in_(BACKLOG))
            .group_by(PaymentRequest.village_id)):
        row = rows[village_of[vid]]
        row.backlog += int(count)
        if oldest is not None:
            days = max(0, (now - (oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC))).days)
            row.oldest_days = max(row.oldest_days, days)
    for vid, kind, count in db.session.execute(
            select(RiskFlag.village_id, RiskFlag.kind, func.count(RiskFlag.id))
            .where(RiskFlag.village_id.in_(village_of), RiskFlag.status != FlagStatus.CLEARED)
            .group_by(RiskFlag.village_id, RiskFlag.kind)):
        flags = rows[village_of[vid]].flags
        flags[str(kind)] = flags.get(str(kind), 0) + int(count)
    for row in rows.values():  # the bank's open exceptions (issue 10)
        row.exceptions = 0
    for vid, count in open_exception_counts_by_village(list(village_of)).items():
        rows[village_of[vid]].exceptions = (rows[village_of[vid]].exceptions or 0) + count
    return list(rows.values())
