"""Org units and routing policies: written only here, each change on the system chain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from finance import trail
from finance.auth.models import User
from finance.extensions import db
from finance.money import AmountError, parse_amount
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests.models import RoutingPolicy
from finance.roles import OrgKind, Role
from finance.routing import APPROVER_ROLES, AttachmentRule, Rules, StepRule

PARENT_KIND = {OrgKind.TOWNSHIP: OrgKind.DISTRICT, OrgKind.VILLAGE: OrgKind.TOWNSHIP}
CODE_RE = re.compile(r"^[A-Za-z0-9-]{2,32}$")


class OrgError(ValueError):
    """A message for the user."""


def create_unit(*, code: str, name: str, kind: OrgKind, parent: OrgUnit | None, by: User | None = None,
                bank_name: str | None = None, bank_account: str | None = None,
                bank_account_name: str | None = None) -> OrgUnit:
    code = code.strip().upper()
    if not CODE_RE.match(code):
        raise OrgError(_("代码只能由 2 到 32 位字母、数字和连字符组成。"))
    if not name.strip():
        raise OrgError(_("请填写名称。"))
    if kind != OrgKind.DISTRICT and (parent is None or parent.kind != PARENT_KIND[kind]):
        raise OrgError(_("上级单位的层级不正确。"))
    if db.session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).first():
        raise OrgError(_("代码 %(code)s 已被使用。", code=code))
    if kind == OrgKind.VILLAGE and not (bank_name and bank_account and bank_account_name):
        raise OrgError(_("村需要填写开户银行、银行账号和账户名称。"))
    if bank_account and not bank_account.replace(" ", "").isdigit():
        raise OrgError(_("银行账号只能是数字。"))
    unit = OrgUnit(code=code, name=name.strip(), kind=kind, parent=parent, bank_name=bank_name or None,
                   bank_account=(bank_account or "").replace(" ", "") or None,
                   bank_account_name=bank_account_name or None)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action="org_create",
                 subject_type="org_unit", subject_id=unit.id,
                 after={"code": unit.code, "name": unit.name, "kind": kind.value,
                        "parent": parent.code if parent else None, "bank_account": unit.bank_account})
    db.session.flush()
    return unit


def publish_policy(township: OrgUnit, rules: Rules, by: User | None = None) -> RoutingPolicy:
    """A new version of a township's routing policy; earlier versions stay as they were."""
    if township.kind != OrgKind.TOWNSHIP:
        raise OrgError(_("审批流程只能按乡镇设置。"))
    if not rules.steps:
        raise OrgError(_("审批流程至少需要一个步骤。"))
    version = (db.session.execute(
        select(func.max(RoutingPolicy.version)).where(RoutingPolicy.township_id == township.id)
    ).scalar_one() or 0) + 1
    policy = RoutingPolicy(township=township, version=version, rules=rules.to_json(),
                           created_by_id=by.id if by else None)
    db.session.add(policy)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action="policy_publish",
                 subject_type="routing_policy", subject_id=policy.id,
                 after={"township": township.code, "version": version, "rules": rules.to_json()})
    return policy


@dataclass(frozen=True)
class StepInput:
    """One row of the policy editor, as typed."""

    role: str
    min_amount: str = ""
    subjects: str = ""
    order: int | None = None


@dataclass(frozen=True)
class AttachmentInput:
    kind: str
    min_amount: str = ""
    subjects: str = ""


POLICY_ATTACHMENT_KINDS = ("invoice", "contract", "acceptance", "minutes", "other")


def build_rules(steps: list[StepInput], attachments: list[AttachmentInput], major_threshold: str) -> Rules:
    """Rules from the policy editor's rows (blank rows are left out), or OrgError naming the bad row."""
    known_subjects = set(db.session.execute(select(AccountSubject.code)).scalars())
    maximum = Decimal(current_app.config["MAX_AMOUNT"])

    def amount(text: str, row: str) -> Decimal | None:
        if not text.strip():
            return None
        try:
            return parse_amount(text, maximum)
        except AmountError as exc:
            raise OrgError(_("%(row)s：%(error)s", row=row, error=exc)) from None

    def subject_codes(text: str, row: str) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(c for c in re.split(r"[\s,，、;；]+", text.strip()) if c))
        unknown = [c for c in codes if c not in known_subjects]
        if unknown:
            raise OrgError(_("%(row)s：没有代码为 %(codes)s 的会计科目。", row=row, codes=_("、").join(unknown)))
        return codes

    used = [(s.order if s.order is not None else n + 1, n, s) for n, s in enumerate(steps) if s.role.strip()]
    step_rules: list[StepRule] = []
    for number, (_order, _n, row) in enumerate(sorted(used, key=lambda t: (t[0], t[1])), start=1):
        label = _("第 %(n)d 步", n=number)
        try:
            role = Role(row.role)
        except ValueError:
            raise OrgError(_("%(row)s：角色无效。", row=label)) from None
        if role not in APPROVER_ROLES:
            raise OrgError(_("%(row)s：%(role)s 不是审批角色。", row=label, role=role.label))
        rule = StepRule(role, amount(row.min_amount, label), subject_codes(row.subjects, label))
        if rule in step_rules:
            raise OrgError(_("%(row)s：与前面的步骤重复。", row=label))
        step_rules.append(rule)
    if not step_rules:
        raise OrgError(_("审批流程至少需要一个步骤。"))

    attachment_rules: list[AttachmentRule] = []
    for n, att in enumerate((a for a in attachments if a.kind.strip()), start=1):
        label = _("第 %(n)d 项附件要求", n=n)
        if att.kind not in POLICY_ATTACHMENT_KINDS:
            raise OrgError(_("%(row)s：附件类型无效。", row=label))
        attachment_rules.append(AttachmentRule(att.kind, amount(att.min_amount, label) or Decimal("0"),
                                               subject_codes(att.subjects, label)))

    major = amount(major_threshold, _("重大事项金额"))
    if major is None:
        raise OrgError(_("请填写重大事项金额。"))
    return Rules(steps=tuple(step_rules), attachments=tuple(attachment_rules), major_threshold=major)
