"""The one writer of approval policies: publishing a township's new version (one event on the system
chain), and the rules built from the admin page's rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from finance import trail
from finance.approval_policy.models import RoutingPolicy
from finance.approval_policy.queries import current_policy, rules_of
from finance.approval_policy.rules import AttachmentRule, Rules, StepRule
from finance.attachment_kinds import AttachmentKind
from finance.auth.models import User
from finance.errors import AlreadyHandled, InputError
from finance.extensions import db
from finance.money import AmountError, parse_amount
from finance.orgs.models import AccountSubject, OrgUnit
from finance.roles import APPROVER_ROLES, OrgKind, Role
from finance.trail import AuditAction, AuditSubject


class PolicyError(InputError):
    """A message for the admin, naming the row that is wrong."""


def _field(name: str, message: str) -> PolicyError:
    """A refusal naming the part of the policy that is wrong: steps, attachments or major_threshold (the API
    names it; the page shows the message)."""
    return PolicyError(message, {name: message})


def publish_policy(township: OrgUnit, rules: Rules, by: User | None = None) -> RoutingPolicy:
    """A new version of a township's approval policy; earlier versions stay as they were."""
    if township.kind != OrgKind.TOWNSHIP:
        raise PolicyError(_("审批流程只能按乡镇设置。"))
    if not rules.steps:
        raise _field("steps", _("审批流程至少需要一个步骤。"))
    if missing := missing_village_steps(rules):
        raise _field("steps", _("每一笔支出，不论金额和科目，都至少要经过村里的两步审批：请添加不限金额、不限科目的"
                            "“%(roles)s”步骤。", roles=_("”“").join(r.label for r in missing)))
    _lock(township)
    version = (db.session.execute(
        select(func.max(RoutingPolicy.version)).where(RoutingPolicy.township_id == township.id)
    ).scalar_one() or 0) + 1
    policy = RoutingPolicy(township=township, version=version, rules=rules.to_json(),
                           created_by_id=by.id if by else None)
    db.session.add(policy)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.POLICY_PUBLISH,
                 subject_type=AuditSubject.ROUTING_POLICY, subject_id=policy.id,
                 after={"township": township.code, "version": version, "rules": rules.to_json()})
    return policy


def _lock(township: OrgUnit) -> None:
    """Serialise publishing for one township: its row locked until the transaction ends (PostgreSQL; SQLite
    writes one transaction at a time)."""
    db.session.execute(select(OrgUnit.id).where(OrgUnit.id == township.id).with_for_update()).scalar_one()


def publish_changes(township: OrgUnit, rules: Rules, by: User, based_on: int | None = None) -> RoutingPolicy | None:
    """What the policy editor's 发布 does: a new version when `rules` differ from those in force, None when
    they do not (nothing is published). `based_on`, the version the editor read (0: none published yet),
    refuses a stale edit when another version was published since (AlreadyHandled)."""
    _lock(township)  # two publishes at once: the second reads the first's version (no duplicate version)
    current = current_policy(township)
    if based_on is not None and based_on != (current.version if current is not None else 0):
        raise AlreadyHandled(_("审批流程在您读取后已发布了新版本（第 %(v)d 版），请重新读取后再修改。",
                               v=current.version if current is not None else 0))
    if current is not None and rules == rules_of(current):
        return None
    return publish_policy(township, rules, by=by)


# Every request, whatever its amount and subject, is approved at least by these two (DESIGN.md): a policy
# without them for some amounts would let such a request through with fewer approvals, or none.
VILLAGE_STEPS = (Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR)


def missing_village_steps(rules: Rules) -> list[Role]:
    """The village roles that some amount or subject would not pass through. A step covers every request
    when it has no subject list and no minimum amount (or one of a cent at most); steps limited to some
    subjects never cover all of them (a subject added to the chart later would lack the step)."""
    def covers_all(step: StepRule) -> bool:
        return not step.subjects and (step.min_amount is None or step.min_amount <= Decimal("0.01"))

    return [role for role in VILLAGE_STEPS if not any(s.role == role and covers_all(s) for s in rules.steps)]


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


def build_rules(steps: list[StepInput], attachments: list[AttachmentInput], major_threshold: str) -> Rules:
    """Rules from the policy editor's rows (blank rows are left out), or PolicyError naming the bad row."""
    known_subjects = set(db.session.execute(select(AccountSubject.code)).scalars())
    maximum = Decimal(current_app.config["MAX_AMOUNT"])

    def amount(text: str, row: str, part: str) -> Decimal | None:
        if not text.strip():
            return None
        try:
            return parse_amount(text, maximum)
        except AmountError as exc:
            raise _field(part, _("%(row)s：%(error)s", row=row, error=exc)) from None

    def subject_codes(text: str, row: str, part: str) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(c for c in re.split(r"[\s,，、;；]+", text.strip()) if c))
        unknown = [c for c in codes if c not in known_subjects]
        if unknown:
            raise _field(part, _("%(row)s：没有代码为 %(codes)s 的会计科目。", row=row, codes=_("、").join(unknown)))
        return codes

    used = [(s.order if s.order is not None else n + 1, n, s) for n, s in enumerate(steps) if s.role.strip()]
    step_rules: list[StepRule] = []
    for number, (_order, _n, row) in enumerate(sorted(used, key=lambda t: (t[0], t[1])), start=1):
        label = _("第 %(n)d 步", n=number)
        try:
            role = Role(row.role)
        except ValueError:
            raise _field("steps", _("%(row)s：角色无效。", row=label)) from None
        if role not in APPROVER_ROLES:
            raise _field("steps", _("%(row)s：%(role)s 不是审批角色。", row=label, role=role.label))
        rule = StepRule(role, amount(row.min_amount, label, "steps"), subject_codes(row.subjects, label, "steps"))
        if rule in step_rules:
            raise _field("steps", _("%(row)s：与前面的步骤重复。", row=label))
        step_rules.append(rule)
    if not step_rules:
        raise _field("steps", _("审批流程至少需要一个步骤。"))

    attachment_rules: list[AttachmentRule] = []
    for n, att in enumerate((a for a in attachments if a.kind.strip()), start=1):
        label = _("第 %(n)d 项附件要求", n=n)
        kind = AttachmentKind.parse(att.kind)
        if kind not in AttachmentKind.uploadable():
            raise _field("attachments", _("%(row)s：附件类型无效。", row=label))
        attachment_rules.append(AttachmentRule(att.kind, amount(att.min_amount, label, "attachments") or Decimal("0"),
                                               subject_codes(att.subjects, label, "attachments")))

    major = amount(major_threshold, _("重大事项金额"), "major_threshold")
    if major is None:
        raise _field("major_threshold", _("请填写重大事项金额。"))
    return Rules(steps=tuple(step_rules), attachments=tuple(attachment_rules), major_threshold=major)
