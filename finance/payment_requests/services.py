"""State changes of payment requests. Each is one function that asks the workflow table and
`permissions.acting_role`, changes the rows and records one audit event in the same transaction. The
services alone check a form's replay key (`client_key`: a form sent twice is done once) and the page
version it was shown at (`version`: a stale page is refused). Nothing here commits: the caller commits
the unit of work (`finance.web.write` for pages), or it is rolled back.

`transition` and `attach` are the public API for other features that add to a request's workflow (the
cashier's payment, in `finance.payments.services`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from finance import storage, trail
from finance.attachment_kinds import AttachmentKind, kinds_present
from finance.auth.models import User
from finance.controls.chain import (
    cast_vote,
    committee_quorum,
    move_recused_steps,
    recusal_message,
)
from finance.controls.checks import Code, ControlReport, Stage, check_request, must_recuse_here
from finance.controls.queries import committee_votes as q_committee_votes
from finance.db import utcnow
from finance.errors import AlreadyHandled, Forbidden, ImportedHistory, InputError, NotFound
from finance.extensions import db
from finance.money import format_amount, to_capital
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests.churn import count_change
from finance.payment_requests.models import (
    MAX_ATTENDANCE,
    MAX_LENGTH,
    Attachment,
    PaymentRequest,
    RequestAction,
)
from finance.payment_requests.route import (
    current_step_role,
    fixed_route,
    policy_for,
    rules_for,
    steps_of,
    waiting_role,
)
from finance.permissions import (
    ACTOR_ROLES,
    Acting,
    Permission,
    acting_for,
    acting_role,
    barred,
    barred_sql,
    can,
    holds_role_for,
)
from finance.roles import Role
from finance.timefmt import today_local
from finance.trail import AuditAction, AuditSubject
from finance.workflow import INITIAL, Action, Actor, Facts, NotAllowed, State, Transition, decide, has_steps

CENT = Decimal("0.01")
ACCOUNT_RE = re.compile(r"^[0-9 ]{6,40}$")
MONEY_LIMIT = Decimal("1000000000000")  # NUMERIC(14, 2)
MAX_COMMENT = 1000
EDITABLE = ("payee_name", "payee_bank", "payee_account", "amount", "purpose", "subject_id", "fund_source",
            "budget_line", "meeting_date", "meeting_attendance", "meeting_amount")

class RequestError(InputError):
    """Input the user must correct; `errors` maps field names to messages."""


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
        # the relationship first: a policy taken at submit has its id before the row is flushed
        "policy_id": req.policy.id if req.policy is not None else req.policy_id,
        "route_roles": req.route_roles,
        "route_amount": req.route_amount,
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def facts(req: PaymentRequest) -> Facts:
    """What the workflow table needs to know about the request."""
    decided = any(a.round == req.round and a.step is not None for a in req.actions)
    return Facts(state=req.state, step=req.step, steps_total=len(steps_of(req)), decided_this_round=decided)


def check(user: User, req: PaymentRequest, action: Action) -> Role:
    """The role in which `user` may take `action` on `req` now; NotAllowed when the state does not open
    it, Forbidden when it is not theirs, ImportedHistory for imported history. Changes nothing (pages ask
    it before showing a form). A user who holds no role that ever takes `action` is Forbidden whatever the
    state (the reason is the role)."""
    if not holds_role_for(user, req, action):
        raise Forbidden(action)
    _refuse_history(req)
    decide(facts(req), action)
    role = acting_role(user, req, action)
    if role is None:
        raise Forbidden(action)
    return role


@dataclass(frozen=True)
class ApprovalSummary:
    """What an approver is about to approve (issue 16 item 3): shown before 同意 takes effect."""

    amount: Decimal
    capital: str  # 大写, as printed on the approval form
    payee_name: str
    payee_bank: str
    payee_account: str
    purpose: str
    step: int
    steps_total: int
    role: Role

    @property
    def last_step(self) -> bool:
        """Approving this step sends the request to the cashier."""
        return self.step >= self.steps_total


def approval_summary(user: User, req: PaymentRequest, version: int | None = None) -> ApprovalSummary:
    """What `user` would approve on `req` now, for the confirmation step; changes nothing. Refuses like
    `approve` would: AlreadyHandled for a page out of date, NotAllowed, Forbidden."""
    _check_version(req, version)
    role = check(user, req, Action.APPROVE)
    assert req.amount is not None  # a submitted request has its amount
    return ApprovalSummary(amount=req.amount, capital=to_capital(req.amount, True), payee_name=req.payee_name,
                           payee_bank=req.payee_bank, payee_account=req.payee_account, purpose=req.purpose,
                           step=req.step, steps_total=len(steps_of(req)), role=role)


def _refuse_history(req: PaymentRequest) -> None:
    if req.imported:
        raise ImportedHistory(_("这是历史导入的记录（原系统编号 %(number)s），不能在本系统中审批、支付或修改。",
                                number=req.number))


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


def _check_version(req: PaymentRequest, version: int | None) -> None:
    if version is not None and version != req.version:
        raise AlreadyHandled  # the page was out of date: the request moved since it was shown


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
            errors["amount"] = _("金额超过单笔上限 %(maximum)s 元。",
                                 maximum=format_amount(current_app.config["MAX_AMOUNT"]))
        elif amount != amount.quantize(CENT):
            errors["amount"] = _("金额最多保留两位小数（分）。")
    resolved = data.meeting_amount
    if resolved is not None and (not isinstance(resolved, Decimal) or not resolved.is_finite()
                                 or not 0 < resolved < MONEY_LIMIT or resolved != resolved.quantize(CENT)):
        errors["meeting_amount"] = _("决议金额格式不正确。")
    if data.payee_account and not ACCOUNT_RE.match(data.payee_account.strip()):
        errors.setdefault("payee_account", _("银行账号只能填写数字（可以有空格），6 到 40 位。"))
    attendance = data.meeting_attendance
    if attendance is not None and not 1 <= attendance <= MAX_ATTENDANCE:
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


def _by_key(client_key: str | None) -> PaymentRequest | None:
    if not client_key:
        return None
    return db.session.execute(
        select(PaymentRequest).where(PaymentRequest.client_key == client_key)
    ).scalar_one_or_none()


def create_draft(user: User, village: OrgUnit, data: RequestInput, client_key: str | None = None
                 ) -> PaymentRequest:
    """A new draft. A form sent twice (same `client_key`) returns the draft made the first time."""
    existing = _by_key(client_key)
    if existing is not None:
        if existing.requester_id != user.id:
            raise AlreadyHandled
        return existing
    if not can(user, Permission.REQUEST_CREATE, village):
        raise Forbidden(Permission.REQUEST_CREATE)
    now = utcnow()
    req = PaymentRequest(village=village, requester=user, state=INITIAL, client_key=client_key,
                         created_at=now, updated_at=now, waiting_since=now)
    _apply_input(req, data)
    req.waiting_role = waiting_role(req)
    try:
        with db.session.begin_nested():
            db.session.add(req)
            db.session.flush()
    except IntegrityError:
        # The same form, sent twice at once: the other send made the draft (and committed first).
        existing = _by_key(client_key)
        if existing is not None and existing.requester_id == user.id:
            return existing
        raise AlreadyHandled from None
    req.number = f"ZF{now:%Y}{req.id:06d}"
    trail.record(village=village, user=user, role=Role.ACCOUNTANT, action=AuditAction.CREATE,
                 subject_type=AuditSubject.PAYMENT_REQUEST, subject_id=req.id, after=snapshot(req))
    db.session.flush()
    return req


def update_draft(user: User, req: PaymentRequest, data: RequestInput, client_key: str | None = None) -> None:
    """Edit a draft or a returned request. A form whose key this user already submitted the request
    with (the edit page's "save and submit", sent again) changes nothing."""
    if client_key and (done := _replayed(client_key, req, user)) is not None and done.request_id == req.id:
        return
    transition(user, req, Action.EDIT, mutate=lambda: _apply_input(req, data), record_if_unchanged=False)


# The fields a request cannot be submitted without (the form marks them with *), and what to say.
SUBMIT_NEEDS = {
    "payee_name": _l("请填写收款人。"),
    "payee_bank": _l("请填写收款人开户行。"),
    "payee_account": _l("请填写收款人银行账号（数字）。"),
    "amount": _l("请填写金额。"),
    "purpose": _l("请填写资金用途。"),
    "subject_id": _l("请选择会计科目。"),
}


def missing_for_submit(req: PaymentRequest) -> dict[str, str]:
    """What a request lacks before it can be submitted, field -> message."""
    errors = {name: str(message) for name, message in SUBMIT_NEEDS.items() if getattr(req, name) in (None, "")}
    if "payee_account" not in errors and not req.payee_account.replace(" ", "").isdigit():
        errors["payee_account"] = str(SUBMIT_NEEDS["payee_account"])
    if errors:
        return errors
    assert req.amount is not None
    rules = rules_for(req)
    errors.update(missing_attachments(req))
    if rules.is_major(req.amount):
        today = today_local()
        if req.meeting_date is None or req.meeting_date > today:
            errors["meeting_date"] = _("大额支出须填写“四议两公开”决议的会议日期（不晚于今天）。")
        if not req.meeting_attendance:
            errors["meeting_attendance"] = _("请填写参会人数。")
        if req.meeting_amount is None or req.meeting_amount < req.amount:
            errors["meeting_amount"] = _("决议金额不能低于申请金额。")
    return errors


def missing_attachments(req: PaymentRequest) -> dict[str, str]:
    """The attachments the request's policy requires for its amount and subject that it does not have,
    field -> message. Checked at submit and again at every approval (shown on pending requests)."""
    if req.amount is None:
        return {}
    subject_code = req.subject.code if req.subject else None
    have = kinds_present(a.kind.value for a in req.attachments)  # any 票据 meets "invoice" (issue 11)
    return {f"attachment_{kind}": _("缺少附件：%(kind)s。", kind=AttachmentKind.requirement_label(kind))
            for kind in rules_for(req).required_attachments(req.amount, subject_code) if kind not in have}


def lock(req: PaymentRequest) -> None:
    """Take the request's row lock for the rest of the transaction and reload it (its attachments too),
    so that every change to its attachments serialises with its state changes: a submit or approval
    sees the attachments as they are, and an attachment cannot go while the request moves on. (SQLite
    takes the database's write lock at the start of every transaction, which serialises the same.)"""
    db.session.execute(select(PaymentRequest).where(PaymentRequest.id == req.id)
                       .with_for_update(of=PaymentRequest).execution_options(populate_existing=True)
                       ).scalar_one()  # fetched: the rows are loaded into the object as they read now
    db.session.expire(req, ["attachments", "actions"])  # read again, under the lock, when next used


def submit(user: User, req: PaymentRequest, client_key: str | None = None, version: int | None = None
           ) -> RequestAction | None:
    """Submit a draft, or resubmit a returned request, to step 1 of its route (or straight to payment
    when no step of its policy applies: the table's no-step target).

    The controls (finance.controls.checks) run first: a refusal raises RequestError with their messages
    by field and nothing is saved; otherwise the route is fixed on the request (the steps for the amount a
    cumulative band routes it by, the steps the controls add, a step whose holders must all recuse moved
    up) and the report goes into the submit event under "controls"."""
    extra: dict[str, Any] = {}

    def mutate() -> None:
        errors = missing_for_submit(req)
        if errors:
            raise RequestError(_("还有内容需要补充，请检查标红的项目。"), errors)
        if req.policy_id is None:
            req.policy = policy_for(req)
        report = check_request(req, Stage.SUBMIT)
        if report.refusals:
            raise refusal_error(report)
        assert req.amount is not None
        subject = req.subject.code if req.subject else None
        roles = fixed_route(rules_for(req), report.route_amount or req.amount, subject, report.extra_roles)
        req.route_roles = ",".join(r.value for r in roles) or None
        req.route_amount = report.route_amount
        req.round += 1
        req.step = 1
        req.submitted_at = utcnow()
        extra["controls"] = report.to_trail()
        moved = move_recused_steps(req, ahead=True)
        if moved:
            extra["recusals"] = moved

    return transition(user, req, Action.SUBMIT, client_key=client_key, version=version, mutate=mutate,
                      extra_after=extra)


# Which field of the request (or its page) each refusal of the controls concerns.
CONTROL_FIELDS = {
    Code.INVOICE_FACTS_MISSING: "attachment_invoice", Code.INVOICE_NUMBER_USED: "attachment_invoice",
    Code.BUSINESS_NEEDS_INVOICE: "attachment_invoice", Code.SELF_PAYEE_NEEDS_INVOICE: "attachment_invoice",
    Code.BAND_REQUIREMENT_MISSING: "attachments", Code.COMMITMENT_EXCEEDED: "amount",
    Code.RESOLUTION_REQUIRED: "link", Code.RESULT_PUBLICITY_MISSING: "link", Code.NEGATIVE_LIST: "purpose",
}


def refusal_error(report: ControlReport) -> RequestError:
    """The controls' refusals as one RequestError: each message under the field it concerns."""
    errors: dict[str, str] = {}
    for finding in report.refusals:
        key = CONTROL_FIELDS.get(finding.code, "controls")
        errors[key] = f"{errors[key]} {finding.message}" if key in errors else finding.message
    refusals = report.refusals
    message = refusals[0].message if len(refusals) == 1 else _(
        "有 %(n)d 项审核规则未通过，请按“审核提示”修改后再提交。", n=len(refusals))
    return RequestError(message, {**errors, "form": message})


def approve(user: User, req: PaymentRequest, comment: str | None = None, client_key: str | None = None,
            version: int | None = None) -> RequestAction | None:
    """Approve the current step. The controls' warnings the approver saw go into the event under
    "controls" (approving over them is the override, on the record); an approver who must recuse (须回避)
    is refused with the reason. At a committee step (k of n) the agreements before the k-th are votes
    (`finance.controls.chain`), and the k-th is the step's approval."""
    if committee_quorum(req) > 1 and (vote := _committee_vote(user, req, comment, client_key, version)):
        return vote if isinstance(vote, RequestAction) else None
    extra: dict[str, Any] = {}

    def mutate() -> None:
        if missing := missing_attachments(req):  # an attachment may have gone since the request was submitted
            raise RequestError(_("缺少必需的附件，不能批准；请退回补充。"), missing)
        report = check_request(req, Stage.APPROVE, approver=user)
        extra["controls"] = report.to_trail()
        votes = q_committee_votes(req)
        if votes:
            extra["committee"] = {"step": req.step, "agreed": [v.user_id for v in votes] + [user.id]}
        req.step += 1
        moved = move_recused_steps(req)
        if moved:
            extra["recusals"] = moved

    return transition(user, req, Action.APPROVE, comment=comment, client_key=client_key, version=version,
                      mutate=mutate, extra_after=extra)


def _committee_vote(user: User, req: PaymentRequest, comment: str | None, client_key: str | None,
                    version: int | None) -> bool | RequestAction:
    """A member's agreement at a committee step while fewer than k - 1 have agreed: a vote, its event,
    and the request's version moved (two votes at once: one is "already handled"). False when this
    agreement is the k-th (the caller approves the step)."""
    if (done := _replayed(client_key, req, user)) is not None:
        return done
    _check_version(req, version)
    decide(facts(req), Action.APPROVE)
    _require_role(user, req, Action.APPROVE)
    votes = q_committee_votes(req)
    if any(v.user_id == user.id for v in votes):
        raise RequestError(_("您已同意，等待其他成员审议。"), {"form": _("您已同意，等待其他成员审议。")})
    k = committee_quorum(req)
    if len(votes) + 1 >= k:
        return False
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise RequestError(_("意见最多 1000 字。"), {"reason": _("意见最多 1000 字。")})
    report = check_request(req, Stage.APPROVE, approver=user)
    role = current_step_role(req)
    try:
        with db.session.begin_nested():
            cast_vote(user, req, comment)
            req.updated_at = utcnow()  # moves the version: a vote and another at once, one wins
            db.session.flush()
            trail.record(village=req.village, user=user, role=role, action=AuditAction.COMMITTEE_VOTE,
                         subject_type=AuditSubject.PAYMENT_REQUEST, subject_id=req.id, reason=comment,
                         after={"committee": {"step": req.step, "round": req.round, "agreed": len(votes) + 1,
                                              "of": k}, "controls": report.to_trail()})
    except (StaleDataError, IntegrityError):
        raise AlreadyHandled from None
    return True


def _require_role(user: User, req: PaymentRequest, action: Action) -> Acting:
    """In which role (and for whom, for a delegate) `user` takes `action`; a recusal says why."""
    acting = acting_for(user, req, action)
    if acting is None:
        if must_recuse_here(user, req) and (why := recusal_message(user, req)):
            raise RequestError(why, {"form": why})
        raise Forbidden(action)
    return acting


def return_for_revision(user: User, req: PaymentRequest, reason: str, client_key: str | None = None,
                        version: int | None = None) -> RequestAction | None:
    return transition(user, req, Action.RETURN, comment=reason, client_key=client_key, version=version)


def reject(user: User, req: PaymentRequest, reason: str, client_key: str | None = None,
           version: int | None = None) -> RequestAction | None:
    return transition(user, req, Action.REJECT, comment=reason, client_key=client_key, version=version)


def withdraw(user: User, req: PaymentRequest, client_key: str | None = None, version: int | None = None
             ) -> RequestAction | None:
    return transition(user, req, Action.WITHDRAW, client_key=client_key, version=version)


def discard(user: User, req: PaymentRequest, client_key: str | None = None, version: int | None = None
            ) -> RequestAction | None:
    """Throw a draft away (issue 16 item 7): it leaves the to-do list, stays in the trail and keeps its
    number (numbers come from the row's id, which is never freed)."""
    return transition(user, req, Action.DISCARD, client_key=client_key, version=version)


def transition(
    user: User,
    req: PaymentRequest,
    action: Action,
    *,
    comment: str | None = None,
    client_key: str | None = None,
    version: int | None = None,
    mutate: Callable[[], None] | None = None,
    extra_after: dict[str, Any] | None = None,
    attachments: Iterable[str] = (),
    record_if_unchanged: bool = True,
    statement_role: Role | None = None,
) -> RequestAction | None:
    """The one path by which a request changes state: replay key, page version, table, permission,
    change, history, event.

    `mutate` makes the action's own changes (it may raise RequestError); `extra_after` and `attachments`
    (read after `mutate` ran) go into the event. Returns the history row (None for edits), or the earlier
    row when this form was already handled. Raises NotAllowed (not in this state), Forbidden (not this
    user), RequestError (bad input) or AlreadyHandled (someone acted first, or the page was stale)."""
    if (done := _replayed(client_key, req, user)) is not None:
        return done
    seen = req.version
    lock(req)
    moved = req.version != seen  # someone acted while this one waited for the lock: theirs came first
    if moved and (done := _replayed(client_key, req, user)) is not None:
        return done  # it was this same form, sent twice: the first send's answer
    _refuse_history(req)
    _check_version(req, version)
    known = facts(req)
    try:
        rule, target = decide(known, action)  # NotAllowed: not open in this state
    except NotAllowed:
        if moved:
            raise AlreadyHandled from None
        raise
    if statement_role is not None and acting_for(user, req, action) is None:
        # the statement confirms it: the importer need not hold the role, but the table's bars hold
        if any(barred(user, req, bar) for bar in rule.barred):
            raise Forbidden(action)
        role = statement_role
    else:
        try:
            acting = _require_role(user, req, action)
        except Forbidden:
            if moved:  # the step moved on under the lock: the other approver's decision came first
                raise AlreadyHandled from None
            raise
        role = acting.role
        if acting.on_behalf_of is not None:  # a delegate: the event's actor is them, for whom is in the payload
            extra_after = {**(extra_after or {}), "on_behalf_of": {
                "user_id": acting.on_behalf_of.id, "name": acting.on_behalf_of.display_name,
                "delegation_id": acting.delegation_id}}
    comment = (comment or "").strip() or None
    if rule.reason_required and not comment:
        raise RequestError(_("请填写理由。"), {"reason": _("请填写理由。")})
    if comment and len(comment) > MAX_COMMENT:
        raise RequestError(_("意见最多 1000 字。"), {"reason": _("意见最多 1000 字。")})
    # Everything below happens inside a savepoint: a refusal raised by `mutate` (bad input) or a lost
    # race (the row's version moved, or a unique key is taken) leaves the session as it was, so the
    # caller can still read what happened and answer "already handled".
    try:
        with db.session.begin_nested():
            return _apply(user, req, action, rule, role, target, comment, client_key, mutate, extra_after,
                          attachments, record_if_unchanged, acting.on_behalf_of)
    except (StaleDataError, IntegrityError):
        if client_key and (done := _replayed(client_key, req, user)) is not None:
            return done  # the same form, sent twice at once: the other send did it
        raise AlreadyHandled from None


def _apply(user: User, req: PaymentRequest, action: Action, rule: Transition, role: Role, target: State,
           comment: str | None, client_key: str | None, mutate: Callable[[], None] | None,
           extra_after: dict[str, Any] | None, attachments: Iterable[str],
           record_if_unchanged: bool, on_behalf_of: User | None = None) -> RequestAction | None:
    before_state, step = req.state, req.step
    before = snapshot(req)
    if mutate is not None:
        mutate()
    req.state = target
    if not has_steps(req.state):
        req.step = 0
    req.waiting_role = waiting_role(req)
    old, new = _diff(before, snapshot(req))
    if not new and not record_if_unchanged:
        return None  # nothing changed: no write, no event
    now = utcnow()
    if req.state != before_state or req.step != step:
        req.waiting_since = now  # a new wait begins
    req.updated_at = now
    row = None
    if action is not Action.EDIT:  # an edit is in the trail, not in the request's history
        row = RequestAction(
            request=req, round=req.round, step=step if rule.actor is Actor.STEP_APPROVER else None,
            action=action, from_state=before_state, to_state=req.state, actor_id=user.id, actor_role=role,
            comment=comment, client_key=client_key, created_at=now,
            on_behalf_of_id=on_behalf_of.id if on_behalf_of is not None else None,
        )
        db.session.add(row)
    db.session.flush()  # the conditional UPDATE ... WHERE version = ?: StaleDataError if someone won
    trail.record(village=req.village, user=user, role=role, action=AuditAction.of(action),
                 subject_type=AuditSubject.PAYMENT_REQUEST, subject_id=req.id, before=old,
                 after={**new, **(extra_after or {})}, reason=comment, attachments=attachments)
    return row


def add_attachment(user: User, req: PaymentRequest, kind: AttachmentKind | None, filename: str, data: bytes
                   ) -> Attachment | None:
    """Attach a file to a draft or returned request (the cashier's receipt goes through payments).
    Returns None when the very same file of the same kind is already there (a form sent again)."""
    digest = storage.digest(data)
    lock(req)
    if any(a.sha256 == digest and a.kind == kind for a in req.attachments):
        return None
    _check_editable(user, req)
    if kind is None or kind not in AttachmentKind.uploadable():
        raise RequestError(_("请选择附件类型。"), {"file": _("请选择附件类型。")})
    count_change(user, req.id)  # churn is limited (a 429 past the limit)
    try:
        stored = storage.save(data)
    except storage.StorageError as exc:
        # named: several files may be sent at once (issue 16 item 6)
        message = _("“%(name)s”：%(why)s", name=filename, why=str(exc)) if filename else str(exc)
        raise RequestError(message, {"file": message}) from None
    return attach(user, req, kind, filename, stored, Role.ACCOUNTANT)


def add_attachments(user: User, req: PaymentRequest, kind: AttachmentKind | None,
                    files: Iterable[tuple[str, bytes]]) -> list[Attachment | None]:
    """Attach several files of one kind at once (the camera and the file picker, several files each):
    each is `add_attachment`, with its own event; one refused file refuses them all (the caller's unit of
    work is rolled back). None in the list for a file that was already there."""
    return [add_attachment(user, req, kind, filename, data) for filename, data in files]


def _check_editable(user: User, req: PaymentRequest) -> None:
    if not req.state.editable:
        raise NotAllowed(req.state, Action.EDIT)
    if acting_role(user, req, Action.EDIT) is None:
        raise Forbidden(Action.EDIT)


def attach(user: User, req: PaymentRequest, kind: AttachmentKind, filename: str, stored: storage.Stored,
           role: Role, *, record: bool = True) -> Attachment:
    """The attachment row for a stored file, and its `attachment_add` event unless it is part of a
    change that records its own (`record=False`: the cashier's receipt belongs to the `pay` event)."""
    att = Attachment(request=req, kind=kind, sha256=stored.sha256, filename=(filename or "file")[-200:],
                     content_type=stored.content_type, size=stored.size, uploaded_by_id=user.id)
    db.session.add(att)
    db.session.flush()
    if record:
        trail.record(village=req.village, user=user, role=role, action=AuditAction.ATTACHMENT_ADD,
                     subject_type=AuditSubject.PAYMENT_REQUEST, subject_id=req.id,
                     after={"attachment": attachment_summary(att)}, attachments=(stored.sha256,))
    return att


def attachment_summary(att: Attachment) -> dict[str, Any]:
    """An attachment as the trail records it (its bytes are named by their SHA-256 beside it)."""
    return {"id": att.id, "kind": att.kind.value, "filename": att.filename, "size": att.size}


def remove_attachment(user: User, att: Attachment) -> None:
    """Remove an accountant's attachment from a draft or returned request (never the bank receipt)."""
    req = att.request
    if att.kind not in AttachmentKind.uploadable():
        raise NotFound(att.id)  # the bank receipt is part of the payment, not the accountant's to remove
    lock(req)
    if att not in req.attachments:
        raise AlreadyHandled  # removed by another request of the same moment
    _check_editable(user, req)
    count_change(user, req.id)
    trail.record(village=req.village, user=user, role=Role.ACCOUNTANT, action=AuditAction.ATTACHMENT_REMOVE,
                 subject_type=AuditSubject.PAYMENT_REQUEST, subject_id=req.id,
                 before={"attachment": {"id": att.id, "kind": att.kind.value, "filename": att.filename}},
                 attachments=(att.sha256,))
    req.attachments.remove(att)
    db.session.delete(att)
    db.session.flush()


def transition_many(user: User, reqs: list[PaymentRequest], action: Action, *, statement_role: Role,
                    extra_after: dict[int, dict[str, Any]]) -> list[int]:
    """`transition` for many requests of one village at once, for the bank statement confirming its exact
    matches (no form, so no replay key or page version). The table decides each move (the action must not
    depend on steps); the bars are asked in one SQL query (`permissions.barred_sql`): a barred request is
    left alone and not returned (the caller proposes it instead); the rows move in one UPDATE ... WHERE
    state = <from> (AlreadyHandled if any moved meanwhile); the history rows are one INSERT; each request
    still gets its own event, as `transition` writes it (written together: `trail.record_many`). The
    user's role of the transition's actor over the village if they hold one, else `statement_role`.
    Returns the ids of the requests moved."""
    if not reqs:
        return []
    village = reqs[0].village
    moves: dict[int, tuple[State, State]] = {}
    rule: Transition | None = None
    for req in reqs:
        if req.village_id != village.id:
            raise ValueError("transition_many: one village at a time")
        rule, target = decide(Facts(state=req.state), action)
        if rule.last_step_target or rule.no_step_target or rule.only_before_first_decision or has_steps(target):
            raise ValueError(f"transition_many: {action} depends on steps")
        moves[req.id] = (req.state, target)
    assert rule is not None
    ids = list(moves)
    barred_ids = set()
    if rule.barred:
        barred_ids = set(db.session.execute(select(PaymentRequest.id).where(
            PaymentRequest.id.in_(ids), or_(*[barred_sql(user, bar) for bar in rule.barred]))).scalars())
    # imported history (EXCHANGE.md §4) is never moved here either: left alone, like a barred request
    moving = [r for r in reqs if r.id not in barred_ids and not r.imported]
    if not moving:
        return []
    held = user.roles_at(village) & ACTOR_ROLES[rule.actor]
    role = sorted(held)[0] if held else statement_role
    now = utcnow()
    by_from: dict[tuple[State, State], list[int]] = {}
    for r in moving:
        by_from.setdefault(moves[r.id], []).append(r.id)
    for (source, target), group in by_from.items():
        done = db.session.execute(
            update(PaymentRequest).where(PaymentRequest.id.in_(group), PaymentRequest.state == source)
            .values(state=target, step=0, waiting_role=None, waiting_since=now, updated_at=now,
                    version=PaymentRequest.version + 1)
            .execution_options(synchronize_session=False))
        if done.rowcount != len(group):  # type: ignore[attr-defined]
            raise AlreadyHandled
    db.session.execute(insert(RequestAction), [
        {"request_id": r.id, "round": r.round, "step": None, "action": action, "from_state": moves[r.id][0],
         "to_state": moves[r.id][1], "actor_id": user.id, "actor_role": role, "comment": None,
         "client_key": None, "created_at": now} for r in moving])
    # one event each, written together (trail.record_many: one lock of the chain's head, one COPY)
    trail.record_many(village=village, user=user, role=role, entries=[
        (AuditAction.of(action), AuditSubject.PAYMENT_REQUEST, r.id,
         {"before": {"state": moves[r.id][0].value},
          "after": {"state": moves[r.id][1].value, **extra_after.get(r.id, {})}}) for r in moving])
    moved = [r.id for r in moving]
    for r in moving:  # the rows changed under the ORM: read them again when next used
        db.session.expire(r)
    return moved
