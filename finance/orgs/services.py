"""Org units: written only here, each change on the system chain. (A township's approval policy is
`finance.approval_policy`'s.)"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from finance import trail
from finance.auth.models import User
from finance.errors import InputError
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.roles import OrgKind, Role
from finance.trail import AuditAction, AuditSubject

PARENT_KIND = {OrgKind.TOWNSHIP: OrgKind.DISTRICT, OrgKind.VILLAGE: OrgKind.TOWNSHIP}
CODE_RE = re.compile(r"^[A-Za-z0-9-]{2,32}$")


class OrgError(InputError):
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
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.ORG_CREATE,
                 subject_type=AuditSubject.ORG_UNIT, subject_id=unit.id,
                 after={"code": unit.code, "name": unit.name, "kind": kind.value,
                        "parent": parent.code if parent else None, "bank_account": unit.bank_account,
                        "bank_name": unit.bank_name, "bank_account_name": unit.bank_account_name})
    db.session.flush()
    return unit
