"""Reads of the flags, each limited to the user's scope (`villages_in_scope` for liaisons)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

import audit
from finance.auth.models import User
from finance.extensions import db
from finance.flags.models import Colour, FlagStatus, FlagType, RiskFlag, RiskFlagRequest
from finance.oversight.models import PaymentHold, Question
from finance.payment_requests.models import Attachment, PaymentRequest
from finance.permissions import villages_in_scope
from finance.roles import APPROVER_ROLES, Role
from finance.trail import AuditSubject

LIAISON = frozenset({Role.LIAISON})
# Who sees a request's open flags on its page (before the buttons): its approvers, the agency, the cashier
# and liaisons; not the accountant who raised it.
FLAG_VIEWERS = frozenset(APPROVER_ROLES) | {Role.CASHIER, Role.LIAISON}
PAGE = 50


@dataclass(frozen=True)
class Filters:
    village_id: int | None = None
    kind: FlagType | None = None
    colour: Colour | None = None
    status: FlagStatus | None = FlagStatus.OPEN


def liaison_villages(user: Any) -> list[Any]:
    return villages_in_scope(user, LIAISON)


def workbench(user: Any, filters: Filters, page: int = 1) -> tuple[list[tuple[RiskFlag, str]], int]:
    """Flags of the liaison's villages, filtered, red first, then by amount (largest first), then by age
    (oldest first); with the village's name; and how many match."""
    villages = {v.id: v.name for v in liaison_villages(user)}
    if filters.village_id is not None:
        villages = {k: v for k, v in villages.items() if k == filters.village_id}
    if not villages:
        return [], 0
    cond: list[ColumnElement[bool]] = [RiskFlag.village_id.in_(villages)]
    if filters.kind is not None:
        cond.append(RiskFlag.kind == filters.kind)
    if filters.colour is not None:
        cond.append(RiskFlag.severity == filters.colour)
    if filters.status is not None:
        cond.append(RiskFlag.status == filters.status)
    count = db.session.execute(select(func.count(RiskFlag.id)).where(*cond)).scalar_one()
    rows = db.session.execute(
        select(RiskFlag).where(*cond)
        .order_by(case((RiskFlag.severity == Colour.RED, 0), else_=1), RiskFlag.amount.desc().nulls_last(),
                  RiskFlag.occurred_at.asc().nulls_last(), RiskFlag.id)
        .offset((max(page, 1) - 1) * PAGE).limit(PAGE)).scalars()
    return [(f, villages[f.village_id]) for f in rows], int(count)


def open_count(user: Any) -> int:
    """Open flags in the liaison's villages (the badge on the 廉情监督 page)."""
    ids = [v.id for v in liaison_villages(user)]
    if not ids:
        return 0
    return int(db.session.execute(select(func.count(RiskFlag.id)).where(
        RiskFlag.village_id.in_(ids), RiskFlag.status == FlagStatus.OPEN)).scalar_one())


def visible_flag(user: Any, flag_id: int) -> RiskFlag | None:
    flag = db.session.get(RiskFlag, flag_id)
    if flag is None or flag.village_id not in {v.id for v in liaison_villages(user)}:
        return None
    return flag


def requests_of(flag: RiskFlag) -> list[PaymentRequest]:
    return list(db.session.execute(
        select(PaymentRequest).join(RiskFlagRequest, RiskFlagRequest.request_id == PaymentRequest.id)
        .where(RiskFlagRequest.flag_id == flag.id).order_by(PaymentRequest.submitted_at, PaymentRequest.id)).scalars())


def evidence_of(flag: RiskFlag) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(flag.evidence or "{}")
    return data


def images_of(flag: RiskFlag) -> list[Attachment]:
    """The voucher images the evidence names (a duplicate's two photos, side by side)."""
    ids = [int(i) for i in evidence_of(flag).get("attachments", [])]
    if not ids:
        return []
    rows = db.session.execute(select(Attachment).where(Attachment.id.in_(ids))).scalars()
    by_id = {a.id: a for a in rows}
    return [by_id[i] for i in ids if i in by_id]


def history_of(flag: RiskFlag) -> list[Any]:
    """The flag's events (raised, extended, cleared, asked), oldest first."""
    return list(db.session.execute(
        select(audit.Event).where(audit.Event.subject_type == AuditSubject.RISK_FLAG.value,
                                  audit.Event.subject_id == str(flag.id)).order_by(audit.Event.id)).scalars())


def open_flags_of(user: Any, req: PaymentRequest) -> list[RiskFlag]:
    """The open (or asked) flags on a request, for those who see them on its page."""
    if user is None or not getattr(user, "is_authenticated", False) or not (user.roles_at(req.village) & FLAG_VIEWERS):
        return []
    return list(db.session.execute(
        select(RiskFlag).join(RiskFlagRequest, RiskFlagRequest.flag_id == RiskFlag.id)
        .where(RiskFlagRequest.request_id == req.id, RiskFlag.status != FlagStatus.CLEARED)
        .order_by(case((RiskFlag.severity == Colour.RED, 0), else_=1), RiskFlag.id)).scalars())


def hold_of(req: PaymentRequest) -> PaymentHold | None:
    """The hold on a request's payment, while it is on."""
    return db.session.execute(select(PaymentHold).where(PaymentHold.request_id == req.id,
                                                        PaymentHold.lifted_at.is_(None))
                              .order_by(PaymentHold.id.desc()).limit(1)).scalar_one_or_none()


def open_questions_of(req: PaymentRequest) -> list[Question]:
    return list(db.session.execute(select(Question).where(Question.request_id == req.id,
                                                          Question.answered_at.is_(None))
                                   .order_by(Question.id)).scalars())


def counts_by_type(village_ids: list[int]) -> dict[tuple[int, str], int]:
    """Open flags per (village's township … caller groups) village and type."""
    if not village_ids:
        return {}
    rows = db.session.execute(select(RiskFlag.village_id, RiskFlag.kind, func.count(RiskFlag.id))
                              .where(RiskFlag.village_id.in_(village_ids), RiskFlag.status != FlagStatus.CLEARED)
                              .group_by(RiskFlag.village_id, RiskFlag.kind)).all()
    return {(v, str(k)): int(n) for v, k, n in rows}


def user_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = db.session.get(User, user_id)
    return user.display_name if user else ""


def age_days(flag: RiskFlag, now: datetime) -> int:
    since = flag.occurred_at or flag.raised_at
    return max(0, (now - since).days)


def amount_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"
