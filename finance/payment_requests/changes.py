"""What changed in a resubmitted request since the round before (issue 16 item 1): each field (old → new)
and the attachments added or removed between the previous submission and the latest one.

Read off the request's own events in its village's chain: replaying them gives the request's fields
and attachments at every submission (the trail records the whole draft at `create`, then each change),
so no copy of a round is kept beside the trail. Shown above the approver's buttons, on the confirmation of
同意, on the approval form PDF, and available to an API as `changes_since_last_round(req)`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

import audit
from finance.attachment_kinds import AttachmentKind
from finance.extensions import db
from finance.money import format_amount
from finance.orgs.models import AccountSubject
from finance.oversight.labels import field_label
from finance.payment_requests.models import PaymentRequest
from finance.trail import AuditAction, AuditSubject

# The request's own fields as the trail records them (services.snapshot), in the form's order.
ROUND_FIELDS = ("payee_name", "payee_bank", "payee_account", "amount", "purpose", "subject", "fund_source",
                "budget_line", "meeting_date", "meeting_attendance", "meeting_amount")
MONEY_FIELDS = ("amount", "meeting_amount")


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class AttachmentChange:
    kind: str  # its label
    filename: str


@dataclass(frozen=True)
class RoundChanges:
    round: int  # the latest submission's round; the changes are against round - 1
    fields: list[FieldChange] = field(default_factory=list)
    added: list[AttachmentChange] = field(default_factory=list)
    removed: list[AttachmentChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.fields or self.added or self.removed)

    def as_dict(self) -> dict[str, Any]:
        """For an API: plain values, the shown texts."""
        return {
            "round": self.round,
            "fields": [{"field": c.name, "old": c.old, "new": c.new} for c in self.fields],
            "attachments_added": [{"kind": a.kind, "filename": a.filename} for a in self.added],
            "attachments_removed": [{"kind": a.kind, "filename": a.filename} for a in self.removed],
        }


Snapshot = tuple[dict[str, Any], dict[Any, dict[str, Any]]]


def _obj(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else {}


def submissions(req: PaymentRequest) -> list[Snapshot]:
    """The request's fields and attachments (by id) as they were at each submission, oldest first."""
    events = db.session.execute(
        select(audit.Event.action, audit.Event.before, audit.Event.after, audit.Event.attachments)
        .where(audit.Event.chain_id == audit.village_chain(req.village.code),
               audit.Event.subject_type == AuditSubject.PAYMENT_REQUEST.value,
               audit.Event.subject_id == str(req.id))
        .order_by(audit.Event.seq)
    ).all()
    fields: dict[str, Any] = {}
    files: dict[Any, dict[str, Any]] = {}
    out: list[Snapshot] = []
    for action, before, after, hashes in events:
        # An attachment is known by its id and its file's hash (SQLite may give a new row a removed one's id).
        if action == AuditAction.ATTACHMENT_ADD.value:
            att = _obj(after).get("attachment")
            if isinstance(att, dict):
                files[(att.get("id"), hashes)] = att
            continue
        if action == AuditAction.ATTACHMENT_REMOVE.value:
            att = _obj(before).get("attachment")
            if isinstance(att, dict):
                files.pop((att.get("id"), hashes), None)
            continue
        recorded = _obj(after)
        fields.update({k: recorded[k] for k in ROUND_FIELDS if k in recorded})
        if action == AuditAction.SUBMIT.value:
            out.append((dict(fields), dict(files)))
    return out


def changes_since_last_round(req: PaymentRequest) -> RoundChanges | None:
    """What changed between the request's previous submission and its latest; None before a
    resubmission (round 1, or never submitted)."""
    if req.round < 2:
        return None
    rounds = submissions(req)
    if len(rounds) < 2:
        return None
    (old_fields, old_files), (new_fields, new_files) = rounds[-2], rounds[-1]
    changed = [FieldChange(name, field_label(name), _shown(name, old_fields.get(name)),
                           _shown(name, new_fields.get(name)))
               for name in ROUND_FIELDS if _norm(old_fields.get(name)) != _norm(new_fields.get(name))]
    return RoundChanges(
        round=req.round,
        fields=changed,
        added=[_file(a) for key, a in new_files.items() if key not in old_files],
        removed=[_file(a) for key, a in old_files.items() if key not in new_files],
    )


def _norm(value: Any) -> Any:
    return None if value in ("", None) else value


def _file(att: dict[str, Any]) -> AttachmentChange:
    kind = AttachmentKind.parse(str(att.get("kind") or ""))
    return AttachmentChange(kind.label if kind is not None else str(att.get("kind") or ""),
                            str(att.get("filename") or ""))


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return _("（空）")
    if name in MONEY_FIELDS:
        try:
            return "¥" + format_amount(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    if name == "subject":
        subject = db.session.execute(select(AccountSubject).where(AccountSubject.code == str(value))).scalars().first()
        return f"{value} {subject.name}" if subject is not None else str(value)
    return str(value)
