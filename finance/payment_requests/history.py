"""Payment history from an earlier system (EXCHANGE.md §4): the writer of imported history.

A history payment becomes a request like any other (`PaymentRequest`, with `imported` set), in the state
it reached there (paid, or approved and not yet paid), under its own number and original times, with its
steps (`RequestAction`: submitted, each approval, paid, at their original times), its `Payment`, its
invoices' facts and files: so every check that looks back in time (duplicate invoices, split payments,
balances) and every flag counts it without knowing it was imported. Nobody can act on it
(`finance.permissions.acting_role`); the pages and prints mark it 历史导入.

What the earlier system wrote is kept as written (`HistoryRecord`: the requester's and approvers' names,
who need not be users here, the payee's ID number, unchecked), because history is imported as it
happened, even where today's rules would refuse it. A name is linked to a user only when exactly one user
of that name holds the role over the village; otherwise the step's actor is the inactive account
"历史导入" (`history_account`), and the name stays in the record.

Written in bulk (a district brings a hundred thousand payments): COPY (multi-row INSERTs on SQLite) and one
`trail.record_many_villages` for every village's chain (one statement locks the heads, one COPY writes the
events), one `history_import` event per record holding the request's fields and its payment, so the
verifier's replay matches the rows. Nothing here commits."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, insert, select

from audit import bulk
from finance import storage, trail
from finance.attachment_kinds import AttachmentKind
from finance.auth import services as accounts
from finance.auth.models import RoleAssignment, User
from finance.controls.models import InvoiceFact, RequestControl
from finance.controls.normalise import invoice_key, name_key
from finance.db import utcnow
from finance.extensions import db
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests.models import (
    Attachment,
    HistoryReceipt,
    HistoryRecord,
    PaymentRequest,
    RequestAction,
)
from finance.payments.models import Payment
from finance.payments.references import normalise_reference
from finance.roles import Role
from finance.timefmt import to_local
from finance.trail import AuditAction, AuditSubject
from finance.workflow import Action, State

HISTORY_USERNAME = "history_import"
CHUNK = 5000  # rows per multi-row INSERT batch handed to the driver


@dataclass
class Approval:
    role: Role | None
    role_text: str
    name: str
    at: datetime | None


@dataclass
class Invoice:
    number: str
    code: str | None
    invoice_date: date
    seller: str
    amount: Decimal


@dataclass
class File:
    kind: AttachmentKind
    filename: str
    stored: storage.Stored


@dataclass
class HistoryPayment:
    """One history payment, read and checked by finance/imports/history.py."""

    village: OrgUnit
    number: str
    requester_name: str
    submitted_at: datetime
    payee_name: str
    payee_bank: str
    payee_account: str
    payee_id_number: str | None
    amount: Decimal
    purpose: str
    subject: AccountSubject | None
    fund_source: str
    paid_at: datetime | None
    bank_reference: str
    payer_account: str
    line_sha256: str
    approvals: list[Approval] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    files: list[File] = field(default_factory=list)


@dataclass
class HistoryIncome:
    village: OrgUnit
    number: str
    received_at: datetime
    payer_name: str
    payer_account: str
    amount: Decimal
    type: str
    receipt_number: str
    account: str
    line_sha256: str


def history_account() -> User:
    """The inactive account that stands for an earlier system's people who are not users here. It has no
    role and no password; made on first use, with its event."""
    user = db.session.execute(select(User).where(User.username == HISTORY_USERNAME)).scalar_one_or_none()
    if user is None:
        user = accounts.create_invited_user(username=HISTORY_USERNAME, display_name="历史导入")
        user.active = False
        # on the record like every (de)activation: the system chain's replay checks accounts' activation
        trail.record(village=None, user=None, role=None, action=AuditAction.USER_DEACTIVATE,
                     subject_type=AuditSubject.USER, subject_id=user.id, before={"active": True},
                     after={"active": False})
    return user


class _People:
    """Who a name in a village's history is: (role, name) -> the users of that name holding the role over
    the village; a name is linked only when exactly one does."""

    def __init__(self) -> None:
        rows = db.session.execute(
            select(RoleAssignment.role, User.display_name, User.id, OrgUnit.path)
            .join(User, User.id == RoleAssignment.user_id).join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        ).all()
        self.index: dict[tuple[Role, str], list[tuple[str, int]]] = defaultdict(list)
        for role, name, user_id, path in rows:
            self.index[(role, name)].append((path, user_id))
        self.known: dict[tuple[Role, str, str], int | None] = {}  # a file names the same people again and again

    def find(self, role: Role | None, name: str, village: OrgUnit) -> int | None:
        if role is None or not name:
            return None
        key = (role, name, village.path)
        if key not in self.known:
            found = {uid for path, uid in self.index.get((role, name), []) if village.path.startswith(path)}
            self.known[key] = found.pop() if len(found) == 1 else None
        return self.known[key]


def _payment_snapshot(p: HistoryPayment, state: State, reference: str) -> dict[str, Any] | None:
    if p.paid_at is None:
        return None
    return {"bank_reference": reference, "value_date": to_local(p.paid_at).date().isoformat(), "amount": p.amount,
            "payee_name": p.payee_name, "payee_account": p.payee_account, "payer_account": p.payer_account,
            "paid_at": p.paid_at}


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _insert(table: Any, rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
    """Write `rows` (COPY on PostgreSQL, with ids drawn from the table's sequence when asked; a multi-row
    INSERT ... RETURNING elsewhere). Returns the new ids, in the order of `rows`, when `ids`."""
    if not rows:
        return []
    drawn = bulk.next_ids(db.session, table, len(rows)) if ids else None
    if drawn is not None:
        for row, new_id in zip(rows, drawn, strict=True):
            row["id"] = new_id
    if drawn is not None or not ids:
        bulk.insert_rows(db.session, table, rows, chunk=CHUNK)
        return drawn or []
    out: list[int] = []
    for part in _chunks(rows):
        result = db.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), part)
        out.extend(r[0] for r in result)
    return out


def import_payments(records: list[HistoryPayment], *, batch_id: int | None, by: User | None) -> int:
    """Write history payments (numbers not yet in the database; the caller checked) and one event each on
    its village's chain. Returns how many."""
    if not records:
        return 0
    stand_in = history_account()
    db.session.flush()
    people = _People()
    now = utcnow()
    taken_references = set(db.session.execute(select(Payment.reference_key)).scalars())
    requests: list[dict[str, Any]] = []
    states: list[State] = []
    for p in records:
        state = State.PAID if p.paid_at is not None else State.APPROVED
        states.append(state)
        requester = people.find(Role.ACCOUNTANT, p.requester_name, p.village) or stand_in.id
        last = max([p.submitted_at, *(a.at for a in p.approvals if a.at), *([p.paid_at] if p.paid_at else [])])
        requests.append({
            "number": p.number, "village_id": p.village.id, "requester_id": requester, "state": state,
            "payee_name": p.payee_name, "payee_bank": p.payee_bank, "payee_account": p.payee_account,
            "amount": p.amount, "purpose": p.purpose, "subject_id": p.subject.id if p.subject else None,
            "fund_source": p.fund_source, "budget_line": "", "step": 0, "round": 1, "submitted_at": p.submitted_at,
            "waiting_since": None, "waiting_role": None, "created_at": p.submitted_at, "updated_at": last,
            "version": 1, "imported": True,
        })
    table = PaymentRequest.__table__
    ids = _insert(table, requests, ids=True)

    actions: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    controls: list[dict[str, Any]] = []
    files: list[tuple[int, File]] = []
    events: dict[int, trail.Entries] = defaultdict(list)
    villages: dict[int, OrgUnit] = {}
    for req_id, p, state, row in zip(ids, records, states, requests, strict=True):
        requester = row["requester_id"]
        actions.append({"request_id": req_id, "round": 1, "step": None, "action": Action.SUBMIT,
                        "from_state": State.DRAFT, "to_state": State.PENDING, "actor_id": requester,
                        "actor_role": Role.ACCOUNTANT, "comment": None, "client_key": None,
                        "created_at": p.submitted_at})
        for step, approval in enumerate(p.approvals, start=1):
            last_step = step == len(p.approvals)
            actions.append({"request_id": req_id, "round": 1, "step": step, "action": Action.APPROVE,
                            "from_state": State.PENDING, "to_state": State.APPROVED if last_step else State.PENDING,
                            "actor_id": people.find(approval.role, approval.name, p.village) or stand_in.id,
                            "actor_role": approval.role or Role.VILLAGE_LEAD, "comment": None, "client_key": None,
                            "created_at": approval.at or p.submitted_at})
        reference = ""
        if p.paid_at is not None:
            cashier = stand_in.id  # the earlier system does not say who paid
            actions.append({"request_id": req_id, "round": 1, "step": None, "action": Action.PAY,
                            "from_state": State.APPROVED, "to_state": State.PAID, "actor_id": cashier,
                            "actor_role": Role.CASHIER, "comment": None, "client_key": None, "created_at": p.paid_at})
            reference = p.bank_reference
            key = normalise_reference(reference)
            # A reference the earlier system used twice (or one a live payment already has) is kept as written
            # beside its number, so the first use still answers "used before" and the flags find the second.
            if not key or key in taken_references:
                key = f"{key}#{p.number}"
            taken_references.add(key)
            payments.append({"request_id": req_id, "bank_reference": reference, "reference_key": key,
                             "value_date": to_local(p.paid_at).date(), "amount": p.amount, "payee_name": p.payee_name,
                             "payee_account": p.payee_account, "payer_account": p.payer_account,
                             "cashier_id": cashier, "receipt_id": None, "created_at": p.paid_at,
                             "reconciled_at": None})
        approvals: list[dict[str, Any]] = [{"role": a.role.value if a.role else a.role_text, "name": a.name,
                                            "at": a.at} for a in p.approvals]
        history.append({"request_id": req_id, "batch_id": batch_id, "line_sha256": p.line_sha256,
                        "requester_name": p.requester_name[:64],
                        "approvals": json.dumps([{**a, "at": a["at"].isoformat() if a["at"] else None}
                                                 for a in approvals], ensure_ascii=False),
                        "paid_at": p.paid_at, "bank_reference": p.bank_reference or None,
                        "payer_account": p.payer_account or None, "payee_id_number": p.payee_id_number,
                        "imported_at": now})
        if p.payee_id_number and len(p.payee_id_number) <= 18:
            controls.append({"request_id": req_id, "resolution_id": None, "contract_id": None, "instalment": None,
                             "payee_id_number": p.payee_id_number, "updated_at": now})
        files.extend((req_id, f) for f in p.files)
        for invoice in p.invoices:
            facts.append({"request_id": req_id, "attachment_id": None, "number": invoice.number, "code": invoice.code,
                          "dup_key": invoice_key(invoice.number, invoice.code, invoice.seller),
                          "invoice_date": invoice.invoice_date, "seller": invoice.seller,
                          "seller_key": name_key(invoice.seller)[:100], "amount": invoice.amount,
                          "recorded_by_id": stand_in.id, "created_at": now, "updated_at": now})
        villages[p.village.id] = p.village
        events[p.village.id].append((AuditAction.HISTORY_IMPORT, AuditSubject.PAYMENT_REQUEST, req_id, {
            "after": {
                "number": p.number, "village": p.village.code, "imported": True, "batch": batch_id,
                "line_sha256": p.line_sha256, "state": state.value, "amount": p.amount, "payee_name": p.payee_name,
                "payee_bank": p.payee_bank, "payee_account": p.payee_account, "payee_id_number": p.payee_id_number,
                "purpose": p.purpose, "subject": p.subject.code if p.subject else None, "fund_source": p.fund_source,
                "requester": p.requester_name, "submitted_at": p.submitted_at, "approvals": approvals,
                "invoices": [i.number for i in p.invoices],
                **({"payment": _payment_snapshot(p, state, reference)} if p.paid_at else {}),
            },
            "attachments": [f.stored.sha256 for f in p.files],
        }))

    _insert(RequestAction.__table__, actions)
    _insert(Payment.__table__, payments)
    _insert(HistoryRecord.__table__, history)
    _insert(RequestControl.__table__, controls)
    attachment_ids = _insert(Attachment.__table__, ids=True, rows=[
        {"request_id": req_id, "kind": f.kind, "sha256": f.stored.sha256, "filename": f.filename[-200:],
         "content_type": f.stored.content_type, "size": f.stored.size, "uploaded_by_id": stand_in.id,
         "created_at": now} for req_id, f in files])
    # an invoice's photo, when it came over: the n-th invoice of a payment with its n-th invoice file
    by_request: dict[int, list[int]] = defaultdict(list)
    for att_id, (req_id, f) in zip(attachment_ids, files, strict=True):
        if f.kind == AttachmentKind.INVOICE:
            by_request[req_id].append(att_id)
    seen: dict[int, int] = defaultdict(int)
    for fact in facts:
        photos = by_request.get(fact["request_id"], [])
        position = seen[fact["request_id"]]
        if position < len(photos):
            fact["attachment_id"] = photos[position]
        seen[fact["request_id"]] += 1
    _insert(InvoiceFact.__table__, facts)
    # every village's chain at once: one lock statement, one COPY
    trail.record_many_villages(user=by, role=Role.ADMIN if by else None,
                               batches=[(villages[village_id], entries) for village_id, entries in events.items()])
    return len(records)


def import_receipts(records: list[HistoryIncome], *, batch_id: int | None, by: User | None) -> int:
    """Write history receipts (numbers not yet in the database) and one event each on the village's chain."""
    if not records:
        return 0
    now = utcnow()
    rows = [{"number": r.number, "village_id": r.village.id, "received_at": r.received_at, "payer_name": r.payer_name,
             "payer_account": r.payer_account, "amount": r.amount, "type": r.type, "receipt_number": r.receipt_number,
             "account": r.account, "line_sha256": r.line_sha256, "batch_id": batch_id, "imported_at": now}
            for r in records]
    ids = _insert(HistoryReceipt.__table__, rows, ids=True)
    events: dict[int, trail.Entries] = defaultdict(list)
    villages: dict[int, OrgUnit] = {}
    for receipt_id, r, row in zip(ids, records, rows, strict=True):
        villages[r.village.id] = r.village
        after = {k: v for k, v in row.items() if k not in ("village_id", "imported_at")}
        events[r.village.id].append((AuditAction.HISTORY_IMPORT, AuditSubject.HISTORY_RECEIPT, receipt_id,
                                     {"after": {**after, "village": r.village.code, "imported": True}}))
    # every village's chain at once: one lock statement, one COPY
    trail.record_many_villages(user=by, role=Role.ADMIN if by else None,
                               batches=[(villages[village_id], entries) for village_id, entries in events.items()])
    return len(records)


def _parts(column: Any, numbers: Iterable[str]) -> Iterable[Any]:
    """`column` is one of `numbers`, as few conditions as the database allows: one array parameter on
    PostgreSQL (one query for a whole file, however long), IN lists of 1,000 elsewhere."""
    wanted = sorted(set(numbers))
    if not wanted:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam("numbers", wanted, type_=ARRAY(String)))
        return
    for start in range(0, len(wanted), 1000):
        yield column.in_(wanted[start:start + 1000])


def existing_payments(numbers: Iterable[str]) -> dict[str, tuple[bool, str | None]]:
    """number -> (imported, the SHA-256 of the line it came from) for the numbers already in the database."""
    out: dict[str, tuple[bool, str | None]] = {}
    for condition in _parts(PaymentRequest.number, numbers):
        rows = db.session.execute(
            select(PaymentRequest.number, PaymentRequest.imported, HistoryRecord.line_sha256)
            .outerjoin(HistoryRecord, HistoryRecord.request_id == PaymentRequest.id)
            .where(condition)
        ).all()
        out.update({number: (bool(imported), sha) for number, imported, sha in rows if number})
    return out


def existing_receipts(numbers: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for condition in _parts(HistoryReceipt.number, numbers):
        rows = db.session.execute(select(HistoryReceipt.number, HistoryReceipt.line_sha256).where(condition)).all()
        out.update({number: sha for number, sha in rows})
    return out


def record_of(req: PaymentRequest) -> HistoryRecord | None:
    """What the earlier system said of an imported request (None for a live one)."""
    if not req.imported:
        return None
    return db.session.execute(select(HistoryRecord).where(HistoryRecord.request_id == req.id)).scalar_one_or_none()


def approvals_of(record: HistoryRecord) -> list[dict[str, Any]]:
    return list(json.loads(record.approvals or "[]"))
