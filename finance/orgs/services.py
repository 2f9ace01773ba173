"""Org units and routing policies: written only here, each change on the system chain."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select

from finance import trail
from finance.auth.models import User
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import RoutingPolicy
from finance.roles import OrgKind, Role
from finance.routing import Rules

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
