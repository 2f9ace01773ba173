"""Verification of the trail as the app runs it: the audit verifier plus a replayer that checks the
business rows (state, amount, payment of every request) against what the events say."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from audit.checkpoints import SignedCheckpoint, key_id, load_public_key
from audit.verify import ChainReport, Failure
from finance.audit_keys import trusted_keys
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.payments.models import Payment
from finance.trail import AuditSubject

# The replayer's findings, by code (see audit.verify.CHAIN_FAILURES): English for the CLI.
REPLAY_FAILURES = {
    "no_village": "no village with code {village}",
    "request_no_events": "request {request} has no events",
    "request_state_differs": "request {request}: state in database {db}, trail says {trail}",
    "request_amount_differs": "request {request}: amount in database {db}, trail says {trail}",
    "request_field_differs": "request {request}: {field} differs from the trail",
    "request_not_in_database": "request {request} is in the trail but not in the database",
    "payment_presence_differs": "request {request}: payment in database and trail differ",
    "payment_fields_differ": "request {request}: payment {fields} differs from the trail",
    "paid_amount_differs": "request {request}: paid amount differs from approved",
}


def _replay_failure(chain_id: str, at: int, code: str, **params: object) -> Failure:
    return Failure.of(chain_id, at, code, REPLAY_FAILURES[code], {k: str(v) for k, v in params.items()}, "replay")


@dataclass
class _Folded:
    fields: dict[str, Any] = field(default_factory=dict)
    payment: dict[str, Any] | None = None
    last_seq: int = 0


class RequestReplayer:
    """Folds the `after` of every request event of one village chain and compares with the rows."""

    def __init__(self, chain_id: str) -> None:
        self.chain_id = chain_id
        self.requests: dict[int, _Folded] = {}

    def feed(self, event: audit.Event) -> None:
        if event.subject_type != AuditSubject.PAYMENT_REQUEST or event.after is None:
            return
        folded = self.requests.setdefault(int(event.subject_id), _Folded())
        after = json.loads(event.after)
        payment = after.pop("payment", None)
        after.pop("attachment", None)
        folded.fields.update(after)
        if payment is not None:
            folded.payment = payment
        folded.last_seq = event.seq

    def finish(self, session: Session) -> list[Failure]:
        code = self.chain_id.split(":", 1)[1]
        village = session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
        if village is None:
            return [_replay_failure(self.chain_id, 0, "no_village", village=code)]
        failures = []
        # populate_existing: compare with the rows as they are in the database now, not with objects
        # this session loaded earlier (the live status on a page shares the request's session).
        fresh = {"populate_existing": True}
        rows = session.execute(
            select(PaymentRequest).where(PaymentRequest.village_id == village.id).execution_options(**fresh)
        ).scalars()
        seen = set()
        for req in rows:
            seen.add(req.id)
            folded = self.requests.get(req.id)
            if folded is None:
                failures.append(_replay_failure(self.chain_id, 0, "request_no_events", request=req.number or req.id))
                continue
            where = folded.last_seq
            if folded.fields.get("state") != req.state.value:
                failures.append(_replay_failure(self.chain_id, where, "request_state_differs", request=req.number,
                                                db=req.state.value, trail=folded.fields.get("state")))
            trail_amount = folded.fields.get("amount")
            db_amount = None if req.amount is None else audit.canonical.money(req.amount)
            if trail_amount != db_amount:
                failures.append(_replay_failure(self.chain_id, where, "request_amount_differs", request=req.number,
                                                db=db_amount, trail=trail_amount))
            for name in ("payee_name", "payee_account"):
                if folded.fields.get(name) != getattr(req, name):
                    failures.append(_replay_failure(self.chain_id, where, "request_field_differs", request=req.number,
                                                    field=name))
            pay = session.execute(
                select(Payment).where(Payment.request_id == req.id).execution_options(**fresh)
            ).scalar_one_or_none()
            failures.extend(self._check_payment(req, pay, folded, where))
        for missing in sorted(set(self.requests) - seen):
            failures.append(_replay_failure(self.chain_id, self.requests[missing].last_seq,
                                            "request_not_in_database", request=missing))
        return failures

    def _check_payment(
        self, req: PaymentRequest, pay: Payment | None, folded: _Folded, where: int
    ) -> list[Failure]:
        if pay is None and folded.payment is None:
            return []
        if pay is None or folded.payment is None:
            return [_replay_failure(self.chain_id, where, "payment_presence_differs", request=req.number)]
        row = {
            "bank_reference": pay.bank_reference,
            "value_date": pay.value_date.isoformat(),
            "amount": audit.canonical.money(pay.amount),
            "payee_name": pay.payee_name,
            "payee_account": pay.payee_account,
            "payer_account": pay.payer_account,
        }
        diffs = [k for k, v in row.items() if folded.payment.get(k) != v]
        if diffs:
            return [_replay_failure(self.chain_id, where, "payment_fields_differ", request=req.number,
                                    fields=", ".join(diffs))]
        if pay.amount != req.amount:
            return [_replay_failure(self.chain_id, where, "paid_amount_differs", request=req.number)]
        return []


def replayer_for(chain_id: str) -> RequestReplayer | None:
    return RequestReplayer(chain_id) if chain_id.startswith("village:") else None


def load_checkpoint_folder(folder: Path) -> list[SignedCheckpoint]:
    out: list[SignedCheckpoint] = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        items = data if isinstance(data, list) else [data]
        out.extend(SignedCheckpoint.from_json(item) for item in items)
    return out


def run_verify(
    chain: str | None = None,
    folder: Path | None = None,
    pubkeys: tuple[Path, ...] = (),
    session: Session | None = None,
) -> audit.Report:
    session = session or db.session
    if pubkeys:
        keys = {}
        for path in pubkeys:
            public = load_public_key(path.read_bytes())
            keys[key_id(public)] = public
    else:
        keys = trusted_keys()
    kept = load_checkpoint_folder(folder) if folder else []
    return audit.verify(
        session, trusted_keys=keys, checkpoints=kept, chain=chain, replayer_factory=replayer_for
    )


def amount_str(value: Decimal | None) -> str | None:
    return None if value is None else audit.canonical.money(value)


def verify_chains(chain_ids: list[str], session: Session | None = None) -> dict[str, ChainReport]:
    """Live status of the given chains (the liaison's index page): each chain checked end to end,
    replay included, with the app's own key and the checkpoints stored in the database."""
    session = session or db.session
    keys = trusted_keys()
    return {
        chain_id: audit.verify_chain(session, chain_id, trusted_keys=keys, replayer=replayer_for(chain_id))
        for chain_id in chain_ids
    }
