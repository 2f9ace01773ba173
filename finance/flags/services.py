"""A liaison's dispositions of a flag: 已核实无异常 (cleared, reason required) or 需问询 (a question opened on
one of its requests, optionally holding the payment). Each is one audit event on the village's chain, in
the caller's transaction; the flag keeps its history in those events. Nothing here touches a financial
record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, func, select, update

from finance import trail
from finance.auth.models import User
from finance.db import utcnow
from finance.errors import AlreadyHandled, Forbidden, InputError
from finance.extensions import db
from finance.flags.models import FlagPolicy, FlagStatus, RiskFlag
from finance.flags.policy import DEFAULT_FLAG_RULES, FlagRules, parse_flag_rules
from finance.orgs.models import OrgUnit
from finance.oversight import services as oversight
from finance.oversight.models import Question
from finance.payment_requests.models import PaymentRequest
from finance.permissions import Permission, can
from finance.roles import Role
from finance.trail import AuditAction, AuditSubject

MAX_REASON = 1000


class FlagError(InputError):
    """Input the liaison must correct; `errors` maps field names to messages."""


class AlreadyDecided(AlreadyHandled):
    """Someone decided on the flag first (or it is not open any more)."""


def _village(flag: RiskFlag) -> OrgUnit:
    unit = db.session.get(OrgUnit, flag.village_id)
    assert unit is not None
    return unit


def _require(user: User, flag: RiskFlag) -> OrgUnit:
    village = _village(flag)
    if not can(user, Permission.FLAG_DECIDE, village):
        raise Forbidden(Permission.FLAG_DECIDE)
    return village


def _decide(flag: RiskFlag, status: FlagStatus, user: User, reason: str, question_id: int | None) -> None:
    """Move an open flag to `status` once: of two liaisons deciding at the same moment one wins."""
    now = utcnow()
    won = cast(CursorResult[Any], db.session.execute(
        update(RiskFlag).where(RiskFlag.id == flag.id, RiskFlag.status == FlagStatus.OPEN)
        .values(status=status, reason=reason, decided_by_id=user.id, decided_at=now, updated_at=now,
                question_id=question_id).execution_options(synchronize_session=False))).rowcount
    if won != 1:
        raise AlreadyDecided(_("该风险提示已处理。"))
    db.session.refresh(flag)


def clear(user: User, flag: RiskFlag, reason: str) -> None:
    """已核实无异常: the liaison checked and found nothing wrong; the reason is required."""
    village = _require(user, flag)
    reason = (reason or "").strip()
    if not reason:
        raise FlagError(_("请写明核实情况。"), {"reason": _("请写明核实情况。")})
    if len(reason) > MAX_REASON:
        raise FlagError(_("最多 %(n)d 字。", n=MAX_REASON), {"reason": _("最多 %(n)d 字。", n=MAX_REASON)})
    before = flag.status.value
    _decide(flag, FlagStatus.CLEARED, user, reason, None)
    trail.record(village=village, user=user, role=Role.LIAISON, action=AuditAction.FLAG_CLEAR,
                 subject_type=AuditSubject.RISK_FLAG, subject_id=flag.id, before={"status": before},
                 after={"status": FlagStatus.CLEARED.value}, reason=reason)


def ask(user: User, flag: RiskFlag, req: PaymentRequest, text: str, deadline: date | None, hold: bool = False,
        hold_reason: str = "") -> Question:
    """需问询: a question on one of the flag's requests (oversight.ask_question, its own event), the flag
    marked asked (this event), and, when asked for, the payment held until the answer."""
    village = _require(user, flag)
    if flag.status is not FlagStatus.OPEN:
        raise AlreadyDecided(_("该风险提示已处理。"))
    question = oversight.ask_question(user, req, text, deadline)
    before = flag.status.value
    _decide(flag, FlagStatus.ASKED, user, question.text, question.id)
    trail.record(village=village, user=user, role=Role.LIAISON, action=AuditAction.FLAG_ASK,
                 subject_type=AuditSubject.RISK_FLAG, subject_id=flag.id, before={"status": before},
                 after={"status": FlagStatus.ASKED.value, "question_id": question.id, "request_id": req.id})
    if hold and not req.state.paid:
        oversight.hold_payment(user, req, hold_reason.strip() or flag.summary[:200], question)
    return question


# --- thresholds as policy data ------------------------------------------------------------------------------

def current_policy(township: OrgUnit) -> FlagPolicy | None:
    """The township's latest published version of its thresholds (None: never published, the defaults)."""
    return db.session.execute(select(FlagPolicy).where(FlagPolicy.township_id == township.id)
                              .order_by(FlagPolicy.version.desc()).limit(1)).scalar_one_or_none()


def current_rules(township: OrgUnit) -> FlagRules:
    row = current_policy(township)
    return parse_flag_rules(row.rules) if row is not None else DEFAULT_FLAG_RULES


def publish_rules(by: User | None, township: OrgUnit, changes: Mapping[str, str | list[str]]) -> FlagPolicy:
    """A new version of a township's flag thresholds: the current ones with `changes` (field -> text, or a
    list of words; a list's text is comma-separated words). Whoever manages the township's policies (the
    district admin, `Permission.POLICY_MANAGE`) publishes them (`by` None: the command line); one
    `flag_policy_publish` event on the system chain, in the caller's transaction (page, CLI and API alike).
    Each threshold that does not parse is named in the error."""
    if by is not None and not can(by, Permission.POLICY_MANAGE, township):
        raise Forbidden(Permission.POLICY_MANAGE)
    current = json.loads(current_rules(township).to_json())
    current_before = dict(current)
    known = set(current)
    unknown = sorted(set(changes) - known)
    if unknown:
        raise FlagError(_("没有这些阈值：%(names)s", names="、".join(unknown)),
                        dict.fromkeys(unknown, _("没有这个阈值。")))
    errors: dict[str, str] = {}
    for key, value in changes.items():
        if isinstance(current[key], list):
            words = value if isinstance(value, list) else value.split(",")
            current[key] = [w.strip() for w in words if w.strip()]
            continue
        text = value.strip() if isinstance(value, str) else ""
        try:
            FlagRules.from_json(json.dumps({key: text}))
            number = Decimal(text)
        except (ValueError, ArithmeticError):
            errors[key] = _("须为数字。")
            continue
        if not number.is_finite() or number < 0:
            errors[key] = _("须为不小于 0 的数字。")
        current[key] = text
    if errors:
        raise FlagError(_("阈值格式不正确：%(names)s", names="、".join(errors)), errors)
    rules = FlagRules.from_json(json.dumps(current))
    version = (db.session.execute(select(func.max(FlagPolicy.version)).where(FlagPolicy.township_id == township.id))
               .scalar_one() or 0) + 1
    row = FlagPolicy(township_id=township.id, version=version, rules=rules.to_json(),
                     created_by_id=by.id if by else None, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.FLAG_POLICY_PUBLISH,
                 subject_type=AuditSubject.FLAG_POLICY, subject_id=row.id,
                 before={"township": township.code, "rules": current_before},
                 after={"township": township.code, "version": version, "rules": json.loads(row.rules)})
    return row
