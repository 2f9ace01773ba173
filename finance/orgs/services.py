"""Org units: written only here, each change on the system chain. (A township's approval policy is
`finance.approval_policy`'s.)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from finance import trail
from finance.auth.models import User
from finance.controls.normalise import name_key
from finance.db import utcnow
from finance.errors import InputError
from finance.extensions import db
from finance.orgs.models import AccountSubject, Member, MemberStatus, OrgUnit, SubjectCategory
from finance.roles import OrgKind, Role
from finance.trail import AuditAction, AuditSubject

PARENT_KIND = {OrgKind.TOWNSHIP: OrgKind.DISTRICT, OrgKind.VILLAGE: OrgKind.TOWNSHIP}
CHILD_KIND = {parent: child for child, parent in PARENT_KIND.items()}  # what may be made under a unit
CODE_RE = re.compile(r"^[A-Za-z0-9-]{2,32}$")


class OrgError(InputError):
    """A message for the user."""


def _field(name: str, message: str) -> OrgError:
    """A refusal naming the field that is wrong (the API names it; the page shows the message)."""
    return OrgError(message, {name: message})


def create_unit(*, code: str, name: str, kind: OrgKind, parent: OrgUnit | None, by: User | None = None,
                bank_name: str | None = None, bank_account: str | None = None,
                bank_account_name: str | None = None, level_name: str | None = None) -> OrgUnit:
    code = code.strip().upper()
    if not CODE_RE.match(code):
        raise _field("code", _("代码只能由 2 到 32 位字母、数字和连字符组成。"))
    if not name.strip():
        raise _field("name", _("请填写名称。"))
    if kind != OrgKind.DISTRICT and (parent is None or parent.kind != PARENT_KIND[kind]):
        raise _field("parent_id", _("上级单位的层级不正确。"))
    if db.session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).first():
        raise _field("code", _("代码 %(code)s 已被使用。", code=code))
    if kind == OrgKind.VILLAGE and not (bank_name and bank_account and bank_account_name):
        missing = next(k for k, v in (("bank_name", bank_name), ("bank_account", bank_account),
                                      ("bank_account_name", bank_account_name)) if not v)
        raise _field(missing, _("村需要填写开户银行、银行账号和账户名称。"))
    if bank_account and not bank_account.replace(" ", "").isdigit():
        raise _field("bank_account", _("银行账号只能是数字。"))
    unit = OrgUnit(code=code, name=name.strip(), kind=kind, parent=parent, bank_name=bank_name or None,
                   bank_account=(bank_account or "").replace(" ", "") or None,
                   bank_account_name=bank_account_name or None, level_name=level_name or None)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.ORG_CREATE,
                 subject_type=AuditSubject.ORG_UNIT, subject_id=unit.id,
                 after={"code": unit.code, "name": unit.name, "kind": kind.value,
                        "parent": parent.code if parent else None, "bank_account": unit.bank_account,
                        "bank_name": unit.bank_name, "bank_account_name": unit.bank_account_name,
                        **({"level_name": unit.level_name} if unit.level_name else {})})
    db.session.flush()
    return unit


def create_child(parent: OrgUnit, *, code: str, name: str, by: User, bank_name: str | None = None,
                 bank_account: str | None = None, bank_account_name: str | None = None) -> OrgUnit:
    """A unit under `parent` of the level below it (a township under the district, a village under a
    township), as the admin's 新建 form makes it: only a village has a bank account."""
    kind = CHILD_KIND.get(parent.kind)
    if kind is None:
        raise _field("parent_id", _("%(kind)s下面不能再建单位。", kind=parent.kind.label))
    village = kind == OrgKind.VILLAGE
    return create_unit(code=code, name=name, kind=kind, parent=parent, by=by,
                       bank_name=(bank_name or "").strip() if village else None,
                       bank_account=(bank_account or "").strip() if village else None,
                       bank_account_name=(bank_account_name or "").strip() if village else None)


def unit_fields(unit: OrgUnit) -> dict[str, str | None]:
    return {"name": unit.name, "bank_name": unit.bank_name, "bank_account": unit.bank_account,
            "bank_account_name": unit.bank_account_name, "level_name": unit.level_name}


def update_unit(unit: OrgUnit, *, name: str, bank_name: str | None, bank_account: str | None,
                bank_account_name: str | None, level_name: str | None, by: User | None = None) -> bool:
    """Change a unit's name, bank account or level name (its code, level and parent stay); one event with
    what changed. Returns False when nothing changed (no event)."""
    if not name.strip():
        raise OrgError(_("请填写名称。"))
    if bank_account and not bank_account.replace(" ", "").isdigit():
        raise OrgError(_("银行账号只能是数字。"))
    if unit.kind == OrgKind.VILLAGE and not (bank_name and bank_account and bank_account_name):
        raise OrgError(_("村需要填写开户银行、银行账号和账户名称。"))
    before = unit_fields(unit)
    after = {"name": name.strip(), "bank_name": bank_name or None,
             "bank_account": (bank_account or "").replace(" ", "") or None,
             "bank_account_name": bank_account_name or None, "level_name": level_name or unit.level_name}
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        return False
    for key in changed:
        setattr(unit, key, after[key])
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.ORG_UPDATE,
                 subject_type=AuditSubject.ORG_UNIT, subject_id=unit.id, before={k: before[k] for k in changed},
                 after={"code": unit.code, **{k: after[k] for k in changed}})
    return True


# --- the chart of accounts (EXCHANGE.md §0) ----------------------------------------------------------------

SUBJECT_CODE_RE = re.compile(r"^[0-9]{3,16}$")


def subject_fields(subject: AccountSubject) -> dict[str, str | None]:
    return {"code": subject.code, "name": subject.name,
            "category": subject.category.value if subject.category else None,
            "parent": subject.parent.code if subject.parent else None}


def save_subject(*, code: str, name: str, category: SubjectCategory, parent: AccountSubject | None,
                 by: User | None = None) -> str:
    """Add a subject of the chart or correct the name, class or parent of the one with this code; one event.
    Returns "added", "updated" or "unchanged" (no event). A 明细科目's code extends its parent's."""
    code = code.strip()
    if not SUBJECT_CODE_RE.match(code):
        raise OrgError(_("科目编码只能是 3 到 16 位数字。"))
    name = name.strip()
    if not name or len(name) > 50:
        raise OrgError(_("科目名称不能为空，最多 50 个字。"))
    if parent is not None and (not code.startswith(parent.code) or len(code) <= len(parent.code)):
        raise OrgError(_("明细科目的编码应以上级科目的编码 %(parent)s 开头并更长。", parent=parent.code))
    subject = db.session.execute(select(AccountSubject).where(AccountSubject.code == code)).scalar_one_or_none()
    after = {"code": code, "name": name, "category": category.value, "parent": parent.code if parent else None}
    if subject is None:
        subject = AccountSubject(code=code, name=name, category=category, parent=parent, active=True)
        db.session.add(subject)
        db.session.flush()
        trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.SUBJECT_CREATE,
                     subject_type=AuditSubject.ACCOUNT_SUBJECT, subject_id=subject.id, after=after)
        return "added"
    before = subject_fields(subject)
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        return "unchanged"
    subject.name, subject.category, subject.parent = name, category, parent
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.SUBJECT_UPDATE,
                 subject_type=AuditSubject.ACCOUNT_SUBJECT, subject_id=subject.id,
                 before={k: before[k] for k in changed}, after={"code": code, **{k: after[k] for k in changed}})
    return "updated"


# --- the member roll (成员名册, EXCHANGE.md §5b) -------------------------------------------------------------

@dataclass
class MemberInput:
    village: OrgUnit
    name: str
    id_number: str  # checked (GB 11643) by the caller
    status: MemberStatus
    status_date: date | None


def member_fields(member: Member) -> dict[str, object]:
    return {"name": member.name, "id_number": member.id_number, "status": member.status.value,
            "status_date": member.status_date}


def save_members(rows: list[MemberInput], by: User | None = None) -> dict[str, int]:
    """Add members to their villages' rolls or correct them (name, status and its date), keyed by village and
    身份证号; one event per member added or changed, on the village's chain (written together, per village).
    Returns the counts of "added", "updated" and "unchanged"."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    if not rows:
        return counts
    village_ids = {r.village.id for r in rows}
    existing = {(m.village_id, m.id_number): m for m in db.session.execute(
        select(Member).where(Member.village_id.in_(village_ids))).scalars()}
    now = utcnow()
    changes: dict[int, list[tuple[OrgUnit, Member, dict[str, object] | None]]] = {}
    for row in rows:
        if row.status != MemberStatus.ON_ROLL and row.status_date is None:
            raise OrgError(_("迁出或死亡须填写日期。"))
        if row.status == MemberStatus.ON_ROLL and row.status_date is not None:
            row.status_date = None  # 在册 has no date of its own
        member = existing.get((row.village.id, row.id_number))
        if member is None:
            member = Member(village_id=row.village.id, name=row.name, name_key=name_key(row.name)[:64],
                            id_number=row.id_number, status=row.status, status_date=row.status_date,
                            created_at=now, updated_at=now)
            db.session.add(member)
            existing[(row.village.id, row.id_number)] = member
            changes.setdefault(row.village.id, []).append((row.village, member, None))
            counts["added"] += 1
            continue
        before = member_fields(member)
        member.name, member.name_key = row.name, name_key(row.name)[:64]
        member.status, member.status_date = row.status, row.status_date
        if member_fields(member) == before:
            counts["unchanged"] += 1
            continue
        member.updated_at = now
        changes.setdefault(row.village.id, []).append((row.village, member, before))
        counts["updated"] += 1
    db.session.flush()
    for items in changes.values():
        village = items[0][0]
        entries: list[tuple[AuditAction, AuditSubject, int | str, dict[str, Any]]] = []
        for _village, member, previous in items:
            after = member_fields(member)
            if previous is None:
                entries.append((AuditAction.MEMBER_ADD, AuditSubject.MEMBER, member.id, {"after": after}))
            else:
                changed = [k for k in after if after[k] != previous[k]]
                entries.append((AuditAction.MEMBER_UPDATE, AuditSubject.MEMBER, member.id, {
                    "before": {k: previous[k] for k in changed},
                    "after": {"id_number": member.id_number, **{k: after[k] for k in changed}}}))
        trail.record_many(village=village, user=by, role=Role.ADMIN if by else None, entries=entries)
    return counts
