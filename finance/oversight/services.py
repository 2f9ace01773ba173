"""What a liaison's actions write: the record of viewing an attachment or exporting from the trail, and
questions (问询) with their answers, and holds on a payment (暂缓支付).
Each records exactly one audit event on the village's chain; nothing
here commits (the view does) and nothing here touches a financial record."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm.attributes import set_committed_value

from finance import trail
from finance.auth.models import User
from finance.db import utcnow
from finance.errors import AlreadyHandled, Forbidden, InputError
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.oversight.models import PaymentHold, Question
from finance.payment_requests import queries as request_queries
from finance.payment_requests.filters import RequestFilters
from finance.payment_requests.models import Attachment, PaymentRequest
from finance.permissions import ANSWER_ROLES, Permission, can
from finance.roles import Role
from finance.timefmt import local_time, today_local
from finance.trail import AuditAction, AuditSubject

MAX_TEXT = 1000
MAX_DEADLINE_DAYS = 90
EXPORT_LIMIT = 5000
CSV_HEADER = (_l("编号"), _l("村"), _l("收款人"), _l("开户行"), _l("收款账号"), _l("金额"), _l("状态"), _l("用途"),
              _l("创建时间"))


class QuestionError(InputError):
    """Input the user must correct; `errors` maps field names to messages."""


class AlreadyAnswered(AlreadyHandled):
    """The question has its answer already (an answer is given once)."""


def record_access(
    user: User,
    village: OrgUnit,
    action: AuditAction,
    *,
    subject_type: AuditSubject,
    subject_id: int | str,
    what: dict[str, Any] | None = None,
    attachments: tuple[str, ...] = (),
) -> None:
    """Record that a liaison viewed or exported something of `village` (one event on its chain).

    `what` says what was read (e.g. {"export": "checkpoints"}); it goes in the event's `after`, which
    the replayer ignores for subjects other than requests' fields."""
    if not can(user, Permission.AUDIT_READ, village):
        raise Forbidden(Permission.AUDIT_READ)
    trail.record(
        village=village,
        user=user,
        role=Role.LIAISON,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        after={"read": what} if what else None,
        attachments=attachments,
    )


def viewed_attachment(user: User, att: Attachment) -> None:
    """A liaison opened an attachment: one event naming the request and the file's SHA-256."""
    record_access(
        user,
        att.request.village,
        AuditAction.LIAISON_VIEW_ATTACHMENT,
        subject_type=AuditSubject.ATTACHMENT,
        subject_id=att.id,
        what={"request_id": att.request_id, "filename": att.filename},
        attachments=(att.sha256,),
    )


def _cell(value: str) -> str:
    # A spreadsheet would run a cell that starts like a formula; the export is read, never executed.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_requests(user: User, filters: RequestFilters) -> str:
    """The requests the filters find (at most EXPORT_LIMIT, in the user's scope) as CSV text (UTF-8 with
    BOM, for Excel). The export is recorded as one event on the chain of each village whose requests it
    holds. The liaison's page and the API."""
    found = request_queries.search(user, **filters.search_args(), limit=EXPORT_LIMIT)
    by_village: dict[int, list[PaymentRequest]] = {}
    for req in found:
        by_village.setdefault(req.village_id, []).append(req)
    for reqs in by_village.values():
        exported(user, reqs[0].village, "requests_csv", AuditSubject.PAYMENT_REQUEST_LIST,
                 ",".join(str(r.id) for r in reqs)[:64])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(h) for h in CSV_HEADER])
    for req in found:
        writer.writerow([_cell(v) for v in (
            req.number or "", req.village.name, req.payee_name, req.payee_bank, req.payee_account,
            "" if req.amount is None else f"{req.amount:.2f}",
            req.state.label + (f"（{_('历史导入')}）" if req.imported else ""), req.purpose,
            local_time(req.created_at))])
    return "\ufeff" + out.getvalue()


def exported(user: User, village: OrgUnit, what: str, subject_type: AuditSubject, subject_id: int | str) -> None:
    """A liaison downloaded an export (checkpoints, a trail report ...) of `village`."""
    record_access(
        user,
        village,
        AuditAction.LIAISON_EXPORT,
        subject_type=subject_type,
        subject_id=subject_id,
        what={"export": what},
    )


def _check_text(text: str, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise QuestionError(_("请填写内容。"), {field: _("请填写内容。")})
    if len(text) > MAX_TEXT:
        message = _("最多 %(n)d 字。", n=MAX_TEXT)
        raise QuestionError(message, {field: message})
    return text


def ask_question(user: User, req: PaymentRequest, text: str, deadline: date | None) -> Question:
    """A liaison's question (问询) on a request, with a deadline for the township's answer."""
    if not can(user, Permission.QUESTION_ASK, req):
        raise Forbidden(Permission.QUESTION_ASK)
    text = _check_text(text, "text")
    today = today_local()
    if deadline is None:
        raise QuestionError(_("请填写答复期限。"), {"deadline": _("请填写答复期限。")})
    if deadline < today or deadline > today + timedelta(days=MAX_DEADLINE_DAYS):
        message = _("答复期限须在今天到 %(n)d 天之内。", n=MAX_DEADLINE_DAYS)
        raise QuestionError(message, {"deadline": message})
    question = Question(request=req, asked_by=user, text=text, deadline=deadline, created_at=utcnow())
    db.session.add(question)
    db.session.flush()
    trail.record(
        village=req.village,
        user=user,
        role=Role.LIAISON,
        action=AuditAction.QUESTION_ASK,
        subject_type=AuditSubject.QUESTION,
        subject_id=question.id,
        after={"request_id": req.id, "text": text, "deadline": deadline},
    )
    return question


def answer_question(user: User, question: Question, text: str) -> None:
    """Township staff, or the village's 书记 or 报账员, answer a question once; a second answer is refused
    (AlreadyAnswered). A payment held until this question is answered is released (its own event)."""
    req = question.request
    if not can(user, Permission.QUESTION_ANSWER, req):
        raise Forbidden(Permission.QUESTION_ANSWER)
    if question.answered_at is not None:
        raise AlreadyAnswered(_("该问询已答复。"))
    text = _check_text(text, "answer")
    role = sorted(user.roles_at(req.village) & ANSWER_ROLES)[0]
    # A conditional update, not a read then a write: of two answers sent at the same moment exactly one
    # finds the question unanswered (PostgreSQL re-checks the condition once the first commits).
    now = utcnow()
    won = cast(CursorResult[Any], db.session.execute(
        update(Question).where(Question.id == question.id, Question.answered_at.is_(None))
        .values(answer=text, answered_by_id=user.id, answered_at=now)
        .execution_options(synchronize_session=False)
    )).rowcount
    if won != 1:
        raise AlreadyAnswered(_("该问询已答复。"))
    for name, value in (("answer", text), ("answered_by_id", user.id), ("answered_at", now)):
        set_committed_value(question, name, value)  # what the row now holds; no second UPDATE
    trail.record(
        village=req.village,
        user=user,
        role=role,
        action=AuditAction.QUESTION_ANSWER,
        subject_type=AuditSubject.QUESTION,
        subject_id=question.id,
        before={"answer": None},
        after={"request_id": req.id, "answer": text},
    )
    for hold in list(db.session.execute(select(PaymentHold).where(PaymentHold.question_id == question.id,
                                                                  PaymentHold.lifted_at.is_(None))).scalars()):
        _lift(user, role, hold, _("问询已答复"), now)


# --- 暂缓支付 ---------------------------------------------------------------------------------------------

class AlreadyHeld(AlreadyHandled):
    """The payment is on hold already, or the hold was lifted already."""


def active_hold(req: PaymentRequest) -> PaymentHold | None:
    return db.session.execute(select(PaymentHold).where(PaymentHold.request_id == req.id,
                                                        PaymentHold.lifted_at.is_(None))
                              .order_by(PaymentHold.id.desc()).limit(1)).scalar_one_or_none()


def hold_payment(user: User, req: PaymentRequest, reason: str, question: Question | None = None) -> PaymentHold:
    """A liaison holds the payment of a request (暂缓支付) until `question` is answered or the hold is lifted.
    The cashier's service refuses to pay while it is on."""
    if not can(user, Permission.PAYMENT_HOLD, req):
        raise Forbidden(Permission.PAYMENT_HOLD)
    if req.state.paid:
        raise AlreadyHeld(_("该申请已支付，不能暂缓支付。"))
    if active_hold(req) is not None:
        raise AlreadyHeld(_("该申请已暂缓支付。"))
    reason = _check_text(reason, "hold_reason")
    if question is not None and (question.request_id != req.id or question.answered_at is not None):
        question = None
    hold = PaymentHold(request_id=req.id, question_id=question.id if question else None, reason=reason,
                       held_by_id=user.id, held_at=utcnow())
    db.session.add(hold)
    db.session.flush()
    trail.record(village=req.village, user=user, role=Role.LIAISON, action=AuditAction.PAYMENT_HOLD,
                 subject_type=AuditSubject.PAYMENT_HOLD, subject_id=hold.id,
                 after={"request_id": req.id, "reason": reason, "question_id": hold.question_id})
    return hold


def _lift(user: User | None, role: Role | None, hold: PaymentHold, reason: str, now: Any) -> None:
    won = cast(CursorResult[Any], db.session.execute(
        update(PaymentHold).where(PaymentHold.id == hold.id, PaymentHold.lifted_at.is_(None))
        .values(lifted_at=now, lifted_by_id=user.id if user else None, lift_reason=reason)
        .execution_options(synchronize_session=False))).rowcount
    if won != 1:
        raise AlreadyHeld(_("暂缓支付已解除。"))
    for name, value in (("lifted_at", now), ("lifted_by_id", user.id if user else None), ("lift_reason", reason)):
        set_committed_value(hold, name, value)
    req = db.session.get(PaymentRequest, hold.request_id)
    assert req is not None
    trail.record(village=req.village, user=user, role=role, action=AuditAction.PAYMENT_HOLD_LIFT,
                 subject_type=AuditSubject.PAYMENT_HOLD, subject_id=hold.id, before={"lifted_at": None},
                 after={"request_id": req.id, "reason": reason})


def lift_hold(user: User, hold: PaymentHold, reason: str) -> None:
    """A liaison lifts a hold (reason required)."""
    req = db.session.get(PaymentRequest, hold.request_id)
    if req is None or not can(user, Permission.PAYMENT_HOLD, req):
        raise Forbidden(Permission.PAYMENT_HOLD)
    reason = _check_text(reason, "lift_reason")
    _lift(user, Role.LIAISON, hold, reason, utcnow())
