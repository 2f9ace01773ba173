"""The scan: run the detectors over what changed and raise each finding once.

    scan()                          the cron job (`flask --app finance flags scan`): a full scan the first
                                    time, then only the requests that changed since the last scan (new, or
                                    moved: `updated_at` later than the last high mark) and the requests whose
                                    payee matches a register line added or changed since
    scan(request_ids=[id], preventive=True)
                                    at submit (the trail's listener, `on_event`): the preventive detectors
                                    on the submitted request, before step 1

A finding is keyed (Finding.key): a key already raised is not raised again, whatever its status (a cleared
flag stays cleared); an open flag whose finding grew (a third request joined a split) gains the new
requests (one `flag_update` event). Each raised flag is one `flag_raise` event on its village's chain, in the
scan's transaction. The scan writes flags, their request links, its own payee-key index and photo
fingerprints (a cache of the controls), never a business row. The caller commits."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

import audit
from finance import trail
from finance.attachment_kinds import AttachmentKind
from finance.controls.models import ImageFingerprint, RelatedAccount, RelatedPerson, RequestControl
from finance.controls.normalise import name_key, normalise_account
from finance.controls.services import fingerprint_attachments
from finance.db import utcnow
from finance.extensions import db
from finance.flags import data as flag_data
from finance.flags.engine import Detector, Finding
from finance.flags.models import FlagPayeeKey, FlagScanState, FlagStatus, RiskFlag, RiskFlagRequest
from finance.flags.registry import detectors
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import Attachment, PaymentRequest
from finance.trail import AuditAction, AuditSubject
from finance.workflow import Action

REQUESTS = "requests"
REGISTER = "register"


@dataclass
class ScanResult:
    looked_at: int = 0
    raised: list[RiskFlag] = field(default_factory=list)
    extended: list[RiskFlag] = field(default_factory=list)
    full: bool = False


def _state(source: str) -> FlagScanState:
    row = db.session.get(FlagScanState, source)
    if row is None:
        row = FlagScanState(source=source, high_id=0, high_at=None, ran_at=None)
        db.session.add(row)
    return row


def _changed_requests(state: FlagScanState) -> list[int]:
    cond = PaymentRequest.id > state.high_id
    if state.high_at is not None:
        cond = or_(cond, PaymentRequest.updated_at > state.high_at)
    return list(db.session.execute(select(PaymentRequest.id).where(cond, PaymentRequest.state.in_(flag_data.COUNTED)))
                .scalars())


def _register_touched(state: FlagScanState) -> list[int]:
    """Requests whose payee matches a register line added or changed since the last scan."""
    stmt = select(RelatedPerson.id, RelatedPerson.id_number)
    if state.high_at is not None:
        stmt = stmt.where(RelatedPerson.updated_at > state.high_at)
    people = db.session.execute(stmt).all()
    if not people:
        return []
    ids = [p[0] for p in people]
    id_numbers = {p[1] for p in people if p[1]}
    accounts = set(db.session.execute(select(RelatedAccount.account)
                                      .where(RelatedAccount.person_id.in_(ids))).scalars())
    out: set[int] = set()
    if accounts:
        out |= set(db.session.execute(select(FlagPayeeKey.request_id).where(
            FlagPayeeKey.account_key.in_({normalise_account(a) for a in accounts}))).scalars())
    if id_numbers:
        out |= set(db.session.execute(select(RequestControl.request_id).where(
            RequestControl.payee_id_number.in_(id_numbers))).scalars())
    return sorted(out)


def _index_payees(request_ids: Sequence[int] | None) -> None:
    """Refresh the payee-key index for these requests (all when None)."""
    stmt = select(PaymentRequest.id, PaymentRequest.village_id, PaymentRequest.payee_account, PaymentRequest.payee_name)
    if request_ids is None:
        db.session.execute(delete(FlagPayeeKey))
        batches = [db.session.execute(stmt).all()]
    else:
        batches = []
        for chunk in flag_data._chunks(list(request_ids)):
            db.session.execute(delete(FlagPayeeKey).where(FlagPayeeKey.request_id.in_(chunk)))
            batches.append(db.session.execute(stmt.where(PaymentRequest.id.in_(chunk))).all())
    for rows in batches:
        values = [{"request_id": rid, "village_id": vid, "account_key": normalise_account(acct)[:40],
                   "name_key": name_key(name)[:100]} for rid, vid, acct, name in rows]
        for chunk in flag_data._chunks(values):
            db.session.execute(insert(FlagPayeeKey), chunk)


def _fingerprint(request_ids: Sequence[int] | None) -> None:
    """Hash the voucher photos that have no perceptual hash yet (imported history, requests from before),
    through the controls' own service; only where the file is on this server."""
    voucher = [k.value for k in AttachmentKind if k.voucher]
    stmt = (select(Attachment.request_id, Attachment.sha256)
            .outerjoin(ImageFingerprint, ImageFingerprint.attachment_id == Attachment.id)
            .where(ImageFingerprint.id.is_(None), Attachment.kind.in_(voucher),
                   Attachment.content_type.like("image/%")))
    rows: list[Any] = []
    if request_ids is None:
        rows = list(db.session.execute(stmt))
    else:
        for chunk in flag_data._chunks(list(request_ids)):
            rows.extend(db.session.execute(stmt.where(Attachment.request_id.in_(chunk))))
    stored = _stored_names() if rows else set()
    wanted = sorted({rid for rid, sha in rows if sha in stored})
    for rid in wanted:
        req = db.session.get(PaymentRequest, rid)
        if req is not None:
            fingerprint_attachments(req)


def _stored_names() -> set[str]:
    """The digests of the files on this server (one listing of the upload folder, not a stat per file)."""
    root = Path(current_app.config["UPLOAD_DIR"])
    names: set[str] = set()
    if root.is_dir():
        for sub in root.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                names.update(os.listdir(sub))
    return names


def _village(village_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, village_id)
    assert unit is not None
    return unit


def _summary_of(flag: RiskFlag) -> dict[str, Any]:
    return {"type": flag.kind.value, "severity": flag.severity.value, "key": flag.key, "summary": flag.summary,
            "requests": json.loads(flag.request_numbers), "statement_lines": json.loads(flag.statement_lines),
            "amount": flag.amount}


def _raise(f: Finding, source: str, now: datetime) -> RiskFlag | None:
    numbers = [r.number for r in f.requests]
    flag = RiskFlag(key=f.key[:255], kind=f.kind, severity=f.severity, status=FlagStatus.OPEN, village_id=f.village_id,
                    summary=f.summary, evidence=json.dumps(f.evidence, ensure_ascii=False, default=str),
                    request_numbers=json.dumps(numbers, ensure_ascii=False),
                    statement_lines=json.dumps(f.statement_lines, ensure_ascii=False), amount=f.amount,
                    occurred_at=f.occurred_at, source=source, raised_at=now, updated_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except IntegrityError:
        return None  # a scan running at the same moment raised it
    ids = sorted({r.id for r in f.requests})
    if ids:
        db.session.execute(insert(RiskFlagRequest), [{"flag_id": flag.id, "request_id": i} for i in ids])
    trail.record(village=_village(f.village_id), user=None, role=None, action=AuditAction.FLAG_RAISE,
                 subject_type=AuditSubject.RISK_FLAG, subject_id=flag.id, after=_summary_of(flag))
    return flag


def _extend(flag: RiskFlag, f: Finding, now: datetime) -> bool:
    """Add the finding's new requests to an open flag; False when it has none."""
    if flag.status is FlagStatus.CLEARED:
        return False
    have = set(db.session.execute(select(RiskFlagRequest.request_id).where(RiskFlagRequest.flag_id == flag.id))
               .scalars())
    new = sorted({r.id for r in f.requests} - have)
    new_lines = [s for s in f.statement_lines if s not in json.loads(flag.statement_lines)]
    if not new and not new_lines:
        return False
    before = _summary_of(flag)
    db.session.execute(insert(RiskFlagRequest), [{"flag_id": flag.id, "request_id": i} for i in new]) if new else None
    numbers = json.loads(flag.request_numbers)
    numbers += [r.number for r in f.requests if r.id in new and r.number not in numbers]
    flag.request_numbers = json.dumps(numbers, ensure_ascii=False)
    flag.statement_lines = json.dumps(json.loads(flag.statement_lines) + new_lines, ensure_ascii=False)
    flag.summary = f.summary
    flag.evidence = json.dumps(f.evidence, ensure_ascii=False, default=str)
    flag.amount = f.amount
    flag.occurred_at = f.occurred_at
    flag.updated_at = now
    db.session.flush()
    trail.record(village=_village(flag.village_id), user=None, role=None, action=AuditAction.FLAG_UPDATE,
                 subject_type=AuditSubject.RISK_FLAG, subject_id=flag.id,
                 before={"requests": before["requests"], "statement_lines": before["statement_lines"]},
                 after={"requests": numbers, "statement_lines": json.loads(flag.statement_lines),
                        "summary": flag.summary})
    return True


def record_findings(findings: Iterable[Finding], source: str, result: ScanResult, now: datetime) -> None:
    """Raise each finding not raised before (by key), extend open flags whose finding grew."""
    pending: dict[str, Finding] = {}
    for f in findings:
        if f.key in pending:
            continue
        pending[f.key] = f
    if not pending:
        return
    existing: dict[str, RiskFlag] = {}
    keys = sorted(pending)
    for chunk in flag_data._chunks(keys):
        for flag in db.session.execute(select(RiskFlag).where(RiskFlag.key.in_(chunk))).scalars():
            existing[flag.key] = flag
    for key in keys:
        f = pending[key]
        if key in existing:
            if _extend(existing[key], f, now):
                result.extended.append(existing[key])
            continue
        raised = _raise(f, source, now)
        if raised is not None:
            result.raised.append(raised)


def run(focus: Sequence[int] | None, chosen: Sequence[Detector], source: str, now: datetime) -> ScanResult:
    result = ScanResult(full=focus is None)
    data = flag_data.load(focus, now)
    result.looked_at = len(data.focus)
    if focus is not None and not data.focus:
        return result
    findings: list[Finding] = []
    for detector in chosen:
        findings.extend(detector.detect(data))
    record_findings(findings, source, result, now)
    return result


def scan(*, full: bool = False, now: datetime | None = None) -> ScanResult:
    """The scan of EXCHANGE.md §6 (see the module doc). Idempotent: run twice, the second raises nothing."""
    now = now or datetime.now(UTC)
    state = _state(REQUESTS)
    register = _state(REGISTER)
    first = full or state.ran_at is None
    high_id = db.session.execute(select(func.max(PaymentRequest.id))).scalar_one() or 0
    high_at = db.session.execute(select(func.max(PaymentRequest.updated_at))).scalar_one()
    register_at = db.session.execute(select(func.max(RelatedPerson.updated_at))).scalar_one()
    if first:
        focus: list[int] | None = None
        _index_payees(None)
        _fingerprint(None)
    else:
        changed = _changed_requests(state)
        _index_payees(changed)
        _fingerprint(changed)
        focus = sorted(set(changed) | set(_register_touched(register)))
    result = run(focus, detectors(), "scan", now)
    state.high_id, state.high_at, state.ran_at = high_id, high_at or state.high_at, now
    register.high_at, register.ran_at = register_at or register.high_at, now
    db.session.flush()
    return result


def scan_request(request_id: int, *, source: str = "submit") -> ScanResult:
    """The preventive detectors on one request (at submit): its flags are there before step 1."""
    _index_payees([request_id])
    _fingerprint([request_id])
    return run([request_id], detectors(preventive_only=True), source, utcnow())


def on_event(event: audit.Event, village: OrgUnit | None) -> None:
    """trail.on_record listener: a submitted request is scanned in the submit's transaction."""
    if event.subject_type == AuditSubject.PAYMENT_REQUEST.value and event.action == Action.SUBMIT.value:
        scan_request(int(event.subject_id))
