"""State changes of payment requests. Each is one function that asks the workflow table and `can()`,
changes the rows and records one audit event in the same transaction. Nothing here commits: the view
or CLI command that called it commits the unit of work, or rolls it back on any error."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from finance import storage, trail
from finance.auth.models import User
from finance.controls.attachments import kinds_present
from finance.db import utcnow
from finance.extensions import db
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests.models import Attachment, AttachmentKind, PaymentRequest, RequestAction
from finance.payment_requests.queries import current_policy, rules_of, steps_of
from finance.permissions import Forbidden, Permission, acting_role, can, current_step_role
from finance.roles import Role
from finance.timefmt import today_local
from finance.workflow import Action, Facts, NotAllowed, State, decide

SUBJECT = "payment_request"
CENT = Decimal("0.01")
MONEY_LIMIT = Decimal("1000000000000")  # NUMERIC(14, 2)
EDITABLE = ("payee_name", "payee_bank", "payee_account", "amount", "purpose", "subject_id", "fund_source",
            "budget_line", "meeting_date", "meeting_attendance", "meeting_amount")


class RequestError(ValueError):
    """Input the user must correct; `errors` maps field names to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class AlreadyHandled(Exception):
    """Someone else acted first (or this very form was sent before): nothing was changed."""


@dataclass
class RequestInput:
    payee_name: str = ""
    payee_bank: str = ""
    payee_account: str = ""
    amount: Decimal | None = None
    purpose: str = ""
    subject_id: int | None = None
    fund_source: str = ""
    budget_line: str = ""
    meeting_date: date | None = None
    meeting_attendance: int | None = None
    meeting_amount: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def snapshot(req: PaymentRequest) -> dict[str, Any]:
    """The request's fields as the audit trail records them (money as Decimal, dates as ISO)."""
    return {
        "number": req.number,
        "village": req.village.code if req.village else None,
        "requester_id": req.requester_id,
        "state": req.state.value,
        "step": req.step,
        "round": req.round,
        "payee_name": req.payee_name,
        "payee_bank": req.payee_bank,
        "payee_account": req.payee_account,
        "amount": req.amount,
        "purpose": req.purpose,
        "subject": req.subject.code if req.subject else None,
        "fund_source": req.fund_source,
        "budget_line": req.budget_line,
        "meeting_date": req.meeting_date,
        "meeting_attendance": req.meeting_attendance,
        "meeting_amount": req.meeting_amount,
        "policy_id": req.policy_id,
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def waiting_role(req: PaymentRequest) -> Role | None:
    """Whose move it is now (stored on the row for the to-do list; derived from state and step)."""
    if req.state == State.PENDING:
        return current_step_role(req)
    return {State.DRAFT: Role.ACCOUNTANT, State.RETURNED: Role.ACCOUNTANT,
            State.APPROVED: Role.CASHIER}.get(req.state)


def _facts(req: PaymentRequest) -> Facts:
    decided = any(a.round == req.round and a.step is not None for a in req.actions)
    return Facts(state=req.state, step=req.step, steps_total=len(steps_of(req)), decided_this_round=decided)


def _replayed(client_key: str | None, req: PaymentRequest | None = None, user: User | None = None
              ) -> RequestAction | None:
    """The action already taken with this form's idempotency key, if the form was sent before."""
    if not client_key:
        return None
    done = db.session.execute(
        select(RequestAction).where(RequestAction.client_key == client_key)
    ).scalar_one_or_none()
    if done is not None and req is not None and done.request_id != req.id:
        raise AlreadyHandled
    if done is not None and user is not None and done.actor_id != user.id:
        raise AlreadyHandled  # someone else's form key: never report their action as this user's
    return done


# Longest text each field takes (the column widths); longer input is refused with a message, never cut.
MAX_LENGTH = {"payee_name": 100, "payee_bank": 100, "payee_account": 40, "purpose": 1000, "fund_source": 100,
              "budget_line": 100}
MAX_ATTENDANCE = 100_000


def input_errors(data: RequestInput) -> dict[str, str]:
    """What is wrong with the typed fields themselves (completeness is checked at submit)."""
    errors: dict[str, str] = {}
    for name, limit in MAX_LENGTH.items():
        value = getattr(data, name)
        if value is not None and len(str(value).strip()) > limit:
            errors[name] = _("最多 %(n)d 个字。", n=limit)
    amount = data.amount
    if amount is not None:
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            errors["amount"] = _("金额必须大于零。")
        elif amount > current_app.config["MAX_AMOUNT"]:
            errors["amount"] = _("金额超过单笔上限。")
        elif amount != amount.quantize(CENT):
            errors["amount"] = _("金额最多保留两位小数（分）。")
    resolved = data.meeting_amount
    if resolved is not None and (not isinstance(resolved, Decimal) or not resolved.is_finite()
                                 or not 0 < resolved < MONEY_LIMIT or resolved != resolved.quantize(CENT)):
        errors["meeting_amount"] = _("决议金额格式不正确。")
    attendance = data.meeting_attendance
    if attendance is not None and not 0 <= attendance <= MAX_ATTENDANCE:
        errors["meeting_attendance"] = _("参会人数不正确。")
    return errors


def _apply_input(req: PaymentRequest, data: RequestInput) -> None:
    errors = input_errors(data)
    if data.subject_id is not None:
        subject = db.session.get(AccountSubject, data.subject_id)
        if subject is None or not subject.active:
            errors["subject_id"] = _("请选择有效的会计科目。")
    if errors:
        first = next(iter(errors.values()))
        raise RequestError(first if len(errors) == 1 else _("还有内容需要修改，请检查标红的项目。"), errors)
    req.subject = db.session.get(AccountSubject, data.subject_id) if data.subject_id is not None else None
    req.subject_id = data.subject_id
    for name in EDITABLE:
        if name == "subject_id":
            continue
        value = getattr(data, name)
        if isinstance(value, str):
            value = value.strip()
        setattr(req, name, value)


def create_draft(user: User, village: OrgUnit, data: RequestInput, client_key: str | None = None
                 ) -> PaymentRequest:
    """A new draft. A form sent twice (same `client_key`) returns the draft made the first time."""
    if client_key:
        existing = db.session.execute(
            select(PaymentRequest).where(PaymentRequest.client_key == client_key)
        ).scalar_one_or_none()
        if existing is not None:
            if existing.requester_id != user.id:
                raise AlreadyHandled
            return existing
    if not can(user, Permission.REQUEST_CREATE, village):
        raise Forbidden(Permission.REQUEST_CREATE)
    now = utcnow()
    req = PaymentRequest(village=village, requester=user, state=State.DRAFT, client_key=client_key,
                         created_at=now, updated_at=now, waiting_since=now, waiting_role=Role.ACCOUNTANT)
    _apply_input(req, data)
    try:
        with db.session.begin_nested():
            db.session.add(req)
            db.session.flush()
    except IntegrityError:
        # The same form, sent twice at once: the other send made the draft (and committed first).
        existing = db.session.execute(
            select(PaymentRequest).where(PaymentRequest.client_key == client_key)
        ).scalar_one_or_none() if client_key else None
        if existing is not None and existing.requester_id == user.id:
            return existing
        raise AlreadyHandled from None
    req.number = f"ZF{now:%Y}{req.id:06d}"
    trail.record(village=village, user=user, role=Role.ACCOUNTANT, action=Action.CREATE,
                 subject_type=SUBJECT, subject_id=req.id, after=snapshot(req))
    db.session.flush()
    return req


def update_draft(user: User, req: PaymentRequest, data: RequestInput) -> None:
    """Edit a draft or a returned request."""
    _transition(user, req, Action.EDIT, mutate=lambda: _apply_input(req, data), record_if_unchanged=False)


def missing_for_submit(req: PaymentRequest) -> dict[str, str]:
    """What a request lacks before it can be submitted, field -> message."""
    errors: dict[str, str] = {}
    if not req.payee_name:
        errors["payee_name"] = _("请填写收款人。")
    if not req.payee_bank:
        errors["payee_bank"] = _("请填写收款人开户行。")
    if not req.payee_account or not req.payee_account.replace(" ", "").isdigit():
        errors["payee_account"] = _("请填写收款人银行账号（数字）。")
    if req.amount is None:
        errors["amount"] = _("请填写金额。")
    if not req.purpose:
        errors["purpose"] = _("请填写资金用途。")
    if req.subject_id is None:
        errors["subject_id"] = _("请选择会计科目。")
    if errors:
        return errors
    assert req.amount is not None
    township = req.village.township
    policy = req.policy or (current_policy(township) if township else None)
    rules = rules_of(policy)
    subject_code = req.subject.code if req.subject else None
    have = kinds_present(a.kind.value for a in req.attachments)  # any 票据 meets "invoice" (issue 11)
    for kind in rules.required_attachments(req.amount, subject_code):
        if kind not in have:
            label = _("发票或收款收据") if kind == "invoice" else attachment_label(kind)  # any 票据 will do
            errors[f"attachment_{kind}"] = _("缺少附件：%(kind)s。", kind=label)
    if rules.is_major(req.amount):
        today = today_local()
        if req.meeting_date is None or req.meeting_date > today:
            errors["meeting_date"] = _("大额支出须填写“四议两公开”决议的会议日期（不晚于今天）。")
        if not req.meeting_attendance or req.meeting_attendance < 1:
            errors["meeting_attendance"] = _("请填写参会人数。")
        if req.meeting_amount is None or req.meeting_amount < req.amount:
            errors["meeting_amount"] = _("决议金额不能低于申请金额。")
    return errors


def attachment_label(kind: str) -> str:
    labels = {
        "invoice": _("发票"), "fiscal_receipt": _("财政或内部收据"), "labour_slip": _("个人劳务签收单"),
        "other_voucher": _("其他凭证"), "contract": _("合同"), "acceptance": _("验收单"),
        "minutes": _("“四议两公开”会议记录照片"), "receipt": _("银行回单"), "other": _("其他材料"),
    }
    return labels.get(kind, kind)


def submit(user: User, req: PaymentRequest, client_key: str | None = None) -> RequestAction | None:
    """Submit a draft, or resubmit a returned request, to step 1 of its route."""

    def mutate() -> None:
        errors = missing_for_submit(req)
        if errors:
            raise RequestError(_("还有内容需要补充，请检查标红的项目。"), errors)
        if req.policy_id is None:
            township = req.village.township
            req.policy = current_policy(township) if township else None
            req.policy_id = req.policy.id if req.policy else None
        req.round += 1
        req.step = 1
        req.submitted_at = utcnow()
        if not steps_of(req):  # a policy without any applicable step goes straight to payment
            req.state = State.APPROVED

    return _transition(user, req, Action.SUBMIT, client_key=client_key, mutate=mutate)


def approve(user: User, req: PaymentRequest, comment: str | None = None, client_key: str | None = None
            ) -> RequestAction | None:
    def mutate() -> None:
        req.step += 1

    return _transition(user, req, Action.APPROVE, comment=comment, client_key=client_key, mutate=mutate)


def return_for_revision(user: User, req: PaymentRequest, reason: str, client_key: str | None = None
                        ) -> RequestAction | None:
    return _transition(user, req, Action.RETURN, comment=reason, client_key=client_key)


def reject(user: User, req: PaymentRequest, reason: str, client_key: str | None = None
           ) -> RequestAction | None:
    return _transition(user, req, Action.REJECT, comment=reason, client_key=client_key)


def withdraw(user: User, req: PaymentRequest, client_key: str | None = None) -> RequestAction | None:
    return _transition(user, req, Action.WITHDRAW, client_key=client_key)


def _transition(
    user: User,
    req: PaymentRequest,
    action: Action,
    *,
    comment: str | None = None,
    client_key: str | None = None,
    mutate: Any = None,
    extra_after: dict[str, Any] | None = None,
    attachments: Iterable[str] = (),
    record_if_unchanged: bool = True,
) -> RequestAction | None:
    """The one path by which a request changes state: table, permission, change, history, event.

    Returns the history row (None for edits), or the earlier row when this form was already handled.
    Raises NotAllowed (not in this state), Forbidden (not this user), RequestError (bad input) or
    AlreadyHandled (someone acted first)."""
    if (done := _replayed(client_key, req, user)) is not None:
        return done
    facts = _facts(req)
    transition, target = decide(facts, action)  # NotAllowed: not open in this state
    role = acting_role(user, req, action)
    if role is None:
        raise Forbidden(action)
    comment = (comment or "").strip() or None
    if transition.reason_required and not comment:
        raise RequestError(_("请填写理由。"), {"reason": _("请填写理由。")})
    if comment and len(comment) > 1000:
        raise RequestError(_("意见最多 1000 字。"), {"reason": _("意见最多 1000 字。")})
    # Everything below happens inside a savepoint: a refusal raised by `mutate` (bad input) or a lost
    # race (the row's version moved, or a unique key is taken) leaves the session as it was, so the
    # caller can still read what happened and answer "already handled".
    try:
        with db.session.begin_nested():
            return _apply_transition(user, req, action, role, facts, target, comment, client_key, mutate,
                                     extra_after, attachments, record_if_unchanged)
    except (StaleDataError, IntegrityError):
        if client_key and (done := _replayed(client_key, req, user)) is not None:
            return done  # the same form, sent twice at once: the other send did it
        raise AlreadyHandled from None


def _apply_transition(user: User, req: PaymentRequest, action: Action, role: Role, facts: Facts,
                      target: State, comment: str | None, client_key: str | None, mutate: Any,
                      extra_after: dict[str, Any] | None, attachments: Iterable[str],
                      record_if_unchanged: bool) -> RequestAction | None:
    before_state, step, round_ = req.state, req.step, req.round
    before = snapshot(req)
    if mutate is not None:
        mutate()
    if req.state == before_state:  # unless mutate decided the state itself
        req.state = target
    if action == Action.APPROVE:
        req.state = State.APPROVED if step >= facts.steps_total else State.PENDING
    if req.state != State.PENDING:
        req.step = 0
    req.waiting_role = waiting_role(req)
    old, new = _diff(before, snapshot(req))
    if action == Action.EDIT and not new and not record_if_unchanged:
        return None  # nothing changed: no write, no event
    now = utcnow()
    if req.state != before_state or action in (Action.APPROVE, Action.SUBMIT):
        req.waiting_since = now
    req.updated_at = now
    row = None
    if action != Action.EDIT:
        row = RequestAction(
            request=req, round=req.round if action == Action.SUBMIT else round_,
            step=step if action in (Action.APPROVE, Action.RETURN, Action.REJECT) else None,
            action=action, from_state=before_state, to_state=req.state, actor_id=user.id, actor_role=role,
            comment=comment, client_key=client_key, created_at=now,
        )
        db.session.add(row)
    db.session.flush()  # the conditional UPDATE ... WHERE version = ?: StaleDataError if someone won
    trail.record(village=req.village, user=user, role=role, action=action, subject_type=SUBJECT,
                 subject_id=req.id, before=old, after={**new, **(extra_after or {})}, reason=comment,
                 attachments=attachments)
    return row


def add_attachment(user: User, req: PaymentRequest, kind: AttachmentKind, filename: str, data: bytes
                   ) -> Attachment:
    """Attach a file to a draft or returned request (the cashier's receipt goes through payments)."""
    if req.state not in (State.DRAFT, State.RETURNED):
        raise NotAllowed("attachments can be added to drafts and returned requests only")
    if acting_role(user, req, Action.EDIT) is None:
        raise Forbidden(Action.EDIT)
    stored = storage.save(data)
    return _attach(user, req, kind, filename, stored, Role.ACCOUNTANT)


def _attach(user: User, req: PaymentRequest, kind: AttachmentKind, filename: str, stored: storage.Stored,
            role: Role, *, record: bool = True) -> Attachment:
    """The attachment row, and its `attachment_add` event unless it is part of a change that records its
    own (the cashier's receipt belongs to the payment's one `pay` event)."""
    att = Attachment(request=req, kind=kind, sha256=stored.sha256, filename=(filename or "file")[-200:],
                     content_type=stored.content_type, size=stored.size, uploaded_by_id=user.id)
    db.session.add(att)
    db.session.flush()
    if record:
        trail.record(village=req.village, user=user, role=role, action="attachment_add", subject_type=SUBJECT,
                     subject_id=req.id, after={"attachment": attachment_summary(att)},
                     attachments=(stored.sha256,))
    return att


def attachment_summary(att: Attachment) -> dict[str, Any]:
    """An attachment as the trail records it (its bytes are named by their SHA-256 beside it)."""
    return {"id": att.id, "kind": att.kind.value, "filename": att.filename, "size": att.size}


def remove_attachment(user: User, att: Attachment) -> None:
    req = att.request
    if req.state not in (State.DRAFT, State.RETURNED):
        raise NotAllowed("attachments can be removed from drafts and returned requests only")
    if acting_role(user, req, Action.EDIT) is None:
        raise Forbidden(Action.EDIT)
    trail.record(village=req.village, user=user, role=Role.ACCOUNTANT, action="attachment_remove",
                 subject_type=SUBJECT, subject_id=req.id,
                 before={"attachment": {"id": att.id, "kind": att.kind.value, "filename": att.filename}},
                 attachments=(att.sha256,))
    req.attachments.remove(att)
    db.session.delete(att)
    db.session.flush()
