"""Verification of the trail as the app runs it: the audit verifier plus replayers that check the
business rows against what the events say: on a village chain every column an approval depends on (a
request's fields, step, policy version and whose turn it is, its history rows with their actors, its
attachments with their SHA-256, its payment with cashier and receipt, the questions and answers), on the
system chain the accounts, their activation and roles, the org units with their bank accounts and the
approval policy versions."""

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
from finance.approval_policy.models import RoutingPolicy
from finance.audit_keys import trusted_keys
from finance.auth.models import RoleAssignment, User
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.oversight.models import Question
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.payment_requests.route import waiting_role
from finance.payment_requests.services import snapshot
from finance.payments.models import Payment
from finance.trail import AuditAction, AuditSubject
from finance.workflow import TABLE, Action, Actor, State

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
    "request_actions_differ": "request {request}: approval history row {n} differs from the trail ({fields})",
    "request_attachments_differ": "request {request}: attachment {attachment} differs from the trail ({fields})",
    "question_differs": "question {question}: {fields} differs from the trail",
    "question_no_events": "question {question} has no events",
    "question_not_in_database": "question {question} is in the trail but not in the database",
    # the system chain: accounts, role assignments, org units, approval policies
    "user_no_events": "user {user} has no events",
    "user_differs": "user {user}: {fields} differs from the trail",
    "user_not_in_database": "user {user} is in the trail but not in the database",
    "roles_differ": "user {user}: roles in database differ from the trail ({roles})",
    "unit_no_events": "org unit {unit} has no events",
    "unit_differs": "org unit {unit}: {fields} differs from the trail",
    "unit_not_in_database": "org unit {unit} is in the trail but not in the database",
    "policy_no_events": "routing policy {policy} has no events",
    "policy_differs": "routing policy {policy}: {fields} differs from the trail",
    "policy_not_in_database": "routing policy {policy} is in the trail but not in the database",
}


def _replay_failure(chain_id: str, at: int, code: str, **params: object) -> Failure:
    return Failure.of(chain_id, at, code, REPLAY_FAILURES[code], {k: str(v) for k, v in params.items()}, "replay")


def _json(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else {}


def _shas(text: str | None) -> list[str]:
    value = json.loads(text) if text else None
    return [str(v) for v in value] if isinstance(value, list) else []


def _differing(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """The keys of `expected` (what the trail said) whose value the rows do not have."""
    return [k for k, v in expected.items() if actual.get(k) != v]


# The history row a workflow event writes (finance.payment_requests.services._apply), as compared.
_ACTION_FIELDS = ("action", "actor_id", "actor_role", "round", "step", "from_state", "to_state", "comment",
                  "on_behalf_of_id")
_RECORDED_ACTIONS = frozenset(a.value for a in Action) - {Action.EDIT.value}
_ATTACHMENT_FIELDS = ("kind", "filename", "size", "sha256", "uploaded_by_id")


@dataclass
class _Folded:
    fields: dict[str, Any] = field(default_factory=dict)
    payment: dict[str, Any] | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    attachments: dict[int, dict[str, Any]] = field(default_factory=dict)
    last_seq: int = 0
    # brought over from an earlier system (finance.payment_requests.history): one event vouches for the
    # record's fields, payment and files; its history rows name a stand-in, not people of this system
    imported_shas: list[str] | None = None


class RequestReplayer:
    """Folds every request event of one village chain (the fields of `after`, the history row each
    workflow action writes with its actor, the attachments with their SHA-256, the payment with its
    cashier and receipt) and the questions, and compares what the events say with the rows: every column
    a decision depends on."""

    def __init__(self, chain_id: str) -> None:
        self.chain_id = chain_id
        self.requests: dict[int, _Folded] = {}
        self.questions: dict[int, tuple[dict[str, Any], int]] = {}

    def feed(self, event: Any) -> None:
        if event.subject_type == AuditSubject.QUESTION:
            self._feed_question(event)
            return
        if event.subject_type != AuditSubject.PAYMENT_REQUEST:
            return
        folded = self.requests.setdefault(int(event.subject_id), _Folded())
        folded.last_seq = event.seq
        action = getattr(event, "action", "")
        after = _json(event.after)
        if action == AuditAction.ATTACHMENT_REMOVE:
            gone = _json(event.before).get("attachment") or {}
            folded.attachments.pop(int(gone.get("id", 0)), None)
            return
        if action == AuditAction.HISTORY_IMPORT:
            folded.imported_shas = sorted(_shas(getattr(event, "attachments", None)))
        attachment = after.pop("attachment", None)
        if isinstance(attachment, dict) and action in (AuditAction.ATTACHMENT_ADD, AuditAction.PAY):
            shas = _shas(getattr(event, "attachments", None))
            folded.attachments[int(attachment["id"])] = {
                "kind": attachment.get("kind"), "filename": attachment.get("filename"),
                "size": attachment.get("size"), "sha256": shas[0] if len(shas) == 1 else shas,
                "uploaded_by_id": event.actor_id,
            }
        if action == AuditAction.ATTACHMENT_ADD:
            return
        payment = after.pop("payment", None)
        before_state, before_step = folded.fields.get("state"), folded.fields.get("step")
        folded.fields.update(after)
        if payment is not None:
            folded.payment = {**payment, "cashier_id": event.actor_id,
                              "receipt_id": attachment.get("id") if isinstance(attachment, dict) else None}
        if action in _RECORDED_ACTIONS and action != Action.CREATE.value:
            rule = TABLE.get((State(before_state), Action(action))) if before_state in _STATES else None
            folded.actions.append({
                "action": action, "actor_id": event.actor_id, "actor_role": event.actor_role,
                "round": folded.fields.get("round"),
                "step": before_step if rule is not None and rule.actor is Actor.STEP_APPROVER else None,
                "from_state": before_state, "to_state": folded.fields.get("state"), "comment": event.reason,
                "on_behalf_of_id": (after.get("on_behalf_of") or {}).get("user_id"),  # a delegate's action
            })

    def _feed_question(self, event: Any) -> None:
        after = _json(event.after)
        known, _seq = self.questions.get(int(event.subject_id), ({}, 0))
        if event.action == AuditAction.QUESTION_ASK:
            known = {"request_id": after.get("request_id"), "text": after.get("text"),
                     "deadline": after.get("deadline"), "asked_by_id": event.actor_id, "answer": None,
                     "answered_by_id": None}
        elif event.action == AuditAction.QUESTION_ANSWER:
            known = {**known, "answer": after.get("answer"), "answered_by_id": event.actor_id}
        else:
            return
        self.questions[int(event.subject_id)] = (known, event.seq)

    def finish(self, session: Session) -> list[Failure]:
        code = self.chain_id.split(":", 1)[1]
        village = session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
        if village is None:
            return [_replay_failure(self.chain_id, 0, "no_village", village=code)]
        failures: list[Failure] = []
        # populate_existing: compare with the rows as they are in the database now, not with objects
        # this session loaded earlier (the live status on a page shares the request's session).
        fresh = {"populate_existing": True}
        rows = list(session.execute(
            select(PaymentRequest).where(PaymentRequest.village_id == village.id).execution_options(**fresh)
        ).scalars())
        # The village's rows by a subquery, not a list of ids (SQLite bounds the number of parameters).
        ids = select(PaymentRequest.id).where(PaymentRequest.village_id == village.id)
        payments = {p.request_id: p for p in session.execute(
            select(Payment).where(Payment.request_id.in_(ids)).execution_options(**fresh)).scalars()}
        actions: dict[int, list[RequestAction]] = {}
        attachments: dict[int, list[Attachment]] = {}
        for act in session.execute(select(RequestAction).where(RequestAction.request_id.in_(ids))
                                   .order_by(RequestAction.id).execution_options(**fresh)).scalars():
            actions.setdefault(act.request_id, []).append(act)
        for att in session.execute(select(Attachment).where(Attachment.request_id.in_(ids))
                                   .order_by(Attachment.id).execution_options(**fresh)).scalars():
            attachments.setdefault(att.request_id, []).append(att)
        seen = set()
        for req in rows:
            seen.add(req.id)
            folded = self.requests.get(req.id)
            if folded is None:
                failures.append(_replay_failure(self.chain_id, 0, "request_no_events", request=req.number or req.id))
                continue
            failures.extend(self._check_request(req, folded))
            failures.extend(self._check_actions(req, actions.get(req.id, []), folded))
            failures.extend(self._check_attachments(req, attachments.get(req.id, []), folded))
            failures.extend(self._check_payment(req, payments.get(req.id), folded, folded.last_seq))
        for missing in sorted(set(self.requests) - seen):
            failures.append(_replay_failure(self.chain_id, self.requests[missing].last_seq,
                                            "request_not_in_database", request=missing))
        failures.extend(self._check_questions(session, ids))
        return failures

    def _check_request(self, req: PaymentRequest, folded: _Folded) -> list[Failure]:
        where, out = folded.last_seq, []
        if folded.fields.get("state") != req.state.value:
            out.append(_replay_failure(self.chain_id, where, "request_state_differs", request=req.number,
                                       db=req.state.value, trail=folded.fields.get("state")))
        trail_amount = folded.fields.get("amount")
        db_amount = None if req.amount is None else audit.canonical.money(req.amount)
        if trail_amount != db_amount:
            out.append(_replay_failure(self.chain_id, where, "request_amount_differs", request=req.number,
                                       db=db_amount, trail=trail_amount))
        # Every other field of the request's snapshot the trail has spoken about (a trail written before a
        # field was recorded says nothing of it), then whose turn it is, which follows from state, step
        # and the policy version (whose rules the system chain vouches for).
        row = audit.canonical.normalise(snapshot(req))
        for name in row:
            if name not in ("state", "amount") and name in folded.fields and folded.fields[name] != row[name]:
                out.append(_replay_failure(self.chain_id, where, "request_field_differs", request=req.number,
                                           field=name))
        if req.waiting_role != waiting_role(req):
            out.append(_replay_failure(self.chain_id, where, "request_field_differs", request=req.number,
                                       field="waiting_role"))
        return out

    def _check_actions(self, req: PaymentRequest, rows: list[RequestAction], folded: _Folded) -> list[Failure]:
        if folded.imported_shas is not None:
            return []  # the earlier system's steps: in the import event's `approvals`, not history rows
        have = [{"action": a.action.value, "actor_id": a.actor_id, "actor_role": a.actor_role.value,
                 "round": a.round, "step": a.step, "from_state": a.from_state.value, "to_state": a.to_state.value,
                 "comment": a.comment, "on_behalf_of_id": a.on_behalf_of_id} for a in rows]
        for n in range(max(len(have), len(folded.actions))):
            said = folded.actions[n] if n < len(folded.actions) else {}
            row = have[n] if n < len(have) else {}
            diffs = [k for k in _ACTION_FIELDS if said.get(k) != row.get(k)]
            if diffs:
                return [_replay_failure(self.chain_id, folded.last_seq, "request_actions_differ", request=req.number,
                                        n=n + 1, fields=", ".join(diffs))]
        return []

    def _check_attachments(self, req: PaymentRequest, rows: list[Attachment], folded: _Folded) -> list[Failure]:
        if folded.imported_shas is not None:  # the files the import event names, by SHA-256
            if sorted(a.sha256 for a in rows) != folded.imported_shas:
                return [_replay_failure(self.chain_id, folded.last_seq, "request_attachments_differ",
                                        request=req.number, attachment="*", fields="sha256")]
            return []
        have = {a.id: {"kind": a.kind.value, "filename": a.filename, "size": a.size, "sha256": a.sha256,
                       "uploaded_by_id": a.uploaded_by_id} for a in rows}
        out = []
        for att_id in sorted(set(have) | set(folded.attachments)):
            said, row = folded.attachments.get(att_id, {}), have.get(att_id, {})
            diffs = [k for k in _ATTACHMENT_FIELDS if said.get(k) != row.get(k)]
            if diffs:
                out.append(_replay_failure(self.chain_id, folded.last_seq, "request_attachments_differ",
                                           request=req.number, attachment=att_id, fields=", ".join(diffs)))
        return out

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
            "cashier_id": pay.cashier_id,
            "receipt_id": pay.receipt_id,
        }
        if folded.imported_shas is not None:  # the earlier system names no cashier of this one, nor a receipt row
            row.pop("cashier_id"), row.pop("receipt_id")
        diffs = [k for k, v in row.items() if folded.payment.get(k) != v]
        if diffs:
            return [_replay_failure(self.chain_id, where, "payment_fields_differ", request=req.number,
                                    fields=", ".join(diffs))]
        if pay.amount != req.amount:
            return [_replay_failure(self.chain_id, where, "paid_amount_differs", request=req.number)]
        return []

    def _check_questions(self, session: Session, request_ids: Any) -> list[Failure]:
        rows = session.execute(
            select(Question).where(Question.request_id.in_(request_ids)).execution_options(populate_existing=True)
        ).scalars()
        out, seen = [], set()
        for q in rows:
            seen.add(q.id)
            if q.id not in self.questions:
                out.append(_replay_failure(self.chain_id, 0, "question_no_events", question=q.id))
                continue
            said, seq = self.questions[q.id]
            row = {"request_id": q.request_id, "text": q.text, "deadline": q.deadline.isoformat(),
                   "asked_by_id": q.asked_by_id, "answer": q.answer, "answered_by_id": q.answered_by_id}
            if diffs := _differing(said, row):
                out.append(_replay_failure(self.chain_id, seq, "question_differs", question=q.id,
                                           fields=", ".join(diffs)))
        for missing in sorted(set(self.questions) - seen):
            out.append(_replay_failure(self.chain_id, self.questions[missing][1], "question_not_in_database",
                                       question=missing))
        return out


_STATES = frozenset(s.value for s in State)


class SystemReplayer:
    """Folds the system chain (accounts, their activation and role assignments, org units with their bank
    accounts, approval policy versions) and compares with the rows: a role given, a user switched on, a
    village's account or a policy's rules changed in SQL without its event is found."""

    def __init__(self, chain_id: str) -> None:
        self.chain_id = chain_id
        self.users: dict[int, dict[str, Any]] = {}
        self.roles: dict[int, set[tuple[Any, Any]]] = {}
        self.units: dict[int, dict[str, Any]] = {}
        self.policies: dict[int, dict[str, Any]] = {}
        self.last: dict[tuple[str, int], int] = {}

    def feed(self, event: Any) -> None:
        action, after, before = event.action, _json(event.after), _json(event.before)
        try:
            subject = int(event.subject_id)
        except ValueError:
            return
        if event.subject_type == AuditSubject.USER:
            if action == AuditAction.USER_CREATE:
                self.users[subject] = {"username": after.get("username"),
                                       "display_name": after.get("display_name"), "active": True}
                self.roles[subject] = set()
            elif action == AuditAction.ROLE_ASSIGN:
                self.roles.setdefault(subject, set()).add((after.get("role"), after.get("org_unit")))
            elif action == AuditAction.ROLE_REMOVE:
                self.roles.setdefault(subject, set()).discard((before.get("role"), before.get("org_unit")))
            elif action in (AuditAction.USER_ACTIVATE, AuditAction.USER_DEACTIVATE):
                self.users.setdefault(subject, {})["active"] = after.get("active")
            elif action == AuditAction.USER_UPDATE:
                if "display_name" in after:
                    self.users.setdefault(subject, {})["display_name"] = after["display_name"]
            else:
                return
            self.last[("user", subject)] = event.seq
        elif event.subject_type == AuditSubject.ORG_UNIT and action in (AuditAction.ORG_CREATE,
                                                                       AuditAction.ORG_UPDATE):
            self.units[subject] = after if action == AuditAction.ORG_CREATE else {**self.units.get(subject, {}),
                                                                                  **after}
            self.last[("unit", subject)] = event.seq
        elif event.subject_type == AuditSubject.ROUTING_POLICY and action == AuditAction.POLICY_PUBLISH:
            self.policies[subject] = after
            self.last[("policy", subject)] = event.seq

    def finish(self, session: Session) -> list[Failure]:
        fresh = {"populate_existing": True}
        codes = {u.id: u.code for u in session.execute(select(OrgUnit).execution_options(**fresh)).scalars()}
        out: list[Failure] = []
        users = session.execute(select(User).execution_options(**fresh)).scalars()
        roles: dict[int, set[tuple[str, str]]] = {}
        for a in session.execute(select(RoleAssignment).execution_options(**fresh)).scalars():
            roles.setdefault(a.user_id, set()).add((a.role.value, codes.get(a.org_unit_id, "")))
        seen = set()
        for user in users:
            seen.add(user.id)
            said = self.users.get(user.id)
            if said is None:
                out.append(_replay_failure(self.chain_id, 0, "user_no_events", user=user.username))
                continue
            at = self.last[("user", user.id)]
            row = {"username": user.username, "display_name": user.display_name, "active": user.active}
            if diffs := _differing(said, row):
                out.append(_replay_failure(self.chain_id, at, "user_differs", user=user.username,
                                           fields=", ".join(diffs)))
            have, expected = roles.get(user.id, set()), self.roles.get(user.id, set())
            if have != expected:
                changed = sorted(f"{r}@{u}" for r, u in have ^ expected)
                out.append(_replay_failure(self.chain_id, at, "roles_differ", user=user.username,
                                           roles=", ".join(changed)))
        for missing in sorted(set(self.users) - seen):
            out.append(_replay_failure(self.chain_id, self.last[("user", missing)], "user_not_in_database",
                                       user=missing))
        out.extend(self._check_units(session, codes))
        out.extend(self._check_policies(session, codes))
        return out

    def _check_units(self, session: Session, codes: dict[int, str]) -> list[Failure]:
        out, seen = [], set()
        for unit in session.execute(select(OrgUnit)).scalars():
            seen.add(unit.id)
            said = self.units.get(unit.id)
            if said is None:
                out.append(_replay_failure(self.chain_id, 0, "unit_no_events", unit=unit.code))
                continue
            row = {"code": unit.code, "name": unit.name, "kind": unit.kind.value,
                   "parent": codes.get(unit.parent_id) if unit.parent_id else None,
                   "bank_name": unit.bank_name, "bank_account": unit.bank_account,
                   "bank_account_name": unit.bank_account_name, "level_name": unit.level_name}
            if diffs := _differing(said, row):
                out.append(_replay_failure(self.chain_id, self.last[("unit", unit.id)], "unit_differs",
                                           unit=unit.code, fields=", ".join(diffs)))
        for missing in sorted(set(self.units) - seen):
            out.append(_replay_failure(self.chain_id, self.last[("unit", missing)], "unit_not_in_database",
                                       unit=missing))
        return out

    def _check_policies(self, session: Session, codes: dict[int, str]) -> list[Failure]:
        out, seen = [], set()
        for policy in session.execute(
            select(RoutingPolicy).execution_options(populate_existing=True)
        ).scalars():
            seen.add(policy.id)
            said = self.policies.get(policy.id)
            if said is None:
                out.append(_replay_failure(self.chain_id, 0, "policy_no_events", policy=policy.id))
                continue
            row = {"township": codes.get(policy.township_id), "version": policy.version, "rules": policy.rules}
            if diffs := _differing(said, row):
                out.append(_replay_failure(self.chain_id, self.last[("policy", policy.id)], "policy_differs",
                                           policy=policy.id, fields=", ".join(diffs)))
        for missing in sorted(set(self.policies) - seen):
            out.append(_replay_failure(self.chain_id, self.last[("policy", missing)], "policy_not_in_database",
                                       policy=missing))
        return out


def replayer_for(chain_id: str) -> RequestReplayer | SystemReplayer | None:
    if chain_id == audit.SYSTEM_CHAIN:
        return SystemReplayer(chain_id)
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
